import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { changeOfReports, dataChanged } from '../src/data/changed.ts';
import { importFiles, importRows } from '../src/data/import.ts';
import { backupToFile, restoreFromFile, tableChecksums } from '../src/db/backup.ts';
import type { Database } from '../src/db/client.ts';
import { baselinePredictions, scoreMethod } from '../src/forecast/backtest.ts';
import { loadPanel } from '../src/forecast/dataset.ts';
import type { LiveAccuracy } from '../src/forecast/forecast-log.ts';
import type { Hyperparameters } from '../src/forecast/model.ts';
import { ModelForecaster } from '../src/forecast/model-forecaster.ts';
import { gridIndex, type Panel } from '../src/forecast/panel.ts';
import { activeVersion, loadModel } from '../src/forecast/registry.ts';
import { retrain, type RetrainDeps } from '../src/forecast/retrain.ts';
import { forecastSeries } from '../src/forecast/ensemble.ts';
import { createLogger } from '../src/logger.ts';
import { createServices, type Services } from '../src/services.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

/**
 * The model-operations story on the real Walmart data (skipped with a message when absent):
 * hold the last 8 weeks back, train, import those weeks in two steps, and /model's live
 * accuracy matches a backtest at the training origin computed here, independently (the
 * registered model's weights, the backtest's forecaster and scorer, no forecast log). Then a
 * retrain on the new weeks decides with its reason, and a backup restores into fresh PGlite
 * and Postgres with identical tables and identical answers.
 */
const DIR = '/work/shared/data/walmart';
const present = existsSync(`${DIR}/train.csv`) && existsSync(`${DIR}/features.csv`) && existsSync(`${DIR}/stores.csv`);
if (!present) console.warn(`skipping real-data model-operations tests: ${DIR}/{train,features,stores}.csv not found`);

/** Modest settings keep the suite to minutes; accuracy at scale is `storecast backtest`'s job. */
const SMALL: Partial<Hyperparameters> = { epochs: 2, patience: 2, maxTrainRows: 40_000, maxValRows: 15_000, originStep: 8 };
const HELD_WEEKS = 8;

/** The backtest at `origin`, scored on the weeks that have arrived: model and seasonal naive. */
async function independentBacktest(db: Database, version: number, origin: string) {
  const panel = await loadPanel(db);
  const o = gridIndex(panel, origin);
  const horizon = panel.weeks.length - 1 - o;
  const model = await loadModel(db, version);
  const ids = panel.series.map((_, i) => i).filter((i) => panel.series[i]!.first <= o);
  const fc = await forecastSeries(model, panel, o, ids, horizon);
  model.network.dispose();
  // Series that start after the origin have no forecast to score: the log cannot hold one.
  const scored: Panel = { ...panel, series: panel.series.map((s) => (s.first <= o ? s : { ...s, y: new Float64Array(s.y.length).fill(NaN) })) };
  const m = scoreMethod('model', scored, o, horizon, new Map(fc.map((f) => [f.series, f])), 5);
  const n = scoreMethod('seasonal-naive', scored, o, horizon, baselinePredictions(panel, o, horizon, model.hyper.svdRank)['seasonal-naive']!, 5);
  return { horizon, model: m, naive: n };
}

