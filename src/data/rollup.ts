import type { Database, SqlSession } from '../db/client.ts';
import { holidayCalendar } from './holidays.ts';
import { addWeeks } from './weeks.ts';

/**
 * The maintained aggregates. Chain, region and department answers read these, never
 * weekly_sales (43M rows at 4,600 stores). They are written in the transaction of the import
 * batch (or ingest) that changed the rows they sum, so a failure rolls both back: aggregates
 * and rows never disagree.
 *
 *   store_week_sales     store x week totals (recomputed for the changed store-weeks)
 *   dept_week_sales      department x week totals over all stores (kept by deltas)
 *   store_holiday_weeks  per store and holiday week: holiday total, neighbouring weeks' mean
 *
 * A batch stages its changed store-weeks in the temporary table `chg`; the upsert of
 * weekly_sales fills it (see the train format in formats.ts) together with the deltas of
 * dept_week_sales, so a re-import that changes nothing refreshes nothing.
 */

/** One writer of sales aggregates at a time, across processes and replicas. */
export const AGGREGATE_LOCK = 'storecast:sales-aggregates';

/** The temporary table of changed (store_id, week) pairs, dropped at commit. */
export const CHANGED_DDL = 'CREATE TEMP TABLE chg (store_id int, week date) ON COMMIT DROP';

/**
 * Serialises aggregate writers: two batches touching one store-week must not each recompute
 * its total without the other's uncommitted rows. Held until the transaction ends.
 */
export async function lockAggregates(tx: SqlSession): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [AGGREGATE_LOCK]);
}

/**
 * Adds the deltas of the rows an upsert CTE named `up` returned (store_id, dept_id, week,
 * sales, is_holiday, inserted, old_sales) to dept_week_sales, and records the store-weeks
 * they touch in `chg`. Both are CTEs of the upsert statement itself: only that statement
 * sees the old values (read by a sub-select in RETURNING, which sees the statement's snapshot).
 */
export const DEPT_WEEK_DELTA_CTES = `
  dept_delta AS (
    INSERT INTO dept_week_sales (dept_id, week, sales, store_count, is_holiday)
    SELECT dept_id, week, sum(sales - old_sales), count(*) FILTER (WHERE inserted), bool_or(is_holiday)
    FROM up GROUP BY dept_id, week ORDER BY dept_id, week
    ON CONFLICT (dept_id, week) DO UPDATE SET sales = dept_week_sales.sales + excluded.sales,
      store_count = dept_week_sales.store_count + excluded.store_count,
      is_holiday = dept_week_sales.is_holiday OR excluded.is_holiday),
  changed AS (INSERT INTO chg (store_id, week) SELECT DISTINCT store_id, week FROM up)`;

/** RETURNING of the weekly_sales upsert: the new row, whether it is new, and the old sales. */
export const UPSERT_RETURNING = `RETURNING store_id, dept_id, week, sales, is_holiday, (xmax = 0) AS inserted,
  CASE WHEN xmax = 0 THEN 0 ELSE (SELECT o.sales FROM weekly_sales o
    WHERE o.store_id = weekly_sales.store_id AND o.dept_id = weekly_sales.dept_id AND o.week = weekly_sales.week) END AS old_sales`;

/**
 * Recomputes the store x week totals of the store-weeks in `chg` from their department rows.
 * ORDER BY takes row locks in key order, so concurrent writers cannot deadlock on them.
 */
export async function refreshChangedStoreWeeks(tx: SqlSession): Promise<void> {
  await tx.exec(
    `INSERT INTO store_week_sales (store_id, week, sales, is_holiday, dept_count, source)
     SELECT store_id, week, round(sum(sales)::numeric, 2)::float8, bool_or(is_holiday), count(*), 'departments'
     FROM weekly_sales WHERE (store_id, week) IN (SELECT DISTINCT store_id, week FROM chg)
     GROUP BY store_id, week
     ORDER BY store_id, week
     ON CONFLICT (store_id, week) DO UPDATE SET sales = excluded.sales, is_holiday = excluded.is_holiday,
       dept_count = excluded.dept_count, source = 'departments'
     WHERE (store_week_sales.sales, store_week_sales.is_holiday, store_week_sales.dept_count, store_week_sales.source)
       IS DISTINCT FROM (excluded.sales, excluded.is_holiday, excluded.dept_count, excluded.source)`,
  );
}

