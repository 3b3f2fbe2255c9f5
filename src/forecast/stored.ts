import type { Database, SqlSession } from '../db/client.ts';
import { addWeeks } from '../data/weeks.ts';
import type { ForecastPoint } from './forecaster.ts';

/**
 * The stored forecasts (tables forecast_runs and stored_forecasts): every series' forecast
 * computed once per (model version, origin) by one job across replicas (precompute.ts) and
 * read by every replica. A run is written whole before it is marked ready, so a reader sees
 * either the previous origin or the new one, never a mix. Rows hold a series' weeks as arrays
 * (index i: the week origin + i + 1), in cents: at 4,600 stores one origin is ~345k rows, not
 * 18M, and a forecast read back is the computed one to the cent.
 */

/** Weeks stored per series: the longest forecast any command asks for. */
export const STORED_HORIZON = 52;
/** A running claim whose heartbeat is older than this was abandoned (its process died). */
export const STALE_RUN_MINUTES = 5;
/** Advisory lock serialising claims (pg_advisory_xact_lock). */
const RUN_LOCK = 7261004;

export interface StoredRun {
  id: number;
  version: number;
  origin: string;
  dataStamp: string;
  horizon: number;
  finishedAt: string | null;
}

export interface StoredSeries {
  store: number;
  /** 0: the store's total. */
  dept: number;
  p10: ArrayLike<number>;
  p50: ArrayLike<number>;
  p90: ArrayLike<number>;
}

type RunRow = { id: number; model_version: number; origin: string; data_stamp: string; horizon: number; finished_at: string | null };
const RUN_COLUMNS = 'id, model_version, origin::text AS origin, data_stamp, horizon, finished_at::text AS finished_at';
const toRun = (r: RunRow): StoredRun => ({ id: Number(r.id), version: Number(r.model_version), origin: r.origin, dataStamp: r.data_stamp, horizon: Number(r.horizon), finishedAt: r.finished_at });

/**
 * What the stored forecasts must match: the last week of sales and the newest import that
 * feeds forecasts (sales, store totals, covariates, store attributes). Stock, campaign and
 * test-file imports do not move it, so they never start a recompute of every series.
 */
export async function forecastDataStamp(db: Pick<SqlSession, 'query'>): Promise<{ origin: string | undefined; stamp: string }> {
  const [row] = await db.query<{ last: string | null; run: string | null }>(
    `SELECT (SELECT max(week)::text FROM store_week_sales) AS last,
            (SELECT max(id)::text FROM import_runs WHERE status = 'succeeded' AND NOT dry_run AND format IN ('train', 'walmart', 'features', 'stores')) AS run`,
  );
  return { origin: row?.last ?? undefined, stamp: `${row?.last ?? ''}|${row?.run ?? ''}` };
}

