import { addWeeks } from '../data/weeks.ts';
import { FEATURE_COL, originState, targetInfo, writeFeatures, N_FEATURES } from './features.ts';
import { DEFAULT_HYPERPARAMETERS, type Hyperparameters } from './model.ts';
import { gridIndex, type Panel, type PanelSeries } from './panel.ts';
import { seasonalNaive } from './seasonal-naive.ts';
import type { EpochReport, TrainMetrics, TrainOptions } from './train.ts';
import { combineSeries, weightsFor, type CombinationSettings } from './combination.ts';
import { MEMBER_NAMES, memberForecasts, trainModel } from './ensemble.ts';
import { Wmae } from './wmae.ts';

/**
 * Backtest: train only on weeks <= origin, forecast `horizon` weeks, and score every store x
 * dept row present in the data after the origin against baselines computed in the same run.
 *
 *   wmae       mean absolute error, holiday weeks weighted by the model's holidayWeight
 *              (default 5: the competition's metric)
 *   mae        unweighted
 *   storeWmae  WMAE of store totals (the sum of the store's scored rows per week)
 *   coverage   share of rows inside the 80% interval
 *
 * Rows of series with no history at the origin are scored too: every method forecasts 0.
 */

export interface MethodScore {
  name: string;
  wmae: number;
  mae: number;
  storeWmae: number;
  coverage: number;
  /** A member's weight in the combination (members only). */
  weight?: number;
}

export interface BacktestReport {
  origin: string;
  horizon: number;
  rows: number;
  results: MethodScore[];
  model: { metrics: TrainMetrics; trainedUntil: string; combination?: CombinationSettings };
  seconds: number;
}

export interface BacktestOptions {
  origin: string;
  horizon: number;
  hyper?: Partial<Hyperparameters>;
  onEpoch?: (r: EpochReport) => void;
  onBatch?: (done: number, total: number, epoch: number) => void;
  onStage?: (stage: string) => void;
  /** Scale-mode training (series sampled per origin), e.g. to measure its accuracy cost. */
  scale?: TrainOptions['scale'];
}

/** Forecasts of one method for the scored series: per series index, arrays over the horizon. */
type Predictions = Map<number, { p50: ArrayLike<number>; p10: ArrayLike<number>; p90: ArrayLike<number> }>;

export const METHOD_DESCRIPTIONS: Record<string, string> = {
  combined: 'the forecast served: members below weighted on the 13 weeks before the origin (per department where held-out weeks there say it pays), interval calibrated there',
  model: 'member: global network (TensorFlow.js), quantile mixture of seasonal candidates',
  'svd-naive': 'member: SVD-smoothed two-year seasonal naive x recent growth, Christmas shift',
  'stl-ets': 'member: STL-like decomposition of the SVD-smoothed series + exponential smoothing of its level, Christmas shift',
  product: 'member: share of the department x the department’s aligned week x growth, Christmas shift',
  harmonic: 'optional member (weight 0 where it does not help on the inner window): Fourier seasonal of the SVD-smoothed series + exponentially smoothed residual level, Christmas shift',
  'naive-nn': 'optional member: seasonal naive of the unsmoothed history, averaged (standard-scaled) over up to 5 stores of the department that correlate best (>= 0.8), Christmas shift',
  'seasonal-naive': 'last year’s holiday-aligned week (Thanksgiving to Thanksgiving, Christmas to Christmas)',
  'seasonal-naive-level': 'the same + Christmas day-drift interpolation x recent growth (the fallback /forecast serves)',
  'svd-seasonal-naive': 'per-department rank-k SVD smoothing, two-year blend, x growth (the Kaggle winner’s core)',
};

