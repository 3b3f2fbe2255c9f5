import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { refreshSegments } from '../src/analytics/segments.ts';
import { createToken } from '../src/auth/tokens.ts';
import { backupToFile } from '../src/db/backup.ts';
import { migrate, openPglite, type Database } from '../src/db/client.ts';
import { importRows } from '../src/data/import.ts';
import { ensureAggregates } from '../src/data/rollup.ts';
import { dataStamp } from '../src/forecast/dataset.ts';
import { SeasonalNaiveForecaster } from '../src/forecast/seasonal-naive.ts';
import { createLogger } from '../src/logger.ts';
import { createApp, type AppState } from '../src/server/app.ts';
import { loadDemoDataOnce } from '../src/server/demo-loader.ts';
import { runStorecast } from './helpers/cli.ts';
import { createTestDatabase, DB_KINDS, importDemoStores, type DbKind } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

/*
 * Issue 20: every write path ends in the one data-changed pipeline (src/data/changed.ts), so each
 * leaves the same after-effects: aggregates current, logged forecasts of the changed weeks
 * scored, segments fresh (or marked stale, for an ingest call), the data stamp moved, and the
 * alert rules on the stores touched evaluated. The CLI paths run the real `storecast` binary.
 */

/** A database the test and a child `storecast` can both reach: on disk for PGlite, closed while the child holds it. */
interface Fixture {
  db: Database;
  env: Record<string, string>;
  dir: string;
  /** Runs `fn` with the test's connection closed (PGlite has one process per data directory). */
  aside<T>(fn: () => Promise<T>): Promise<T>;
  cleanup(): Promise<void>;
}

async function fixture(kind: DbKind): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'sc-changed-'));
  if (kind === 'postgres') {
    const t = await createTestDatabase('postgres');
    return { db: t.db, env: { DATABASE_URL: t.url! }, dir, aside: (fn) => fn(), cleanup: async () => (await t.cleanup(), rmSync(dir, { recursive: true, force: true })) };
  }
  const dataDir = join(dir, 'data');
  const f: Fixture = {
    db: await openPglite(dataDir),
    env: { STORECAST_DATA_DIR: dataDir },
    dir,
    async aside(fn) {
      await f.db.close();
      try {
        return await fn();
      } finally {
        f.db = await openPglite(dataDir);
      }
    },
    cleanup: async () => (await f.db.close(), rmSync(dir, { recursive: true, force: true })),
  };
  await migrate(f.db);
  return f;
}

const WEEK = '2012-11-02'; // the week after the demo's last
const DEMO_LAST = '2012-10-26';

/** A logged forecast of store 1, dept 1 for `week`, unscored; and one sales and one stock rule on store 1. */
async function expectations(db: Database, week: string): Promise<void> {
  await db.query(
    `INSERT INTO forecast_log (model_version, store_id, dept_id, origin, target_week, horizon, p10, p50, p90, source)
     VALUES (1, 1, 1, $1::date - 7, $1::date, 1, 10, 20, 30, 'batch')`,
    [week],
  );
  await db.query(
    `INSERT INTO alert_rules (id, kind, scope_kind, scope_value, condition, target_kind, target_hint, workspace, channel, created_by)
     VALUES ('sales-1', 'sales', 'store', '1', '{"type":"drop-vs-last-year","pct":50}', 'slack-channel', '#ops', 'T1', 'C1', 'cli'),
            ('stock-1', 'stock', 'store', '1', '{"type":"cover-below","weeks":2,"basis":"median"}', 'slack-channel', '#ops', 'T1', 'C1', 'cli')`,
  );
}

async function salesRow(db: Database, week: string): Promise<number | null> {
  const [r] = await db.query<{ actual: number | null }>('SELECT actual FROM forecast_log WHERE store_id = 1 AND dept_id = 1 AND target_week = $1::date', [week]);
  return r?.actual ?? null;
}

async function evaluatedRules(db: Database): Promise<string[]> {
  return (await db.query<{ id: string }>('SELECT id FROM alert_rules WHERE last_evaluated_at IS NOT NULL ORDER BY id')).map((r) => r.id);
}

/** Whether every aggregate agrees with the rows it sums (and none is missing). */
async function aggregatesCurrent(db: Database): Promise<boolean> {
  const [r] = await db.query<{ ok: boolean }>(
    `SELECT abs(coalesce((SELECT sum(sales) FROM weekly_sales), 0) - coalesce((SELECT sum(sales) FROM store_week_sales), 0)) < 1
        AND abs(coalesce((SELECT sum(sales) FROM weekly_sales), 0) - coalesce((SELECT sum(sales) FROM dept_week_sales), 0)) < 1 AS ok`,
  );
  return r?.ok === true && !(await ensureAggregates(db));
}

const trainCsv = `Store,Dept,Date,Weekly_Sales,IsHoliday\n1,1,${WEEK},12345.5,FALSE\n`;

interface WritePath {
  name: string;
  /** 'stores': store 1's demo history is in; 'empty': nothing (the demo paths load it). */
  start: 'stores' | 'empty';
  /** The week whose logged forecast the write brings an actual for (null: it brings none). */
  scores: string | null;
  /** Segments right after: clustered at once, or marked stale for the next read (an ingest call). */
  segments: 'fresh' | 'stale';
  /** The rules evaluated at once: sales writes move every rule on their stores, stock writes stock rules. */
  evaluated: string[];
  write(f: Fixture): Promise<void>;
}

