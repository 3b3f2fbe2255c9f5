import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { UserError } from '../chat/errors.ts';
import { dataStamp, loadPanel } from './dataset.ts';
import type { ForecastPoint, ForecastResult, Forecaster, SeriesKey } from './forecaster.ts';
import { gridIndex, type Panel } from './panel.ts';
import { activeVersion, loadModel, trainingInProgress, type LoadedModel } from './registry.ts';
import { SeasonalNaiveForecaster } from './seasonal-naive.ts';
import { describeScope, seriesScope } from '../scope.ts';
import { ensureBackend } from './tf.ts';
import { forecastSeries } from './ensemble.ts';
import type { SeriesForecast } from './train.ts';
import { warmOrigin } from './features.ts';
import { addWeeks } from '../data/weeks.ts';
import { logForecasts } from './forecast-log.ts';

/**
 * The forecaster the server uses: the active registry model, or seasonal naive (saying so)
 * while no model exists. Every few seconds it re-reads which model is active and a cheap
 * data stamp, so `storecast models activate V` and new imports take effect without a
 * restart. Forecasts are cached per (model version, data stamp, series, horizon, origin).
 */

export const FALLBACK_NOTES = {
  training: 'model still training — seasonal-naive answered',
  none: 'no trained model yet — seasonal-naive answered (run `storecast train`)',
  noDepartments: 'this store has store totals only (no departments) — seasonal-naive answered',
  failed: 'the model could not be loaded — seasonal-naive answered',
} as const;

export interface ModelForecasterOptions {
  /** How often to re-check the active model and the data stamp. Default 5000 ms. */
  refreshMs?: number;
  /** Cached forecasts kept. Default 2000; 0 disables the cache. */
  cacheSize?: number;
  fallback?: Forecaster;
  logger?: Logger;
  tfBackend?: Config['tfBackend'];
  /**
   * After an import, a panel that loaded faster than this is waited for; a slower one is
   * replaced in the background while answers come from it. Default 2000 ms.
   */
  panelWaitMs?: number;
}

interface PanelEntry {
  stamp: string;
  promise: Promise<Panel>;
  /** Settles once the bases at the latest week are built too. */
  warmed: Promise<void>;
  /** Set once loaded and warmed. */
  loaded?: Panel;
  loadMs: number;
}

interface State {
  checkedAt: number;
  version: number | undefined;
  stamp: string;
  training: boolean;
}

export class ModelForecaster implements Forecaster {
  readonly name = 'global-mlp';
  private readonly fallback: Forecaster;
  private readonly refreshMs: number;
  private readonly cacheSize: number;
  private state: State | undefined;
  private stateLoading: Promise<State> | undefined;
  private model: { version: number; promise: Promise<LoadedModel> } | undefined;
  /** The panel answers come from, and one loading for newer data. */
  private panel: PanelEntry | undefined;
  private nextPanel: PanelEntry | undefined;
  private readonly cache = new Map<string, ForecastResult>();

  constructor(private readonly options: ModelForecasterOptions = {}) {
    this.fallback = options.fallback ?? new SeasonalNaiveForecaster();
    this.refreshMs = options.refreshMs ?? 5000;
    this.cacheSize = options.cacheSize ?? 2000;
  }

  /** Forget the cached state now (after training or activation in this process). */
  invalidate(): void {
    this.state = undefined;
  }

  private async currentState(db: Database): Promise<State> {
    const now = Date.now();
    if (this.state && now - this.state.checkedAt < this.refreshMs) return this.state;
    this.stateLoading ??= (async () => {
      try {
        const [version, stamp] = await Promise.all([activeVersion(db), dataStamp(db)]);
        const training = version === undefined ? await trainingInProgress(db) : false;
        const state = { checkedAt: Date.now(), version, stamp, training };
        if (this.state && (this.state.version !== version || this.state.stamp !== stamp)) this.cache.clear();
        this.state = state;
        return state;
      } finally {
        this.stateLoading = undefined;
      }
    })();
    return this.stateLoading;
  }