describe.skipIf(!present)('model operations on the real Walmart data', () => {
  let t: TestDatabase;
  let db: Database;
  let services: Services;
  let deps: RetrainDeps;
  let origin: string;
  let held: Record<string, unknown>[] = [];
  let dir: string;

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    db = t.db;
    dir = mkdtempSync(join(tmpdir(), 'storecast-modelops-'));
    await importFiles(db, [`${DIR}/stores.csv`, `${DIR}/features.csv`, `${DIR}/train.csv`]);
    const [{ last }] = (await db.query<{ last: string }>('SELECT max(week)::text AS last FROM weekly_sales')) as [{ last: string }];
    [{ origin }] = (await db.query<{ origin: string }>(`SELECT ($1::date - ${7 * HELD_WEEKS})::text AS origin`, [last])) as [{ origin: string }];
    held = await db.query(`SELECT store_id AS store, dept_id AS dept, week::text AS week, sales, is_holiday AS "isHoliday" FROM weekly_sales WHERE week > $1::date ORDER BY week, store_id, dept_id`, [origin]);
    await db.query('DELETE FROM weekly_sales WHERE week > $1::date', [origin]);
    await db.query('DELETE FROM store_week_sales WHERE week > $1::date', [origin]);
    const config = loadConfig({ STORECAST_DATA_DIR: 'memory://', STORECAST_ACCESS: 'open', STORECAST_RATE_LIMIT: '0', LOG_LEVEL: 'silent', STORECAST_FORECAST_LOG_WEEKS: String(HELD_WEEKS) });
    const forecaster = new ModelForecaster({ refreshMs: 0 });
    services = createServices({ config, db, logger: createLogger('silent'), forecaster });
    deps = { db, config, logger: createLogger('silent'), forecaster };
  }, 600_000);
  afterAll(async () => {
    await t?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const modelStatus = async () => {
    const outcome = await services.run({ name: 'model', text: '' }, { platform: 'cli', roles: [] });
    expect(outcome.kind).toBe('ok');
    return outcome.reply;
  };

  it('trains on the data up to 8 weeks before the end; /model has nothing scored yet', async () => {
    const first = await retrain(deps, { trigger: 'cli', hyper: SMALL });
    expect(first.decision, first.reason).toBe('promoted');
    const reply = await modelStatus();
    expect(reply.title).toContain(`v${first.challenger} (active)`);
    expect(reply.summary).toMatch(/no scored weeks yet/);
    expect(reply.facts.find((f) => f.label === 'Training window')?.value).toContain(origin);
  }, 900_000);

  for (const step of [1, 2] as const) {
    it(`import step ${step} of 2: /model's live accuracy equals the independent backtest at ${HELD_WEEKS} weeks before the end`, async () => {
      const weeks = [...new Set(held.map((r) => r.week as string))].sort();
      const cut = weeks[HELD_WEEKS / 2 - 1]!;
      const rows = held.filter((r) => (step === 1 ? (r.week as string) <= cut : (r.week as string) > cut));
      const report = await importRows(db, 'train', rows, { source: `test:held-back-${step}` });
      // As the ingest API does: the data-changed pipeline scores the logged forecasts.
      await dataChanged(services, changeOfReports('ingest', `test:held-back-${step}`, [report]));
      const reply = await modelStatus();
      const live = (reply.data as { live: LiveAccuracy }).live;
      const version = (await activeVersion(db))!;
      const bt = await independentBacktest(db, version, origin);
      expect(bt.horizon).toBe((HELD_WEEKS / 2) * step);
      expect(live.overall!.weeks).toBe(bt.horizon);
      expect(live.overall!.rows).toBe(bt.model.rows);
      expect(live.overall!.wmae).toBeCloseTo(bt.model.wmae, 4);
      expect(live.overall!.mae).toBeCloseTo(bt.model.mae, 4);
      expect(live.overall!.coverage).toBeCloseTo(bt.model.coverage, 6);
      expect(live.overall!.naive!.wmae).toBeCloseTo(bt.naive.wmae, 4);
      expect(reply.chart).toBeDefined();
      console.info(`step ${step}: ${bt.horizon} weeks, ${bt.model.rows} rows: live WMAE ${live.overall!.wmae.toFixed(2)} = backtest ${bt.model.wmae.toFixed(2)}; seasonal naive ${bt.naive.wmae.toFixed(2)}`);
    }, 600_000);
  }

  it('a retrain after the new weeks promotes or keeps, with its reason', async () => {
    const champion = (await activeVersion(db))!;
    const outcome = await retrain(deps, { trigger: 'cli', hyper: { ...SMALL, seed: 43 } });
    expect(['promoted', 'kept']).toContain(outcome.decision);
    expect(outcome.reason).toContain(`champion v${champion}`);
    expect(outcome.holdout!.origin).toBe(origin);
    console.info(`retrain: ${outcome.decision}: ${outcome.reason}`);
  }, 900_000);

  it('backup restores into a fresh PGlite and a fresh Postgres: same rows, same checksums, same answers', async () => {
    const file = join(dir, 'walmart.jsonl.gz');
    await backupToFile(db, file);
    const want = await tableChecksums(db);
    expect(want.weekly_sales!.rows).toBeGreaterThan(400_000);
    const ask = async (on: Database) => {
      const f = new ModelForecaster({ refreshMs: 0, cacheSize: 0 });
      return [await f.forecast(on, { store: 1, dept: 1 }, 8), await f.forecast(on, { store: 20 }, 13)];
    };
    const answers = await ask(db);
    expect(answers[0]!.model).toMatch(/^global-mlp v\d+$/);
    for (const kind of ['pglite', 'postgres'] as const) {
      const target = await createTestDatabase(kind);
      try {
        await restoreFromFile(target.db, file);
        // The served forecasts just logged (the answers above) are in both: compare before asking.
        expect(await tableChecksums(target.db), kind).toEqual(want);
        expect(await ask(target.db), kind).toEqual(answers);
      } finally {
        await target.cleanup();
      }
    }
  }, 900_000);
});
