import { UserError } from '../chat/errors.ts';
import type { Database } from '../db/client.ts';
import { createLogger, type Logger } from '../logger.ts';
import { describeScope, seriesScope } from '../scope.ts';
import { logForecasts } from './forecast-log.ts';
import type { DepartmentsRun, ForecastResult, Forecaster, SeriesKey, SeriesWeeks } from './forecaster.ts';
import { addWeeks, weeksBetween } from '../data/weeks.ts';
import { FALLBACK_NOTES, servedRows } from './model-forecaster.ts';
import { ForecastWorker, precomputeForecasts, type PrecomputeDeps } from './precompute.ts';
import type { AsOfAnswer } from './precompute-worker.ts';
import { activeVersion, MODEL_NAME } from './registry.ts';
import { SeasonalNaiveForecaster } from './seasonal-naive.ts';
import { forecastDataStamp, latestRun, pointsOf, readDepartments, readSeries, runningRun, STORED_HORIZON, type StoredRun } from './stored.ts';
import { describeTraining, trainingStatus, type TrainingStatus } from './training-status.ts';

/**
 * The forecaster serving replicas use: answers are read from the stored forecasts (one row
 * per question), so a replica holds no sales panel. The newest ready run of the active model
 * answers, saying which week it is as of when newer data is still being computed; a run of
 * the previous model answers (saying so) while the new model's is computed. A forecast from
 * another origin that is not stored ("as of", backtests) is computed on a worker thread.
 * With `precompute`, a replica that sees the stored forecasts behind the active model or the
 * data starts the job (one replica computes it: precompute.ts).
 */

export interface StoredForecasterOptions {
  /** How often to re-read the active model, the newest run and the data's last week. Default 5000 ms. */
  refreshMs?: number;
  fallback?: Forecaster;
  logger?: Logger;
  /** Settings of the precompute this replica may start; absent: it only reads. */
  precompute?: PrecomputeDeps['config'];
  tfBackend?: PrecomputeDeps['config']['tfBackend'];
  /** The "as of" worker ends after this long without a question (its panel is freed). Default 60 s. */
  asOfIdleMs?: number;
  /**
   * 'stored' (a light serving replica, STORECAST_FORECAST_PRECOMPUTE=off): a question about an
   * origin nothing stored is answered from the newest stored run before it, saying so, instead
   * of loading the sales panel on the "as of" worker (2 GB at 4,600 stores: past a light
   * replica's memory limit). 'compute' (default): computed exactly on the worker.
   */
  unstoredOrigins?: 'compute' | 'stored';
}

interface State {
  checkedAt: number;
  version: number | undefined;
  /** The run answers come from: the active model's newest, else any model's newest. */
  run: StoredRun | undefined;
  /** The data's last week and what the stored forecasts must match. */
  origin: string | undefined;
  stamp: string;
  training: TrainingStatus | undefined;
  computing: { startedAt: string } | undefined;
}

/** Failed precomputes are not retried by this replica for this long (an import or activation retries at once). */
const RETRY_AFTER_FAILURE_MS = 10 * 60_000;
/** Data must be unchanged this long before a replica starts computing it (unless nothing is stored yet). */
const SETTLE_MS = 20_000;

export class StoredForecaster implements Forecaster {
  readonly name = MODEL_NAME;
  private readonly fallback: Forecaster;
  private readonly refreshMs: number;
  private state: State | undefined;
  private stateLoading: Promise<State> | undefined;
  private readonly asOf: ForecastWorker;
  private readonly stopping = new AbortController();
  private watch: NodeJS.Timeout | undefined;
  private precomputing: Promise<unknown> | undefined;
  private failedAt = -Infinity;
  /** The data stamp last seen and since when (performance.now()): a precompute waits for it to settle. */
  private seen: { stamp: string; since: number } | undefined;
  private readonly logged = new Set<string>();
  /** Runs at past origins, looked up once per refresh: an alert round asks one per store. */
  private readonly runsAt = new Map<string, { at: number; run: Promise<StoredRun | undefined> }>();

