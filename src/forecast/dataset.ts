import { createHash } from 'node:crypto';
import type { Database } from '../db/client.ts';
import { buildPanel, type Covariates, type Panel, type SalesRow, type StoreInfo } from './panel.ts';

/**
 * Training and forecasting data from the database: weekly_sales (store x dept), stores
 * (type, size), store_features (markdowns, temperature, ...) and the holiday flags.
 */

export interface PanelQuery {
  /** Only weeks on or before this Friday. */
  until?: string;
}

const num = (v: unknown): number => (v === null || v === undefined ? NaN : Number(v));

export async function loadPanel(db: Database, query: PanelQuery = {}): Promise<Panel> {
  const params: unknown[] = [];
  let where = '';
  if (query.until) {
    params.push(query.until);
    where = 'WHERE week <= $1::date';
  }
  const [salesRows, storeRows, featureRows, holidayRows] = await Promise.all([
    db.query<{ s: number; d: number; w: string; v: number | string; h: boolean }>(
      `SELECT store_id AS s, dept_id AS d, week::text AS w, sales AS v, is_holiday AS h FROM weekly_sales ${where}`,
      params,
    ),
    db.query<{ store_id: number; type: string | null; size: number | null }>('SELECT store_id, type, size FROM stores'),
    db.query<{
      store_id: number;
      week: string;
      temperature: number | null;
      fuel_price: number | null;
      md: number | null;
      cpi: number | null;
      unemployment: number | null;
    }>(
      `SELECT store_id, week::text AS week, temperature, fuel_price, cpi, unemployment,
              coalesce(markdown1, 0) + coalesce(markdown2, 0) + coalesce(markdown3, 0) + coalesce(markdown4, 0) + coalesce(markdown5, 0) AS md
         FROM store_features`,
    ),
    db.query<{ week: string }>('SELECT week::text AS week FROM holidays'),
  ]);
  const rows: SalesRow[] = salesRows.map((r) => ({ store: Number(r.s), dept: Number(r.d), week: r.w, sales: Number(r.v), isHoliday: r.h }));
  const stores = new Map<number, StoreInfo>(storeRows.map((r) => [Number(r.store_id), { type: r.type, size: r.size === null ? null : Number(r.size) }]));
  const covariates = new Map<string, Covariates>();
  for (const r of featureRows) {
    covariates.set(`${r.store_id}|${r.week}`, {
      temperature: num(r.temperature),
      fuelPrice: num(r.fuel_price),
      markdown: num(r.md),
      cpi: num(r.cpi),
      unemployment: num(r.unemployment),
    });
  }
  const panel = buildPanel(rows, stores, covariates);
  for (const h of holidayRows) panel.holidayWeeks.add(h.week);
  return panel;
}

/**
 * A fingerprint of the sales data a model was trained on (rows, total, first and last
 * week, up to `until`): two trainings on the same data show the same fingerprint.
 */
export async function dataFingerprint(db: Database, until?: string): Promise<string> {
  const [row] = await db.query<{ n: number | string; total: number | string | null; first: string | null; last: string | null; series: number | string }>(
    `SELECT count(*) AS n, round(sum(sales)::numeric, 2)::text AS total, min(week)::text AS first, max(week)::text AS last,
            count(DISTINCT (store_id, dept_id)) AS series
       FROM weekly_sales ${until ? 'WHERE week <= $1::date' : ''}`,
    until ? [until] : [],
  );
  const text = JSON.stringify([Number(row?.n ?? 0), String(row?.total ?? '0'), row?.first ?? null, row?.last ?? null, Number(row?.series ?? 0)]);
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * A cheap stamp that changes whenever sales data changes (imports, ingest): used to
 * invalidate cached forecasts without scanning weekly_sales on every request.
 */
export async function dataStamp(db: Database): Promise<string> {
  const [row] = await db.query<{ n: number | string; total: string | null; last: string | null; imported: string | null }>(
    `SELECT (SELECT count(*) FROM store_week_sales) AS n,
            (SELECT round(sum(sales)::numeric, 2)::text FROM store_week_sales) AS total,
            (SELECT max(week)::text FROM store_week_sales) AS last,
            (SELECT max(finished_at)::text FROM import_runs WHERE status = 'succeeded') AS imported`,
  );
  return `${row?.n ?? 0}|${row?.total ?? ''}|${row?.last ?? ''}|${row?.imported ?? ''}`;
}
