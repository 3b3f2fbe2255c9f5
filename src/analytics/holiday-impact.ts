import type { Database } from '../db/client.ts';
import { holidayCalendar, type HolidayName, type HolidayWeek } from '../data/holidays.ts';
import { HOLIDAY_NEIGHBOURS } from '../data/rollup.ts';
import { addWeeks } from '../data/weeks.ts';
import { prng, quantileSorted } from '../util/random.ts';
import type { Scope } from '../scope.ts';

export interface HolidayLift {
  holiday: HolidayName;
  year: number;
  week: string;
  /** Holiday-week sales over the mean of the surrounding non-holiday weeks, minus 1. */
  lift: number;
  /** 95% bootstrap interval of the lift. */
  lower: number;
  upper: number;
  holidaySales: number;
  baselineSales: number;
  /** Series the lift pools (departments of a store, stores of a region or the chain). */
  units: number;
}

const NEIGHBOURS = HOLIDAY_NEIGHBOURS;
const RESAMPLES = 1000;
/**
 * Above this many pooled stores the interval is the bootstrap's normal approximation (the
 * delta method on the pooled ratio), computed in SQL from sums: resampling 4,600 stores a
 * thousand times per holiday would cost seconds, and with that many units the bootstrap
 * distribution is normal to the precision shown.
 */
export const BOOTSTRAP_MAX_UNITS = 1000;

type Series = Map<string, number>;

/** Per-unit weekly sales: departments of one store, or stores of one department. */
async function unitSeries(db: Database, scope: Scope): Promise<Map<string, Series>> {
  let rows: { unit: string; week: string; sales: number }[] = [];
  switch (scope.kind) {
    case 'store':
      rows = await db.query(`SELECT dept_id::text AS unit, week::text AS week, sales FROM weekly_sales WHERE store_id = $1`, [scope.store]);
      if (rows.length === 0) {
        // Store-level data only (Walmart.csv): one unit, the store's total.
        rows = await db.query(`SELECT store_id::text AS unit, week::text AS week, sales FROM store_week_sales WHERE store_id = $1`, [scope.store]);
      }
      break;
    case 'store-dept':
      rows = await db.query(`SELECT dept_id::text AS unit, week::text AS week, sales FROM weekly_sales WHERE store_id = $1 AND dept_id = $2`, [scope.store, scope.dept]);
      break;
    case 'dept':
      rows = await db.query(`SELECT store_id::text AS unit, week::text AS week, sales FROM weekly_sales WHERE dept_id = $1`, [scope.dept]);
      break;
    case 'stores':
      rows =
        scope.dept === undefined
          ? await db.query(`SELECT store_id::text AS unit, week::text AS week, sales FROM store_week_sales WHERE store_id = ANY($1::int[]) ORDER BY store_id`, [scope.stores])
          : await db.query(`SELECT store_id::text AS unit, week::text AS week, sales FROM weekly_sales WHERE store_id = ANY($1::int[]) AND dept_id = $2`, [scope.stores, scope.dept]);
      break;
    case 'region':
    case 'region-dept':
    case 'chain':
    case 'segment':
      break;
  }
  const units = new Map<string, Series>();
  for (const r of rows) {
    let series = units.get(r.unit);
    if (!series) units.set(r.unit, (series = new Map()));
    series.set(r.week, r.sales);
  }
  return units;
}

interface UnitObservation {
  holiday: number;
  /** Mean of the neighbouring weeks. */
  base: number;
  /** The neighbouring weeks themselves, when known (resampled with fewer than five units). */
  weeks?: number[];
}

function ratio(obs: readonly UnitObservation[]): number {
  let h = 0;
  let b = 0;
  for (const o of obs) {
    h += o.holiday;
    b += o.base;
  }
  return h / b - 1;
}

const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;