  constructor(
    private readonly db: Database,
    private readonly options: StoredForecasterOptions = {},
  ) {
    this.fallback = options.fallback ?? new SeasonalNaiveForecaster();
    this.refreshMs = options.refreshMs ?? 5000;
    this.asOf = new ForecastWorker(db, { idleMs: options.asOfIdleMs ?? 60_000 });
  }

  /** Forget the cached state now (after training or activation in this process) and re-read it, starting a precompute if due. */
  invalidate(): void {
    this.state = undefined;
    void this.currentState(this.db).catch(() => {});
  }

  /**
   * Reads the state (and starts a precompute when one is due): a replica needs nothing else to
   * be ready. Then re-reads it every 30 s, so an activation or import elsewhere starts the
   * precompute even on a replica nobody asks.
   */
  async warm(db: Database): Promise<void> {
    await this.currentState(db);
    this.watch ??= setInterval(() => void this.currentState(this.db).catch(() => {}), Math.max(this.refreshMs, 30_000)).unref();
  }

  /** Ends the "as of" worker, stops a precompute this replica runs (recorded failed) and waits for it. */
  async close(): Promise<void> {
    clearInterval(this.watch);
    this.stopping.abort();
    await this.asOf.close();
    await this.precomputing;
  }

  private async currentState(db: Database): Promise<State> {
    if (this.state && Date.now() - this.state.checkedAt < this.refreshMs) return this.state;
    this.stateLoading ??= (async () => {
      try {
        const [version, data, training, running] = await Promise.all([activeVersion(db), forecastDataStamp(db), trainingStatus(db), runningRun(db)]);
        const run = (version === undefined ? undefined : await latestRun(db, { version })) ?? (await latestRun(db));
        const state: State = { checkedAt: Date.now(), version, run, origin: data.origin, stamp: data.stamp, training, computing: running ? { startedAt: running.startedAt } : undefined };
        this.state = state;
        this.maybePrecompute(state);
        return state;
      } finally {
        this.stateLoading = undefined;
      }
    })();
    return this.stateLoading;
  }

  /** Starts the precompute when the active model's newest run is behind the data and nothing computes it. */
  private maybePrecompute(s: State): void {
    const config = this.options.precompute;
    if (!config || this.stopping.signal.aborted || this.precomputing || s.computing || s.version === undefined || s.origin === undefined) return;
    const current = s.run?.version === s.version && s.run.dataStamp === s.stamp;
    if (this.seen?.stamp !== s.stamp) this.seen = { stamp: s.stamp, since: performance.now() };
    // A chain-wide week arrives in several ingest calls: starting after the first would store a
    // half-new week and compute again after the last.
    const settling = s.run !== undefined && performance.now() - this.seen.since < SETTLE_MS;
    if (current || settling || performance.now() - this.failedAt < RETRY_AFTER_FAILURE_MS) return;
    const logger = this.options.logger ?? silent;
    this.precomputing = precomputeForecasts({ db: this.db, logger, config }, { signal: this.stopping.signal })
      .then((o) => {
        if (o.status === 'failed') this.failedAt = performance.now();
        if (o.status === 'computed') this.invalidate();
      })
      .catch((err: unknown) => {
        this.failedAt = performance.now();
        logger.error({ err }, 'stored forecasts not computed');
      })
      .finally(() => (this.precomputing = undefined));
  }

  private async withFallback(db: Database, key: SeriesKey, horizon: number, options: { origin?: string }, note: string): Promise<ForecastResult> {
    const r = await this.fallback.forecast(db, key, horizon, options);
    return { ...r, note: r.note ? `${note}; ${r.note}` : note };
  }

  /** Why the run answering is not the active model's at the data's last week, or undefined. */
  private staleness(s: State, run: StoredRun): string | undefined {
    const notes: string[] = [];
    if (run.version !== s.version) notes.push(`model v${s.version}'s forecasts are being computed${s.computing ? ` (since ${s.computing.startedAt.slice(0, 16)} UTC)` : ''}: model v${run.version} answered`);
    if (s.origin !== undefined && run.origin < s.origin) notes.push(`as of ${run.origin}: forecasts from the week of ${s.origin} are being computed`);
    return notes.length ? notes.join('; ') : undefined;
  }

