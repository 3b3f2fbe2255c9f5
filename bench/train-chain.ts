/**
 * bench/train.ts --stores N: training on a chain of N stores built from the real data by the
 * issue's 10x method (#15): the 45 real stores copied under store ids offset by 45, 90, ...,
 * with their departments, weeks, attributes and covariates. In memory by default (fast, any
 * N); with --via-db the copies are made inside the database (INSERT ... SELECT) and the panel
 * comes through the streaming loadPanel, so the loader's time and memory are measured too.
 */
import { performance } from 'node:perf_hooks';
import { openDatabase, type Database } from '../src/db/client.ts';
import { importFiles } from '../src/data/import.ts';
import { loadPanel } from '../src/forecast/dataset.ts';
import { gridIndex, type Covariates, type Panel, type PanelSeries, type StoreInfo } from '../src/forecast/panel.ts';
import { QUICK_HYPERPARAMETERS } from '../src/forecast/model.ts';
import { ensureBackend } from '../src/forecast/tf.ts';
import { warmOrigin } from '../src/forecast/features.ts';
import { forecastSeries, trainModel } from '../src/forecast/ensemble.ts';
import type { TrainLogger } from '../src/forecast/train.ts';

export interface ChainBenchOptions {
  dataDir: string;
  stores: number;
  viaDb: boolean;
  /** Stop after building the panel (loader time and memory only). */
  loadOnly: boolean;
  quick: boolean;
  scale: 'auto' | 'on' | 'off';
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
}

const peakMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const rssMb = () => Math.round(process.memoryUsage.rss() / 2 ** 20);

/** The real panel's stores copied under offset ids until `stores` stores exist (fresh arrays: honest memory). */
export function replicatePanel(panel: Panel, stores: number): Panel {
  const offset = Math.max(...panel.series.map((s) => s.store));
  const copies = Math.ceil(stores / offset);
  const series: PanelSeries[] = [];
  const storeInfo = new Map<number, StoreInfo>();
  const covariates = new Map<string, Covariates>();
  for (let k = 0; k < copies; k++) {
    const id = (store: number) => store + k * offset;
    for (const s of panel.series) if (id(s.store) <= stores) series.push({ ...s, store: id(s.store), y: s.y.slice() });
    for (const [store, info] of panel.stores) if (id(store) <= stores) storeInfo.set(id(store), { ...info });
    for (const [key, cov] of panel.covariates) {
      const [store, week] = key.split('|') as [string, string];
      if (id(Number(store)) <= stores) covariates.set(`${id(Number(store))}|${week}`, { ...cov });
    }
  }
  return { weeks: panel.weeks, series, stores: storeInfo, covariates, holidayWeeks: new Set(panel.holidayWeeks) };
}

/** The same copies made inside the database, so loadPanel streams them. */
async function replicateInDatabase(db: Database, stores: number): Promise<void> {
  const [row] = await db.query<{ m: number }>('SELECT max(store_id) AS m FROM weekly_sales');
  const offset = Number(row?.m ?? 45);
  for (let k = 1; k * offset < stores; k++) {
    const shift = k * offset;
    await db.query(
      `INSERT INTO stores (store_id, type, size, region, timezone) SELECT store_id + $1, type, size, region, timezone FROM stores WHERE store_id <= $2 AND store_id + $1 <= $3`,
      [shift, offset, stores],
    );
    await db.query(
      `INSERT INTO store_features (store_id, week, temperature, fuel_price, markdown1, markdown2, markdown3, markdown4, markdown5, cpi, unemployment, is_holiday)
       SELECT store_id + $1, week, temperature, fuel_price, markdown1, markdown2, markdown3, markdown4, markdown5, cpi, unemployment, is_holiday
         FROM store_features WHERE store_id <= $2 AND store_id + $1 <= $3`,
      [shift, offset, stores],
    );
    await db.query(
      `INSERT INTO weekly_sales (store_id, dept_id, week, sales, is_holiday)
       SELECT store_id + $1, dept_id, week, sales, is_holiday FROM weekly_sales WHERE store_id <= $2 AND store_id + $1 <= $3`,
      [shift, offset, stores],
    );
  }
}

const log: TrainLogger = {
  info: (fields, message) => process.stderr.write(`  ${message} ${JSON.stringify(fields)}\n`),
};

async function chainPanel(options: ChainBenchOptions): Promise<{ panel: Panel; loadSeconds: number; rows: number }> {
  const db = await openDatabase({ database: { kind: 'pglite', dataDir: 'memory://' } });
  try {
    await importFiles(db, [`${options.dataDir}/stores.csv`, `${options.dataDir}/features.csv`, `${options.dataDir}/train.csv`]);
    if (!options.viaDb) {
      const real = await loadPanel(db);
      const t = performance.now();
      const panel = replicatePanel(real, options.stores);
      let rows = 0;
      for (const s of panel.series) for (const v of s.y) if (!Number.isNaN(v)) rows++;
      return { panel, loadSeconds: (performance.now() - t) / 1000, rows };
    }
    await replicateInDatabase(db, options.stores);
    const t = performance.now();
    let rows = 0;
    const panel = await loadPanel(db, {
      onChunk: (c) => {
        rows = c.rows;
        if (c.throughStore % 100 < 25) process.stderr.write(`  loaded through store ${c.throughStore}: ${c.rows} rows, ${c.series} series, rss ${rssMb()} MB\n`);
      },
    });
    return { panel, loadSeconds: (performance.now() - t) / 1000, rows };
  } finally {
    await db.close();
  }
}