  private loadedModel(db: Database, version: number): Promise<LoadedModel> {
    if (this.model?.version !== version) {
      const previous = this.model;
      const promise = (async () => {
        await ensureBackend(this.options.tfBackend ?? 'auto', this.options.logger);
        const m = await loadModel(db, version);
        this.options.logger?.info({ version }, `forecasting with model v${version}`);
        return m;
      })();
      this.model = { version, promise };
      promise.catch(() => {
        if (this.model?.promise === promise) this.model = undefined;
      });
      void previous?.promise.then((m) => m.network.dispose()).catch(() => {});
    }
    return this.model.promise;
  }

  /** Loads a panel and builds its department bases at the latest week, in the background. */
  private startPanel(db: Database, stamp: string, svdRank: number): PanelEntry {
    const started = performance.now();
    const promise = loadPanel(db);
    const entry: PanelEntry = { stamp, promise, warmed: Promise.resolve(), loadMs: Infinity };
    entry.warmed = promise.then(async (panel) => {
      entry.loadMs = performance.now() - started;
      const warming = performance.now();
      await warmOrigin(panel, panel.weeks.length - 1, { svdRank }, yieldToLoop);
      entry.loaded = panel;
      this.options.logger?.info({ series: panel.series.length, loadMs: Math.round(entry.loadMs), warmMs: Math.round(performance.now() - warming) }, 'forecast bases built for the latest week');
    });
    return entry;
  }

  /**
   * The panel to answer from for this data stamp. A new stamp (an import) starts loading the
   * new panel in the background; while it loads, answers come from the previous one when that
   * took longer than `panelWaitMs` to load (40 s at 4,600 stores: waiting would stall every
   * answer after each ingest), and wait for the new one otherwise (small chains: milliseconds).
   * The stamp returned is the panel's, for caching what was computed from it.
   */
  private async panelFor(db: Database, stamp: string, svdRank: number): Promise<{ stamp: string; panel: Panel }> {
    const current = this.panel;
    if (current?.stamp === stamp) return { stamp, panel: await current.promise };
    let next = this.nextPanel;
    if (!next) {
      const entry = (next = this.startPanel(db, stamp, svdRank));
      this.nextPanel = entry;
      entry.warmed.then(
        () => {
          if (this.nextPanel === entry) [this.panel, this.nextPanel] = [entry, undefined];
        },
        (err: unknown) => {
          if (this.nextPanel === entry) this.nextPanel = undefined;
          this.options.logger?.warn({ err }, 'could not load the sales panel');
        },
      );
    }
    if (current?.loaded && current.loadMs > (this.options.panelWaitMs ?? 2_000) && !next.loaded) return { stamp: current.stamp, panel: current.loaded };
    return { stamp: next.stamp, panel: await next.promise };
  }

  /**
   * Loads the active model and the panel and builds the bases ahead of the first question
   * (the server calls it once its data is in). Resolves when done; a failure is logged and
   * left to the first forecast to meet.
   */
  async warm(db: Database): Promise<void> {
    const state = await this.currentState(db);
    if (state.version === undefined) return;
    const model = await this.loadedModel(db, state.version);
    await this.panelFor(db, state.stamp, model.hyper.svdRank).catch(() => {});
    await (this.nextPanel ?? this.panel)?.warmed.catch(() => {});
  }

  private async withFallback(db: Database, key: SeriesKey, horizon: number, options: { origin?: string }, note: string): Promise<ForecastResult> {
    const r = await this.fallback.forecast(db, key, horizon, options);
    return { ...r, note: r.note ? `${note}; ${r.note}` : note };
  }

