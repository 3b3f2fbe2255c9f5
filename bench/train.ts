/**
 * Training benchmark: the global model on the full Walmart data (or the demo data).
 *
 *   npx tsx bench/train.ts            # full data, the `storecast train` settings
 *   npx tsx bench/train.ts --quick    # the first-start settings
 *   npx tsx bench/train.ts --demo     # demo data (what a first start trains on), quick settings
 *   TF_BACKEND=cpu npx tsx bench/train.ts
 *   npx tsx bench/train.ts --stores 450   # a 10x chain: the real panel replicated, store ids offset
 *   npx tsx bench/train.ts --stores 450 --via-db   # ... replicated inside the database, loaded by loadPanel
 *   npx tsx bench/train.ts --stores 4600 --scale off   # force a mode (auto | on | off)
 *   npx tsx bench/train.ts --stores 450 --via-db --load-only   # the streaming loader alone
 *
 * --stores N is the 10x method (#15) without the 4,600-store data: the real stores,
 * departments, weeks and covariates copied under store ids offset by 45, 90, ... It trains
 * with trainModel directly (scale mode as configured), then times a 52-week forecast of one
 * series and of one store (all its departments) on that panel. Prints the same figures plus
 * the panel's memory; targets at 4,600 stores: training < 30 min and < 4 GB peak RSS.
 *
 * Imports the data into an in-memory PGlite, trains, registers the model, then times one
 * 52-week forecast of one series through the ModelForecaster (cache off), warm.
 * Prints training time, rows/s, backend and peak memory (max RSS). Targets: training under
 * 5 minutes on a 2-core machine; one warm 52-week forecast under 30 ms.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../src/db/client.ts';
import { importFiles } from '../src/data/import.ts';
import { loadDemoData } from '../src/data/demo.ts';
import { loadPanel } from '../src/forecast/dataset.ts';
import { ModelForecaster } from '../src/forecast/model-forecaster.ts';
import { trainAndRegister } from '../src/forecast/pipeline.ts';
import { ensureBackend } from '../src/forecast/tf.ts';
import { createLogger } from '../src/logger.ts';
import type { LogLevel } from '../src/config.ts';

const argv = process.argv.slice(2);
const args = new Set(argv);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const demo = args.has('--demo');
const quick = args.has('--quick') || demo;
const dataDir = process.env.WALMART_DIR ?? fileURLToPath(new URL('../../shared/data/walmart', import.meta.url));
const backendPref = (process.env.TF_BACKEND ?? 'auto') as 'auto' | 'tensorflow' | 'wasm' | 'cpu';

if (!demo && !existsSync(`${dataDir}/train.csv`)) {
  process.stderr.write(`bench/train: ${dataDir}/train.csv not found (set WALMART_DIR, or use --demo)\n`);
  process.exit(0);
}

const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
if (opt('--stores')) {
  const { chainBench } = await import('./train-chain.ts');
  await chainBench({
    dataDir,
    stores: Number(opt('--stores')),
    viaDb: args.has('--via-db'),
    loadOnly: args.has('--load-only'),
    quick,
    scale: (opt('--scale') ?? 'auto') as 'auto' | 'on' | 'off',
    backend: backendPref,
  });
  process.exit(0);
}
const logger = createLogger((process.env.LOG_LEVEL ?? 'warn') as LogLevel);
const db = await openDatabase({ database: { kind: 'pglite', dataDir: 'memory://' } });
let t = performance.now();
if (demo) await loadDemoData(db);
else await importFiles(db, [`${dataDir}/stores.csv`, `${dataDir}/features.csv`, `${dataDir}/train.csv`]);
const importMs = performance.now() - t;
t = performance.now();
const panel = await loadPanel(db);
const panelMs = performance.now() - t;
const { backend } = await ensureBackend(backendPref, logger);
const rssBefore = process.resourceUsage().maxRSS;

t = performance.now();
const result = await trainAndRegister(db, { tfBackend: backendPref }, logger, {
  quick,
  onEpoch: (r) => process.stderr.write(`  epoch ${r.epoch}/${r.epochs}: validation WMAE ${r.valWmae.toFixed(1)} (${r.seconds.toFixed(0)} s)\n`),
});
const trainMs = performance.now() - t;
if (!result) throw new Error('training did not run');
const m = result.model.metrics;
result.model.network.dispose();

// One 52-week forecast of one series, warm (model and data loaded), forecast cache off.
const forecaster = new ModelForecaster({ cacheSize: 0, refreshMs: 60_000 });
const key = { store: panel.series[0]!.store, dept: panel.series[0]!.dept };
t = performance.now();
await forecaster.forecast(db, key, 52);
const coldMs = performance.now() - t;
const times: number[] = [];
for (let i = 0; i < 30; i++) {
  const t0 = performance.now();
  await forecaster.forecast(db, key, 52);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const storeTimes: number[] = [];
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  await forecaster.forecast(db, { store: key.store }, 52);
  storeTimes.push(performance.now() - t0);
}
storeTimes.sort((a, b) => a - b);

const lines = [
  `data            ${demo ? 'demo (synthetic, real shape)' : dataDir}: ${panel.series.length} series x ${panel.weeks.length} weeks; import ${(importMs / 1000).toFixed(1)} s, panel load ${(panelMs / 1000).toFixed(1)} s`,
  `settings        ${quick ? 'quick (first start)' : 'full (storecast train)'}`,
  `backend         ${backend}`,
  `training        ${(trainMs / 1000).toFixed(1)} s total (samples ${m.sampleSeconds.toFixed(1)} s), ${m.epochsRun} epochs (best ${m.bestEpoch}), ${m.trainRows.toLocaleString('en-US')} training rows`,
  `throughput      ${Math.round(m.rowsPerSecond).toLocaleString('en-US')} rows/s (training rows x epochs / fitting time)`,
  `validation      WMAE ${m.valWmae.toFixed(1)} (statistical base ${m.valBaseWmae.toFixed(1)}), 80% coverage ${(m.valCoverage * 100).toFixed(1)}%`,
  `peak memory     ${mb(process.resourceUsage().maxRSS)} max RSS (${mb(rssBefore)} before training)`,
  `forecast 52 wk  one series warm: median ${times[Math.floor(times.length / 2)]!.toFixed(2)} ms, p95 ${times[Math.floor(times.length * 0.95)]!.toFixed(2)} ms (first call ${coldMs.toFixed(0)} ms: model + data load)`,
  `                one store (sum of its departments): median ${storeTimes[2]!.toFixed(1)} ms`,
];
process.stdout.write(`${lines.join('\n')}\n`);
await db.close();
