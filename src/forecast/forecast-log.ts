import type { Database, SqlSession } from '../db/client.ts';

/**
 * The forecast log (table forecast_log): what the product forecast, so its accuracy can be
 * measured on weeks it had not seen. Rows are written once per model x series x origin x
 * target week (a repeated answer adds nothing) and scored when the target week's sales
 * arrive (`scoreForecastLog`, run after every import and ingest).
 *
 * Two sources:
 *  - `batch`: every series with history, from the training origin, written when a model is
 *    registered. An unbiased sample of the whole chain: the live figures /model leads with,
 *    comparable to a backtest at that origin.
 *  - `served`: what answers showed (chat, API, summaries), at whatever origin they had;
 *    reported apart, since people ask about the series they worry about.
 * Seasonal naive (the backtest's plain one: last year's holiday-aligned week) is logged beside
 * each batch row, so the baseline is scored on exactly the same weeks (holdout.ts
 * `batchForecastRows`). No model code here: imports score the log without loading tfjs.
 */

export interface LogRow {
  store: number;
  /** 0: the store total. */
  dept: number;
  origin: string;
  week: string;
  horizon: number;
  p10: number;
  p50: number;
  p90: number;
  naive?: { p10: number; p50: number; p90: number };
}

/** Rows per INSERT, passed as one JSON parameter (the same statement on PGlite and postgres.js). */
const CHUNK = 5000;

export async function logForecasts(db: Pick<SqlSession, 'query'>, version: number, source: 'served' | 'batch', rows: readonly LogRow[]): Promise<number> {
  let written = 0;
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK).map((r) => ({ s: r.store, d: r.dept, o: r.origin, w: r.week, h: r.horizon, p10: r.p10, p50: r.p50, p90: r.p90, n10: r.naive?.p10 ?? null, n50: r.naive?.p50 ?? null, n90: r.naive?.p90 ?? null }));
    const inserted = await db.query<{ n: number }>(
      `WITH ins AS (
         INSERT INTO forecast_log (model_version, source, store_id, dept_id, origin, target_week, horizon, p10, p50, p90, naive_p10, naive_p50, naive_p90)
         SELECT $1, $2, s, d, o, w, h, p10, p50, p90, n10, n50, n90
           FROM json_to_recordset($3::json) AS x(s int, d int, o date, w date, h smallint, p10 float8, p50 float8, p90 float8, n10 float8, n50 float8, n90 float8)
         ON CONFLICT DO NOTHING RETURNING 1)
       SELECT count(*)::int AS n FROM ins`,
      [version, source, JSON.stringify(part)],
    );
    written += Number(inserted[0]?.n ?? 0);
  }
  // A model trained to an earlier week logs weeks that already have sales: scored now, as an
  // import would score them. Served forecasts start after the data, so there is nothing to score.
  if (source === 'batch' && rows.length) await scoreForecastLog(db, { weeks: [...new Set(rows.map((r) => r.week))], stores: [...new Set(rows.map((r) => r.store))] });
  return written;
}

/** The store-weeks an import changed: scoring looks at their logged forecasts only. */
export interface ScoringScope {
  weeks: readonly string[];
  stores: readonly number[];
}

/**
 * Scores logged forecasts whose target week has sales now: department rows against
 * weekly_sales, store totals against store_week_sales. Idempotent, and a corrected actual
 * (re-imported week) re-scores its rows. Returns the rows (re)scored.
 */
export async function scoreForecastLog(db: Pick<SqlSession, 'query'>, only?: ScoringScope): Promise<number> {
  if (only && (only.weeks.length === 0 || only.stores.length === 0)) return 0;
  // The week's flag as the data carries it (what training and the backtest weigh), or the calendar table.
  const holiday = '(s.is_holiday OR EXISTS (SELECT 1 FROM holidays h WHERE h.week = f.target_week))';
  // Limited to what an import changed, the log's target-week index keeps this to those rows
  // (a whole log is millions of rows at 4,600 stores).
  const scope = only ? 'AND f.target_week = ANY($1::text[]::date[]) AND f.store_id = ANY($2::int[])' : '';
  const params = only ? [only.weeks, only.stores] : [];
  const [dept] = await db.query<{ n: number }>(
    `WITH up AS (
       UPDATE forecast_log f SET actual = s.sales, is_holiday = ${holiday}, scored_at = now()
         FROM weekly_sales s
        WHERE f.dept_id > 0 AND s.store_id = f.store_id AND s.dept_id = f.dept_id AND s.week = f.target_week AND (f.actual IS DISTINCT FROM s.sales OR f.is_holiday IS DISTINCT FROM s.is_holiday) ${scope}
       RETURNING 1)
     SELECT count(*)::int AS n FROM up`,
    params,
  );
  const [store] = await db.query<{ n: number }>(
    `WITH up AS (
       UPDATE forecast_log f SET actual = s.sales, is_holiday = ${holiday}, scored_at = now()
         FROM store_week_sales s
        WHERE f.dept_id = 0 AND s.store_id = f.store_id AND s.week = f.target_week AND f.actual IS DISTINCT FROM s.sales ${scope}
       RETURNING 1)
     SELECT count(*)::int AS n FROM up`,
    params,
  );
  return Number(dept?.n ?? 0) + Number(store?.n ?? 0);
}

