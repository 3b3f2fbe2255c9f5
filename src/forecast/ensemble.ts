import { rushDepartments, shiftChristmas } from './christmas.ts';
import { combineSeries, fitCombination, weighedMembers, weightsFor, type CombinationSettings, type InnerRows } from './combination.ts';
import { originState } from './features.ts';
import { horizonInfos, OPTIONAL_MEMBERS, statForecasts, STAT_MEMBERS } from './members.ts';
import type { Calibration, Hyperparameters, Normalizer } from './model.ts';
import { gridIndex, type Panel, type PanelSeries } from './panel.ts';
import { weekType, WEEK_TYPES } from './source-kernel.ts';
import { addWeeks } from '../data/weeks.ts';
import type * as tf from '@tensorflow/tfjs';
import { networkForecast, trainNetwork, scaleSeriesPerOrigin, seriesSubsets, type SeriesForecast, type TrainedModel, type TrainOptions } from './train.ts';

/**
 * The forecast: the global network ('model') and the statistical members (members.ts, each
 * with the Christmas shift, christmas.ts), combined with weights chosen on the inner window
 * before the training cut-off (combination.ts). `trainModel` and `forecastSeries` are what
 * training, the backtest and serving call; a model without a combination (registered before
 * it existed) forecasts with its network alone.
 */

export const MEMBER_NAMES: readonly string[] = ['model', ...STAT_MEMBERS, ...OPTIONAL_MEMBERS];

/** What forecasting needs of a model, trained here or loaded from the registry. */
export interface Forecastable {
  network: tf.LayersModel;
  hyper: Hyperparameters;
  calibration: Calibration;
  normalizer: Normalizer;
  combination?: CombinationSettings;
}

export interface MemberForecasts {
  /** The network's forecasts (calibrated quantiles), one per series with history. */
  network: SeriesForecast[];
  /** Per member name, per series id: p50 over the horizon (dollars, Christmas shift applied). */
  members: Map<string, Map<number, Float64Array>>;
}

/**
 * Every member's forecast of `ids` from grid index `origin` (data on or before it only), or of
 * the statistical members named in `names` (serving computes only those its combination weighs).
 */
export async function memberForecasts(model: Forecastable, panel: Panel, origin: number, ids: readonly number[], horizon: number, names?: readonly string[]): Promise<MemberForecasts> {
  const network = await networkForecast(model, panel, origin, ids, horizon);
  const withHistory = network.map((f) => f.series);
  const members = new Map<string, Map<number, Float64Array>>([['model', new Map(network.map((f) => [f.series, f.p50]))]]);
  if (withHistory.length === 0) return { network, members };
  for (const [name, bySeries] of statMemberForecasts(panel, origin, withHistory, horizon, model.hyper.svdRank, names)) members.set(name, bySeries);
  return { network, members };
}

/**
 * The statistical members' forecasts of `ids` (all with history at `origin`), the Christmas
 * shift applied. Same origin, rank and series as the network's call: the department blocks
 * come from its cache.
 */
export function statMemberForecasts(panel: Panel, origin: number, ids: readonly number[], horizon: number, svdRank: number, names: readonly string[] = [...STAT_MEMBERS, ...OPTIONAL_MEMBERS]): Map<string, Map<number, Float64Array>> {
  const st = originState(panel, origin, { svdRank }, ids);
  const stat = statForecasts(panel, origin, ids, horizon, svdRank, st, names);
  const rush = rushDepartments(panel, origin, new Map([...st.deptAgg].map(([d, a]) => [d, a.sum])));
  const infos = horizonInfos(panel, origin, horizon);
  for (const bySeries of stat.values()) for (const [si, values] of bySeries) if (rush.has((panel.series[si] as PanelSeries).dept)) shiftChristmas(values, infos);
  return stat;
}

