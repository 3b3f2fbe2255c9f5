import type { SqlSession } from '../db/client.ts';

/**
 * Recomputes the store x week totals of the store-weeks staged in `stg` from their
 * department rows. Chain and store questions read these ~6k rows instead of grouping 421k
 * rows on every request. It runs in the transaction that upserted the department rows, so
 * a failure here rolls both back: totals and the rows they sum never disagree.
 * ORDER BY takes row locks in key order, so concurrent ingests cannot deadlock on them.
 */
export async function refreshStagedStoreWeeks(tx: SqlSession): Promise<void> {
  await tx.exec(
    `INSERT INTO store_week_sales (store_id, week, sales, is_holiday, dept_count, source)
     SELECT store_id, week, round(sum(sales)::numeric, 2)::float8, bool_or(is_holiday), count(*), 'departments'
     FROM weekly_sales WHERE (store_id, week) IN (SELECT DISTINCT store_id, week FROM stg)
     GROUP BY store_id, week
     ORDER BY store_id, week
     ON CONFLICT (store_id, week) DO UPDATE SET sales = excluded.sales, is_holiday = excluded.is_holiday,
       dept_count = excluded.dept_count, source = 'departments'
     WHERE (store_week_sales.sales, store_week_sales.is_holiday, store_week_sales.dept_count, store_week_sales.source)
       IS DISTINCT FROM (excluded.sales, excluded.is_holiday, excluded.dept_count, excluded.source)`,
  );
}
