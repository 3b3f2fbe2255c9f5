import type { Database } from '../db/client.ts';
import { addWeeks } from '../data/weeks.ts';
import type { Scope } from '../scope.ts';
import { scopeSql } from './scope.ts';

export interface WeekValue {
  week: string;
  sales: number;
  isHoliday: boolean;
}

/** Weekly sales of a scope, oldest first, optionally limited to [from, to]. */
export async function weeklySeries(db: Database, scope: Scope, range: { from?: string; to?: string } = {}): Promise<WeekValue[]> {
  const { from, where, params } = scopeSql(scope, 3);
  const rows = await db.query<{ week: string; sales: number; is_holiday: boolean }>(
    `SELECT s.week::text AS week, sum(s.sales)::float8 AS sales, bool_or(s.is_holiday) AS is_holiday
     FROM ${from}
     WHERE ${where} AND ($1::date IS NULL OR s.week >= $1::date) AND ($2::date IS NULL OR s.week <= $2::date)
     GROUP BY s.week ORDER BY s.week`,
    [range.from ?? null, range.to ?? null, ...params],
  );
  return rows.map((r) => ({ week: r.week, sales: Math.round(r.sales * 100) / 100, isHoliday: r.is_holiday }));
}

export interface YearOverYearPoint extends WeekValue {
  /** Sales of the same week one year (52 weeks) earlier, when known. */
  lastYear: number | null;
  change: number | null;
}

/** Each week next to the week 52 weeks before it: same weekday, nearly the same date. */
export async function yearOverYear(db: Database, scope: Scope, range: { from?: string; to?: string } = {}): Promise<YearOverYearPoint[]> {
  const earlier = await weeklySeries(db, scope, { from: range.from ? addWeeks(range.from, -52) : undefined, to: range.to });
  const byWeek = new Map(earlier.map((p) => [p.week, p.sales]));
  return earlier
    .filter((p) => !range.from || p.week >= range.from)
    .map((p) => {
      const lastYear = byWeek.get(addWeeks(p.week, -52)) ?? null;
      return { ...p, lastYear, change: lastYear ? p.sales / lastYear - 1 : null };
    });
}

/** The first and last week with sales, chain-wide: the data freshness every reply shows. */
export async function dataWindow(db: Database): Promise<{ firstWeek: string; lastWeek: string } | undefined> {
  const [row] = await db.query<{ first: string | null; last: string | null }>(
    'SELECT min(week)::text AS first, max(week)::text AS last FROM store_week_sales',
  );
  return row?.first && row.last ? { firstWeek: row.first, lastWeek: row.last } : undefined;
}
