import type { Database } from '../db/client.ts';
import { holidayCalendar, type HolidayName } from '../data/holidays.ts';
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

const NEIGHBOURS = 3;
const RESAMPLES = 1000;

/** Per-unit weekly sales: departments of one store, or stores of a region / the chain. */
async function unitSeries(db: Database, scope: Scope): Promise<Map<string, Map<string, number>>> {
  let rows: { unit: string; week: string; sales: number }[];
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
    case 'region':
      rows = await db.query(
        `SELECT store_id::text AS unit, week::text AS week, sales FROM store_week_sales
         WHERE store_id IN (SELECT store_id FROM stores WHERE lower(region) = lower($1))`,
        [scope.region],
      );
      break;
    case 'chain':
      rows = await db.query(`SELECT store_id::text AS unit, week::text AS week, sales FROM store_week_sales`);
      break;
    case 'segment':
      rows = await db.query(
        `SELECT store_id::text AS unit, week::text AS week, sales FROM store_week_sales
         WHERE store_id IN (SELECT store_id FROM store_segments WHERE segment = $1)`,
        [scope.segment],
      );
      break;
    case 'stores':
      rows =
        scope.dept === undefined
          ? await db.query(`SELECT store_id::text AS unit, week::text AS week, sales FROM store_week_sales WHERE store_id = ANY($1::int[])`, [scope.stores])
          : await db.query(`SELECT store_id::text AS unit, week::text AS week, sales FROM weekly_sales WHERE store_id = ANY($1::int[]) AND dept_id = $2`, [scope.stores, scope.dept]);
      break;
  }
  const units = new Map<string, Map<string, number>>();
  for (const r of rows) {
    let series = units.get(r.unit);
    if (!series) units.set(r.unit, (series = new Map()));
    series.set(r.week, r.sales);
  }
  return units;
}

interface UnitObservation {
  holiday: number;
  baseline: number[];
}

function ratio(obs: readonly UnitObservation[]): number {
  let h = 0;
  let b = 0;
  for (const o of obs) {
    h += o.holiday;
    b += o.baseline.reduce((a, x) => a + x, 0) / o.baseline.length;
  }
  return h / b - 1;
}

/**
 * Lift of every holiday week in the data against its neighbouring non-holiday weeks (three
 * on each side), pooled over the scope's units. The interval resamples units; with fewer
 * than five units (one department) it resamples the neighbouring weeks instead.
 */
export async function holidayImpact(db: Database, scope: Scope, options: { holiday?: HolidayName; seed?: number } = {}): Promise<HolidayLift[]> {
  const units = await unitSeries(db, scope);
  if (units.size === 0) return [];
  const weeks = new Set<string>();
  for (const s of units.values()) for (const w of s.keys()) weeks.add(w);
  const sorted = [...weeks].sort();
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  const calendar = holidayCalendar(Number(first.slice(0, 4)), Number(last.slice(0, 4)));
  const holidayWeeks = new Set(calendar.map((h) => h.week));
  const rand = prng(options.seed ?? 1);
  const out: HolidayLift[] = [];

  for (const h of calendar) {
    if (options.holiday && h.name !== options.holiday) continue;
    if (h.week < first || h.week > last) continue;
    const neighbours: string[] = [];
    for (let k = 1; k <= NEIGHBOURS; k++) {
      for (const w of [addWeeks(h.week, -k), addWeeks(h.week, k)]) if (!holidayWeeks.has(w)) neighbours.push(w);
    }
    const obs: UnitObservation[] = [];
    for (const series of units.values()) {
      const hv = series.get(h.week);
      const baseline = neighbours.map((w) => series.get(w)).filter((v): v is number => v !== undefined);
      if (hv === undefined || baseline.length < 2) continue;
      obs.push({ holiday: hv, baseline });
    }
    if (obs.length === 0) continue;
    const lift = ratio(obs);
    if (!Number.isFinite(lift)) continue;
    const draws: number[] = [];
    for (let i = 0; i < RESAMPLES; i++) {
      let sample: UnitObservation[];
      if (obs.length >= 5) {
        sample = obs.map(() => obs[Math.floor(rand() * obs.length)]!);
      } else {
        sample = obs.map((o) => ({ holiday: o.holiday, baseline: o.baseline.map(() => o.baseline[Math.floor(rand() * o.baseline.length)]!) }));
      }
      const r = ratio(sample);
      if (Number.isFinite(r)) draws.push(r);
    }
    draws.sort((a, b) => a - b);
    out.push({
      holiday: h.name,
      year: h.year,
      week: h.week,
      lift,
      lower: Math.min(lift, quantileSorted(draws, 0.025)),
      upper: Math.max(lift, quantileSorted(draws, 0.975)),
      holidaySales: obs.reduce((a, o) => a + o.holiday, 0),
      baselineSales: obs.reduce((a, o) => a + o.baseline.reduce((x, y) => x + y, 0) / o.baseline.length, 0),
      units: obs.length,
    });
  }
  return out;
}
