import type { Database } from '../db/client.ts';
import type { DepartmentsRun, Forecaster } from '../forecast/forecaster.ts';
import { centsList } from '../forecast/stored.ts';
import { COVER_HORIZON, coverOf, type StockPosition } from './cover.ts';
import { coverInScope, type DeptCover } from './positions.ts';

/**
 * Stock alert rules over many stores at once (a chain-wide stock ingest evaluates every store's
 * rules). Computing every department's cover read all their demand: at 4,600 stores 335k series
 * x 26 weeks x 3 bounds sent to the replica, ~21 s. A department is below a rule's W weeks only
 * if its stock runs out within the first ceil(W) forecast weeks after the count, so Postgres
 * sums those weeks of the stored arrays against the stock on hand and sends back only the
 * departments that may be below: a superset (an order arriving and a NULL week only delay a
 * run-out; a margin far above the rounding of the weekly arithmetic covers ties). Their cover is
 * then computed by coverOf, the one cover arithmetic, so every figure is the one computed before.
 * Without stored forecasts (no model yet) every department's cover is computed as before.
 */

/** The loosest rule threshold on each basis, in weeks (0: no rule on that basis). */
export interface Thresholds {
  median: number;
  p90: number;
}

export interface CountedAt {
  dept: number;
  asOf: string;
}

export interface StockAtRisk {
  /** Every department with a stock count, by store: what a rule has checked, and as of when. */
  counted: Map<number, CountedAt[]>;
  /** The cover of each department that may be below a threshold (a superset of those that are). */
  covers: DeptCover[];
  /** The same covers by store: a chain's 4,600 store rules each look at their own. */
  coversBy: Map<number, DeptCover[]>;
}

function indexed(counted: Map<number, CountedAt[]>, covers: DeptCover[]): StockAtRisk {
  const coversBy = new Map<number, DeptCover[]>();
  for (const c of covers) {
    const list = coversBy.get(c.store) ?? [];
    list.push(c);
    coversBy.set(c.store, list);
  }
  return { counted, covers, coversBy };
}

/**
 * Stores per statement: ~80k departments, the text sent under ~40 MB even when every one may be
 * below. Fewer, larger statements were faster at 4,600 stores (250 stores each: 6.5-9 s; 1,000:
 * 4.7-5.9 s; one statement: 3.8-4.1 s, on the loaded 2-core machine, load average 6-7).
 */
const STORES_PER_READ = 1000;

export async function stockAtRisk(db: Database, forecaster: Forecaster, stores: readonly number[] | 'all', thresholds: Thresholds): Promise<StockAtRisk> {
  const run = forecaster.departmentsRun ? await forecaster.departmentsRun(db) : undefined;
  if (!run) return everyCover(db, forecaster, stores);
  const out = { counted: new Map<number, CountedAt[]>(), covers: [] as DeptCover[] };
  const mayRunOut = candidateSql(thresholds);
  const list = stores === 'all' ? await countedStores(db) : [...new Set(stores)].sort((a, b) => a - b);
  for (let i = 0; i < list.length; i += STORES_PER_READ) await readPart(db, run, mayRunOut, list.slice(i, i + STORES_PER_READ), out);
  return indexed(out.counted, out.covers);
}

/** Every store with a stock count (listed in stores or not, as a chain-wide cover reads them): one index probe per store. */
async function countedStores(db: Database): Promise<number[]> {
  const rows = await db.query<{ id: number }>(
    `WITH RECURSIVE s AS (SELECT min(store_id) AS id FROM stock_snapshots
       UNION ALL SELECT (SELECT min(store_id) FROM stock_snapshots WHERE store_id > s.id) FROM s WHERE s.id IS NOT NULL)
     SELECT id FROM s WHERE id IS NOT NULL`,
  );
  return rows.map((r) => Number(r.id));
}

/**
 * "The stock may run out within the first m weeks after the count" on a basis: the weeks'
 * demand (negative weeks count as none, NULL ones as nothing) against the stock on hand.
 */
