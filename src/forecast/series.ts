import type { Database } from '../db/client.ts';
import type { SeriesKey } from '../scope.ts';

/** One weekly series, ascending by week; weeks may have gaps. */
export interface WeeklySeries {
  weeks: string[];
  values: number[];
}

/**
 * Reads one series: a store's totals from store_week_sales, or a store x department from
 * weekly_sales; only weeks on or before `until` when given.
 */
export async function loadSeries(db: Database, key: SeriesKey, until?: string): Promise<WeeklySeries> {
  const params: unknown[] = [key.store];
  let sql: string;
  if (key.dept === undefined) {
    sql = `SELECT week::text AS week, sales FROM store_week_sales WHERE store_id = $1`;
  } else {
    sql = `SELECT week::text AS week, sales FROM weekly_sales WHERE store_id = $1 AND dept_id = $2`;
    params.push(key.dept);
  }
  if (until !== undefined) {
    params.push(until);
    sql += ` AND week <= $${params.length}::date`;
  }
  sql += ' ORDER BY week';
  const rows = await db.query<{ week: string; sales: number | string }>(sql, params);
  return { weeks: rows.map((r) => r.week), values: rows.map((r) => Number(r.sales)) };
}
