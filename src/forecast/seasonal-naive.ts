import type { Database } from '../db/client.ts';
import { UserError } from '../chat/errors.ts';
import { dayNumber, isoOfDay, nextFridays } from '../data/weeks.ts';
import { sourceFor } from './alignment.ts';
import type { ForecastPoint, ForecastResult, Forecaster, SeriesKey } from './forecaster.ts';
import { loadSeries, type WeeklySeries } from './series.ts';
import { describeScope, seriesScope } from '../scope.ts';

/**
 * Seasonal naive: next year's week is last year's same week, aligned by holiday
 * (calendar.ts `sourceFor`), with the Christmas-season day drift interpolated, and an
 * optional level adjustment for the series' recent year-over-year growth. The 80% interval
 * comes from the empirical p10/p90 of this series' own past seasonal-naive errors.
 *
 * `seasonalNaive` is pure (arrays in, points out) so the backtest can run it on thousands of
 * series; `SeasonalNaiveForecaster` reads the series from the database.
 */

export interface SeasonalNaiveOptions {
  /** Forecast the weeks after this Friday, using only history up to it. Default: the last week with data. */
  origin?: string;
  /** Interval coverage, default 0.8 (p10..p90). */
  coverage?: number;
  /** Interpolate the Christmas weeks by the calendar-day drift between years. Default true. */
  christmasShift?: boolean;
  /**
   * Scale last year's values by the recent year-over-year growth (ratio of the last
   * `levelWeeks` weeks to their own source weeks), shrunk towards 1. Default true.
   */
  levelAdjust?: boolean;
  levelWeeks?: number;
  /** Weeks averaged by the short-history fallback. Default 8. */
  recentWeeks?: number;
}

export type SeasonalNaiveMethod = 'seasonal-naive' | 'recent-mean';

export interface SeasonalNaiveOutput {
  points: ForecastPoint[];
  /** 'recent-mean' when the series is shorter than a year. */
  method: SeasonalNaiveMethod;
  /** Weeks of history (rows) used. */
  historyWeeks: number;
  /** The multiplier applied to last year's values (1 when not adjusted). */
  level: number;
  /** Human-readable explanation when a fallback was used. */
  note?: string;
}

/** Sorted quantile with linear interpolation; `sorted` ascending, non-empty. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = Math.min(Math.max(q, 0), 1) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  return (sorted[lo] as number) * (1 - frac) + (sorted[hi] as number) * frac;
}

/**
 * A lookup of a series by week: present weeks give their value, missing weeks inside the
 * series' span count as 0 (Walmart rows are absent when a department sold nothing), weeks
 * outside the span are unknown (undefined).
 */
export class WeekLookup {
  private readonly byDay = new Map<number, number>();
  readonly first: number;
  readonly last: number;

  constructor(weeks: readonly string[], values: readonly number[], until?: string) {
    const limit = until === undefined ? Infinity : dayNumber(until);
    let first = Infinity;
    let last = -Infinity;
    for (let i = 0; i < weeks.length; i++) {
      const d = dayNumber(weeks[i] as string);
      if (d > limit) continue;
      this.byDay.set(d, values[i] as number);
      if (d < first) first = d;
      if (d > last) last = d;
    }
    this.first = first;
    this.last = last;
  }

  get size(): number {
    return this.byDay.size;
  }

  has(day: number): boolean {
    return this.byDay.has(day);
  }

  get(day: number): number | undefined {
    if (day < this.first || day > this.last) return undefined;
    return this.byDay.get(day) ?? 0;
  }

  /** Present (week day number, value) pairs, ascending. */
  entries(): [number, number][] {
    return [...this.byDay.entries()].sort((a, b) => a[0] - b[0]);
  }
}

/**
 * The raw holiday-aligned seasonal-naive value of `target` from history `h` (no level
 * adjustment), or undefined when last year's week is outside the history. Weeks more than a
 * year ahead look two (three...) years back.
 */
export function alignedValue(h: WeekLookup, target: string, christmasShift = true): number | undefined {
  for (let years = 1; years <= 4; years++) {
    const src = sourceFor(target, years);
    const s = dayNumber(src.week);
    if (s > h.last) continue; // still in the future: look one more year back
    const base = h.get(s);
    if (base === undefined) return undefined;
    if (!christmasShift || src.shift === 0) return base;
    const k = Math.max(-6, Math.min(6, src.shift));
    const neighbour = h.get(k > 0 ? s - 7 : s + 7);
    if (neighbour === undefined || (k < 0 && s + 7 > h.last)) return base;
    const w = Math.abs(k) / 7;
    return (1 - w) * base + w * neighbour;
  }
  return undefined;
}

/**
 * Recent year-over-year growth: sum of the last `weeks` weeks over the sum of their aligned
 * weeks a year earlier, shrunk towards 1 and clamped, so one odd quarter cannot scale a
 * whole year of forecasts.
 */
export function levelFactor(h: WeekLookup, weeks: number, christmasShift = true, shrink = 0.5): number {
  let num = 0;
  let den = 0;
  let n = 0;
  for (let d = h.last; d > h.last - 7 * weeks && d >= h.first; d -= 7) {
    const y = h.get(d);
    const s = alignedValue(h, isoOfDay(d), christmasShift);
    if (y === undefined || s === undefined) continue;
    num += y;
    den += s;
    n++;
  }
  if (n < Math.min(4, weeks) || den <= 0 || num <= 0) return 1;
  const raw = num / den;
  // Shrink (default half-way to 1 in log space), clamped to -20%..+25%.
  const shrunk = Math.exp(shrink * Math.log(raw));
  return Math.min(1.25, Math.max(0.8, shrunk));
}

