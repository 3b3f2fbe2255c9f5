// A chain-wide new week through POST /api/v1/sales (issue #22), without the rest of
// bench/replicas.ts (summaries, alert rounds, training): two `storecast serve` processes on an
// existing chain, the week after the last one for every store and department, in 100k-row CSV
// parts sent as replicas.ts sends them (part 0 to both at once, a retried request; the rest two
// at a time, alternating), then the week's aggregates against a recount. The week is kept.
// Run: npx tsx bench/ingest-week-api.ts DATABASE_URL [--cli bin/storecast.js]
//   --cli: the storecast to serve with (another checkout's, to measure the code before a change;
//   `serve` migrates the database first).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createToken } from '../src/auth/tokens.ts';
import { openPostgres } from '../src/db/client.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { weekRecount } from './week-recount.ts';

const args = process.argv.slice(2);
const url = args.find((a) => a.startsWith('postgres'));
if (!url) throw new Error('usage: npx tsx bench/ingest-week-api.ts DATABASE_URL [--cli path/to/bin/storecast.js]');
const cli = args.includes('--cli') ? resolve(args[args.indexOf('--cli') + 1]!) : fileURLToPath(new URL('../bin/storecast.js', import.meta.url));
const db = await openPostgres(url);
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

const [{ last } = { last: '' }] = await db.query<{ last: string }>('SELECT max(week)::text AS last FROM store_week_sales');
const week = addWeeks(last, 1);
const rows = await db.query<{ store_id: number; dept_id: number; sales: number }>('SELECT store_id, dept_id, sales FROM weekly_sales WHERE week = $1::date ORDER BY store_id, dept_id', [last]);
const parts: string[] = [];
for (let i = 0; i < rows.length; i += 100_000) {
  const lines = rows.slice(i, i + 100_000).map((r) => `${r.store_id},${r.dept_id},${week},${(r.sales * 1.01).toFixed(2)},FALSE`);
  parts.push(`Store,Dept,Date,Weekly_Sales,IsHoliday\n${lines.join('\n')}\n`);
}

const { token, info } = await createToken(db, { name: 'bench-ingest-week', scopes: ['admin'] });
const env = {
  ...process.env, DATABASE_URL: url, HOST: '127.0.0.1', STORECAST_SECRET_KEY: randomBytes(32).toString('hex'), STORECAST_DEMO: 'never', STORECAST_TRAIN_ON_START: 'false',
  STORECAST_FORECAST_PRECOMPUTE: 'off', STORECAST_ADMINS: `token:${info.id}`, STORECAST_RATE_LIMIT: '0', LOG_LEVEL: 'warn',
};
const servers: ChildProcess[] = [39411, 39412].map((port) => spawn(process.execPath, [cli, 'serve'], { env: { ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] }));
const ports = [39411, 39412];
try {
  for (const port of ports) {
    for (let i = 0; !(await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)); i++) {
      if (i > 600) throw new Error(`the server on ${port} was not ready in 300 s`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const post = async (port: number, body: string) => {
    const started = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/sales`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body });
    const report = (await res.json()) as Record<string, number>;
    return { status: res.status, inserted: Number(report.inserted ?? 0), unchanged: Number(report.unchanged ?? 0), s: (performance.now() - started) / 1000 };
  };
  console.log(`\nWeek ${week}: ${rows.length.toLocaleString('en-US')} rows in ${parts.length} parts (+1 duplicate), load average ${load()}`);
  const started = performance.now();
  const reports = await Promise.all([post(ports[0]!, parts[0]!), post(ports[1]!, parts[0]!)]);
  for (let i = 1; i < parts.length; i += 2) reports.push(...(await Promise.all(parts.slice(i, i + 2).map((p, k) => post(ports[k]!, p)))));
  const took = (performance.now() - started) / 1000;
  console.log(`  ${took.toFixed(1)} s = ${Math.round(rows.length / took).toLocaleString('en-US')} rows/s; HTTP ${[...new Set(reports.map((r) => r.status))].join(',')}; load average after ${load()}`);
  console.log(`  per call: ${reports.map((r) => `${r.s.toFixed(1)} s (${r.inserted} new, ${r.unchanged} unchanged)`).join(', ')}`);
  console.log(`  ${await weekRecount(db, week)}`);
} finally {
  for (const s of servers) s.kill('SIGTERM');
  await Promise.all(servers.map((s) => new Promise((r) => (s.exitCode === null ? s.once('exit', r) : r(null)))));
  await db.query('DELETE FROM api_tokens WHERE id = $1', [info.id]);
  await db.close();
}