  private noModelNote(s: State): string {
    if (s.training) return `${FALLBACK_NOTES.training.replace(' — seasonal-naive answered', '')} (${describeTraining(s.training)}) — seasonal-naive answered`;
    if (s.version !== undefined) return `model v${s.version}'s forecasts are being computed${s.computing ? ` (since ${s.computing.startedAt.slice(0, 16)} UTC)` : ''} — seasonal-naive answered`;
    return FALLBACK_NOTES.none;
  }

  async forecast(db: Database, key: SeriesKey, horizon: number, options: { origin?: string } = {}): Promise<ForecastResult> {
    if (!Number.isInteger(horizon) || horizon < 1 || horizon > STORED_HORIZON) throw new RangeError(`horizon must be an integer from 1 to ${STORED_HORIZON}, got ${horizon}`);
    const s = await this.currentState(db);
    if (options.origin !== undefined && !(s.origin !== undefined && options.origin >= s.origin)) return this.forecastAsOf(db, s, key, horizon, options.origin);
    const run = s.run;
    if (!run || s.version === undefined) return this.withFallback(db, key, horizon, {}, this.noModelNote(s));
    const [row] = await readSeries(db, run.id, [key.store], [key.dept ?? 0]);
    if (!row) return this.withFallback(db, key, horizon, {}, key.dept === undefined ? FALLBACK_NOTES.noDepartments : `no stored forecast for this department as of ${run.origin}`);
    const note = this.staleness(s, run);
    const result: ForecastResult = { points: pointsOf(run, row, horizon), model: `${MODEL_NAME} v${run.version}`, version: run.version, ...(note ? { note } : {}) };
    await this.logServed(db, run, key, result, horizon);
    return result;
  }

  /** Store totals of many stores in one read; stores with no stored total are left out (the caller asks `forecast`). */
  async forecastStores(db: Database, stores: readonly number[], horizon: number, options: { origin?: string } = {}): Promise<Map<number, ForecastResult>> {
    const out = new Map<number, ForecastResult>();
    const s = await this.currentState(db);
    if (s.version === undefined) return out;
    const latest = options.origin === undefined || (s.origin !== undefined && options.origin >= s.origin);
    const run = latest ? s.run : await this.runAt(db, s.version, options.origin!);
    if (!run) {
      if (latest) return out;
      const answers = await this.askWorker(s, stores.map((store) => ({ store })), horizon, options.origin!);
      answers.forEach((a, i) => {
        if ('points' in a) out.set(stores[i]!, { points: a.points, model: `${MODEL_NAME} v${s.version}`, version: s.version });
      });
      return out;
    }
    const note = latest ? this.staleness(s, run) : undefined;
    for (const row of await readSeries(db, run.id, stores, [0])) {
      out.set(row.store, { points: pointsOf(run, row, horizon), model: `${MODEL_NAME} v${run.version}`, version: run.version, ...(note ? { note } : {}) });
    }
    return out;
  }

  /**
   * Department series of many stores at the newest origin in one read (stock cover over a
   * chain): undefined when nothing is stored yet (the caller forecasts one by one).
   */
  async forecastDepartments(db: Database, keys: readonly { store: number; dept: number }[], horizon: number): Promise<Map<string, SeriesWeeks> | undefined> {
    const run = await this.departmentsRun(db);
    if (!run) return undefined;
    const { runId, firstWeek } = run;
    const out = new Map<string, SeriesWeeks>();
    for (const row of await readDepartments(db, runId, keys, horizon)) {
      out.set(`${row.store}/${row.dept}`, { firstWeek, p10: row.p10 as number[], p50: row.p50 as number[], p90: row.p90 as number[] });
    }
    return out;
  }

