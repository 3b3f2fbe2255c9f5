import type { Database } from '../db/client.ts';
import type { Forecaster } from '../forecast/forecaster.ts';
import { scopeArea, scopeDept, type DeptAreaScope } from '../scope.ts';
import { coverOf, type Cover, type Demand, type StockPosition } from './cover.ts';
import { demandFor, seriesKey } from './demand.ts';

/** What stock questions and stock alerts are about: a store, a region or the chain, maybe one department. */

export interface DeptCover {
  store: number;
  dept: number;
  position: StockPosition;
  /** Undefined when the department has no sales to forecast its demand from. */
  cover?: Cover;
  demand?: Demand;
}

interface SnapshotRow {
  store_id: number;
  dept_id: number;
  as_of: string;
  on_hand: number | string;
  on_order: number | string | null;
  on_order_date: string | null;
  lead_time_weeks: number | string | null;
}

const num = (v: number | string | null) => (v === null ? null : Number(v));

/** The latest snapshot of each store x department in scope. */
export async function latestSnapshots(db: Database, scope: DeptAreaScope | { kind: 'stores'; stores: readonly number[]; dept?: number }): Promise<SnapshotRow[]> {
  const params: unknown[] = [];
  const where: string[] = [];
  const area = scope.kind === 'stores' ? scope : scopeArea(scope);
  if (area.kind === 'stores') where.push(`s.store_id = ANY($${params.push(area.stores)}::int[])`);
  if (area.kind === 'store') where.push(`s.store_id = $${params.push(area.store)}`);
  if (area.kind === 'region') where.push(`s.store_id IN (SELECT store_id FROM stores WHERE lower(region) = lower($${params.push(area.region)}))`);
  const dept = scope.kind === 'stores' ? scope.dept : scopeDept(scope);
  if (dept !== undefined) where.push(`s.dept_id = $${params.push(dept)}`);
  // One JSON value rather than thousands of rows: PGlite converts each field of each row on its
  // own, and a chain-wide read (3,645 series) took ~300 ms that way, ~60 ms as one text.
  const [row] = await db.query<{ j: string | null }>(
    `SELECT json_agg(json_build_array(store_id, dept_id, as_of, on_hand, on_order, on_order_date, lead_time_weeks))::text AS j
     FROM (SELECT DISTINCT ON (s.store_id, s.dept_id) s.* FROM stock_snapshots s ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
           ORDER BY s.store_id, s.dept_id, s.as_of DESC) x`,
    params,
  );
  const tuples = JSON.parse(row?.j ?? '[]') as [number, number, string, number, number | null, string | null, number | null][];
  return tuples.map(([store_id, dept_id, as_of, on_hand, on_order, on_order_date, lead_time_weeks]) => ({ store_id, dept_id, as_of, on_hand, on_order, on_order_date, lead_time_weeks }));
}

/** Cover of every department in scope with a stock snapshot, from the cached demand forecasts. */
export async function coverInScope(db: Database, forecaster: Forecaster, scope: DeptAreaScope | { kind: 'stores'; stores: readonly number[] }): Promise<DeptCover[]> {
  const rows = await latestSnapshots(db, scope);
  const demand = await demandFor(db, forecaster, rows.map((r) => ({ store: r.store_id, dept: r.dept_id })));
  return rows.map((r) => {
    const position: StockPosition = {
      asOf: r.as_of,
      onHand: Number(r.on_hand),
      onOrder: num(r.on_order),
      onOrderDate: r.on_order_date,
      leadTimeWeeks: num(r.lead_time_weeks),
    };
    const d = demand.get(seriesKey(r.store_id, r.dept_id));
    return { store: r.store_id, dept: r.dept_id, position, ...(d ? { demand: d, cover: coverOf(position, d) } : {}) };
  });
}

/** At-risk first: the shortest p90 cover, then median; departments without a forecast last. */
export function byRisk(a: DeptCover, b: DeptCover): number {
  const key = (c: DeptCover) => [c.cover?.p90.weeks ?? (c.cover ? 1e6 : 2e6), c.cover?.median.weeks ?? 1e6] as const;
  const [a1, a2] = key(a);
  const [b1, b2] = key(b);
  return a1 - b1 || a2 - b2 || a.store - b.store || a.dept - b.dept;
}
