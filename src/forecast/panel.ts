import { addWeeks, dayNumber, weeksBetween } from '../data/weeks.ts';
import { sourceFor } from './alignment.ts';

/**
 * The training/backtest view of the data: every store x department series on one dense
 * weekly grid, plus store attributes and store-week covariates. Built from the database by
 * dataset.ts; pure functions below work on it.
 */

export interface StoreInfo {
  type: string | null;
  size: number | null;
}

/** Store-week covariates (features.csv); NaN when unknown. */
export interface Covariates {
  temperature: number;
  fuelPrice: number;
  markdown: number; // sum of MarkDown1..5 (0 when all missing)
  cpi: number;
  unemployment: number;
}

export interface PanelSeries {
  store: number;
  dept: number;
  /** Sales per grid week; NaN where the row is absent. */
  y: Float64Array;
  /** First and last grid index with a row. */
  first: number;
  last: number;
}

export interface Panel {
  /** Consecutive Fridays, from the first to the last week with data. */
  weeks: string[];
  series: PanelSeries[];
  stores: Map<number, StoreInfo>;
  /** Keyed `${store}|${week}`; may extend past the last sales week. */
  covariates: Map<string, Covariates>;
  /** Weeks flagged as holidays in the data (plus the calendar's own holiday weeks). */
  holidayWeeks: Set<string>;
}

export interface SalesRow {
  store: number;
  dept: number;
  week: string;
  sales: number;
  isHoliday?: boolean;
}

export function buildPanel(
  rows: Iterable<SalesRow>,
  stores: Map<number, StoreInfo> = new Map(),
  covariates: Map<string, Covariates> = new Map(),
): Panel {
  const list = [...rows];
  if (list.length === 0) return { weeks: [], series: [], stores, covariates, holidayWeeks: new Set() };
  let min = Infinity;
  let max = -Infinity;
  for (const r of list) {
    const d = dayNumber(r.week);
    if (d < min) min = d;
    if (d > max) max = d;
  }
  const first = new Date(min * 86_400_000).toISOString().slice(0, 10);
  const builder = new PanelBuilder(first, Math.round((max - min) / 7) + 1);
  for (const r of list) builder.add(r.store, r.dept, Math.round((dayNumber(r.week) - min) / 7), r.sales, r.isHoliday === true);
  return builder.finish(stores, covariates);
}

/**
 * Builds a panel one row at a time on a known grid, holding only the series' typed arrays
 * (8 bytes per series-week), never the rows: what loading 43M department-weeks streams into.
 */
export class PanelBuilder {
  readonly weeks: string[];
  private readonly byKey = new Map<number, PanelSeries>();
  private readonly holiday: Uint8Array;

  constructor(firstWeek: string, nWeeks: number) {
    this.weeks = Array.from({ length: nWeeks }, (_, i) => addWeeks(firstWeek, i));
    this.holiday = new Uint8Array(nWeeks);
  }

  /** One department-week: `week` is the grid index (0 = firstWeek). */
  add(store: number, dept: number, week: number, sales: number, isHoliday: boolean): void {
    if (!Number.isInteger(week) || week < 0 || week >= this.weeks.length) throw new RangeError(`week index ${week} outside the grid`);
    // A numeric key (store, dept < 2^20): no string per row.
    const key = store * 1_048_576 + dept;
    let s = this.byKey.get(key);
    if (!s) {
      if (!Number.isInteger(dept) || dept < 0 || dept >= 1_048_576) throw new RangeError(`department ${dept} out of range`);
      s = { store, dept, y: new Float64Array(this.weeks.length).fill(NaN), first: this.weeks.length, last: -1 };
      this.byKey.set(key, s);
    }
    s.y[week] = sales;
    if (week < s.first) s.first = week;
    if (week > s.last) s.last = week;
    if (isHoliday) this.holiday[week] = 1;
  }

  get seriesCount(): number {
    return this.byKey.size;
  }

  finish(stores: Map<number, StoreInfo> = new Map(), covariates: Map<string, Covariates> = new Map()): Panel {
    const series = [...this.byKey.values()].sort((a, b) => a.store - b.store || a.dept - b.dept);
    const holidayWeeks = new Set(this.weeks.filter((_, i) => this.holiday[i] === 1));
    return { weeks: this.weeks, series, stores, covariates, holidayWeeks };
  }
}

/** Grid index of a week (may be outside the grid: negative or >= weeks.length). */
export function gridIndex(panel: Panel, week: string): number {
  return weeksBetween(panel.weeks[0] as string, week);
}

/**
 * Value of a series at grid index `i` as of `originIdx`: absent rows inside the series' span
 * are 0 (nothing sold), anything outside the span or after the origin is NaN (unknown).
 */
export function valueAt(s: PanelSeries, i: number, originIdx: number): number {
  if (i < s.first || i > Math.min(s.last, originIdx)) return NaN;
  const v = s.y[i] as number;
  return Number.isNaN(v) ? 0 : v;
}

export interface Alignment {
  /** Grid index of the aligned week one year back. */
  src: number;
  /** Neighbour index to blend with, and its weight (Christmas day drift). */
  nb: number;
  w: number;
}

/** Holiday-aligned source of each target week (calendar.ts `sourceFor`) as grid indices. */
export function alignment(panel: Panel, target: string, yearsBack = 1): Alignment {
  const src = sourceFor(target, yearsBack);
  const s = gridIndex(panel, src.week);
  const k = Math.max(-6, Math.min(6, src.shift));
  return { src: s, nb: k > 0 ? s - 1 : k < 0 ? s + 1 : s, w: Math.abs(k) / 7 };
}

/** Holiday-aligned value one year back of an array `v` (NaN = unknown), blending the Christmas drift. */
export function alignedFrom(v: ArrayLike<number>, a: Alignment, limit: number): number {
  if (a.src < 0 || a.src > limit) return NaN;
  const base = v[a.src] as number;
  if (a.w === 0 || a.nb < 0 || a.nb > limit) return base;
  const nb = v[a.nb] as number;
  if (Number.isNaN(nb)) return base;
  return (1 - a.w) * base + a.w * nb;
}
