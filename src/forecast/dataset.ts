import { createHash } from 'node:crypto';
import type { Database } from '../db/client.ts';
import { weeksBetween } from '../data/weeks.ts';
import { buildPanel, PanelBuilder, type Covariates, type Panel, type StoreInfo } from './panel.ts';

/**
 * Training and forecasting data from the database: weekly_sales (store x dept), stores
 * (type, size), store_features (markdowns, temperature, ...) and the holiday flags.
 */

export interface PanelQuery {
  /** Only weeks on or before this Friday. */
  until?: string;
  /** Stores per query (default 25, ~235k Walmart rows): bounds what one result holds in memory. */
  storesPerChunk?: number;
  /** Called after each chunk (progress, memory logging). */
  onChunk?: (p: { throughStore: number; rows: number; series: number }) => void;
  /** Stops between chunks (a shutdown: loading 4,600 stores takes ~40 s). */
  signal?: AbortSignal;
}

const num = (v: unknown): number => (v === null || v === undefined ? NaN : Number(v));

/**
 * Loads the panel in chunks of stores (keyset on the primary key's leading store_id): each
 * chunk's rows go straight into the series' typed arrays, so memory is the panel itself
 * (8 bytes per series-week) plus one chunk, whatever the chain's size. Weeks arrive as grid
 * indices computed by Postgres, so no date string is made per row.
 */
export async function loadPanel(db: Database, query: PanelQuery = {}): Promise<Panel> {
  const untilSql = query.until ? ' AND week <= $UNTIL::date' : '';
  const withUntil = (text: string, params: unknown[]) =>
    query.until ? { text: text.replace('$UNTIL', `$${params.length + 1}`), params: [...params, query.until] } : { text, params };
  const span = withUntil(`SELECT min(week)::text AS first, max(week)::text AS last FROM weekly_sales WHERE true${untilSql}`, []);
  const [range] = await db.query<{ first: string | null; last: string | null }>(span.text, span.params);
  const [storeRows, holidayRows] = await Promise.all([
    db.query<{ store_id: number; type: string | null; size: number | null }>('SELECT store_id, type, size FROM stores'),
    db.query<{ week: string }>('SELECT week::text AS week FROM holidays'),
  ]);
  const stores = new Map<number, StoreInfo>(storeRows.map((r) => [Number(r.store_id), { type: r.type, size: r.size === null ? null : Number(r.size) }]));
  const covariates = new Map<string, Covariates>();
  if (!range?.first || !range.last) return buildPanel([], stores, covariates);
  const builder = new PanelBuilder(range.first, weeksBetween(range.first, range.last) + 1);
  const per = query.storesPerChunk ?? 25;
  let rows = 0;
  for (let from = await nextStore(db, -Infinity); from !== undefined; from = await nextStore(db, from + per - 1)) {
    if (query.signal?.aborted) throw new Error('training stopped before it finished (while loading the sales panel)');
    const chunk = withUntil(
      `SELECT store_id AS s, dept_id AS d, array_agg((week - $1::date) / 7) AS i, array_agg(sales) AS v, array_agg(is_holiday) AS h
         FROM weekly_sales WHERE store_id >= $2 AND store_id < $3${untilSql} GROUP BY store_id, dept_id`,
      [range.first, from, from + per],
    );
    // One row per series with its weeks as arrays: ~100x fewer rows through the driver
    // (4x faster on PGlite, whose cost is per row).
    const sales = await db.query<{ s: number; d: number; i: number[]; v: Array<number | string>; h: boolean[] }>(chunk.text, chunk.params);
    let n = 0;
    for (const r of sales) {
      const store = Number(r.s);
      const dept = Number(r.d);
      for (let k = 0; k < r.i.length; k++) builder.add(store, dept, Number(r.i[k]), Number(r.v[k]), r.h[k] === true);
      n += r.i.length;
    }
    rows += n;
    await loadCovariates(db, from, from + per, covariates);
    query.onChunk?.({ throughStore: from + per - 1, rows, series: builder.seriesCount });
  }
  const panel = builder.finish(stores, covariates);
  for (const h of holidayRows) panel.holidayWeeks.add(h.week);
  return panel;
}

/** The smallest store id with sales above `after` (an index seek on the primary key). */
async function nextStore(db: Database, after: number): Promise<number | undefined> {
  const [row] = await db.query<{ s: number | null }>(
    Number.isFinite(after) ? 'SELECT min(store_id) AS s FROM weekly_sales WHERE store_id > $1' : 'SELECT min(store_id) AS s FROM weekly_sales',
    Number.isFinite(after) ? [after] : [],
  );
  return row?.s === null || row?.s === undefined ? undefined : Number(row.s);
}

/** Store-week covariates (features.csv) of stores [from, to), keyed `${store}|${week}`. */
async function loadCovariates(db: Database, from: number, to: number, into: Map<string, Covariates>): Promise<void> {
  const rows = await db.query<{
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
       FROM store_features WHERE store_id >= $1 AND store_id < $2`,
    [from, to],
  );
  for (const r of rows) {
    into.set(`${r.store_id}|${r.week}`, {
      temperature: num(r.temperature),
      fuelPrice: num(r.fuel_price),
      markdown: num(r.md),
      cpi: num(r.cpi),
      unemployment: num(r.unemployment),
    });
  }
}

/**
 * A fingerprint of the sales data a model was trained on (rows, total, first and last
 * week, up to `until`): two trainings on the same data show the same fingerprint.
 */
export async function dataFingerprint(db: Database, until?: string): Promise<string> {
  const [row] = await db.query<{ n: number | string; total: number | string | null; first: string | null; last: string | null; series: number | string }>(
    `SELECT count(*) AS n, round(sum(sales::numeric), 2)::text AS total, min(week)::text AS first, max(week)::text AS last,
            count(DISTINCT (store_id, dept_id)) AS series
       FROM weekly_sales ${until ? 'WHERE week <= $1::date' : ''}`,
    until ? [until] : [],
  );
  const text = JSON.stringify([Number(row?.n ?? 0), String(row?.total ?? '0'), row?.first ?? null, row?.last ?? null, Number(row?.series ?? 0)]);
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * A cheap stamp that changes whenever sales data changes (imports, ingest): used to
 * invalidate cached forecasts without scanning weekly_sales on every request. Every product
 * write is an import run (files, demo, the ingest API), so the newest run marks a change; the
 * store-week count and last week catch rows written beside it. No float sum: Postgres sums
 * float8 in whatever order its parallel workers finish, and a last digit that flips between
 * two reads made every replica reload the whole panel (40 s at 4,600 stores) at random.
 */
export async function dataStamp(db: Database): Promise<string> {
  const [row] = await db.query<{ n: number | string; last: string | null; runs: string | null }>(
    `SELECT (SELECT count(*) FROM store_week_sales) AS n,
            (SELECT max(week)::text FROM store_week_sales) AS last,
            (SELECT max(id)::text || '/' || max(finished_at)::text FROM import_runs WHERE status = 'succeeded') AS runs`,
  );
  return `${row?.n ?? 0}|${row?.last ?? ''}|${row?.runs ?? ''}`;
}
