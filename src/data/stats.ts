import type { Database } from '../db/client.ts';

export interface DataStats {
  salesRows: number;
  stores: number;
  departments: number;
  firstWeek: string | null;
  lastWeek: string | null;
  storeWeekRows: number;
  featureRows: number;
  forecastWeekRows: number;
  lastImportAt: string | null;
}

/**
 * What is loaded: shown by `storecast stats`, /readyz and reply footers (data freshness).
 * Department rows are counted from dept_week_sales (the same number, ~11k rows to read
 * instead of 43M): a load balancer probes /readyz every few seconds.
 */
export async function dataStats(db: Database): Promise<DataStats> {
  const [row] = await db.query<{
    sales_rows: number;
    stores: number;
    departments: number;
    first_week: string | null;
    last_week: string | null;
    store_week_rows: number;
    feature_rows: number;
    forecast_week_rows: number;
    last_import_at: string | null;
  }>(`SELECT
      (SELECT coalesce(sum(store_count), 0)::int FROM dept_week_sales) AS sales_rows,
      (SELECT count(*)::int FROM stores) AS stores,
      (SELECT count(DISTINCT dept_id)::int FROM dept_week_sales) AS departments,
      (SELECT min(week)::text FROM store_week_sales) AS first_week,
      (SELECT max(week)::text FROM store_week_sales) AS last_week,
      (SELECT count(*)::int FROM store_week_sales) AS store_week_rows,
      (SELECT count(*)::int FROM store_features) AS feature_rows,
      (SELECT count(*)::int FROM forecast_weeks) AS forecast_week_rows,
      (SELECT to_char(max(finished_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') FROM import_runs WHERE status = 'succeeded') AS last_import_at`);
  return {
    salesRows: row!.sales_rows,
    stores: row!.stores,
    departments: row!.departments,
    firstWeek: row!.first_week,
    lastWeek: row!.last_week,
    storeWeekRows: row!.store_week_rows,
    featureRows: row!.feature_rows,
    forecastWeekRows: row!.forecast_week_rows,
    lastImportAt: row!.last_import_at,
  };
}