  async forecast(db: Database, key: SeriesKey, horizon: number, options: { origin?: string } = {}): Promise<ForecastResult> {
    if (!Number.isInteger(horizon) || horizon < 1) throw new RangeError(`horizon must be a positive integer, got ${horizon}`);
    const state = await this.currentState(db);
    if (state.version === undefined) return this.withFallback(db, key, horizon, options, state.training ? FALLBACK_NOTES.training : FALLBACK_NOTES.none);
    let model: LoadedModel;
    try {
      model = await this.loadedModel(db, state.version);
    } catch (err) {
      this.options.logger?.error({ err, version: state.version }, 'could not load the active model');
      return this.withFallback(db, key, horizon, options, FALLBACK_NOTES.failed);
    }
    const { stamp, panel } = await this.panelFor(db, state.stamp, model.hyper.svdRank);
    const cacheKey = `${state.version}|${stamp}|${key.store}|${key.dept ?? '*'}|${horizon}|${options.origin ?? ''}`;
    const hit = this.cache.get(cacheKey);
    if (hit) {
      // LRU: move to the end.
      this.cache.delete(cacheKey);
      this.cache.set(cacheKey, hit);
      return hit;
    }
    const result = await this.forecastWith(model, panel, db, key, horizon, options);
    // Live answers go to the forecast log (a cache hit was logged when it was computed);
    // forecasts at a past origin are backtests, not answers.
    if (options.origin === undefined && result.version !== undefined) await this.logServed(db, result.version, key, result);
    if (this.cacheSize > 0) {
      this.cache.set(cacheKey, result);
      if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    }
    return result;
  }

  /**
   * Store totals of many stores at once (region and chain summaries): the network runs over
   * their departments in a few large batches per origin instead of one call per store (at
   * 4,600 stores, seconds instead of minutes). Stores it cannot answer this way (no model yet,
   * no departments, no data) are left out: the caller asks `forecast` for them, which falls
   * back or says why.
   */
  async forecastStores(db: Database, stores: readonly number[], horizon: number, options: { origin?: string } = {}): Promise<Map<number, ForecastResult>> {
    const out = new Map<number, ForecastResult>();
    const state = await this.currentState(db);
    if (state.version === undefined) return out;
    let model: LoadedModel;
    try {
      model = await this.loadedModel(db, state.version);
    } catch {
      return out; // logged by forecast(), which the caller falls back to
    }
    const { panel } = await this.panelFor(db, state.stamp, model.hyper.svdRank);
    for (const [origin, byStore] of storeSeriesByOrigin(panel, stores, options.origin)) {
      await warmOrigin(panel, origin, { svdRank: model.hyper.svdRank }, yieldToLoop);
      const entries = [...byStore];
      for (let i = 0; i < entries.length; i += STORES_PER_BATCH) {
        const part = entries.slice(i, i + STORES_PER_BATCH);
        const fc = await forecastSeries(model, panel, origin, part.flatMap(([, ids]) => ids), horizon);
        let k = 0;
        for (const [store, ids] of part) {
          out.set(store, { points: seriesTotal(fc.slice(k, k + ids.length), horizon), model: model.label, version: model.version });
          k += ids.length;
        }
        await yieldToLoop(); // replies keep flowing between batches
      }
    }
    if (options.origin === undefined) {
      const rows = [...out].flatMap(([store, result]) => servedRows({ store }, result));
      await logForecasts(db, model.version, 'served', rows).catch((err: unknown) => this.options.logger?.error({ err, version: model.version }, 'forecasts not logged'));
    }
    return out;
  }

  private async forecastWith(
    model: LoadedModel,
    panel: Panel,
    db: Database,
    key: SeriesKey,
    horizon: number,
    options: { origin?: string },
  ): Promise<ForecastResult> {
    const ids: number[] = [];
    panel.series.forEach((s, i) => {
      if (s.store === key.store && (key.dept === undefined || s.dept === key.dept)) ids.push(i);
    });
    if (ids.length === 0) {
      if (key.dept === undefined) return this.withFallback(db, key, horizon, options, FALLBACK_NOTES.noDepartments);
      throw new UserError(`No sales recorded for ${describeScope(seriesScope(key))}.`, { code: 'no-data' });
    }
    // The forecast starts after the series' last week with data (or the origin).
    let origin: number;
    if (options.origin !== undefined) {
      origin = Math.min(gridIndex(panel, options.origin), panel.weeks.length - 1);
    } else {
      origin = Math.max(...ids.map((i) => panel.series[i]?.last ?? -1));
    }
    const withHistory = ids.filter((i) => (panel.series[i]?.first ?? Infinity) <= origin);
    if (origin < 0 || withHistory.length === 0) {
      throw new UserError(
        options.origin ? `No sales recorded for ${describeScope(seriesScope(key))} on or before ${options.origin}.` : `No sales recorded for ${describeScope(seriesScope(key))}.`,
        { code: 'no-data' },
      );
    }
    // Blocks missing at this origin (another week than the warmed one) are built cooperatively.
    await warmOrigin(panel, origin, { svdRank: model.hyper.svdRank }, yieldToLoop, withHistory);
    const fc = await forecastSeries(model, panel, origin, withHistory, horizon);
    return { points: seriesTotal(fc, horizon), model: model.label, version: model.version };
  }