/** The combined forecast (or the network's alone for a model without a combination). Values in dollars. */
export async function forecastSeries(model: Forecastable, panel: Panel, origin: number, ids: readonly number[], horizon: number): Promise<SeriesForecast[]> {
  const settings = model.combination;
  if (!settings) return networkForecast(model, panel, origin, ids, horizon);
  // A member the inner window dropped (weight 0) adds nothing: not computed (naive-nn forecasts
  // each series' neighbours too).
  const known: readonly string[] = [...STAT_MEMBERS, ...OPTIONAL_MEMBERS];
  const weighed = weighedMembers(settings).filter((m) => known.includes(m));
  const { network, members } = await memberForecasts(model, panel, origin, ids, horizon, weighed);
  return network.map((f) => {
    const p50s = settings.members.map((m) => members.get(m)?.get(f.series) ?? f.p50);
    const weights = weightsFor(settings, (panel.series[f.series] as PanelSeries).dept);
    return { series: f.series, weeks: f.weeks, ...combineSeries({ ...settings, weights }, p50s, f, horizon) };
  });
}

/** Horizon buckets of the inner window: horizons up to 3 x valWeeks (39 weeks by default) get their own calibration. */
export const INNER_BUCKETS = 3;
/** The earliest inner origin: the network's first training origin (train.ts `trainingOrigins`). */
const MIN_INNER_ORIGIN = 13;

/**
 * Chooses the weights and calibrates the interval on the inner window, the last `valWeeks`
 * weeks up to the cut-off `until` (the network never trained on those targets: they are its
 * validation split). Bucket b (0-based) forecasts them from `until - (b + 1) x valWeeks`, so
 * its rows are horizons b x valWeeks + 1 .. (b + 1) x valWeeks, out of sample for every
 * member; the weights are chosen on all buckets' rows, the interval per bucket. `sample`
 * bounds the series used (scale mode: a seeded draw, as in training).
 */
export async function fitEnsemble(model: Forecastable, panel: Panel, until: number, sample?: number): Promise<CombinationSettings> {
  const weeks = model.hyper.valWeeks;
  const parts: InnerRows[] = [];
  for (let b = 0; b < INNER_BUCKETS; b++) {
    const inner = until - (b + 1) * weeks;
    if (b > 0 && inner < MIN_INNER_ORIGIN) break;
    let ids = panel.series.map((_, i) => i).filter((i) => {
      const s = panel.series[i] as PanelSeries;
      return s.first <= inner && s.last > until - weeks;
    });
    const subset = seriesSubsets(ids.length, 1, sample, model.hyper.seed + 1)?.[0];
    if (subset) ids = Array.from(subset, (k) => ids[k] as number);
    const { network, members } = await memberForecasts(model, panel, inner, ids, (b + 1) * weeks);
    parts.push(innerRows(panel, inner, until - weeks, until, b, network, MEMBER_NAMES.map((m) => members.get(m) ?? new Map())));
  }
  return fitCombination(MEMBER_NAMES, concatRows(parts), model.hyper.holidayWeight, { innerOrigin: panel.weeks[until - weeks] as string, innerWeeks: weeks }, parts.length, OPTIONAL_MEMBERS, targetTypeShares(panel.weeks[until] as string, weeks, parts.length));
}

/**
 * Share of each week type (`weekType`) among the target weeks of each horizon bucket after the
 * origin week (bucket b: weeks b x weeks + 1 .. (b + 1) x weeks after it): the calendar the
 * interval is calibrated for (combination.ts `calibrateCombination`).
 */
export function targetTypeShares(originWeek: string, weeks: number, buckets: number): number[][] {
  return Array.from({ length: buckets }, (_, b) => {
    const count = new Array<number>(WEEK_TYPES).fill(0);
    for (let h = b * weeks + 1; h <= (b + 1) * weeks; h++) {
      const k = weekType(addWeeks(originWeek, h));
      count[k] = (count[k] as number) + 1;
    }
    return count.map((c) => c / weeks);
  });
}