/** Accuracy of a set of scored rows: the model's and, where logged, seasonal naive's. */
export interface Accuracy {
  rows: number;
  weeks: number;
  wmae: number;
  mae: number;
  /** Mean of forecast - actual: positive means over-forecasting. */
  bias: number;
  /** Share of actuals inside the 80% interval. */
  coverage: number;
  naive: { wmae: number; mae: number; bias: number; coverage: number } | null;
}

export interface AccuracyGroup<K> extends Accuracy {
  key: K;
}

export interface LiveAccuracy {
  version: number;
  /** Batch rows (every series from the training origin): the headline. */
  overall: Accuracy | null;
  byWeek: AccuracyGroup<string>[];
  byHorizon: AccuracyGroup<number>[];
  byStore: AccuracyGroup<number>[];
  /** Answers people were served (any origin; store totals and departments), scored. */
  served: Accuracy | null;
  /** Rows logged but not yet scored (future weeks or missing actuals). */
  pending: number;
}

type AggRow = {
  key: string | number | null;
  rows: number | string;
  weeks: number | string;
  wsum: number | string;
  werr: number | string;
  err: number | string;
  bias: number | string;
  covered: number | string;
  n_rows: number | string;
  n_werr: number | string;
  n_wsum: number | string;
  n_err: number | string;
  n_bias: number | string;
  n_covered: number | string;
};

function accuracyOf(r: AggRow): Accuracy {
  const n = Number(r.rows);
  const nn = Number(r.n_rows);
  return {
    rows: n,
    weeks: Number(r.weeks),
    wmae: Number(r.werr) / Number(r.wsum),
    mae: Number(r.err) / n,
    bias: Number(r.bias) / n,
    coverage: Number(r.covered) / n,
    naive: nn > 0 ? { wmae: Number(r.n_werr) / Number(r.n_wsum), mae: Number(r.n_err) / nn, bias: Number(r.n_bias) / nn, coverage: Number(r.n_covered) / nn } : null,
  };
}

/**
 * Live accuracy of a model version, the Walmart metric (holiday weeks weigh `holidayWeight`)
 * computed in SQL over scored rows, optionally within some stores (a viewer's reach).
 */
export async function liveAccuracy(db: Database, version: number, options: { holidayWeight: number; stores?: readonly number[] }): Promise<LiveAccuracy> {
  const params: unknown[] = [version, options.holidayWeight];
  const storeFilter = options.stores ? `AND store_id = ANY($3::int[])` : '';
  if (options.stores) params.push(options.stores);
  const w = `(CASE WHEN is_holiday THEN $2::float8 ELSE 1 END)`;
  const aggregates = `count(*) AS rows, count(DISTINCT target_week) AS weeks,
      sum(${w}) AS wsum, sum(${w} * abs(actual - p50)) AS werr, sum(abs(actual - p50)) AS err, sum(p50 - actual) AS bias,
      count(*) FILTER (WHERE actual BETWEEN p10 AND p90) AS covered,
      count(naive_p50) AS n_rows, sum(${w} * abs(actual - naive_p50)) AS n_werr, sum(${w}) FILTER (WHERE naive_p50 IS NOT NULL) AS n_wsum,
      sum(abs(actual - naive_p50)) AS n_err, sum(naive_p50 - actual) AS n_bias, count(*) FILTER (WHERE actual BETWEEN naive_p10 AND naive_p90) AS n_covered`;
  // Batch rows are departments (the backtest's unit); answers served include store totals.
  const scored = (source: 'batch' | 'served') => `FROM forecast_log WHERE model_version = $1 AND source = '${source}' AND actual IS NOT NULL ${source === 'batch' ? 'AND dept_id > 0' : ''} ${storeFilter}`;
  const grouped = (key: string) => db.query<AggRow>(`SELECT ${key} AS key, ${aggregates} ${scored('batch')} GROUP BY ${key} ORDER BY ${key}`, params);
  const [overall, byWeek, byHorizon, byStore, served, pending] = await Promise.all([
    db.query<AggRow>(`SELECT NULL AS key, ${aggregates} ${scored('batch')}`, params),
    grouped('target_week::text'),
    grouped('horizon'),
    grouped('store_id'),
    db.query<AggRow>(`SELECT NULL AS key, ${aggregates} ${scored('served')}`, params),
    db.query<{ n: number | string }>(
      `SELECT count(*) AS n FROM forecast_log WHERE model_version = $1 AND actual IS NULL ${options.stores ? 'AND store_id = ANY($2::int[])' : ''}`,
      options.stores ? [version, options.stores] : [version],
    ),
  ]);
  const one = (rows: AggRow[]) => (rows[0] && Number(rows[0].rows) > 0 ? accuracyOf(rows[0]) : null);
  return {
    version,
    overall: one(overall),
    byWeek: byWeek.map((r) => ({ key: String(r.key), ...accuracyOf(r) })),
    byHorizon: byHorizon.map((r) => ({ key: Number(r.key), ...accuracyOf(r) })),
    byStore: byStore.map((r) => ({ key: Number(r.key), ...accuracyOf(r) })),
    served: one(served),
    pending: Number(pending[0]?.n ?? 0),
  };
}
