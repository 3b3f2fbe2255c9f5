import { Worker } from 'node:worker_threads';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { FromWorker, PrecomputeDone, ToWorker, WorkerJob } from './precompute-worker.ts';
import { activeVersion } from './registry.ts';
import { addWeeks } from '../data/weeks.ts';
import { claimRun, finishRun, forecastDataStamp, keepRunAlive, latestRun, pruneRuns, STORED_HORIZON, writeRunRows, type StoredSeries } from './stored.ts';

/**
 * The job that fills the stored forecasts: the active model's forecast of every series at the
 * latest week, computed once across replicas (claimRun) on a worker thread that loads the
 * panel itself, written to stored_forecasts and marked ready, then older origins pruned. Run
 * after a model is trained or activated and after every import that moves the data; any
 * replica may call it, one computes, the others return at once.
 */

export interface PrecomputeDeps {
  db: Database;
  logger: Logger;
  config: Pick<Config, 'tfBackend'> & { modelOps: Pick<Config['modelOps'], 'forecastRetention'> };
}

export interface PrecomputeOutcome {
  status: 'computed' | 'skipped' | 'failed';
  reason: string;
  runId?: number;
  version?: number;
  origin?: string;
  series?: number;
  stores?: number;
  seconds?: number;
  peakRssMb?: number;
}

export async function precomputeForecasts(deps: PrecomputeDeps, options: { signal?: AbortSignal; storesPerBatch?: number } = {}): Promise<PrecomputeOutcome> {
  const { db } = deps;
  const version = await activeVersion(db);
  if (version === undefined) return { status: 'skipped', reason: 'no active model' };
  const { origin, stamp } = await forecastDataStamp(db);
  if (origin === undefined) return { status: 'skipped', reason: 'no sales data' };
  let runId = 0;
  const worker = new ForecastWorker(db, { onRows: (rows) => writeRunRows(db, runId, rows) });
  const stop = () => worker.close();
  options.signal?.addEventListener('abort', stop, { once: true });
  const compute = async (at: string): Promise<PrecomputeOutcome> => {
    const claimed = await claimRun(db, version, at, stamp);
    if (claimed === undefined) return { status: 'skipped', reason: 'already stored, or another run is computing', version, origin: at };
    runId = claimed;
    return computeRun(deps, worker, { runId: claimed, version, origin: at }, options);
  };
  try {
    const latest = await compute(origin);
    // Alerts and summaries compare the newest week with its forecast from the week before:
    // a model's first run stores that origin too (the panel is loaded already), so they read it.
    const previous = addWeeks(origin, -1);
    if (latest.status === 'computed' && !(await latestRun(db, { version, origin: previous }))) await compute(previous);
    return latest;
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await worker.close();
  }
}

/** One claimed run on the worker: written, marked ready (or failed), older origins pruned. */
async function computeRun(deps: PrecomputeDeps, worker: ForecastWorker, run: { runId: number; version: number; origin: string }, options: { signal?: AbortSignal; storesPerBatch?: number }): Promise<PrecomputeOutcome> {
  const { db, logger } = deps;
  const { runId, version, origin } = run;
  const stopHeartbeat = keepRunAlive(db, runId);
  const started = performance.now();
  logger.info({ run: runId, version, origin }, `computing stored forecasts of model v${version} from ${origin}`);
  try {
    const done = (await worker.run({ kind: 'precompute', version, origin, horizon: STORED_HORIZON, backend: deps.config.tfBackend, storesPerBatch: options.storesPerBatch })) as PrecomputeDone;
    const seconds = (performance.now() - started) / 1000;
    await finishRun(db, runId, { series: done.series, stores: done.stores, seconds, peakRssMb: done.peakRssMb });
    const pruned = await pruneRuns(db, deps.config.modelOps.forecastRetention);
    logger.info({ run: runId, version, origin, series: done.series, stores: done.stores, seconds: Math.round(seconds), peakRssMb: done.peakRssMb, pruned }, `stored forecasts of model v${version} from ${origin} ready`);
    return { status: 'computed', reason: 'computed', runId, version, origin, series: done.series, stores: done.stores, seconds, peakRssMb: done.peakRssMb };
  } catch (err) {
    const error = options.signal?.aborted ? new Error('stopped before it finished') : err;
    await finishRun(db, runId, { error }).catch(() => {});
    logger.error({ err: error, run: runId, version, origin }, 'stored forecasts not computed');
    return { status: 'failed', reason: error instanceof Error ? error.message : String(error), runId, version, origin };
  } finally {
    stopHeartbeat();
  }
}

const WORKER_URL = new URL('./precompute-worker.mjs', import.meta.url);

/**
 * The serving side of precompute-worker.ts: starts the thread on the first job, answers its
 * queries from `db`, hands precomputed rows to `onRows`, and ends the thread after `idleMs`
 * without a job (its panel is then freed).
 */
export class ForecastWorker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly jobs = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly options: { onRows?: (rows: StoredSeries[]) => Promise<void>; idleMs?: number } = {},
  ) {}

  run(job: WorkerJob): Promise<unknown> {
    clearTimeout(this.idle);
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      worker.postMessage({ type: 'job', id, job } satisfies ToWorker);
    }).finally(() => {
      if (this.jobs.size === 0 && this.options.idleMs !== undefined) this.idle = setTimeout(() => void this.close(), this.options.idleMs).unref();
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.idle);
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_URL);
    this.worker = worker;
    worker.on('message', (m: FromWorker) => void this.handle(worker, m));
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, job] of this.jobs) {
        this.jobs.delete(id);
        job.reject(err);
      }
    };
    worker.once('error', fail);
    worker.once('exit', (code) => fail(new Error(`forecast worker exited (${code})`)));
    return worker;
  }

  private async handle(worker: Worker, m: FromWorker): Promise<void> {
    if (m.type === 'done' || m.type === 'failed') {
      const job = this.jobs.get(m.id);
      this.jobs.delete(m.id);
      if (m.type === 'done') job?.resolve(m.result);
      else job?.reject(new Error(m.message));
      return;
    }
    let reply: ToWorker;
    try {
      if (m.type === 'query') reply = { type: 'reply', id: m.id, rows: await this.db.query(m.text, m.params) };
      else {
        await this.options.onRows?.(m.rows);
        reply = { type: 'reply', id: m.id };
      }
    } catch (err) {
      reply = { type: 'reply', id: m.id, error: err instanceof Error ? err.message : String(err) };
    }
    if (this.worker === worker) worker.postMessage(reply);
  }
}
