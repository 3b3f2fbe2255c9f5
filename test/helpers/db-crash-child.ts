// Run in a child process by test/db-crash.test.ts: without the driver patch, the process dies
// here of an uncaught TypeError that no try/catch in this file could stop.
import postgres from 'postgres';
import { openPostgres } from '../../src/db/client.ts';

const url = process.env.DB_URL!;
const db = await openPostgres(url, { max: 2 });
const killer = postgres(url, { max: 1, onnotice: () => {} });
const say = (line: string) => process.stdout.write(`${line}\n`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A transaction whose backend dies: its next statement is written to a connection that has no
// socket any more (the patch's nextWrite guard; the reservation guard does not cover begin()).
await db
  .transaction(async (tx) => {
    const [own] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await killer`SELECT pg_terminate_backend(${own!.pid})`;
    await sleep(300);
    await tx.query('SELECT 1').catch((err: { code?: string }) => say(`transaction statement after the kill: ${err.code}`));
  })
  .catch(() => say('transaction rejected'));
const [first] = await db.query<{ one: number }>('SELECT 1 AS one');
say(`after the transaction: pool answers ${first!.one}`);

for (let round = 1; round <= 3; round++) {
  await db.withLock('db-crash-test', async () => {
    // The lock's reserved connection is the only advisory-lock holder on this fresh database.
    const [holder] = await killer<{ pid: number }[]>`
      SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    await killer`SELECT pg_terminate_backend(${holder!.pid})`;
    // Long enough for the driver to see the close and drop the socket before the unlock is written.
    await sleep(300);
  });
  say(`round ${round}: lock released after its backend was terminated`);
  const [row] = await db.query<{ one: number }>('SELECT 1 AS one');
  say(`round ${round}: pool answers ${row!.one}`);
}
await killer.end();
await db.close();
say('survived');
