import type { Database } from '../db/client.ts';
import { holidayOf } from '../data/holidays.ts';
import { dayOfYear, weeksBetween } from '../data/weeks.ts';
import type { Scope } from '../scope.ts';
import { scopeSql } from './scope.ts';
import type { BlockDesign, SparseRow } from './regression.ts';

/** One store-week of sales with its outside factors (store_features), as the regressions read it. */
export interface PanelRow {
  store: number;
  week: string;
  sales: number;
  isHoliday: boolean;
  temperature: number | null;
  fuelPrice: number | null;
  cpi: number | null;
  unemployment: number | null;
  /** MarkDown1..5 in dollars; a missing markdown (NA) is no markdown, 0. */
  markdowns: [number, number, number, number, number];
}

export const MARKDOWN_TYPES = ['MarkDown1', 'MarkDown2', 'MarkDown3', 'MarkDown4', 'MarkDown5'] as const;

/**
 * Store-week sales of a store, region, segment, the chain or some stores, joined with their
 * features. Reads the store-week totals (store_week_sales), never the department rows.
 */
export async function loadPanel(db: Database, scope: Scope): Promise<PanelRow[]> {
  if (scope.kind === 'dept' || scope.kind === 'store-dept' || scope.kind === 'region-dept' || (scope.kind === 'stores' && scope.dept !== undefined)) {
    throw new Error(`loadPanel: store-level scopes only, got ${scope.kind}`);
  }
  const { from, where, params } = scopeSql(scope);
  const rows = await db.query<{
    store: number; week: string; sales: number; is_holiday: boolean;
    temperature: number | null; fuel_price: number | null; cpi: number | null; unemployment: number | null;
    md1: number | null; md2: number | null; md3: number | null; md4: number | null; md5: number | null;
  }>(
    `SELECT s.store_id AS store, s.week::text AS week, s.sales, s.is_holiday,
            f.temperature, f.fuel_price, f.cpi, f.unemployment,
            f.markdown1 AS md1, f.markdown2 AS md2, f.markdown3 AS md3, f.markdown4 AS md4, f.markdown5 AS md5
     FROM ${from} LEFT JOIN store_features f ON f.store_id = s.store_id AND f.week = s.week
     WHERE ${where} ORDER BY s.store_id, s.week`,
    params,
  );
  return rows.map((r) => ({
    store: r.store,
    week: r.week,
    sales: r.sales,
    isHoliday: r.is_holiday,
    temperature: r.temperature,
    fuelPrice: r.fuel_price,
    cpi: r.cpi,
    unemployment: r.unemployment,
    markdowns: [r.md1 ?? 0, r.md2 ?? 0, r.md3 ?? 0, r.md4 ?? 0, r.md5 ?? 0],
  }));
}

/**
 * The seasonal slot of a week: its holiday when it is one (Thanksgiving moves between weeks 47
 * and 48 of the year, and must be compared with Thanksgiving), else its week of the year.
 */
export function seasonKey(week: string): string {
  let key = seasonKeys.get(week);
  if (key === undefined) {
    key = holidayOf(week) ?? `w${Math.min(51, Math.floor(dayOfYear(week) / 7))}`;
    seasonKeys.set(week, key);
  }
  return key;
}

// A few hundred distinct weeks at most; each panel row asks for its week's slot.
const seasonKeys = new Map<string, string>();

/**
 * The columns every sales regression shares: a level per store (sales are divided by the
 * store's mean, so stores of every size weigh alike), optionally a linear trend per store, and
 * one dummy per seasonal slot but the first. Extra columns follow at `extraStart`.
 */
export interface BaseDesign {
  stores: number[];
  storeIndex: Map<number, number>;
  storeMean: Map<number, number>;
  keyIndex: Map<string, number>;
  firstWeek: string;
  trend: boolean;
  /** Years since the first week, by week (the trend column; dates parsed once, not per row). */
  years: Map<string, number>;
  /** Each store's first week with a markdown, when the design has a markdown-era level per store. */
  eraStart?: Map<number, string>;
  extraStart: number;
}

/**
 * `era`: a level shift per store from its first markdown week. Markdowns start in November
 * 2011 and then run almost every week, so without it a markdown coefficient is mostly "were
 * sales higher after November 2011 than the trend says", which anything else that changed then
 * explains as well. With it, markdowns are judged on weeks with more markdown dollars against
 * weeks with fewer.
 */