export function concatRows(parts: readonly InnerRows[]): InnerRows {
  const n = parts.reduce((a, p) => a + p.n, 0);
  const join = <T extends Float64Array | Uint8Array | Int32Array>(make: (n: number) => T, get: (p: InnerRows) => T): T => {
    const out = make(n);
    let at = 0;
    for (const p of parts) {
      out.set(get(p), at);
      at += p.n;
    }
    return out;
  };
  const f64 = (k: number) => new Float64Array(k);
  const u8 = (k: number) => new Uint8Array(k);
  return {
    n,
    y: join(f64, (p) => p.y),
    holiday: join(u8, (p) => p.holiday),
    preds: (parts[0]?.preds ?? []).map((_, k) => join(f64, (p) => p.preds[k] as Float64Array)),
    lower: join(f64, (p) => p.lower),
    upper: join(f64, (p) => p.upper),
    bucket: join(u8, (p) => p.bucket as Uint8Array),
    weekType: join(u8, (p) => p.weekType as Uint8Array),
    // Rows without departments (a caller that wants one weight vector) stay without them.
    ...(parts.every((p) => p.group && p.week) ? { group: join((k) => new Int32Array(k), (p) => p.group as Int32Array), week: join(u8, (p) => p.week as Uint8Array) } : {}),
  };
}

/** The scored rows of one bucket: every known actual after `from` up to `until`, forecast from `inner` (a member without a forecast of a series counts as the network's). */
export function innerRows(panel: Panel, inner: number, from: number, until: number, bucket: number, network: readonly SeriesForecast[], members: readonly Map<number, Float64Array>[]): InnerRows {
  let n = 0;
  for (const f of network) for (let t = from + 1; t <= until; t++) if (!Number.isNaN((panel.series[f.series] as PanelSeries).y[t] as number)) n++;
  const rows: InnerRows = {
    n,
    y: new Float64Array(n),
    holiday: new Uint8Array(n),
    preds: members.map(() => new Float64Array(n)),
    lower: new Float64Array(n),
    upper: new Float64Array(n),
    bucket: new Uint8Array(n).fill(bucket),
    weekType: new Uint8Array(n),
    group: new Int32Array(n),
    week: new Uint8Array(n),
  };
  let i = 0;
  for (const f of network) {
    const s = panel.series[f.series] as PanelSeries;
    for (let t = from + 1; t <= until; t++) {
      const y = s.y[t] as number;
      if (Number.isNaN(y)) continue;
      const h = t - inner - 1;
      rows.y[i] = y;
      rows.holiday[i] = panel.holidayWeeks.has(panel.weeks[t] as string) ? 1 : 0;
      (rows.weekType as Uint8Array)[i] = weekType(panel.weeks[t] as string);
      (rows.group as Int32Array)[i] = s.dept;
      (rows.week as Uint8Array)[i] = t - from - 1;
      members.forEach((m, k) => ((rows.preds[k] as Float64Array)[i] = ((m.get(f.series) ?? f.p50)[h] as number)));
      rows.lower[i] = Math.max((f.p50[h] as number) - (f.p10[h] as number), 0);
      rows.upper[i] = Math.max((f.p90[h] as number) - (f.p50[h] as number), 0);
      i++;
    }
  }
  return rows;
}

/** Trains the network on weeks <= until, then fits the combination on the inner window before it. */
export async function trainModel(panel: Panel, options: TrainOptions = {}): Promise<TrainedModel> {
  const model = await trainNetwork(panel, options);
  const until = gridIndex(panel, model.until);
  const sample = scaleSeriesPerOrigin(panel.series.length, options.scale);
  const started = performance.now();
  const settings = await fitEnsemble(model, panel, until, sample);
  model.combination = { ...settings, seconds: (performance.now() - started) / 1000 };
  options.logger?.info({ weights: Object.fromEntries(settings.members.map((m, k) => [m, settings.weights[k]])), innerWmae: settings.innerWmae, departmentWeights: Object.keys(settings.groupWeights ?? {}).length, groupCheck: settings.groupCheck, seconds: model.combination.seconds }, 'forecast members combined');
  return model;
}
