import type { Database } from '../db/client.ts';

/**
 * Recomputes store x week totals from department rows for the given stores. Chain and
 * store questions read these ~6k rows instead of grouping 421k rows on every request.
 */
export async function refreshStoreWeekRollup(db: Database, storeIds: number[]): Promise<void> {
  await db.query(
    `INSERT INTO store_week_sales (store_id, week, sales, is_holiday, dept_count, source)
     SELECT store_id, week, round(sum(sales)::numeric, 2)::float8, bool_or(is_holiday), count(*), 'departments'
     FROM weekly_sales WHERE store_id = ANY($1::int[])
     GROUP BY store_id, week
     ON CONFLICT (store_id, week) DO UPDATE SET sales = excluded.sales, is_holiday = excluded.is_holiday,
       dept_count = excluded.dept_count, source = 'departments'
     WHERE (store_week_sales.sales, store_week_sales.is_holiday, store_week_sales.dept_count, store_week_sales.source)
       IS DISTINCT FROM (excluded.sales, excluded.is_holiday, excluded.dept_count, excluded.source)`,
    [storeIds],
  );
}