/** The observations of each holiday week, from whole series (departments, a few stores). */
function observationsOfSeries(units: Map<string, Series>, calendar: readonly HolidayWeek[]): Map<string, UnitObservation[]> {
  const holidayWeeks = new Set(calendar.map((h) => h.week));
  const out = new Map<string, UnitObservation[]>();
  for (const h of calendar) {
    const neighbours: string[] = [];
    for (let k = 1; k <= NEIGHBOURS; k++) {
      for (const w of [addWeeks(h.week, -k), addWeeks(h.week, k)]) if (!holidayWeeks.has(w)) neighbours.push(w);
    }
    const obs: UnitObservation[] = [];
    for (const series of units.values()) {
      const hv = series.get(h.week);
      const weeks = neighbours.map((w) => series.get(w)).filter((v): v is number => v !== undefined);
      if (hv === undefined || weeks.length < 2) continue;
      obs.push({ holiday: hv, base: mean(weeks), weeks });
    }
    if (obs.length) out.set(h.week, obs);
  }
  return out;
}

/** The pooled scopes' filter on store_holiday_weeks (`$1` is the scope's parameter). */
function pooledFilter(scope: Extract<Scope, { kind: 'chain' | 'region' | 'segment' | 'stores' }>): { where: string; params: unknown[] } {
  if (scope.kind === 'chain') return { where: 'TRUE', params: [] };
  if (scope.kind === 'region') return { where: 'store_id IN (SELECT store_id FROM stores WHERE lower(region) = lower($1))', params: [scope.region] };
  if (scope.kind === 'segment') return { where: 'store_id IN (SELECT store_id FROM store_segments WHERE segment = $1)', params: [scope.segment] };
  return { where: 'store_id = ANY($1::int[])', params: [scope.stores] };
}

interface PooledSums {
  week: string;
  n: number;
  h: number;
  b: number;
  hh: number;
  hb: number;
  bb: number;
}

/** Per holiday week, the sums the pooled ratio and its delta-method variance need. */
async function pooledSums(db: Database, scope: Extract<Scope, { kind: 'chain' | 'region' | 'segment' | 'stores' }>): Promise<PooledSums[]> {
  const { where, params } = pooledFilter(scope);
  return db.query<PooledSums>(
    `SELECT week::text AS week, count(*)::int AS n, sum(holiday_sales)::float8 AS h, sum(baseline_sales)::float8 AS b,
            sum(holiday_sales * holiday_sales)::float8 AS hh, sum(holiday_sales * baseline_sales)::float8 AS hb,
            sum(baseline_sales * baseline_sales)::float8 AS bb
     FROM store_holiday_weeks WHERE ${where} GROUP BY week ORDER BY week`,
    params,
  );
}

/** Per holiday week, each store's observation, in store order: what the bootstrap resamples. */
async function pooledObservations(db: Database, scope: Extract<Scope, { kind: 'chain' | 'region' | 'segment' | 'stores' }>): Promise<Map<string, UnitObservation[]>> {
  const { where, params } = pooledFilter(scope);
  const rows = await db.query<{ week: string; holiday: number; base: number }>(
    `SELECT week::text AS week, holiday_sales AS holiday, baseline_sales AS base FROM store_holiday_weeks WHERE ${where} ORDER BY week, store_id`,
    params,
  );
  const out = new Map<string, UnitObservation[]>();
  for (const r of rows) (out.get(r.week) ?? out.set(r.week, []).get(r.week)!).push({ holiday: r.holiday, base: r.base });
  return out;
}