async function api(f: Fixture, path: string, body: string, type: string): Promise<void> {
  const services = testServices(f.db, f.env);
  const { token } = await createToken(f.db, { name: 'ingest', scopes: ['ingest'] });
  const res = await createApp(services).app.request(`/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });
  expect(res.status, await res.clone().text()).toBe(200);
  await services.drain(); // the sales route runs the pipeline after its answer
}

async function cli(f: Fixture, args: string[]): Promise<void> {
  const run = await f.aside(() => runStorecast(args, f.env));
  expect(run.code, run.stderr).toBe(0);
}

const PATHS: WritePath[] = [
  {
    name: 'storecast import',
    start: 'stores',
    scores: WEEK,
    segments: 'fresh',
    evaluated: ['sales-1', 'stock-1'],
    write: async (f) => {
      writeFileSync(join(f.dir, 'train.csv'), trainCsv);
      await cli(f, ['import', join(f.dir, 'train.csv')]);
    },
  },
  {
    name: 'POST /api/v1/sales (JSON)',
    start: 'stores',
    scores: WEEK,
    segments: 'stale',
    evaluated: ['sales-1', 'stock-1'],
    write: (f) => api(f, '/sales', JSON.stringify([{ store: 1, dept: 1, week: WEEK, sales: 12345.5, isHoliday: false }]), 'application/json'),
  },
  {
    name: 'POST /api/v1/sales (CSV)',
    start: 'stores',
    scores: WEEK,
    segments: 'stale',
    evaluated: ['sales-1', 'stock-1'],
    write: (f) => api(f, '/sales', trainCsv, 'text/csv'),
  },
  {
    name: 'POST /api/v1/stock',
    start: 'stores',
    scores: null,
    segments: 'fresh', // stock is not what stores are clustered on
    evaluated: ['stock-1'],
    write: (f) => api(f, '/stock', JSON.stringify([{ store: 1, dept: 1, date: WEEK, onHand: 52000 }]), 'application/json'),
  },
  {
    name: 'storecast restore',
    start: 'stores',
    scores: WEEK,
    segments: 'fresh',
    evaluated: ['sales-1', 'stock-1'],
    write: async (f) => {
      // A backup holding the new week unscored (written without the pipeline), restored over the database.
      await importRows(f.db, 'train', [{ store: 1, dept: 1, week: WEEK, sales: 12345.5, isHoliday: false }], { source: 'test:unscored' });
      await backupToFile(f.db, join(f.dir, 'backup.jsonl.gz'));
      await cli(f, ['restore', '--force', join(f.dir, 'backup.jsonl.gz')]);
    },
  },
  {
    name: 'storecast demo --stores 2 (a generated chain)',
    start: 'empty',
    scores: DEMO_LAST,
    segments: 'fresh',
    evaluated: ['sales-1', 'stock-1'],
    write: (f) => cli(f, ['demo', '--stores', '2']),
  },
  {
    name: 'demo seeding at `storecast serve`',
    start: 'empty',
    scores: DEMO_LAST,
    segments: 'fresh',
    evaluated: ['sales-1', 'stock-1'],
    write: async (f) => {
      const state: AppState = { phase: 'starting' };
      await loadDemoDataOnce({ db: f.db, logger: createLogger('silent'), forecaster: new SeasonalNaiveForecaster() }, state, { stores: 2, baseDelayMs: 10 });
      expect(state.error).toBeUndefined();
    },
  },
];

describe.each(DB_KINDS)('every write path ends in the data-changed pipeline (%s)', (kind) => {
  const open: Fixture[] = [];
  afterAll(async () => {
    await Promise.all(open.map((f) => f.cleanup()));
  });

  it.each(PATHS)('$name', async (path) => {
    const f = await fixture(kind);
    open.push(f);
    if (path.start === 'stores') await importDemoStores(f.db, [1]);
    await refreshSegments(f.db);
    const week = path.scores ?? WEEK;
    await expectations(f.db, week);
    const stamp = await dataStamp(f.db);

    await path.write(f);

    const { db } = f;
    expect(await aggregatesCurrent(db), 'aggregates current').toBe(true);
    // Every path makes the quarter partitions of the weeks it writes (src/db/partitions.ts): none left in the catch-all.
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM weekly_sales_default'))[0]?.n, 'sales rows in their quarter partitions').toBe(0);
    expect(await salesRow(db, week), 'the logged forecast scored').toEqual(path.scores === null ? null : path.scores === WEEK ? 12345.5 : expect.any(Number));
    // Fresh: nothing left to cluster; stale: the next read clusters (refreshSegments finds work).
    expect((await refreshSegments(db)) > 0, 'segments stale').toBe(path.segments === 'stale');
    expect(await dataStamp(db), 'data stamp moved').not.toBe(stamp);
    expect(await evaluatedRules(db), 'alert rules evaluated').toEqual(path.evaluated);
  }, 180_000);
});
