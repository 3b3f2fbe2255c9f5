import type { Database } from '../src/db/client.ts';

/**
 * A week's maintained totals (store_week_sales, dept_week_sales) against a recount of its rows
 * in weekly_sales: what the ingest benches print after a chain-wide week, as one line.
 */
export async function weekRecount(db: Database, week: string): Promise<string> {
  const [check] = await db.query<{ stores: number; store_off: number; depts: number; dept_off: number }>(
    `WITH w AS (SELECT store_id, dept_id, sales FROM weekly_sales WHERE week = $1::date),
          s AS (SELECT store_id, sum(sales) AS sales, count(*) AS n FROM w GROUP BY 1),
          d AS (SELECT dept_id, sum(sales) AS sales, count(*) AS n FROM w GROUP BY 1)
     SELECT (SELECT count(*) FROM s)::int AS stores,
            (SELECT count(*) FROM s LEFT JOIN store_week_sales t ON t.store_id = s.store_id AND t.week = $1::date WHERE t.sales IS NULL OR abs(t.sales - s.sales) > 0.01 OR t.dept_count <> s.n)::int AS store_off,
            (SELECT count(*) FROM d)::int AS depts,
            (SELECT count(*) FROM d LEFT JOIN dept_week_sales t ON t.dept_id = d.dept_id AND t.week = $1::date WHERE t.sales IS NULL OR abs(t.sales - d.sales) > 0.01 OR t.store_count <> d.n)::int AS dept_off`,
    [week],
  );
  return `aggregates vs a recount of the week: ${check!.store_off} of ${check!.stores} store totals and ${check!.dept_off} of ${check!.depts} department totals differ`;
}