  /** Never fails the answer: a log write that fails is logged and the forecast goes out. */
  private async logServed(db: Database, version: number, key: SeriesKey, result: ForecastResult): Promise<void> {
    const rows = servedRows(key, result);
    if (!rows.length) return;
    await logForecasts(db, version, 'served', rows).catch((err: unknown) => this.options.logger?.error({ err, version }, 'forecast not logged'));
  }
}

/**
 * The total of several series' forecasts (a store's departments), with its 80% interval. One
 * series: its own interval. A total: the departments' errors are partly correlated
 * (store-wide shocks), so the half-width lies between independent (root of sum of squares)
 * and fully correlated (sum); take the midpoint.
 */
export function seriesTotal(fc: readonly SeriesForecast[], horizon: number): ForecastPoint[] {
  const points: ForecastPoint[] = [];
  for (let h = 0; h < horizon; h++) {
    let value = 0;
    let lo2 = 0;
    let hi2 = 0;
    let loSum = 0;
    let hiSum = 0;
    for (const f of fc) {
      const v = f.p50[h] as number;
      const lo = v - (f.p10[h] as number);
      const hi = (f.p90[h] as number) - v;
      value += v;
      lo2 += lo * lo;
      hi2 += hi * hi;
      loSum += lo;
      hiSum += hi;
    }
    const loW = fc.length === 1 ? loSum : (Math.sqrt(lo2) + loSum) / 2;
    const hiW = fc.length === 1 ? hiSum : (Math.sqrt(hi2) + hiSum) / 2;
    points.push({ week: fc[0]?.weeks[h] as string, value, lower: value - loW, upper: value + hiW });
  }
  return points;
}

/** Department series per store at most this many stores go through the network at once (memory stays bounded). */
const STORES_PER_BATCH = 100;

/** The forecast-log rows of one answer: origin is the week before its first point. */
export function servedRows(key: SeriesKey, result: ForecastResult) {
  const first = result.points[0];
  if (!first) return [];
  const origin = addWeeks(first.week, -1);
  return result.points.map((p, h) => ({ store: key.store, dept: key.dept ?? 0, origin, week: p.week, horizon: h + 1, p10: p.lower, p50: p.value, p90: p.upper }));
}

/**
 * The panel's department series of each store, grouped by the origin its forecast starts
 * from (as `forecast` picks it: the store's last week with data, or the week asked for), only
 * those with history by then. Stores with none are absent.
 */
function storeSeriesByOrigin(panel: Panel, stores: readonly number[], asked?: string): Map<number, Map<number, number[]>> {
  const wanted = new Set(stores);
  const byStore = new Map<number, number[]>();
  panel.series.forEach((s, i) => {
    if (wanted.has(s.store)) (byStore.get(s.store) ?? byStore.set(s.store, []).get(s.store)!).push(i);
  });
  const fixed = asked === undefined ? undefined : Math.min(gridIndex(panel, asked), panel.weeks.length - 1);
  const groups = new Map<number, Map<number, number[]>>();
  for (const [store, ids] of byStore) {
    const origin = fixed ?? Math.max(...ids.map((i) => panel.series[i]!.last));
    const withHistory = ids.filter((i) => panel.series[i]!.first <= origin);
    if (origin < 0 || withHistory.length === 0) continue;
    (groups.get(origin) ?? groups.set(origin, new Map()).get(origin)!).set(store, withHistory);
  }
  return groups;
}

/** Lets other requests run between long steps (department blocks, forecast batches). */
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
