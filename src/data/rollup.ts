import type { Database, SqlSession } from '../db/client.ts';
import { SALES_WRITE_LOCK } from '../db/partitions.ts';
import { holidayCalendar } from './holidays.ts';
import { addWeeks } from './weeks.ts';

/**
 * The maintained aggregates. Chain, region and department answers read these, never
 * weekly_sales (43M rows at 4,600 stores). They are written in the transaction of the import
 * batch (or ingest) that changed the rows they sum, so a failure rolls both back: aggregates
 * and rows never disagree.
 *
 *   store_week_sales     store x week totals
 *   dept_week_sales      department x week totals over all stores
 *   store_holiday_weeks  per store and holiday week: holiday total, neighbouring weeks' mean
 *
 * The first two are kept by deltas computed in the statement that writes weekly_sales (the
 * only one that sees the old values), so their cost follows the rows changed, never the
 * chain's size; a re-import that changes nothing changes nothing. That statement also records
 * the changed store-weeks in the temporary table `chg`, from which the holiday weeks of the
 * stores concerned are recomputed.
 */

/** One writer of sales aggregates at a time, across processes and replicas. */
export const AGGREGATE_LOCK = SALES_WRITE_LOCK;

/** The temporary tables of changed store-weeks and of department-weeks whose holiday flag was cleared, dropped at commit. */
export const CHANGED_DDL =
  'CREATE TEMP TABLE chg (store_id int, week date, cleared bool NOT NULL DEFAULT false) ON COMMIT DROP; CREATE TEMP TABLE chg_dept (dept_id int, week date) ON COMMIT DROP';

/**
 * Serialises aggregate writers (imports, ingest, on every replica): deltas would add up
 * under concurrency, but the insert-or-update split and the holiday recount would not.
 * Held until the transaction ends.
 */
export async function lockAggregates(tx: SqlSession): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [AGGREGATE_LOCK]);
}

/**
 * Batch statements probe weekly_sales by primary key, row by row. The planner, not knowing
 * the staged rows, may prefer hashing the whole table (43M rows at 4,600 stores): a batch
 * forbids it. A batch's sort fits in memory. No JIT: the statement's estimated cost (a
 * probe into every partition per staged row) passes Postgres' JIT thresholds, and compiling
 * its 200+ functions with inlining and optimisation took 2.7 s of a 100k-row part's 4.4 s
 * at 4,600 stores (on PGlite the setting does nothing).
 */
export async function tuneBatch(tx: SqlSession): Promise<void> {
  await tx.exec("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL work_mem = '64MB'; SET LOCAL jit = off");
}

/**
 * Writes the rows of a CTE `src` (store_id, dept_id, week, sales, is_holiday; one per key)
 * into weekly_sales, and yields `up`: each row inserted or changed, with its old values.
 * One primary-key probe per row finds the old row; new rows are plain INSERTs and changed
 * ones UPDATEs, half the cost of INSERT .. ON CONFLICT, whose speculative insertion
 * dominated an import. Writers hold AGGREGATE_LOCK, so nothing inserts between the probe and
 * the insert (the primary key would still refuse a duplicate).
 */
export const SALES_UPSERT_CTES = `
  cur AS (
    SELECT src.*, w.sales AS old_sales, w.is_holiday AS old_holiday, w.store_id IS NOT NULL AS existed
    FROM src LEFT JOIN weekly_sales w ON w.store_id = src.store_id AND w.dept_id = src.dept_id AND w.week = src.week),
  up AS (
    SELECT store_id, dept_id, week, sales, is_holiday, NOT existed AS inserted, coalesce(old_sales, 0) AS old_sales, old_holiday
    FROM cur WHERE NOT existed OR (sales, is_holiday) IS DISTINCT FROM (old_sales, old_holiday)),
  ins AS (
    INSERT INTO weekly_sales (store_id, dept_id, week, sales, is_holiday)
    SELECT store_id, dept_id, week, sales, is_holiday FROM up WHERE inserted),
  upd AS (
    UPDATE weekly_sales w SET sales = up.sales, is_holiday = up.is_holiday FROM up
    WHERE NOT up.inserted AND w.store_id = up.store_id AND w.dept_id = up.dept_id AND w.week = up.week)`;

/**
 * Adds the deltas of `up` to dept_week_sales and store_week_sales, and records the store-weeks
 * they touch in `chg` (with whether a holiday flag was cleared: only a recount can tell if the
 * week stays flagged), and the department-weeks with a cleared flag in `chg_dept`. A store-week that held a store-level total (Walmart.csv) has no
 * department rows: its new department rows replace the total.
 */