function recentMean(h: WeekLookup, weeks: number): number {
  let sum = 0;
  let n = 0;
  for (let d = h.last; d > h.last - 7 * weeks && d >= h.first; d -= 7) {
    sum += h.get(d) ?? 0;
    n++;
  }
  return n === 0 ? 0 : sum / n;
}

function intervalFrom(residuals: number[], coverage: number): { lo: number; hi: number } {
  const sorted = Float64Array.from(residuals).sort();
  const lo = quantileSorted(sorted, (1 - coverage) / 2);
  const hi = quantileSorted(sorted, (1 + coverage) / 2);
  return { lo: Math.min(lo, 0), hi: Math.max(hi, 0) };
}

/** The seasonal-naive forecast of one series, from plain arrays. Pure. */
export function seasonalNaive(
  series: { weeks: readonly string[]; values: readonly number[] },
  horizon: number,
  options: SeasonalNaiveOptions = {},
): SeasonalNaiveOutput {
  if (!Number.isInteger(horizon) || horizon < 1) throw new RangeError(`horizon must be a positive integer, got ${horizon}`);
  const coverage = options.coverage ?? 0.8;
  const christmasShift = options.christmasShift ?? true;
  const recentWeeks = options.recentWeeks ?? 8;
  const h = new WeekLookup(series.weeks, series.values, options.origin);
  if (h.size === 0) {
    throw new RangeError(options.origin ? `no history on or before ${options.origin}` : 'no history');
  }
  const lastWeek = options.origin ?? isoOfDay(h.last);
  const targets = nextFridays(lastWeek, horizon);
  const spanWeeks = Math.round((h.last - h.first) / 7) + 1;

  // Past errors of the same method, in sample: every week with last year's week in history.
  const snResiduals: number[] = [];
  const meanResiduals: number[] = [];
  const entries = h.entries();
  for (let i = 0; i < entries.length; i++) {
    const [d, y] = entries[i] as [number, number];
    const week = isoOfDay(d);
    const s = alignedValue(h, week, christmasShift);
    if (s !== undefined && dayNumber(sourceFor(week).week) >= h.first) snResiduals.push(y - s);
    if (i >= 1) {
      let sum = 0;
      let n = 0;
      for (let j = Math.max(0, i - recentWeeks); j < i; j++) {
        sum += (entries[j] as [number, number])[1];
        n++;
      }
      meanResiduals.push(y - sum / n);
    }
  }

  const mean = recentMean(h, recentWeeks);
  const fallbackInterval =
    meanResiduals.length >= 5 ? intervalFrom(meanResiduals, coverage) : { lo: -0.5 * Math.abs(mean), hi: 0.5 * Math.abs(mean) };

  if (spanWeeks < 52 || snResiduals.length < 8) {
    const points = targets.map((week) => ({ week, value: mean, lower: mean + fallbackInterval.lo, upper: mean + fallbackInterval.hi }));
    return {
      points,
      method: 'recent-mean',
      historyWeeks: h.size,
      level: 1,
      note: `only ${spanWeeks} week${spanWeeks === 1 ? '' : 's'} of history (less than a year + 8 weeks): forecast is the mean of the last ${Math.min(recentWeeks, spanWeeks)} weeks`,
    };
  }

  const level = options.levelAdjust === false ? 1 : levelFactor(h, options.levelWeeks ?? 13, christmasShift);
  const snInterval = intervalFrom(snResiduals, coverage);
  let fellBack = 0;
  const points = targets.map((week) => {
    const s = alignedValue(h, week, christmasShift);
    if (s === undefined) {
      fellBack++;
      return { week, value: mean, lower: mean + fallbackInterval.lo, upper: mean + fallbackInterval.hi };
    }
    const value = s * level;
    return { week, value, lower: value + snInterval.lo, upper: value + snInterval.hi };
  });
  return {
    points,
    method: 'seasonal-naive',
    historyWeeks: h.size,
    level,
    note: fellBack > 0 ? `${fellBack} week${fellBack === 1 ? '' : 's'} had no week a year earlier: recent mean used` : undefined,
  };
}

/** The seasonal-naive Forecaster: reads store_week_sales ({store}) or weekly_sales ({store, dept}). */
export class SeasonalNaiveForecaster implements Forecaster {
  readonly name = 'seasonal-naive';

  constructor(private readonly options: Omit<SeasonalNaiveOptions, 'origin'> = {}) {}

  async forecast(db: Database, key: SeriesKey, horizon: number, options: { origin?: string } = {}): Promise<ForecastResult> {
    const series: WeeklySeries = await loadSeries(db, key, options.origin);
    if (series.weeks.length === 0) {
      throw new UserError(
        options.origin ? `No sales recorded for ${describeScope(seriesScope(key))} on or before ${options.origin}.` : `No sales recorded for ${describeScope(seriesScope(key))}.`,
        { code: 'no-data' },
      );
    }
    const out = seasonalNaive(series, horizon, { ...this.options, origin: options.origin });
    return { points: out.points, model: out.method === 'seasonal-naive' ? this.name : `${this.name} (recent mean)`, note: out.note };
  }
}
