// The stored-forecasts job (issue #22) at chain size: the active model's forecast of every
// series at the latest week, computed on a worker thread and written to stored_forecasts, as a
// replica or a job runner runs it. Prints its time, the series and rows written, the worker's
// peak RSS and the table's size. Run it under /usr/bin/time -v for the process's peak.
// Run: npx tsx bench/precompute.ts DATABASE_URL [--stores-per-batch 100] [--force]
//      (a chain with an active model: bench/scale.ts --keep --train quick, or bench/replicas.ts;
//      --force deletes the stored runs first so the job computes even when it is up to date)
import { loadavg } from 'node:os';
import { loadConfig } from '../src/config.ts';
import { openPostgres } from '../src/db/client.ts';
import { precomputeForecasts } from '../src/forecast/precompute.ts';
import { createLogger } from '../src/logger.ts';

const args = process.argv.slice(2);
const url = args.find((a) => a.startsWith('postgres'));
if (!url) throw new Error('usage: npx tsx bench/precompute.ts DATABASE_URL [--stores-per-batch N] [--force]');
const perIndex = args.indexOf('--stores-per-batch');
const storesPerBatch = perIndex >= 0 ? Number(args[perIndex + 1]) : undefined;
const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent' });
const db = await openPostgres(url);
try {
  if (args.includes('--force')) {
    await db.query('DELETE FROM stored_forecasts');
    await db.query('DELETE FROM forecast_runs');
  }
  const [{ stores } = { stores: 0 }] = await db.query<{ stores: number }>('SELECT count(*)::int AS stores FROM stores');
  console.log(`\nStored forecasts on ${stores.toLocaleString('en-US')} stores (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  let peakMain = 0;
  const sampler = setInterval(() => (peakMain = Math.max(peakMain, process.memoryUsage().rss)), 200);
  const o = await precomputeForecasts({ db, logger: createLogger('warn'), config }, { storesPerBatch });
  clearInterval(sampler);
  if (o.status !== 'computed') throw new Error(`precompute ${o.status}: ${o.reason}`);
  const [size] = await db.query<{ rows: number; bytes: string }>(
    `SELECT (SELECT count(*)::int FROM stored_forecasts WHERE run_id = $1) AS rows, pg_size_pretty(pg_total_relation_size('stored_forecasts')) AS bytes`,
    [o.runId],
  );
  console.log(`  model v${o.version} from ${o.origin}: ${o.series!.toLocaleString('en-US')} series of ${o.stores!.toLocaleString('en-US')} stores in ${o.seconds!.toFixed(1)} s`);
  console.log(`  rows written ${size!.rows.toLocaleString('en-US')} (series + store totals, 52 weeks each); stored_forecasts now ${size!.bytes}`);
  console.log(`  peak RSS (process, sampled by the worker) ${o.peakRssMb} MB; main thread's sampled peak ${Math.round(peakMain / 1048576)} MB`);
} finally {
  await db.close();
}