/** A series' observed weeks up to `origin` (missing weeks left out), as seasonalNaive takes them. */
export function seriesHistory(panel: Panel, s: PanelSeries, origin: number): { weeks: string[]; values: number[] } {
  const weeks: string[] = [];
  const values: number[] = [];
  for (let i = s.first; i <= Math.min(origin, s.last); i++) {
    const v = s.y[i] as number;
    if (Number.isNaN(v)) continue;
    weeks.push(panel.weeks[i] as string);
    values.push(v);
  }
  return { weeks, values };
}

export function scoreMethod(
  name: string,
  panel: Panel,
  origin: number,
  horizon: number,
  preds: Predictions,
  holidayWeight = DEFAULT_HYPERPARAMETERS.holidayWeight,
): MethodScore & { rows: number } {
  const wmae = new Wmae(holidayWeight);
  let err = 0;
  let covered = 0;
  let rows = 0;
  const storeWeek = new Map<string, { y: number; f: number; holiday: boolean }>();
  const last = Math.min(origin + horizon, panel.weeks.length - 1);
  panel.series.forEach((s, si) => {
    const p = preds.get(si);
    for (let t = origin + 1; t <= last; t++) {
      const y = s.y[t] as number;
      if (Number.isNaN(y)) continue;
      const h = t - origin - 1;
      const f = p ? (p.p50[h] as number) : 0;
      const lo = p ? (p.p10[h] as number) : 0;
      const hi = p ? (p.p90[h] as number) : 0;
      const week = panel.weeks[t] as string;
      const holiday = panel.holidayWeeks.has(week);
      wmae.add(Math.abs(y - f), holiday);
      err += Math.abs(y - f);
      if (y >= lo && y <= hi) covered++;
      rows++;
      const key = `${s.store}|${t}`;
      const sw = storeWeek.get(key) ?? { y: 0, f: 0, holiday };
      sw.y += y;
      sw.f += f;
      storeWeek.set(key, sw);
    }
  });
  const storeWmae = new Wmae(holidayWeight);
  for (const sw of storeWeek.values()) storeWmae.add(Math.abs(sw.y - sw.f), sw.holiday);
  return {
    name,
    wmae: wmae.value(),
    mae: err / Math.max(rows, 1),
    storeWmae: storeWmae.value(),
    coverage: covered / Math.max(rows, 1),
    rows,
  };
}

/** The statistical baselines (no training), for every series with history at the origin. */
export function baselinePredictions(panel: Panel, origin: number, horizon: number, svdRank = 10): Record<string, Predictions> {
  const originWeek = panel.weeks[origin] as string;
  const plain: Predictions = new Map();
  const level: Predictions = new Map();
  const svd: Predictions = new Map();
  const ids = panel.series.map((_, i) => i).filter((i) => (panel.series[i] as PanelSeries).first <= origin);
  const st = originState(panel, origin, { svdRank });
  const infos = Array.from({ length: horizon }, (_, h) => targetInfo(panel, origin, addWeeks(originWeek, h + 1), false));
  const row = new Float32Array(N_FEATURES);
  for (const si of ids) {
    const s = panel.series[si] as PanelSeries;
    const hist = seriesHistory(panel, s, origin);
    if (hist.weeks.length === 0) continue;
    const a = seasonalNaive(hist, horizon, { origin: originWeek, levelAdjust: false, christmasShift: false });
    const b = seasonalNaive(hist, horizon, { origin: originWeek });
    plain.set(si, { p50: a.points.map((p) => p.value), p10: a.points.map((p) => p.lower), p90: a.points.map((p) => p.upper) });
    level.set(si, { p50: b.points.map((p) => p.value), p10: b.points.map((p) => p.lower), p90: b.points.map((p) => p.upper) });
    // SVD seasonal naive: the smoothed two-year blend x the growth level, with the seasonal
    // naive's own empirical interval around it.
    const sc = st.scale[si] as number;
    const lvl = st.level[si] as number;
    const p50 = infos.map((info) => {
      writeFeatures(st, si, info, row, 0);
      const avail1 = row[FEATURE_COL.avail1] as number;
      const v = (row[FEATURE_COL.snavg_svd] as number) * sc;
      return avail1 ? v * lvl : v;
    });
    svd.set(si, {
      p50,
      p10: p50.map((v, h) => v + ((a.points[h]?.lower ?? 0) - (a.points[h]?.value ?? 0))),
      p90: p50.map((v, h) => v + ((a.points[h]?.upper ?? 0) - (a.points[h]?.value ?? 0))),
    });
  }
  return { 'seasonal-naive': plain, 'seasonal-naive-level': level, 'svd-seasonal-naive': svd };
}