export const AGGREGATE_DELTA_CTES = `
  dept_delta AS (
    INSERT INTO dept_week_sales (dept_id, week, sales, store_count, is_holiday)
    SELECT dept_id, week, sum(sales - old_sales), count(*) FILTER (WHERE inserted), bool_or(is_holiday)
    FROM up GROUP BY dept_id, week ORDER BY dept_id, week
    ON CONFLICT (dept_id, week) DO UPDATE SET sales = dept_week_sales.sales + excluded.sales,
      store_count = dept_week_sales.store_count + excluded.store_count,
      is_holiday = dept_week_sales.is_holiday OR excluded.is_holiday),
  store_delta AS (
    INSERT INTO store_week_sales AS t (store_id, week, sales, is_holiday, dept_count, source)
    SELECT store_id, week, round(sum(sales - old_sales)::numeric, 2)::float8, bool_or(is_holiday), count(*) FILTER (WHERE inserted), 'departments'
    FROM up GROUP BY store_id, week ORDER BY store_id, week
    ON CONFLICT (store_id, week) DO UPDATE SET
      sales = round(((CASE WHEN t.source = 'store-total' THEN 0 ELSE t.sales END) + excluded.sales)::numeric, 2)::float8,
      dept_count = (CASE WHEN t.source = 'store-total' THEN 0 ELSE t.dept_count END) + excluded.dept_count,
      is_holiday = CASE WHEN t.source = 'store-total' THEN excluded.is_holiday ELSE t.is_holiday OR excluded.is_holiday END,
      source = 'departments'),
  changed AS (
    INSERT INTO chg (store_id, week, cleared)
    SELECT store_id, week, coalesce(bool_or(old_holiday AND NOT is_holiday), false) FROM up GROUP BY store_id, week),
  dept_cleared AS (
    INSERT INTO chg_dept (dept_id, week) SELECT DISTINCT dept_id, week FROM up WHERE old_holiday AND NOT is_holiday)`;

/**
 * Recounts the holiday flag of the store-weeks and department-weeks where a row's flag was
 * cleared: the one change a delta cannot apply. Probes the key per department (or per store
 * for a department-week: rare, a correction of the calendar), as its column order needs.
 */
export async function recountClearedHolidays(tx: SqlSession): Promise<void> {
  await tx.exec(
    `UPDATE store_week_sales t SET is_holiday = coalesce((
       SELECT bool_or(w.is_holiday) FROM departments d JOIN weekly_sales w ON w.store_id = t.store_id AND w.dept_id = d.dept_id AND w.week = t.week), false)
     FROM chg WHERE chg.cleared AND chg.store_id = t.store_id AND chg.week = t.week;
     UPDATE dept_week_sales t SET is_holiday = coalesce((
       SELECT bool_or(w.is_holiday) FROM stores s JOIN weekly_sales w ON w.store_id = s.store_id AND w.dept_id = t.dept_id AND w.week = t.week), false)
     FROM (SELECT DISTINCT dept_id, week FROM chg_dept) c WHERE c.dept_id = t.dept_id AND c.week = t.week`,
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
 * Recomputes store_holiday_weeks for the stores in `chg`, for the holiday weeks whose total or
 * neighbours are among the changed weeks: each holiday week with a total and at least two
 * neighbouring weeks, as src/analytics/holiday-impact.ts pools them. A new week that is
 * neither a holiday week nor next to one changes nothing here (recomputing every holiday of
 * the 1,375 stores of a 100k-row part took 15 s of its 20 s at 4,600 stores).
 */
export async function refreshChangedHolidayWeeks(tx: SqlSession): Promise<void> {
  const changed = new Set((await tx.query<{ week: string }>('SELECT DISTINCT week::text AS week FROM chg')).map((r) => r.week));
  const pairs = holidayPairs();
  const affected = new Set<string>();
  pairs.holidays.forEach((h, i) => {
    if (changed.has(h) || changed.has(pairs.neighbours[i] as string)) affected.add(h);
  });
  if (!affected.size) return;
  const holidays: string[] = [];
  const neighbours: string[] = [];
  pairs.holidays.forEach((h, i) => {
    if (!affected.has(h)) return;
    holidays.push(h);
    neighbours.push(pairs.neighbours[i] as string);
  });
  await tx.query('DELETE FROM store_holiday_weeks WHERE store_id IN (SELECT DISTINCT store_id FROM chg) AND week = ANY($1::text[]::date[])', [[...affected]]);
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
export async function refreshAggregates(tx: SqlSession): Promise<void> {
  await recountClearedHolidays(tx);
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
  // Holiday weeks are missing only where sales fall in a holiday week: a short history without
  // one legitimately has none, and must not be rebuilt at every start.
  const missing = async () => {
    const [r] = await db.query<{ missing: boolean }>(
      `SELECT (EXISTS (SELECT 1 FROM weekly_sales) AND NOT EXISTS (SELECT 1 FROM dept_week_sales))
           OR (NOT EXISTS (SELECT 1 FROM store_holiday_weeks) AND EXISTS (SELECT 1 FROM store_week_sales WHERE week = ANY($1::text[]::date[]))) AS missing`,
      [[...new Set(holidayPairs().holidays)]],
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