/** Neighbours of a holiday week: up to three weeks each side that are not holiday weeks. */
export const HOLIDAY_NEIGHBOURS = 3;

let pairsCache: { holidays: string[]; neighbours: string[] } | undefined;

/** Every (holiday week, neighbour week) pair from 1990 to 2100: the calendar is a rule. */
function holidayPairs(): { holidays: string[]; neighbours: string[] } {
  if (pairsCache) return pairsCache;
  const calendar = holidayCalendar(1990, 2100);
  const isHoliday = new Set(calendar.map((h) => h.week));
  const holidays: string[] = [];
  const neighbours: string[] = [];
  for (const h of calendar) {
    for (let k = 1; k <= HOLIDAY_NEIGHBOURS; k++) {
      for (const w of [addWeeks(h.week, -k), addWeeks(h.week, k)]) {
        if (isHoliday.has(w)) continue;
        holidays.push(h.week);
        neighbours.push(w);
      }
    }
  }
  return (pairsCache = { holidays, neighbours });
}

/**
 * Recomputes store_holiday_weeks for the stores in `chg`: each holiday week with a total and
 * at least two neighbouring weeks, as src/analytics/holiday-impact.ts pools them.
 */
export async function refreshChangedHolidayWeeks(tx: SqlSession): Promise<void> {
  const { holidays, neighbours } = holidayPairs();
  await tx.exec('DELETE FROM store_holiday_weeks WHERE store_id IN (SELECT DISTINCT store_id FROM chg)');
  await tx.query(
    `INSERT INTO store_holiday_weeks (store_id, week, holiday_sales, baseline_sales, baseline_weeks)
     SELECT h.store_id, h.week, h.sales, avg(n.sales), count(*)
     FROM store_week_sales h
     JOIN unnest($1::text[], $2::text[]) AS p(holiday, neighbour) ON p.holiday::date = h.week
     JOIN store_week_sales n ON n.store_id = h.store_id AND n.week = p.neighbour::date
     WHERE h.store_id IN (SELECT DISTINCT store_id FROM chg)
     GROUP BY h.store_id, h.week, h.sales
     HAVING count(*) >= 2
     ORDER BY h.week, h.store_id`,
    [holidays, neighbours],
  );
}

/** Every aggregate the changed store-weeks in `chg` feed, in dependency order. */
export async function refreshAggregates(tx: SqlSession, options: { storeWeeks: boolean }): Promise<void> {
  if (options.storeWeeks) await refreshChangedStoreWeeks(tx);
  await refreshChangedHolidayWeeks(tx);
}

/**
 * Recomputes dept_week_sales and store_holiday_weeks from scratch: for a database whose sales
 * predate these tables (they start empty after the migration), and for checking the deltas.
 */
export async function rebuildAggregates(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    await lockAggregates(tx);
    await tx.exec(
      `DELETE FROM dept_week_sales;
       INSERT INTO dept_week_sales (dept_id, week, sales, store_count, is_holiday)
       SELECT dept_id, week, sum(sales), count(*), bool_or(is_holiday) FROM weekly_sales GROUP BY dept_id, week ORDER BY dept_id, week;
       ${CHANGED_DDL};
       INSERT INTO chg (store_id, week) SELECT store_id, week FROM store_week_sales;`,
    );
    await refreshChangedHolidayWeeks(tx);
  });
}

/**
 * Builds the aggregates once when sales exist without them (an upgrade), across replicas:
 * the check runs again under the lock, so a replica that waited finds them built.
 */
export async function ensureAggregates(db: Database): Promise<boolean> {
  const missing = async () => {
    const [r] = await db.query<{ missing: boolean }>(
      `SELECT (EXISTS (SELECT 1 FROM weekly_sales) AND NOT EXISTS (SELECT 1 FROM dept_week_sales))
           OR (EXISTS (SELECT 1 FROM store_week_sales) AND NOT EXISTS (SELECT 1 FROM store_holiday_weeks)) AS missing`,
    );
    return r?.missing === true;
  };
  if (!(await missing())) return false;
  return db.withLock('storecast:aggregates-rebuild', async () => {
    if (!(await missing())) return false;
    await rebuildAggregates(db);
    return true;
  });
}