export async function runBacktest(panel: Panel, options: BacktestOptions): Promise<BacktestReport> {
  const started = performance.now();
  if (!Number.isInteger(options.horizon) || options.horizon < 1 || options.horizon > 52) {
    throw new RangeError(`horizon must be 1..52 weeks, got ${options.horizon}`);
  }
  const origin = gridIndex(panel, options.origin);
  if (origin < 0 || origin >= panel.weeks.length) {
    throw new RangeError(`origin ${options.origin} is outside the data (${panel.weeks[0]} .. ${panel.weeks.at(-1)})`);
  }
  if (panel.weeks[origin] !== options.origin) throw new RangeError(`origin must be a Friday with data, e.g. ${panel.weeks[origin]}`);
  if (origin + 1 >= panel.weeks.length) throw new RangeError(`no data after the origin ${options.origin} to score`);
  options.onStage?.('training');
  const model = await trainModel(panel, { until: options.origin, hyper: options.hyper, onEpoch: options.onEpoch, onBatch: options.onBatch, scale: options.scale });
  options.onStage?.('forecasting');
  const ids = panel.series.map((_, i) => i).filter((i) => (panel.series[i] as PanelSeries).first <= origin);
  const { network, members } = await memberForecasts(model, panel, origin, ids, options.horizon);
  model.network.dispose();
  const settings = model.combination;
  const combined: Predictions = new Map();
  const byMember = new Map<string, Predictions>(MEMBER_NAMES.map((m) => [m, new Map()]));
  for (const f of network) {
    const p50s = MEMBER_NAMES.map((m) => members.get(m)?.get(f.series) ?? f.p50);
    if (settings) combined.set(f.series, combineSeries({ ...settings, weights: weightsFor(settings, (panel.series[f.series] as PanelSeries).dept) }, settings.members.map((m) => p50s[MEMBER_NAMES.indexOf(m)] ?? f.p50), f, options.horizon));
    // A member's own interval: the network's (calibrated) half-widths around its p50.
    MEMBER_NAMES.forEach((m, k) => byMember.get(m)?.set(f.series, combineSeries({ weights: [1], calibration: { lower: 1, upper: 1 } }, [p50s[k] as Float64Array], f, options.horizon)));
  }
  const baselines = baselinePredictions(panel, origin, options.horizon, model.hyper.svdRank);
  options.onStage?.('scoring');
  // Every method is scored with the holiday weight the model was selected with.
  const weight = model.hyper.holidayWeight;
  const scored: (MethodScore & { rows: number })[] = [];
  if (settings) scored.push(scoreMethod('combined', panel, origin, options.horizon, combined, weight));
  for (const [name, preds] of byMember) {
    const k = settings?.members.indexOf(name) ?? -1;
    scored.push({ ...scoreMethod(name, panel, origin, options.horizon, preds, weight), weight: k >= 0 ? settings?.weights[k] : undefined });
  }
  for (const [name, preds] of Object.entries(baselines)) scored.push(scoreMethod(name, panel, origin, options.horizon, preds, weight));
  return {
    origin: options.origin,
    horizon: options.horizon,
    rows: scored[0]?.rows ?? 0,
    results: scored.map(({ rows: _rows, ...m }) => m),
    model: { metrics: model.metrics, trainedUntil: model.until, combination: settings },
    seconds: (performance.now() - started) / 1000,
  };
}
