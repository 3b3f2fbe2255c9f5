/**
 * Accuracy benchmark: `storecast backtest` at several origins on the real data, one table.
 *
 *   npx tsx bench/backtest.ts [--horizon 39] [--origins 2011-10-28,2012-01-27,2012-04-27] [--quick]
 *
 * For each origin: trains on weeks <= origin only, forecasts `horizon` weeks and scores every
 * store x dept row against seasonal naive and the other baselines (computed in the same run).
 * Prints WMAE ratios to seasonal naive and interval coverage, then the results as JSON.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/db/client.ts';
import { importFiles } from '../src/data/import.ts';
import { runBacktest, type BacktestReport } from '../src/forecast/backtest.ts';
import { loadPanel } from '../src/forecast/dataset.ts';
import { QUICK_HYPERPARAMETERS } from '../src/forecast/model.ts';
import { ensureBackend } from '../src/forecast/tf.ts';
import { backtestTable } from '../src/cli/backtest.ts';

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const horizon = Number(opt('--horizon') ?? 39);
const origins = (opt('--origins') ?? '2011-10-28,2012-01-27,2012-04-27').split(',');
const quick = argv.includes('--quick');
const dataDir = process.env.WALMART_DIR ?? fileURLToPath(new URL('../../shared/data/walmart', import.meta.url));
if (!existsSync(`${dataDir}/train.csv`)) {
  process.stderr.write(`bench/backtest: ${dataDir}/train.csv not found (set WALMART_DIR)\n`);
  process.exit(0);
}

const { backend } = await ensureBackend((process.env.TF_BACKEND ?? 'auto') as 'auto');
const db = await openDatabase({ database: { kind: 'pglite', dataDir: 'memory://' } });
await importFiles(db, [`${dataDir}/stores.csv`, `${dataDir}/features.csv`, `${dataDir}/train.csv`]);
const panel = await loadPanel(db);
await db.close();

const reports: BacktestReport[] = [];
for (const origin of origins) {
  const r = await runBacktest(panel, { origin, horizon, hyper: quick ? QUICK_HYPERPARAMETERS : {} });
  reports.push(r);
  process.stdout.write(`\n${backtestTable(r)}\n`);
}
process.stdout.write(`\nbackend ${backend}${quick ? ', quick settings' : ''}\n`);
process.stdout.write('origin       model/SN  model/SN+level  model/SVD  coverage\n');
for (const r of reports) {
  const get = (n: string) => r.results.find((x) => x.name === n)!;
  const m = get('model');
  process.stdout.write(
    `${r.origin}   ${(m.wmae / get('seasonal-naive').wmae).toFixed(3)}     ${(m.wmae / get('seasonal-naive-level').wmae).toFixed(3)}           ${(m.wmae / get('svd-seasonal-naive').wmae).toFixed(3)}      ${m.coverage.toFixed(3)}\n`,
  );
}
process.stdout.write(`${JSON.stringify(reports.map(({ origin, horizon: h, rows, results }) => ({ origin, horizon: h, rows, results })))}\n`);