/** The newest ready run of a model version (any version when omitted), optionally at an origin. */
export async function latestRun(db: Pick<SqlSession, 'query'>, options: { version?: number; origin?: string; notAfter?: string } = {}): Promise<StoredRun | undefined> {
  const where = ["status = 'ready'"];
  const params: unknown[] = [];
  if (options.version !== undefined) where.push(`model_version = $${params.push(options.version)}`);
  if (options.origin !== undefined) where.push(`origin = $${params.push(options.origin)}::date`);
  if (options.notAfter !== undefined) where.push(`origin <= $${params.push(options.notAfter)}::date`);
  const [row] = await db.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM forecast_runs WHERE ${where.join(' AND ')} ORDER BY origin DESC, id DESC LIMIT 1`, params);
  return row ? toRun(row) : undefined;
}

/** The run computing now (fresh heartbeat), if any. */
export async function runningRun(db: Pick<SqlSession, 'query'>): Promise<(StoredRun & { startedAt: string }) | undefined> {
  const [row] = await db.query<RunRow & { started_at: string }>(
    `SELECT ${RUN_COLUMNS}, started_at::text AS started_at FROM forecast_runs
      WHERE status = 'running' AND heartbeat_at > now() - make_interval(mins => $1) ORDER BY id DESC LIMIT 1`,
    [STALE_RUN_MINUTES],
  );
  return row ? { ...toRun(row), startedAt: row.started_at } : undefined;
}

/**
 * Claims the computation of (version, origin, stamp): a 'running' row, or undefined when that
 * run is already ready or any run is computing (one at a time across replicas: the next claim
 * after it finishes picks up whatever moved meanwhile). Abandoned claims are marked failed.
 */
export async function claimRun(db: Database, version: number, origin: string, dataStamp: string, horizon = STORED_HORIZON): Promise<number | undefined> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [RUN_LOCK]);
    await tx.query(
      `UPDATE forecast_runs SET status = 'failed', finished_at = now(), error = 'abandoned: its process stopped renewing the claim'
        WHERE status = 'running' AND heartbeat_at <= now() - make_interval(mins => $1)`,
      [STALE_RUN_MINUTES],
    );
    const [busy] = await tx.query<{ id: number }>(
      `SELECT id FROM forecast_runs WHERE status = 'running' OR (status = 'ready' AND model_version = $1 AND origin = $2::date AND data_stamp = $3) LIMIT 1`,
      [version, origin, dataStamp],
    );
    if (busy) return undefined;
    const [row] = await tx.query<{ id: number }>(
      'INSERT INTO forecast_runs (model_version, origin, data_stamp, horizon) VALUES ($1, $2::date, $3, $4) RETURNING id',
      [version, origin, dataStamp, horizon],
    );
    return Number(row?.id);
  });
}

/** Renews a claim every minute until the returned function is called. */
export function keepRunAlive(db: Pick<SqlSession, 'query'>, id: number): () => void {
  const timer = setInterval(() => void db.query(`UPDATE forecast_runs SET heartbeat_at = now() WHERE id = $1 AND status = 'running'`, [id]).catch(() => {}), 60_000);
  timer.unref();
  return () => clearInterval(timer);
}

/** Cents as whole numbers (what every answer shows); a value that is not a number is stored as NULL. */
const arrayLiteral = (v: ArrayLike<number>) => `"{${Array.from(v, (x) => (Number.isFinite(x) ? String(Math.round(x * 100)) : 'NULL')).join(',')}}"`;

/** Writes a part of a run (COPY, in cents). */
export async function writeRunRows(db: Database, runId: number, rows: readonly StoredSeries[]): Promise<void> {
  if (!rows.length) return;
  const csv = rows.map((r) => `${runId},${r.store},${r.dept},${arrayLiteral(r.p10)},${arrayLiteral(r.p50)},${arrayLiteral(r.p90)}`).join('\n') + '\n';
  await db.transaction((tx) => tx.copyCsv('stored_forecasts', ['run_id', 'store_id', 'dept_id', 'p10', 'p50', 'p90'], csv));
}

export async function finishRun(db: Pick<SqlSession, 'query'>, id: number, outcome: { series: number; stores: number; seconds: number; peakRssMb: number } | { error: unknown }): Promise<void> {
  if ('error' in outcome) {
    const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
    await db.query(`UPDATE forecast_runs SET status = 'failed', finished_at = now(), error = $2 WHERE id = $1`, [id, message.slice(0, 2000)]);
    await db.query('DELETE FROM stored_forecasts WHERE run_id = $1', [id]);
    return;
  }
  await db.query(`UPDATE forecast_runs SET status = 'ready', finished_at = now(), series = $2, stores = $3, seconds = $4, peak_rss_mb = $5 WHERE id = $1`, [
    id,
    outcome.series,
    outcome.stores,
    outcome.seconds,
    outcome.peakRssMb,
  ]);
}

/**
 * Keeps the newest `retention` origins of ready runs (and, per origin and version, only the
 * newest run); everything else, failed runs included, is deleted with its rows.
 */
export async function pruneRuns(db: Pick<SqlSession, 'query'>, retention: number): Promise<number> {
  const doomed = await db.query<{ id: number }>(
    `WITH ready AS (SELECT id, origin, model_version, row_number() OVER (PARTITION BY model_version, origin ORDER BY id DESC) AS k FROM forecast_runs WHERE status = 'ready'),
          kept_origins AS (SELECT DISTINCT origin FROM forecast_runs WHERE status = 'ready' ORDER BY origin DESC LIMIT $1)
     SELECT id FROM forecast_runs WHERE status = 'failed'
     UNION SELECT id FROM ready WHERE k > 1 OR origin NOT IN (SELECT origin FROM kept_origins)`,
    [retention],
  );
  const ids = doomed.map((r) => Number(r.id));
  if (!ids.length) return 0;
  await db.query('DELETE FROM stored_forecasts WHERE run_id = ANY($1::int[])', [ids]);
  await db.query('DELETE FROM forecast_runs WHERE id = ANY($1::int[])', [ids]);
  return ids.length;
}

type SeriesRow = { store_id: number; dept_id: number; p10: unknown; p50: unknown; p90: unknown };

const dollars = (cents: unknown): number => (cents === null || cents === 'NULL' ? NaN : Number(cents) / 100);
const numbers = (v: unknown): number[] => (Array.isArray(v) ? v : parseArrayText(String(v))).map(dollars);
/** A bigint[] that came back as text ('{150,2}'): drivers without the array type parser. */
function parseArrayText(text: string): string[] {
  const inner = text.replace(/^\{|\}$/g, '');
  return inner ? inner.split(',') : [];
}

/**
 * A stored array sent as text (`array_to_string(p50[1:n], ',', 'NULL')`: cents) in dollars, a
 * NULL week as NaN: what every reader of the arrays as text parses them with.
 */
export const centsList = (list: string): number[] => list.split(',').map(dollars);

/** The forecast points of a stored row, `horizon` weeks after the run's origin. */
export function pointsOf(run: Pick<StoredRun, 'origin'>, row: { p10: ArrayLike<number>; p50: ArrayLike<number>; p90: ArrayLike<number> }, horizon: number): ForecastPoint[] {
  const weeks = weeksAfter(run.origin);
  const points: ForecastPoint[] = [];
  for (let h = 0; h < Math.min(horizon, row.p50.length); h++) {
    points.push({ week: weeks[h] as string, value: row.p50[h] as number, lower: row.p10[h] as number, upper: row.p90[h] as number });
  }
  return points;
}

/** The weeks after an origin, made once: a chain's stock cover makes points for ~340k series. */
let weeksMemo: { origin: string; weeks: string[] } | undefined;
function weeksAfter(origin: string): string[] {
  if (weeksMemo?.origin !== origin) weeksMemo = { origin, weeks: Array.from({ length: STORED_HORIZON }, (_, h) => addWeeks(origin, h + 1)) };
  return weeksMemo.weeks;
}

/** Stored series of a run: a few stores' totals or departments (dept 0: totals; undefined: every department). */
export async function readSeries(db: Pick<SqlSession, 'query'>, runId: number, stores: readonly number[], depts?: readonly number[]): Promise<StoredSeries[]> {
  if (!stores.length) return [];
  const rows = await db.query<SeriesRow>(
    depts === undefined
      ? 'SELECT store_id, dept_id, p10, p50, p90 FROM stored_forecasts WHERE run_id = $1 AND store_id = ANY($2::int[]) AND dept_id > 0 ORDER BY store_id, dept_id'
      : 'SELECT store_id, dept_id, p10, p50, p90 FROM stored_forecasts WHERE run_id = $1 AND store_id = ANY($2::int[]) AND dept_id = ANY($3::int[]) ORDER BY store_id, dept_id',
    depts === undefined ? [runId, stores] : [runId, stores, depts],
  );
  return rows.map((r) => ({ store: Number(r.store_id), dept: Number(r.dept_id), p10: numbers(r.p10), p50: numbers(r.p50), p90: numbers(r.p90) }));
}

/**
 * The first `weeks` weeks of many department series of a run, in one statement per part: one
 * text value ('store|dept|p10,..|p50,..|p90,..' per line), not a row per series (PGlite
 * converts every field of every row on its own, and a chain-wide stock evaluation reads ~340k
 * series at 4,600 stores); plain text is ~40% cheaper for Postgres to build than JSON.
 */
export async function readDepartments(db: Pick<SqlSession, 'query'>, runId: number, keys: readonly { store: number; dept: number }[], weeks: number): Promise<StoredSeries[]> {
  const out: StoredSeries[] = [];
  // By store, in key order (a range of the primary key per store), and the departments not
  // asked for dropped here: probing 340k (store, dept) pairs one by one took a minute.
  const wanted = new Set(keys.map((k) => k.store * 1_048_576 + k.dept));
  const stores = [...new Set(keys.map((k) => k.store))].sort((a, b) => a - b);
  for (let i = 0; i < stores.length; i += STORES_PER_READ) {
    const [row] = await db.query<{ t: string | null }>(
      `SELECT string_agg(concat_ws('|', store_id, dept_id, array_to_string(p10[1:$3], ',', 'NULL'), array_to_string(p50[1:$3], ',', 'NULL'), array_to_string(p90[1:$3], ',', 'NULL')), E'\n') AS t
         FROM stored_forecasts WHERE run_id = $1 AND store_id = ANY($2::int[]) AND dept_id > 0`,
      [runId, stores.slice(i, i + STORES_PER_READ), weeks],
    );
    for (const line of row?.t ? row.t.split('\n') : []) {
      const [store, dept, p10, p50, p90] = line.split('|') as [string, string, string, string, string];
      if (wanted.has(Number(store) * 1_048_576 + Number(dept))) out.push({ store: Number(store), dept: Number(dept), p10: centsList(p10), p50: centsList(p50), p90: centsList(p90) });
    }
  }
  return out;
}

/** Stores per read: ~80 departments each, ~10 MB of text at 26 weeks. */
const STORES_PER_READ = 250;