function mayRunOutWithin(column: 'p50' | 'p90', weeks: number): string {
  const m = Math.min(COVER_HORIZON, Math.max(0, Math.ceil(Number.isFinite(weeks) ? weeks : COVER_HORIZON)));
  if (!m) return 'false';
  const cents = Array.from({ length: m }, (_, k) => `greatest(0, f.${column}[n.start + ${k + 1}])`).join(' + ');
  return `((${cents})::float8 / 100 * (1 + 1e-9) >= n.on_hand * (1 - 1e-9) - 1e-9 * coalesce(n.on_order, 0) - 1e-6)`;
}

const candidateSql = (t: Thresholds) => `(${mayRunOutWithin('p50', t.median)} OR ${mayRunOutWithin('p90', t.p90)})`;

async function readPart(db: Database, run: DepartmentsRun, mayRunOut: string, stores: number[], out: Pick<StockAtRisk, 'counted' | 'covers'>): Promise<void> {
  // Text, not rows (see readDepartments): the counted departments grouped by store and count
  // date, and the departments that may be below with their position and demand.
  const [row] = await db.query<{ counted: string | null; covers: string | null }>(
    `WITH n AS MATERIALIZED (
       SELECT DISTINCT ON (store_id, dept_id) store_id, dept_id, as_of, on_hand, on_order, on_order_date, lead_time_weeks,
              least(${COVER_HORIZON}, greatest(0, floor((as_of - $3::date) / 7.0)::int + 1)) AS start
         FROM stock_snapshots WHERE store_id = ANY($1::int[]) ORDER BY store_id, dept_id, as_of DESC)
     SELECT (SELECT string_agg(concat_ws('|', store_id, as_of, depts), E'\\n')
               FROM (SELECT store_id, as_of::text AS as_of, string_agg(dept_id::text, ',') AS depts FROM n GROUP BY store_id, as_of) g) AS counted,
            (SELECT string_agg(concat_ws('|', n.store_id, n.dept_id, n.as_of::text, n.on_hand::text, coalesce(n.on_order::text, ''), coalesce(n.on_order_date::text, ''),
                      coalesce(n.lead_time_weeks::text, ''), array_to_string(f.p50[1:${COVER_HORIZON}], ',', 'NULL'), array_to_string(f.p90[1:${COVER_HORIZON}], ',', 'NULL')), E'\\n')
               FROM n JOIN stored_forecasts f ON f.run_id = $2 AND f.store_id = ANY($1::int[]) AND f.store_id = n.store_id AND f.dept_id = n.dept_id AND f.dept_id > 0
              WHERE ${mayRunOut}) AS covers`,
    [stores, run.runId, run.firstWeek],
  );
  for (const line of row?.counted ? row.counted.split('\n') : []) {
    const [store, asOf, depts] = line.split('|') as [string, string, string];
    const list = out.counted.get(Number(store)) ?? [];
    for (const dept of depts.split(',')) list.push({ dept: Number(dept), asOf });
    out.counted.set(Number(store), list);
  }
  for (const line of row?.covers ? row.covers.split('\n') : []) {
    const [store, dept, asOf, onHand, onOrder, onOrderDate, lead, p50, p90] = line.split('|') as [string, string, string, string, string, string, string, string, string];
    const position: StockPosition = { asOf, onHand: Number(onHand), onOrder: onOrder === '' ? null : Number(onOrder), onOrderDate: onOrderDate || null, leadTimeWeeks: lead === '' ? null : Number(lead) };
    out.covers.push({ store: Number(store), dept: Number(dept), position, cover: coverOf(position, { firstWeek: run.firstWeek, p50: centsList(p50), p90: centsList(p90) }) });
  }
}

/** Without stored forecasts: every department's cover, from demand_forecasts (src/stock/demand.ts). */
async function everyCover(db: Database, forecaster: Forecaster, stores: readonly number[] | 'all'): Promise<StockAtRisk> {
  const covers = await coverInScope(db, forecaster, stores === 'all' ? { kind: 'chain' } : { kind: 'stores', stores });
  const counted = new Map<number, CountedAt[]>();
  for (const c of covers) {
    const list = counted.get(c.store) ?? [];
    list.push({ dept: c.dept, asOf: c.position.asOf });
    counted.set(c.store, list);
  }
  return indexed(counted, covers);
}
