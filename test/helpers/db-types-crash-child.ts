// Run in a child process by test/db-crash.test.ts. postgres.js fetches the server's array
// types on each new connection from a socket handler that nothing awaits: a client ended
// with a timeout while that query is in flight (the health probe's replacement, a slow start
// under load) rejected it unhandled, and the process died of CONNECTION_DESTROYED.
import net from 'node:net';
import postgres from 'postgres';

const target = new URL(process.env.DB_URL!);
const say = (line: string) => process.stdout.write(`${line}\n`);

// A proxy that passes everything until the client asks for the array types, then holds the
// server's answers: the connection stays in that query for as long as the test wants.
const proxy = net.createServer((client) => {
  const server = net.connect(Number(target.port || 5432), target.hostname);
  let holding = false;
  client.on('data', (chunk) => {
    if (chunk.toString('latin1').includes('pg_catalog.pg_type')) holding = true;
    server.write(chunk);
  });
  server.on('data', (chunk) => holding || client.write(chunk));
  const close = () => (client.destroy(), server.destroy());
  client.on('error', close).on('close', close);
  server.on('error', close).on('close', close);
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const via = new URL(target);
via.host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;

const sql = postgres(via.toString(), { max: 1, connect_timeout: 5, onnotice: () => {} });
const first = sql`SELECT 1 AS one`.then(
  () => 'answered',
  (err: { code?: string }) => err.code ?? 'failed',
);
await new Promise((resolve) => setTimeout(resolve, 500));
await sql.end({ timeout: 0 });
say(`query during the type fetch: ${await first}`);
await new Promise((resolve) => setTimeout(resolve, 300));
say('survived');
proxy.close();