export async function chainBench(options: ChainBenchOptions): Promise<void> {
  const { panel, loadSeconds, rows } = await chainPanel(options);
  const rssPanel = rssMb();
  if (options.loadOnly) {
    process.stdout.write(
      `chain           ${options.stores} stores: ${panel.series.length.toLocaleString('en-US')} series x ${panel.weeks.length} weeks, ${rows.toLocaleString('en-US')} rows; ${options.viaDb ? 'loadPanel (streamed)' : 'replicate'} ${loadSeconds.toFixed(1)} s (${Math.round(rows / loadSeconds).toLocaleString('en-US')} rows/s), RSS after ${rssPanel} MB, peak ${peakMb()} MB\n`,
    );
    return;
  }
  const { backend } = await ensureBackend(options.backend);
  let t = performance.now();
  const model = await trainModel(panel, { hyper: options.quick ? QUICK_HYPERPARAMETERS : {}, scale: { mode: options.scale }, logger: log });
  const trainSeconds = (performance.now() - t) / 1000;
  const peakTrain = peakMb();
  const m = model.metrics;
  // Inference on the big panel: one series and one store (every department), 52 weeks, cold then warm.
  const origin = gridIndex(panel, model.until);
  const store = panel.series.at(-1)?.store ?? 1;
  const ids = panel.series.flatMap((s, i) => (s.store === store ? [i] : []));
  const time = async (which: number[]) => {
    const t0 = performance.now();
    await forecastSeries(model, panel, origin, which, 52);
    return performance.now() - t0;
  };
  const oneCold = await time([ids[0] as number]);
  const oneWarm = await time([ids[0] as number]);
  const storeCold = await time(ids);
  // A second store on a fresh origin cache: warmOrigin (what a server would run after loading the panel), then the store.
  const other = panel.series.flatMap((s, i) => (s.store === 1 ? [i] : []));
  t = performance.now();
  await warmOrigin(panel, origin - 1, { svdRank: model.hyper.svdRank });
  const warmSeconds = (performance.now() - t) / 1000;
  const t1 = performance.now();
  await forecastSeries(model, panel, origin - 1, other, 52);
  const storeWarm = performance.now() - t1;
  t = performance.now();
  model.network.dispose();
  const lines = [
    `chain           ${options.stores} stores (real panel x${Math.ceil(options.stores / 45)}, ids offset${options.viaDb ? ', copied in PGlite, streamed by loadPanel' : ', in memory'}): ${panel.series.length.toLocaleString('en-US')} series x ${panel.weeks.length} weeks, ${rows.toLocaleString('en-US')} rows; ${options.viaDb ? 'load' : 'replicate'} ${loadSeconds.toFixed(1)} s, RSS after ${rssPanel} MB`,
    `settings        ${options.quick ? 'quick' : 'full'}, scale ${options.scale} -> ${m.mode} mode${m.seriesPerOrigin ? ` (${m.seriesPerOrigin} series per origin)` : ''}, backend ${backend}`,
    `training        ${trainSeconds.toFixed(1)} s total (samples ${m.sampleSeconds.toFixed(1)} s), ${m.epochsRun} epochs (best ${m.bestEpoch}), ${m.trainRows.toLocaleString('en-US')} rows from ${m.trainSeries?.toLocaleString('en-US')} series`,
    `throughput      ${Math.round(m.rowsPerSecond).toLocaleString('en-US')} rows/s`,
    `validation      WMAE ${m.valWmae.toFixed(1)} (statistical base ${m.valBaseWmae.toFixed(1)}), 80% coverage ${(m.valCoverage * 100).toFixed(1)}%`,
    `combination     ${model.combination ? `${model.combination.members.map((n, k) => `${n} ${model.combination!.weights[k]!.toFixed(2)}`).join(', ')}; fitted on ${model.combination.innerRows.toLocaleString('en-US')} inner rows in ${model.combination.seconds?.toFixed(1)} s (inside training)` : 'none'}`,
    `peak memory     ${peakTrain} MB max RSS (process, including the import database)`,
    `forecast 52 wk  one series: ${oneCold.toFixed(0)} ms cold (its department's basis), ${oneWarm.toFixed(1)} ms warm; one store (${ids.length} departments) ${storeCold.toFixed(0)} ms cold`,
    `                warmOrigin (every department's basis at an origin) ${warmSeconds.toFixed(1)} s, then one store (${other.length} departments) ${storeWarm.toFixed(0)} ms`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
