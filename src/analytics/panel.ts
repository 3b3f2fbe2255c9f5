import type { Database } from '../db/client.ts';
import { holidayOf } from '../data/holidays.ts';
import { dayOfYear, isoOfDay, weeksBetween } from '../data/weeks.ts';
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
 * A panel in columns, one typed array per field: ~90 bytes a store-week where PanelRow objects
 * take ~400 (a 4,600-store chain is ~660k store-weeks). Row i is the PanelRow of loadPanel.
 */
export interface PanelColumns {
  n: number;
  store: Int32Array;
  /** Index into `weeks`. */
  week: Int32Array;
  weeks: readonly string[];
  sales: Float64Array;
  isHoliday: Uint8Array;
  /** Temperature, fuel price, CPI, unemployment; 0 where missing (see `present`). */
  drivers: readonly [Float64Array, Float64Array, Float64Array, Float64Array];
  /** Bit k set when driver k is known (not null); ALL_DRIVERS_KNOWN when every one is. */
  present: Uint8Array;
  /** MarkDown1..5 in dollars (NA: 0). */
  markdowns: readonly [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
}

/** `present` with the four drivers' bits set. */
export const ALL_DRIVERS_KNOWN = 0b1111;

export const isPanelColumns = (p: readonly PanelRow[] | PanelColumns): p is PanelColumns => !Array.isArray(p);

function emptyColumns(n: number, weeks: readonly string[]): PanelColumns {
  const f = () => new Float64Array(n);
  return { n, store: new Int32Array(n), week: new Int32Array(n), weeks, sales: f(), isHoliday: new Uint8Array(n), drivers: [f(), f(), f(), f()], present: new Uint8Array(n), markdowns: [f(), f(), f(), f(), f()] };
}

/** The columns of panel rows (for callers that have rows: tests, one store's answers). */
export function panelColumns(rows: readonly PanelRow[]): PanelColumns {
  const weeks: string[] = [];
  const ids = new Map<string, number>();
  const out = emptyColumns(rows.length, weeks);
  rows.forEach((r, i) => {
    let w = ids.get(r.week);
    if (w === undefined) {
      ids.set(r.week, (w = weeks.length));
      weeks.push(r.week);
    }
    out.store[i] = r.store;
    out.week[i] = w;
    out.sales[i] = r.sales;
    out.isHoliday[i] = r.isHoliday ? 1 : 0;
    [r.temperature, r.fuelPrice, r.cpi, r.unemployment].forEach((v, k) => {
      if (v !== null) {
        out.drivers[k]![i] = v;
        out.present[i]! |= 1 << k;
      }
    });
    for (let k = 0; k < 5; k++) out.markdowns[k]![i] = r.markdowns[k]!;
  });
  return out;
}

/** The rows of `p` for which `keep` holds, in order (`p` itself when that is all of them). */
export function selectRows(p: PanelColumns, keep: (i: number) => boolean): PanelColumns {
  const index: number[] = [];
  for (let i = 0; i < p.n; i++) if (keep(i)) index.push(i);
  if (index.length === p.n) return p;
  const out = emptyColumns(index.length, p.weeks);
  const copy = <T extends Float64Array | Int32Array | Uint8Array>(from: T, to: T) => index.forEach((i, j) => (to[j] = from[i]!));
  copy(p.store, out.store);
  copy(p.week, out.week);
  copy(p.sales, out.sales);
  copy(p.isHoliday, out.isHoliday);
  copy(p.present, out.present);
  p.drivers.forEach((c, k) => copy(c, out.drivers[k]!));
  p.markdowns.forEach((c, k) => copy(c, out.markdowns[k]!));
  return out;
}

/**
 * Store-week sales of a store, region, segment, the chain or some stores, joined with their
 * features, in columns. Reads the store-week totals (store_week_sales), never the department
 * rows.
 *
 * A chain is ~660k store-weeks: they are read 1,000 stores at a time, each read copied into typed
 * arrays before the next is read, so the driver's row objects (~190 bytes a row) of one read
 * only are held at a time (the whole chain's at once took ~450 MB); weeks come as day numbers,
 * mapped to one string per distinct week.
 */
export async function loadPanelColumns(db: Database, scope: Scope, { storesPerRead = PANEL_CHUNK_STORES }: { storesPerRead?: number } = {}): Promise<PanelColumns> {
  if (scope.kind === 'dept' || scope.kind === 'store-dept' || scope.kind === 'region-dept' || (scope.kind === 'stores' && scope.dept !== undefined)) {
    throw new Error(`loadPanel: store-level scopes only, got ${scope.kind}`);
  }
  const { from, where, params } = scopeSql(scope);
  // The scope's stores and their rows (an index-only scan), so the columns are allocated once
  // and each read names its stores: a merge join of two index ranges.
  const counts = await db.query<{ store: number; n: number }>(`SELECT s.store_id AS store, count(*)::int AS n FROM ${from} WHERE ${where} GROUP BY 1 ORDER BY 1`, params);
  const groups: number[][] = [];
  for (let k = 0; k < counts.length; k += storesPerRead) groups.push(counts.slice(k, k + storesPerRead).map((c) => c.store));
  const weeks: string[] = [];
  const ids = new Map<number, number>();
  let out = emptyColumns(counts.reduce((a, c) => a + c.n, 0), weeks);
  let at = 0;
  const read = (stores: number[]) =>
    db.query<{
      store: number; day: number; sales: number; is_holiday: boolean;
      temperature: number | null; fuel_price: number | null; cpi: number | null; unemployment: number | null;
      md1: number | null; md2: number | null; md3: number | null; md4: number | null; md5: number | null;
    }>(
      // The stores on both sides of the join, or the planner hashes all of store_features.
      `SELECT s.store_id AS store, s.week - DATE '1970-01-01' AS day, s.sales, s.is_holiday,
              f.temperature, f.fuel_price, f.cpi, f.unemployment,
              f.markdown1 AS md1, f.markdown2 AS md2, f.markdown3 AS md3, f.markdown4 AS md4, f.markdown5 AS md5
       FROM ${from} LEFT JOIN store_features f ON f.store_id = s.store_id AND f.week = s.week AND f.store_id = ANY($1::int[])
       WHERE s.store_id = ANY($1::int[]) ORDER BY s.store_id, s.week`,
      [stores],
    );
  // One read ahead: Postgres joins the next stores while this process parses and copies these.
  let next = groups.length > 0 ? read(groups[0]!) : undefined;
  for (let k = 0; k < groups.length; k++) {
    const rows = await next!;
    next = k + 1 < groups.length ? read(groups[k + 1]!) : undefined;
    // Awaited on the next turn; a copy that throws first must not leave it unhandled.
    next?.catch(() => {});
    // Rows written since the count (an import running now) grow the columns.
    if (at + rows.length > out.n) out = grown(out, Math.max(at + rows.length, Math.ceil(out.n * 1.25)));
    const c = out;
    for (const r of rows) {
      const i = at++;
      let w = ids.get(r.day);
      if (w === undefined) {
        ids.set(r.day, (w = weeks.length));
        weeks.push(isoOfDay(r.day));
      }
      c.store[i] = r.store;
      c.week[i] = w;
      c.sales[i] = r.sales;
      c.isHoliday[i] = r.is_holiday ? 1 : 0;
      let present = 0;
      [r.temperature, r.fuel_price, r.cpi, r.unemployment].forEach((v, k) => {
        if (v === null) return;
        c.drivers[k]![i] = v;
        present |= 1 << k;
      });
      c.present[i] = present;
      c.markdowns[0][i] = r.md1 ?? 0;
      c.markdowns[1][i] = r.md2 ?? 0;
      c.markdowns[2][i] = r.md3 ?? 0;
      c.markdowns[3][i] = r.md4 ?? 0;
      c.markdowns[4][i] = r.md5 ?? 0;
    }
  }
  return at === out.n ? out : grown(out, at);
}

/** A copy of the first min(n, p.n) rows of p in columns of n rows. */
function grown(p: PanelColumns, n: number): PanelColumns {
  const out = emptyColumns(n, p.weeks);
  const m = Math.min(n, p.n);
  out.store.set(p.store.subarray(0, m));
  out.week.set(p.week.subarray(0, m));
  out.sales.set(p.sales.subarray(0, m));
  out.isHoliday.set(p.isHoliday.subarray(0, m));
  out.present.set(p.present.subarray(0, m));
  p.drivers.forEach((d, k) => out.drivers[k]!.set(d.subarray(0, m)));
  p.markdowns.forEach((c, k) => out.markdowns[k]!.set(c.subarray(0, m)));
  return out;
}

/** Stores per read of loadPanelColumns: ~143k store-weeks of a 143-week chain. */
const PANEL_CHUNK_STORES = 1000;

/** The PanelRow of row i of a panel in columns. */
export function panelRow(p: PanelColumns, i: number): PanelRow {
  const d = (k: number) => (p.present[i]! & (1 << k) ? p.drivers[k]![i]! : null);
  return {
    store: p.store[i]!,
    week: p.weeks[p.week[i]!]!,
    sales: p.sales[i]!,
    isHoliday: p.isHoliday[i] === 1,
    temperature: d(0),
    fuelPrice: d(1),
    cpi: d(2),
    unemployment: d(3),
    markdowns: [p.markdowns[0][i]!, p.markdowns[1][i]!, p.markdowns[2][i]!, p.markdowns[3][i]!, p.markdowns[4][i]!],
  };
}

/** Store-week sales with their features, as rows (loadPanelColumns is the compact form). */
export async function loadPanel(db: Database, scope: Scope): Promise<PanelRow[]> {
  const p = await loadPanelColumns(db, scope);
  return Array.from({ length: p.n }, (_, i) => panelRow(p, i));
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
export function baseDesign(input: readonly PanelRow[] | PanelColumns, { trend, era = false }: { trend: boolean; era?: boolean }): BaseDesign {
  const p = isPanelColumns(input) ? input : panelColumns(input);
  // One pass over the rows (a chain is ~660k of them), with a map lookup per run of a store's
  // rows rather than per row; sums in row order, as before.
  const sums = new Map<number, { sum: number; n: number; era?: string }>();
  const seen = new Uint8Array(p.weeks.length);
  let store = NaN;
  let acc: { sum: number; n: number; era?: string } = { sum: 0, n: 0 };
  const md = p.markdowns;
  for (let i = 0; i < p.n; i++) {
    if (p.store[i] !== store) {
      store = p.store[i]!;
      acc = sums.get(store) ?? { sum: 0, n: 0 };
      sums.set(store, acc);
    }
    acc.sum += p.sales[i]!;
    acc.n++;
    seen[p.week[i]!] = 1;
    if (era && (md[0][i] !== 0 || md[1][i] !== 0 || md[2][i] !== 0 || md[3][i] !== 0 || md[4][i] !== 0)) {
      const week = p.weeks[p.week[i]!]!;
      if (!(week >= (acc.era ?? '9999'))) acc.era = week;
    }
  }
  const stores = [...sums.keys()].sort((a, b) => a - b);
  const storeIndex = new Map(stores.map((s, i) => [s, i]));
  const storeMean = new Map(stores.map((s) => [s, sums.get(s)!.sum / sums.get(s)!.n || 1]));
  const weeks = p.weeks.filter((_, w) => seen[w] === 1).sort();
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
export function weekIndexOf(input: readonly PanelRow[] | PanelColumns): Map<string, number> {
  if (!isPanelColumns(input)) return new Map([...new Set(input.map((r) => r.week))].sort().map((w, i) => [w, i]));
  const seen = new Uint8Array(input.weeks.length);
  for (let i = 0; i < input.n; i++) seen[input.week[i]!] = 1;
  return new Map(input.weeks.filter((_, w) => seen[w] === 1).sort().map((w, i) => [w, i]));
}

/**
 * The rows of designRow for all of `rows` at once, as a block design (fitBlocks,
 * residualizeBlocks): each store's level, trend and era as its own columns, the seasonal slot
 * as the shared dummy, and `extras` (column k by row, already scaled by the caller) after them.
 */
export function blockDesign(d: BaseDesign, input: readonly PanelRow[] | PanelColumns, extras: readonly ArrayLike<number>[], weekIndex: Map<string, number>): BlockDesign {
  const p = isPanelColumns(input) ? input : panelColumns(input);
  const n = p.n;
  const own = 1 + (d.trend ? 1 : 0) + (d.eraStart ? 1 : 0);
  const unitOf = new Int32Array(n);
  const ownVal = new Float64Array(n * own);
  const slot = new Int32Array(n);
  const y = new Float64Array(n);
  const time = new Int32Array(n);
  const slotStart = d.stores.length * own;
  // What depends on the week once per distinct week; what depends on the store once per run of
  // a store's rows.
  const weekSlot = p.weeks.map((w) => {
    const key = d.keyIndex.get(seasonKey(w));
    return key === undefined ? -1 : key - slotStart;
  });
  const weekYears = p.weeks.map((w) => d.years.get(w) ?? weeksBetween(d.firstWeek, w) / 52);
  const weekTime = p.weeks.map((w) => weekIndex.get(w) ?? -1);
  let store = NaN;
  let u = 0;
  let mean = 1;
  let era: string | undefined;
  for (let i = 0; i < n; i++) {
    if (p.store[i] !== store) {
      store = p.store[i]!;
      u = d.storeIndex.get(store)!;
      mean = d.storeMean.get(store)!;
      era = d.eraStart?.get(store);
    }
    const w = p.week[i]!;
    unitOf[i] = u;
    let c = i * own;
    ownVal[c++] = 1;
    if (d.trend) ownVal[c++] = weekYears[w]!;
    if (d.eraStart) ownVal[c++] = era !== undefined && p.weeks[w]! >= era ? 1 : 0;
    slot[i] = weekSlot[w]!;
    y[i] = p.sales[i]! / mean;
    time[i] = weekTime[w]!;
  }
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