  /** The run department series are read from (the one answers come from), while a model version is active. */
  async departmentsRun(db: Database): Promise<DepartmentsRun | undefined> {
    const s = await this.currentState(db);
    if (!s.run || s.version === undefined) return undefined;
    return { runId: s.run.id, firstWeek: addWeeks(s.run.origin, 1) };
  }

  private async forecastAsOf(db: Database, s: State, key: SeriesKey, horizon: number, origin: string): Promise<ForecastResult> {
    if (s.version === undefined) return this.withFallback(db, key, horizon, { origin }, this.noModelNote(s));
    const run = await this.runAt(db, s.version, origin);
    if (run) {
      const [row] = await readSeries(db, run.id, [key.store], [key.dept ?? 0]);
      if (row) return { points: pointsOf(run, row, horizon), model: `${MODEL_NAME} v${run.version}`, version: run.version };
    }
    if (this.options.unstoredOrigins === 'stored') return this.fromEarlierRun(db, s, key, horizon, origin);
    const [answer] = await this.askWorker(s, [key], horizon, origin);
    if (!answer || 'noDepartments' in answer) return this.withFallback(db, key, horizon, { origin }, FALLBACK_NOTES.noDepartments);
    if ('noData' in answer) throw new UserError(`No sales recorded for ${describeScope(seriesScope(key))} on or before ${origin}.`, { code: 'no-data' });
    return { points: answer.points, model: `${MODEL_NAME} v${s.version}`, version: s.version };
  }

  /** The weeks after `origin` from the newest stored run before it (its arrays run 52 weeks past its own origin). */
  private async fromEarlierRun(db: Database, s: State, key: SeriesKey, horizon: number, origin: string): Promise<ForecastResult> {
    const run = await this.runAt(db, s.version!, origin, 'notAfter');
    const skip = run ? weeksBetween(run.origin, origin) : STORED_HORIZON;
    const why = `no forecasts are stored from the week of ${origin}`;
    if (!run || skip + horizon > STORED_HORIZON) return this.withFallback(db, key, horizon, { origin }, why);
    const [row] = await readSeries(db, run.id, [key.store], [key.dept ?? 0]);
    if (!row) return this.withFallback(db, key, horizon, { origin }, key.dept === undefined ? FALLBACK_NOTES.noDepartments : `no stored forecast for this department as of ${run.origin}`);
    return { points: pointsOf(run, row, skip + horizon).slice(skip), model: `${MODEL_NAME} v${run.version}`, version: run.version, note: `as of ${run.origin}: ${why}` };
  }

  private runAt(db: Database, version: number, origin: string, match: 'origin' | 'notAfter' = 'origin'): Promise<StoredRun | undefined> {
    const key = `${version}|${match}|${origin}`;
    const hit = this.runsAt.get(key);
    if (hit && Date.now() - hit.at < this.refreshMs) return hit.run;
    if (this.runsAt.size > 100) this.runsAt.clear();
    const run = latestRun(db, { version, [match]: origin });
    this.runsAt.set(key, { at: Date.now(), run });
    run.catch(() => this.runsAt.delete(key));
    return run;
  }

  private async askWorker(s: State, keys: SeriesKey[], horizon: number, origin: string): Promise<AsOfAnswer[]> {
    const backend = this.options.tfBackend ?? this.options.precompute?.tfBackend ?? 'auto';
    return (await this.asOf.run({ kind: 'asof', version: s.version!, stamp: s.stamp, origin, keys, horizon, backend })) as AsOfAnswer[];
  }

  /** Served answers go to the forecast log once per run and series; a failed write never fails the answer. */
  private async logServed(db: Database, run: StoredRun, key: SeriesKey, result: ForecastResult, horizon: number): Promise<void> {
    const id = `${run.id}|${key.store}|${key.dept ?? 0}|${horizon}`;
    if (this.logged.has(id)) return;
    if (this.logged.size > 20_000) this.logged.clear();
    this.logged.add(id);
    await logForecasts(db, run.version, 'served', servedRows(key, result)).catch((err: unknown) => this.options.logger?.error({ err, version: run.version }, 'forecast not logged'));
  }
}

const silent = createLogger('silent');