export function baseDesign(rows: readonly PanelRow[], { trend, era = false }: { trend: boolean; era?: boolean }): BaseDesign {
  // One pass over the rows (a chain is ~660k of them), with a map lookup per run of a store's
  // rows rather than per row; sums in row order, as before.
  const sums = new Map<number, { sum: number; n: number; era?: string }>();
  const weekSet = new Set<string>();
  let store = NaN;
  let acc: { sum: number; n: number; era?: string } = { sum: 0, n: 0 };
  for (const r of rows) {
    if (r.store !== store) {
      store = r.store;
      acc = sums.get(store) ?? { sum: 0, n: 0 };
      sums.set(store, acc);
    }
    acc.sum += r.sales;
    acc.n++;
    weekSet.add(r.week);
    if (era && !(r.week >= (acc.era ?? '9999'))) {
      const m = r.markdowns;
      if (m[0] !== 0 || m[1] !== 0 || m[2] !== 0 || m[3] !== 0 || m[4] !== 0) acc.era = r.week;
    }
  }
  const stores = [...sums.keys()].sort((a, b) => a - b);
  const storeIndex = new Map(stores.map((s, i) => [s, i]));
  const storeMean = new Map(stores.map((s) => [s, sums.get(s)!.sum / sums.get(s)!.n || 1]));
  const weeks = [...weekSet].sort();
  const keys = [...new Set(weeks.map(seasonKey))].sort().slice(1);
  const offset = stores.length * (1 + (trend ? 1 : 0) + (era ? 1 : 0));
  const keyIndex = new Map(keys.map((k, i) => [k, offset + i]));
  const firstWeek = weeks[0] ?? '2010-01-01';
  let eraStart: Map<number, string> | undefined;
  if (era) {
    eraStart = new Map();
    for (const [s, a] of sums) if (a.era !== undefined) eraStart.set(s, a.era);
  }
  const years = new Map(weeks.map((w) => [w, weeksBetween(firstWeek, w) / 52]));
  return { stores, storeIndex, storeMean, keyIndex, firstWeek, trend, years, eraStart, extraStart: offset + keys.length };
}

/** A regression row: the base columns of `r` plus `extra` values (already scaled by the caller). */
export function designRow(d: BaseDesign, r: PanelRow, extra: readonly number[], weekIndex: Map<string, number>): SparseRow {
  const i = d.storeIndex.get(r.store)!;
  const idx = [i];
  const val = [1];
  if (d.trend) {
    idx.push(d.stores.length + i);
    val.push(d.years.get(r.week) ?? weeksBetween(d.firstWeek, r.week) / 52);
  }
  const era = d.eraStart?.get(r.store);
  if (era !== undefined && r.week >= era) {
    idx.push(d.stores.length * (d.trend ? 2 : 1) + i);
    val.push(1);
  }
  const key = d.keyIndex.get(seasonKey(r.week));
  if (key !== undefined) {
    idx.push(key);
    val.push(1);
  }
  extra.forEach((v, k) => {
    if (v !== 0) {
      idx.push(d.extraStart + k);
      val.push(v);
    }
  });
  return { idx, val, y: r.sales / d.storeMean.get(r.store)!, unit: r.store, time: weekIndex.get(r.week)! };
}

/** Each distinct week of the rows by its position in time (the clustering and HAC order). */
export function weekIndexOf(rows: readonly PanelRow[]): Map<string, number> {
  return new Map([...new Set(rows.map((r) => r.week))].sort().map((w, i) => [w, i]));
}

/**
 * The rows of designRow for all of `rows` at once, as a block design (fitBlocks,
 * residualizeBlocks): each store's level, trend and era as its own columns, the seasonal slot
 * as the shared dummy, and `extras` (column k by row, already scaled by the caller) after them.
 */
export function blockDesign(d: BaseDesign, rows: readonly PanelRow[], extras: readonly ArrayLike<number>[], weekIndex: Map<string, number>): BlockDesign {
  const n = rows.length;
  const own = 1 + (d.trend ? 1 : 0) + (d.eraStart ? 1 : 0);
  const unitOf = new Int32Array(n);
  const ownVal = new Float64Array(n * own);
  const slot = new Int32Array(n);
  const y = new Float64Array(n);
  const time = new Int32Array(n);
  const slotStart = d.stores.length * own;
  // One lookup per row for what depends on the week, and one per run of a store's rows.
  const weeks = new Map<string, { slot: number; years: number; time: number }>();
  let store = NaN;
  let u = 0;
  let mean = 1;
  let era: string | undefined;
  rows.forEach((r, i) => {
    if (r.store !== store) {
      store = r.store;
      u = d.storeIndex.get(store)!;
      mean = d.storeMean.get(store)!;
      era = d.eraStart?.get(store);
    }
    let w = weeks.get(r.week);
    if (!w) {
      const key = d.keyIndex.get(seasonKey(r.week));
      w = { slot: key === undefined ? -1 : key - slotStart, years: d.years.get(r.week) ?? weeksBetween(d.firstWeek, r.week) / 52, time: weekIndex.get(r.week)! };
      weeks.set(r.week, w);
    }
    unitOf[i] = u;
    let c = i * own;
    ownVal[c++] = 1;
    if (d.trend) ownVal[c++] = w.years;
    if (d.eraStart) ownVal[c++] = era !== undefined && r.week >= era ? 1 : 0;
    slot[i] = w.slot;
    y[i] = r.sales / mean;
    time[i] = w.time;
  });
  return {
    units: d.stores.length,
    own,
    unitOf,
    ownVal,
    slots: d.extraStart - slotStart,
    slot,
    extras: extras.map((x) => (x instanceof Float64Array ? x : Float64Array.from(x))),
    y,
    time,
  };
}

/** Each row's store mean, by row (the divisor of designRow's y and extras). */
export function rowMeans(d: BlockDesign, design: BaseDesign): Float64Array {
  const means = Float64Array.from(design.stores, (s) => design.storeMean.get(s)!);
  const out = new Float64Array(d.unitOf.length);
  for (let i = 0; i < out.length; i++) out[i] = means[d.unitOf[i]!]!;
  return out;
}

/** f of each row, in a typed array (Float64Array.from with a map function is ~10x slower). */
export function column<T>(rows: readonly T[], f: (r: T, i: number) => number): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = f(rows[i]!, i);
  return out;
}
