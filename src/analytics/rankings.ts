import type { Database } from '../db/client.ts';
import { addWeeks } from '../data/weeks.ts';

export interface RankingRow {
  id: number;
  /** Total sales over the window. */
  sales: number;
  /** Sales over the window vs the same number of weeks a year before; null if unknown. */
  growth: number | null;
}

export interface RankingOptions {
  of: 'stores' | 'depts';
  by: 'sales' | 'growth';
  limit: number;
  order: 'top' | 'bottom';
  /** Window end (last week with data by default) and length in weeks. */
  to: string;
  weeks: number;
  /** Only these stores (the ones the asker may see); all when absent. */
  stores?: readonly number[];
}

/**
 * Top or bottom stores/departments by sales or growth over a window. Growth compares the
 * window with the same weeks a year earlier and needs both periods to have sales.
 */
export async function ranking(db: Database, o: RankingOptions): Promise<RankingRow[]> {
  const from = addWeeks(o.to, -(o.weeks - 1));
  const prevFrom = addWeeks(from, -52);
  const prevTo = addWeeks(o.to, -52);
  // Departments chain-wide come from their maintained totals; narrowed to some stores (a
  // restricted asker), from those stores' rows.
  const source = o.of === 'stores' ? 'store_week_sales' : o.stores ? 'weekly_sales' : 'dept_week_sales';
  const key = o.of === 'stores' ? 'store_id' : 'dept_id';
  const metric = o.by === 'sales' ? 'cur' : 'CASE WHEN prev > 0 THEN cur / prev - 1 END';
  const rows = await db.query<{ id: number; cur: number; prev: number | null; growth: number | null }>(
    `WITH agg AS (
       SELECT ${key} AS id,
         sum(sales) FILTER (WHERE week BETWEEN $1::date AND $2::date)::float8 AS cur,
         sum(sales) FILTER (WHERE week BETWEEN $3::date AND $4::date)::float8 AS prev
       FROM ${source} WHERE week BETWEEN $3::date AND $2::date AND ${source === 'dept_week_sales' ? '$6::int[] IS NULL' : '($6::int[] IS NULL OR store_id = ANY($6::int[]))'} GROUP BY ${key})
     SELECT id, cur, prev, CASE WHEN prev > 0 THEN cur / prev - 1 END AS growth
     FROM agg WHERE cur IS NOT NULL AND (${metric}) IS NOT NULL
     ORDER BY ${metric} ${o.order === 'top' ? 'DESC' : 'ASC'}, id LIMIT $5`,
    [from, o.to, prevFrom, prevTo, o.limit, o.stores ?? null],
  );
  return rows.map((r) => ({ id: r.id, sales: r.cur, growth: r.growth }));
}

/** Holiday vs non-holiday weekly averages of a store's (or the chain's) total sales. */
export async function holidayVsNormal(db: Database, store?: number): Promise<{ holidayMean: number; normalMean: number; holidayWeeks: number; normalWeeks: number }> {
  const [row] = await db.query<{ hm: number; nm: number; hw: number; nw: number }>(
    `WITH weeks AS (SELECT week, sum(sales) AS sales, bool_or(is_holiday) AS h FROM store_week_sales
                    WHERE $1::int IS NULL OR store_id = $1 GROUP BY week)
     SELECT avg(sales) FILTER (WHERE h)::float8 AS hm, avg(sales) FILTER (WHERE NOT h)::float8 AS nm,
            count(*) FILTER (WHERE h)::int AS hw, count(*) FILTER (WHERE NOT h)::int AS nw FROM weeks`,
    [store ?? null],
  );
  return { holidayMean: row?.hm ?? 0, normalMean: row?.nm ?? 0, holidayWeeks: row?.hw ?? 0, normalWeeks: row?.nw ?? 0 };
}
