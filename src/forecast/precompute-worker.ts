import { parentPort } from 'node:worker_threads';
import type { Database } from '../db/client.ts';
import { loadPanel } from './dataset.ts';
import { forecastSeries } from './ensemble.ts';
import { warmOrigin } from './features.ts';
import type { ForecastPoint } from './forecaster.ts';
import { seriesTotal } from './model-forecaster.ts';
import { gridIndex, type Panel } from './panel.ts';
import { loadModel, type LoadedModel } from './registry.ts';
import type { StoredSeries } from './stored.ts';
import { ensureBackend, type BackendPreference } from './tf.ts';

/**
 * The thread that holds the sales panel, so the serving thread never does: it computes a
 * whole origin for the stored forecasts (precompute.ts) or a few series at another origin
 * ("as of" questions, backtests). Its queries go through the main thread's database (PGlite
 * lives in one thread), one message each; rows of a precompute go back in parts, each
 * acknowledged once written, so what waits in memory is one part.
 */

export interface PrecomputeJob {
  kind: 'precompute';
  version: number;
  origin: string;
  horizon: number;
  backend: BackendPreference;
  /** Stores whose departments go through the network at once. Default 100. */
  storesPerBatch?: number;
}

export interface AsOfJob {
  kind: 'asof';
  version: number;
  /** The data the cached panel must match (forecastDataStamp). */
  stamp: string;
  origin: string;
  keys: { store: number; dept?: number }[];
  horizon: number;
  backend: BackendPreference;
}

export type AsOfAnswer = { points: ForecastPoint[] } | { noData: true } | { noDepartments: true };
export type WorkerJob = PrecomputeJob | AsOfJob;
export interface PrecomputeDone {
  series: number;
  stores: number;
  peakRssMb: number;
}

export type ToWorker = { type: 'job'; id: number; job: WorkerJob } | { type: 'reply'; id: number; rows?: unknown[]; error?: string };
export type FromWorker =
  | { type: 'query'; id: number; text: string; params: unknown[] }
  | { type: 'rows'; id: number; rows: StoredSeries[] }
  | { type: 'done'; id: number; result: PrecomputeDone | AsOfAnswer[] }
  | { type: 'failed'; id: number; message: string };

let nextId = 1;
const waiting = new Map<number, { resolve: (rows: unknown[]) => void; reject: (err: Error) => void }>();

function ask(message: { type: 'query'; text: string; params: unknown[] } | { type: 'rows'; rows: StoredSeries[] }): Promise<unknown[]> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    parentPort?.postMessage({ ...message, id } as FromWorker);
  });
}

// loadPanel and loadModel only ever call query(): the rest of Database is never reached here.
const db = { query: (text: string, params: unknown[] = []) => ask({ type: 'query', text, params }) } as unknown as Database;

let cached: { version: number; stamp: string; model: LoadedModel; panel: Panel } | undefined;
let peakRss = 0;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

async function modelAndPanel(version: number, stamp: string, backend: BackendPreference): Promise<{ model: LoadedModel; panel: Panel }> {
  if (cached?.version === version && cached.stamp === stamp) return cached;
  cached?.model.network.dispose();
  cached = undefined;
  await ensureBackend(backend);
  const model = await loadModel(db, version);
  const panel = await loadPanel(db, { onChunk: sampleRss });
  cached = { version, stamp, model, panel };
  return cached;
}

/** Every series with history at the origin, grouped by store, in store order. */
function seriesByStore(panel: Panel, origin: number): Map<number, number[]> {
  const byStore = new Map<number, number[]>();
  panel.series.forEach((s, i) => {
    if (s.first <= origin) (byStore.get(s.store) ?? byStore.set(s.store, []).get(s.store)!).push(i);
  });
  return byStore;
}

async function precompute(job: PrecomputeJob): Promise<PrecomputeDone> {
  // One panel for every origin of a precompute (the newest and, on a model's first run, the week before).
  const { model, panel } = await modelAndPanel(job.version, 'precompute', job.backend);
  const origin = gridIndex(panel, job.origin);
  if (origin < 0 || origin >= panel.weeks.length) throw new RangeError(`origin ${job.origin} is outside the data (${panel.weeks[0]} .. ${panel.weeks.at(-1)})`);
  await warmOrigin(panel, origin, { svdRank: model.hyper.svdRank });
  sampleRss();
  const stores = [...seriesByStore(panel, origin)];
  const per = job.storesPerBatch ?? 100;
  let series = 0;
  for (let i = 0; i < stores.length; i += per) {
    const part = stores.slice(i, i + per);
    const fc = await forecastSeries(model, panel, origin, part.flatMap(([, ids]) => ids), job.horizon);
    const rows: StoredSeries[] = [];
    let k = 0;
    for (const [store, ids] of part) {
      const own = fc.slice(k, k + ids.length);
      k += ids.length;
      const total = seriesTotal(own, job.horizon);
      rows.push({ store, dept: 0, p10: total.map((p) => p.lower), p50: total.map((p) => p.value), p90: total.map((p) => p.upper) });
      for (const f of own) rows.push({ store, dept: panel.series[f.series]!.dept, p10: f.p10, p50: f.p50, p90: f.p90 });
    }
    series += fc.length;
    sampleRss();
    await ask({ type: 'rows', rows });
  }
  return { series, stores: stores.length, peakRssMb: Math.round(peakRss / 1048576) };
}

/** As ModelForecaster.forecast at a given origin, for a few series at once. */
async function asOf(job: AsOfJob): Promise<AsOfAnswer[]> {
  const { model, panel } = await modelAndPanel(job.version, job.stamp, job.backend);
  const origin = Math.min(gridIndex(panel, job.origin), panel.weeks.length - 1);
  const answers: AsOfAnswer[] = [];
  for (const key of job.keys) {
    const ids: number[] = [];
    panel.series.forEach((s, i) => {
      if (s.store === key.store && (key.dept === undefined || s.dept === key.dept) && s.first <= origin) ids.push(i);
    });
    if (origin < 0 || ids.length === 0) {
      const any = panel.series.some((s) => s.store === key.store);
      answers.push(key.dept === undefined && !any ? { noDepartments: true } : { noData: true });
      continue;
    }
    await warmOrigin(panel, origin, { svdRank: model.hyper.svdRank }, undefined, ids);
    answers.push({ points: seriesTotal(await forecastSeries(model, panel, origin, ids, job.horizon), job.horizon) });
  }
  return answers;
}

let queue: Promise<unknown> = Promise.resolve();

parentPort?.on('message', (m: ToWorker) => {
  if (m.type === 'reply') {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error !== undefined) w?.reject(new Error(m.error));
    else w?.resolve(m.rows ?? []);
    return;
  }
  // One job at a time: two at once would load the panel twice.
  const job = m.job;
  const run = queue.then((): Promise<PrecomputeDone | AsOfAnswer[]> => (job.kind === 'precompute' ? precompute(job) : asOf(job)));
  queue = run.catch(() => undefined);
  run.then(
    (result) => parentPort?.postMessage({ type: 'done', id: m.id, result } as FromWorker),
    (err: unknown) => parentPort?.postMessage({ type: 'failed', id: m.id, message: err instanceof Error ? err.message : String(err) } as FromWorker),
  );
});