function bootstrapLift(h: HolidayWeek, obs: readonly UnitObservation[], rand: () => number): HolidayLift | undefined {
  const lift = ratio(obs);
  if (!Number.isFinite(lift)) return undefined;
  const draws: number[] = [];
  const sample: UnitObservation[] = new Array(obs.length);
  for (let i = 0; i < RESAMPLES; i++) {
    if (obs.length >= 5) {
      for (let j = 0; j < obs.length; j++) sample[j] = obs[Math.floor(rand() * obs.length)]!;
    } else {
      for (let j = 0; j < obs.length; j++) {
        const weeks = obs[j]!.weeks ?? [obs[j]!.base];
        sample[j] = { holiday: obs[j]!.holiday, base: mean(weeks.map(() => weeks[Math.floor(rand() * weeks.length)]!)) };
      }
    }
    const r = ratio(sample);
    if (Number.isFinite(r)) draws.push(r);
  }
  draws.sort((a, b) => a - b);
  const holidaySales = obs.reduce((a, o) => a + o.holiday, 0);
  const baselineSales = obs.reduce((a, o) => a + o.base, 0);
  return {
    holiday: h.name,
    year: h.year,
    week: h.week,
    lift,
    lower: Math.min(lift, quantileSorted(draws, 0.025)),
    upper: Math.max(lift, quantileSorted(draws, 0.975)),
    holidaySales,
    baselineSales,
    units: obs.length,
  };
}

/** The normal approximation of the units bootstrap: the ratio's linearised standard error. */
function deltaLift(h: HolidayWeek, s: PooledSums): HolidayLift | undefined {
  const r = s.h / s.b;
  if (!Number.isFinite(r) || s.b === 0) return undefined;
  const residual = Math.max(0, s.hh - 2 * r * s.hb + r * r * s.bb);
  const se = Math.sqrt(residual) / Math.abs(s.b);
  const lift = r - 1;
  return { holiday: h.name, year: h.year, week: h.week, lift, lower: lift - 1.96 * se, upper: lift + 1.96 * se, holidaySales: s.h, baselineSales: s.b, units: s.n };
}

function calendarOf(weeks: Iterable<string>): HolidayWeek[] {
  const sorted = [...weeks].sort();
  if (sorted.length === 0) return [];
  return holidayCalendar(Number(sorted[0]!.slice(0, 4)), Number(sorted[sorted.length - 1]!.slice(0, 4)));
}

/**
 * Lift of every holiday week in the data against its neighbouring non-holiday weeks (three
 * on each side), pooled over the scope's units. The interval resamples units; with fewer
 * than five units (one department) it resamples the neighbouring weeks instead. Chain, region
 * and cross-store scopes read the maintained store_holiday_weeks, never the sales rows.
 */
export async function holidayImpact(db: Database, scope: Scope, options: { holiday?: HolidayName; seed?: number } = {}): Promise<HolidayLift[]> {
  const rand = prng(options.seed ?? 1);
  const wanted = (h: HolidayWeek) => !options.holiday || h.name === options.holiday;
  const pooled = scope.kind === 'chain' || scope.kind === 'region' || scope.kind === 'segment' || (scope.kind === 'stores' && scope.dept === undefined && scope.stores.length >= 5);
  if (!pooled) {
    const units = await unitSeries(db, scope);
    const weeks = new Set<string>();
    for (const s of units.values()) for (const w of s.keys()) weeks.add(w);
    const calendar = calendarOf(weeks);
    const obs = observationsOfSeries(units, calendar);
    return calendar.filter((h) => wanted(h) && obs.has(h.week)).map((h) => bootstrapLift(h, obs.get(h.week)!, rand)).filter((l): l is HolidayLift => l !== undefined);
  }
  const sums = await pooledSums(db, scope);
  const calendar = calendarOf(sums.map((s) => s.week));
  const byWeek = new Map(sums.map((s) => [s.week, s]));
  if (Math.max(0, ...sums.map((s) => s.n)) > BOOTSTRAP_MAX_UNITS) {
    return calendar.filter((h) => wanted(h) && byWeek.has(h.week)).map((h) => deltaLift(h, byWeek.get(h.week)!)).filter((l): l is HolidayLift => l !== undefined);
  }
  const obs = await pooledObservations(db, scope);
  return calendar.filter((h) => wanted(h) && obs.has(h.week)).map((h) => bootstrapLift(h, obs.get(h.week)!, rand)).filter((l): l is HolidayLift => l !== undefined);
}
