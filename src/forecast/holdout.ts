import { baselinePredictions, scoreMethod, seriesHistory, type MethodScore } from './backtest.ts';
import { seasonalNaive } from './seasonal-naive.ts';
import type { LogRow } from './forecast-log.ts';
import type { Panel, PanelSeries } from './panel.ts';
import type { LoadedModel } from './registry.ts';
import { forecastSeries } from './ensemble.ts';

/**
 * Champion vs challenger on the latest held-out weeks: both forecast from the same origin
 * (H weeks before the last week with data) every series with history there, and are scored
 * on the H weeks after it with the backtest's scorer, beside plain seasonal naive. The
 * challenger never trained on those weeks: they lie in its validation split (targets of the
 * last `valWeeks` weeks, used only for early stopping and the interval's calibration).
 */

export interface HoldoutComparison {
  origin: string;
  weeks: number;
  rows: number;
  challenger: MethodScore;
  champion?: MethodScore & { version: number };
  naive: MethodScore;
}

type Scorable = Pick<LoadedModel, 'network' | 'hyper' | 'calibration' | 'normalizer' | 'combination'>;

async function scoreModel(name: string, model: Scorable, panel: Panel, origin: number, weeks: number, ids: number[]): Promise<MethodScore & { rows: number }> {
  const fc = await forecastSeries(model, panel, origin, ids, weeks);
  return scoreMethod(name, panel, origin, weeks, new Map(fc.map((f) => [f.series, f])), model.hyper.holidayWeight);
}

export async function compareOnHoldout(panel: Panel, challenger: Scorable, champion: (Scorable & { version: number }) | undefined, weeks: number): Promise<HoldoutComparison> {
  const origin = panel.weeks.length - 1 - weeks;
  if (origin < 1) throw new RangeError(`too few weeks to hold ${weeks} back`);
  const ids = panel.series.map((_, i) => i).filter((i) => (panel.series[i] as PanelSeries).first <= origin);
  const c = await scoreModel('challenger', challenger, panel, origin, weeks, ids);
  const naivePreds = baselinePredictions(panel, origin, weeks, challenger.hyper.svdRank)['seasonal-naive'] ?? new Map();
  const { rows, ...naive } = scoreMethod('seasonal-naive', panel, origin, weeks, naivePreds, challenger.hyper.holidayWeight);
  const champ = champion ? await scoreModel('champion', champion, panel, origin, weeks, ids) : undefined;
  const strip = <T extends { rows: number }>({ rows: _rows, ...rest }: T) => rest;
  return {
    origin: panel.weeks[origin] as string,
    weeks,
    rows,
    challenger: strip(c),
    ...(champ && champion ? { champion: { ...strip(champ), version: champion.version } } : {}),
    naive,
  };
}

export interface Decision {
  promote: boolean;
  reason: string;
}

const pct = (v: number) => `${(Math.abs(v) * 100).toFixed(1)}%`;
const num = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });

/** Promote only when the challenger beats the champion by `margin` (a share of its WMAE). */
export function decide(h: HoldoutComparison, challengerVersion: number, margin: number): Decision {
  const span = `the ${h.weeks} held-out weeks after ${h.origin}`;
  if (!h.champion) return { promote: true, reason: `no active model: challenger v${challengerVersion} (WMAE ${num(h.challenger.wmae)} on ${span}) becomes the first` };
  const gain = 1 - h.challenger.wmae / h.champion.wmae;
  const versus = `challenger v${challengerVersion} WMAE ${num(h.challenger.wmae)} vs champion v${h.champion.version} ${num(h.champion.wmae)} on ${span}`;
  if (!Number.isFinite(gain)) return { promote: false, reason: `${versus}: not comparable, kept as a candidate` };
  if (gain >= margin) return { promote: true, reason: `${versus}: ${pct(gain)} better (margin ${pct(margin)}), promoted` };
  const how = gain > 0 ? `only ${pct(gain)} better, below the ${pct(margin)} margin` : `${pct(gain)} worse`;
  return { promote: false, reason: `${versus}: ${how}; kept as a candidate (\`storecast models activate ${challengerVersion}\` to use it anyway)` };
}

/** Series a model's batch log holds at the most (issue #22: bounded at chain scale, like scale training). */
export const BATCH_LOG_SERIES = 20_000;
/** Series forecast at once: the network's inputs and the members' state stay a part's size. */
const BATCH_PART = 5_000;

/** At most `n` of `ids`, spread evenly (every k-th in store, department order): every region and size of store stays in. */
export function evenSample<T>(ids: readonly T[], n: number): T[] {
  if (ids.length <= n) return [...ids];
  const step = ids.length / n;
  return Array.from({ length: n }, (_, k) => ids[Math.floor(k * step)] as T);
}

/**
 * The batch rows of a model: the series with history at grid index `origin` (all of them up to
 * `maxSeries`, an even sample beyond — at 4,600 stores all 340k series at once held 3.4 GB),
 * `horizon` weeks ahead, with the plain seasonal naive of the backtest beside each. Pure CPU
 * (no I/O): the retrain worker computes them off the server's event loop.
 */
export async function batchForecastRows(
  model: Pick<LoadedModel, 'network' | 'hyper' | 'calibration' | 'normalizer'>,
  panel: Panel,
  origin: number,
  horizon: number,
  maxSeries = BATCH_LOG_SERIES,
): Promise<LogRow[]> {
  const all = panel.series.map((_, i) => i).filter((i) => (panel.series[i] as PanelSeries).first <= origin);
  const ids = evenSample(all, maxSeries);
  const originWeek = panel.weeks[origin] as string;
  const rows: LogRow[] = [];
  for (let k = 0; k < ids.length; k += BATCH_PART) {
    for (const f of await forecastSeries(model, panel, origin, ids.slice(k, k + BATCH_PART), horizon)) {
      const s = panel.series[f.series] as PanelSeries;
      const hist = seriesHistory(panel, s, origin);
      // The backtest's plain seasonal naive ('seasonal-naive' of baselinePredictions), series by series.
      const n = hist.weeks.length ? seasonalNaive(hist, horizon, { origin: originWeek, levelAdjust: false, christmasShift: false }).points : undefined;
      for (let h = 0; h < horizon; h++) {
        const b = n?.[h];
        rows.push({
          store: s.store,
          dept: s.dept,
          origin: originWeek,
          week: f.weeks[h] as string,
          horizon: h + 1,
          p10: f.p10[h] as number,
          p50: f.p50[h] as number,
          p90: f.p90[h] as number,
          naive: b ? { p10: b.lower, p50: b.value, p90: b.upper } : undefined,
        });
      }
    }
  }
  return rows;
}

