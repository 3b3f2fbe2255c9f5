import { rushDepartments, shiftChristmas } from './christmas.ts';
import { combineSeries, fitCombination, type CombinationSettings, type InnerRows } from './combination.ts';
import { originState } from './features.ts';
import { horizonInfos, statForecasts, STAT_MEMBERS } from './members.ts';
import type { Calibration, Hyperparameters, Normalizer } from './model.ts';
import { gridIndex, type Panel, type PanelSeries } from './panel.ts';
import type { tf } from './tf.ts';
import { networkForecast, trainNetwork, scaleSeriesPerOrigin, seriesSubsets, type SeriesForecast, type TrainedModel, type TrainOptions } from './train.ts';

/**
 * The forecast: the global network ('model') and the statistical members (members.ts, each
 * with the Christmas shift, christmas.ts), combined with weights chosen on the inner window
 * before the training cut-off (combination.ts). `trainModel` and `forecastSeries` are what
 * training, the backtest and serving call; a model without a combination (registered before
 * it existed) forecasts with its network alone.
 */

export const MEMBER_NAMES: readonly string[] = ['model', ...STAT_MEMBERS];

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

/** Every member's forecast of `ids` from grid index `origin` (data on or before it only). */
export async function memberForecasts(model: Forecastable, panel: Panel, origin: number, ids: readonly number[], horizon: number): Promise<MemberForecasts> {
  const network = await networkForecast(model, panel, origin, ids, horizon);
  const withHistory = network.map((f) => f.series);
  const members = new Map<string, Map<number, Float64Array>>([['model', new Map(network.map((f) => [f.series, f.p50]))]]);
  if (withHistory.length === 0) return { network, members };
  // Same origin, rank and series as the network's call: the department blocks come from its cache.
  const st = originState(panel, origin, { svdRank: model.hyper.svdRank }, withHistory);
  const stat = statForecasts(panel, origin, withHistory, horizon, model.hyper.svdRank, st);
  const rush = rushDepartments(panel, origin, new Map([...st.deptAgg].map(([d, a]) => [d, a.sum])));
  const infos = horizonInfos(panel, origin, horizon);
  for (const [name, bySeries] of stat) {
    for (const [si, values] of bySeries) if (rush.has((panel.series[si] as PanelSeries).dept)) shiftChristmas(values, infos);
    members.set(name, bySeries);
  }
  return { network, members };
}

/** The combined forecast (or the network's alone for a model without a combination). Values in dollars. */
export async function forecastSeries(model: Forecastable, panel: Panel, origin: number, ids: readonly number[], horizon: number): Promise<SeriesForecast[]> {
  const settings = model.combination;
  if (!settings) return networkForecast(model, panel, origin, ids, horizon);
  const { network, members } = await memberForecasts(model, panel, origin, ids, horizon);
  return network.map((f) => {
    const p50s = settings.members.map((m) => members.get(m)?.get(f.series) ?? f.p50);
    return { series: f.series, weeks: f.weeks, ...combineSeries(settings, p50s, f, horizon) };
  });
}

/**
 * Chooses the weights and calibrates the interval on the inner window: every member forecasts
 * the last `valWeeks` weeks up to the cut-off `until` from `until - valWeeks` (the network never
 * trained on those targets: they are its validation split). `sample` bounds the series used
 * (scale mode: a seeded draw, as in training).
 */
export async function fitEnsemble(model: Forecastable, panel: Panel, until: number, sample?: number): Promise<CombinationSettings> {
  const weeks = model.hyper.valWeeks;
  const inner = until - weeks;
  let ids = panel.series.map((_, i) => i).filter((i) => {
    const s = panel.series[i] as PanelSeries;
    return s.first <= inner && s.last > inner;
  });
  const subset = seriesSubsets(ids.length, 1, sample, model.hyper.seed + 1)?.[0];
  if (subset) ids = Array.from(subset, (k) => ids[k] as number);
  const { network, members } = await memberForecasts(model, panel, inner, ids, weeks);
  const rows = innerRows(panel, inner, until, network, MEMBER_NAMES.map((m) => members.get(m) ?? new Map()));
  return fitCombination(MEMBER_NAMES, rows, model.hyper.holidayWeight, { innerOrigin: panel.weeks[inner] as string, innerWeeks: weeks });
}

/** The scored rows of the inner window: every known actual after `inner` up to `until`. */
function innerRows(panel: Panel, inner: number, until: number, network: readonly SeriesForecast[], members: readonly Map<number, Float64Array>[]): InnerRows {
  let n = 0;
  for (const f of network) for (let t = inner + 1; t <= until; t++) if (!Number.isNaN((panel.series[f.series] as PanelSeries).y[t] as number)) n++;
  const rows: InnerRows = {
    n,
    y: new Float64Array(n),
    holiday: new Uint8Array(n),
    preds: members.map(() => new Float64Array(n)),
    lower: new Float64Array(n),
    upper: new Float64Array(n),
  };
  let i = 0;
  for (const f of network) {
    const s = panel.series[f.series] as PanelSeries;
    for (let t = inner + 1; t <= until; t++) {
      const y = s.y[t] as number;
      if (Number.isNaN(y)) continue;
      const h = t - inner - 1;
      rows.y[i] = y;
      rows.holiday[i] = panel.holidayWeeks.has(panel.weeks[t] as string) ? 1 : 0;
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
  options.logger?.info({ weights: Object.fromEntries(settings.members.map((m, k) => [m, settings.weights[k]])), innerWmae: settings.innerWmae, seconds: model.combination.seconds }, 'forecast members combined');
  return model;
}
