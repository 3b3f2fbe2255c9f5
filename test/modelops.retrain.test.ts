import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../src/db/client.ts';
import { importRows } from '../src/data/import.ts';
import { changeOfReports, dataChanged } from '../src/data/changed.ts';
import { SeasonalNaiveForecaster } from '../src/forecast/seasonal-naive.ts';
import { loadConfig } from '../src/config.ts';
import { liveAccuracy } from '../src/forecast/forecast-log.ts';
import type { Hyperparameters } from '../src/forecast/model.ts';
import { activateModel, activeVersion, claimTraining, keepTrainingAlive, listModels } from '../src/forecast/registry.ts';
import { claimRequested, claimRetrain, retrain, startRetrain, startRetrainScheduler, type RetrainDeps, type RetrainOutcome } from '../src/forecast/retrain.ts';
import { createLogger } from '../src/logger.ts';
import { openPostgres } from '../src/db/client.ts';
import { createTestDatabase, importDemoStores, openTestDatabase } from './helpers/db.ts';
import { until } from './helpers/faults.ts';
import { FakeSlack } from './fakes/slack-api.ts';
import { deliveryPlatforms } from '../src/adapters/platforms.ts';
import { adminChannelPoster } from '../src/delivery/admin-channel.ts';
import { loadModel } from '../src/forecast/registry.ts';
import { loadPanel } from '../src/forecast/dataset.ts';
import { batchForecastRows, evenSample } from '../src/forecast/holdout.ts';
import type { LogRow } from '../src/forecast/forecast-log.ts';

/** Small settings: the tests check the decisions, not accuracy at scale. */
const TINY: Partial<Hyperparameters> = { hidden: [16, 8], maxTrainRows: 15_000, maxValRows: 5_000, epochs: 4, patience: 2, valWeeks: 8, originStep: 4, svdRank: 3 };
/** A challenger that cannot learn: its network stays on one raw seasonal-naive candidate. */
const WORSE: Partial<Hyperparameters> = { ...TINY, learningRate: 0, epochs: 1, priorLogits: [12, -12, -12, -12, -12] };

describe('retraining: challenger vs champion on held-out weeks (demo data, 3 stores)', () => {
  let db: Database;
  let deps: RetrainDeps;
  let heldBack: Record<string, unknown>[] = [];
  const slack = new FakeSlack();

  beforeAll(async () => {
    await slack.listen();
    db = await openTestDatabase([1, 5, 7]);
    const [{ last }] = (await db.query<{ last: string }>('SELECT max(week)::text AS last FROM weekly_sales')) as [{ last: string }];
    // Hold the last 8 weeks back: they arrive later, in two imports.
    heldBack = await db.query(`SELECT store_id AS store, dept_id AS dept, week::text AS week, sales, is_holiday AS "isHoliday" FROM weekly_sales WHERE week > $1::date - 56 ORDER BY week`, [last]);
    await db.query('DELETE FROM weekly_sales WHERE week > $1::date - 56', [last]);
    await db.query('DELETE FROM store_week_sales WHERE week > $1::date - 56', [last]);
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      STORECAST_RETRAIN_HOLDOUT_WEEKS: '4',
      STORECAST_FORECAST_LOG_WEEKS: '8',
      STORECAST_ADMIN_CHANNEL: 'slack:CADMIN1',
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_API_URL: slack.apiUrl,
    });
    deps = { db, config, logger: createLogger('silent'), announce: adminChannelPoster(config, deliveryPlatforms(config)) };
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    await slack.close();
  });

  it('the first retrain has no champion: it becomes the active model and logs every series', async () => {
    const first = await retrain(deps, { trigger: 'cli', hyper: TINY });
    expect(first.decision, first.reason).toBe('promoted');
    expect(first.reason).toMatch(/no active model/);
    expect(await activeVersion(db)).toBe(first.challenger);
    const [{ n, series }] = (await db.query<{ n: number; series: number }>(`SELECT count(*)::int AS n, count(DISTINCT (store_id, dept_id))::int AS series FROM forecast_log WHERE model_version = $1 AND source = 'batch'`, [first.challenger])) as [{ n: number; series: number }];
    expect(series).toBeGreaterThan(100);
    expect(n).toBe(series * 8);
  }, 300_000);

  it('a chain-sized batch log is an even sample, forecast in parts, equal to the whole run on the series it keeps', async () => {
    const version = (await activeVersion(db))!;
    const [model, panel] = await Promise.all([loadModel(db, version), loadPanel(db)]);
    const origin = panel.weeks.indexOf(model.trainUntil);
    expect(origin).toBeGreaterThan(0);
    const whole = await batchForecastRows(model, panel, origin, 4);
    const capped = await batchForecastRows(model, panel, origin, 4, 40);
    const series = (rows: LogRow[]) => [...new Set(rows.map((r) => `${r.store}/${r.dept}`))];
    expect(series(whole).length).toBeGreaterThan(100);
    expect(series(capped)).toHaveLength(40);
    // Spread over the chain, not the first 40 series of store 1.
    expect(new Set(capped.map((r) => r.store))).toEqual(new Set([1, 5, 7]));
    const key = (r: LogRow) => `${r.store}/${r.dept}/${r.week}`;
    const byKey = new Map(whole.map((r) => [key(r), r]));
    for (const r of capped) expect(r).toEqual(byKey.get(key(r)));
    expect(evenSample([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 4)).toEqual([1, 3, 6, 8]);
  }, 300_000);

  it('new weeks score the log when they are imported, in two steps', async () => {
    // An ingest call and the data-changed pipeline after it, as POST /api/v1/sales runs them.
    const arrive = async (rows: Record<string, unknown>[], source: string) =>
      dataChanged({ db, forecaster: new SeasonalNaiveForecaster() }, changeOfReports('ingest', source, [await importRows(db, 'train', rows, { source })]));
    const version = (await activeVersion(db))!;
    const weeks = [...new Set(heldBack.map((r) => r.week as string))].sort();
    await arrive(heldBack.filter((r) => (r.week as string) <= weeks[3]!), 'test:step1');
    const step1 = await liveAccuracy(db, version, { holidayWeight: 5 });
    expect(step1.overall?.weeks).toBe(4);
    expect(step1.byHorizon.map((h) => h.key)).toEqual([1, 2, 3, 4]);
    await arrive(heldBack.filter((r) => (r.week as string) > weeks[3]!), 'test:step2');
    const step2 = await liveAccuracy(db, version, { holidayWeight: 5 });
    expect(step2.overall?.weeks).toBe(8);
    expect(step2.overall!.rows).toBeGreaterThan(step1.overall!.rows);
    expect(step2.overall!.naive).not.toBeNull();
    expect(step2.pending).toBe(0);
  }, 120_000);

  it('a retrain after new weeks promotes or keeps, and says why with both scores', async () => {
    const champion = (await activeVersion(db))!;
    const second = await retrain(deps, { trigger: 'cli', hyper: { ...TINY, seed: 7 } });
    expect(['promoted', 'kept']).toContain(second.decision);
    expect(second.holdout?.champion?.version).toBe(champion);
    expect(second.reason).toContain(`champion v${champion}`);
    expect(second.reason).toMatch(/held-out weeks/);
    const better = second.holdout!.challenger.wmae <= second.holdout!.champion!.wmae * (1 - deps.config.modelOps.margin);
    expect(second.decision).toBe(better ? 'promoted' : 'kept');
    expect(await activeVersion(db)).toBe(better ? second.challenger : champion);
  }, 300_000);

  it('a worse challenger is not promoted: kept as a candidate', async () => {
    const champion = (await activeVersion(db))!;
    const worse = await retrain(deps, { trigger: 'cli', hyper: WORSE });
    expect(worse.decision, worse.reason).toBe('kept');
    expect(worse.holdout!.challenger.wmae).toBeGreaterThan(worse.holdout!.champion!.wmae);
    expect(worse.reason).toMatch(/worse; kept as a candidate/);
    expect(await activeVersion(db)).toBe(champion);
    const models = await listModels(db);
    expect(models.find((m) => m.version === worse.challenger)).toMatchObject({ status: 'ready', active: false });
    const [row] = await db.query<{ status: string; reason: string }>('SELECT status, reason FROM model_retrains WHERE id = $1', [worse.id]);
    expect(row).toEqual({ status: 'kept', reason: worse.reason });
    // Every outcome went to the admin channel; this one says why it was kept.
    const posts = slack.method('chat.postMessage');
    expect(posts).toHaveLength(3);
    expect(posts.every((p) => p.body.channel === 'CADMIN1')).toBe(true);
    expect(JSON.stringify(posts[2]!.body)).toContain(`Model v${worse.challenger} kept as a candidate`);
    // A promotion switches only from the champion it was compared with: not over an admin's newer choice.
    expect(await activateModel(db, worse.challenger!, { replacing: champion + 1000 })).toBe(false);
    expect(await activeVersion(db)).toBe(champion);
    expect(await activateModel(db, worse.challenger!, { replacing: champion })).toBe(true);
    expect(await activeVersion(db)).toBe(worse.challenger);
    await activateModel(db, champion);
  }, 300_000);

  it('a retrain stopped before its worker starts (a shutdown while the panel loaded) ends failed and frees the slot', async () => {
    const stopped = new AbortController();
    stopped.abort();
    const outcome = await retrain(deps, { trigger: 'cli', hyper: TINY, signal: stopped.signal });
    expect(outcome.decision).toBe('failed');
    expect(outcome.reason).toMatch(/stopped before it finished/);
    const [row] = await db.query<{ status: string; running: boolean }>(`SELECT status, lease_until > now() AS running FROM model_retrains WHERE id = $1`, [outcome.id]);
    expect(row).toEqual({ status: 'failed', running: false });
    expect((await listModels(db)).filter((m) => m.status === 'training')).toEqual([]);
  });

  it('one retrain at a time: a second claim while one runs is refused; a scheduled one waits for new weeks', async () => {
    const first = await claimRetrain(db, 'cli', 'test', 'weekly');
    expect('id' in first).toBe(true);
    const second = await claimRetrain(db, 'cli', 'test', 'weekly');
    expect(second).toMatchObject({ busy: expect.stringMatching(/is running/) });
    await db.query(`UPDATE model_retrains SET status = 'failed', lease_until = now() WHERE status = 'running'`);
    const scheduled = await claimRetrain(db, 'schedule', undefined, 'weekly');
    expect(scheduled).toMatchObject({ notDue: expect.stringMatching(/no new weeks|less than 7 day/) });
    expect(await claimRetrain(db, 'schedule', undefined, 'off')).toMatchObject({ notDue: expect.stringMatching(/off/) });
  });
});

describe('one retrain across replicas (Postgres, two connections claiming together)', () => {
  it('exactly one of several simultaneous claims wins; the others are told which run holds the slot', async () => {
    const t = await createTestDatabase('postgres');
    const replicas = await Promise.all([1, 2, 3].map(() => openPostgres(t.url!)));
    try {
      const claims = await Promise.all(replicas.flatMap((db) => [claimRetrain(db, 'cli', 'a', 'weekly'), claimRetrain(db, 'chat', 'b', 'weekly')]));
      const won = claims.filter((c) => 'id' in c);
      expect(won).toHaveLength(1);
      for (const c of claims.filter((x) => !('id' in x))) expect(c).toMatchObject({ busy: expect.stringMatching(/retrain #\d+ is running/) });
      // A lease that ran out (a crashed replica) frees the slot.
      await t.db.query(`UPDATE model_retrains SET lease_until = now() - interval '1 second'`);
      expect('id' in (await claimRetrain(replicas[0]!, 'cli', 'a', 'weekly'))).toBe(true);
    } finally {
      for (const db of replicas) await db.close();
      await t.cleanup();
    }
  });
});

describe('training claims across replicas: a heartbeat, not the age of the claim', () => {
  it('a long run that renews its claim keeps the slot; one whose process died frees it within minutes and is marked failed', async () => {
    const t = await createTestDatabase('postgres');
    const [a, b] = await Promise.all([openPostgres(t.url!), openPostgres(t.url!)]);
    try {
      // A claim from before heartbeats (none recorded) counts by its age: ten minutes old, abandoned.
      await t.db.query(`INSERT INTO model_registry (name, status, created_at) VALUES ('global-mlp', 'training', now() - interval '10 minutes')`);
      const long = (await claimTraining(a))!;
      expect(long).toBeDefined();
      // A retrain asked while a model trains is told so at once, not "started".
      expect(await claimRetrain(b, 'chat', 'u', 'weekly')).toMatchObject({ busy: expect.stringMatching(/a model is training/) });
      // Training for two hours, renewing its claim: nobody else trains.
      await t.db.query(`UPDATE model_registry SET created_at = now() - interval '2 hours', heartbeat_at = now() - interval '30 seconds' WHERE version = $1`, [long]);
      expect(await claimTraining(b)).toBeUndefined();
      // Its process died six minutes ago: the next claim takes the slot and says what happened to the old one.
      await t.db.query(`UPDATE model_registry SET heartbeat_at = now() - interval '6 minutes' WHERE version = $1`, [long]);
      const next = await claimTraining(b);
      expect(next).toBeGreaterThan(long);
      const [old] = await t.db.query<{ status: string; error: string }>('SELECT status, error FROM model_registry WHERE version = $1', [long]);
      expect(old).toEqual({ status: 'failed', error: expect.stringMatching(/abandoned/) });
      // keepTrainingAlive renews the new claim every minute (the minute passed on a fake clock).
      await t.db.query(`UPDATE model_registry SET heartbeat_at = now() - interval '4 minutes' WHERE version = $1`, [next]);
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      const stop = keepTrainingAlive(b, next!);
      vi.advanceTimersByTime(60_000);
      vi.useRealTimers();
      const age = async () => (await t.db.query<{ s: number }>('SELECT extract(epoch FROM now() - heartbeat_at)::float8 AS s FROM model_registry WHERE version = $1', [next]))[0]!.s;
      for (let i = 0; i < 50 && (await age()) > 60; i++) await new Promise((r) => setTimeout(r, 20));
      stop();
      expect(await age()).toBeLessThan(60);
      expect(await claimTraining(a)).toBeUndefined();
    } finally {
      await Promise.all([a.close(), b.close()]);
      await t.cleanup();
    }
  });
});

describe('a retrain asked on a serving replica runs on the worker (Postgres: two replicas)', () => {
  it('the serving replica queues it and never trains; the worker takes it within its poll, once, and reports the outcome', async () => {
    const t = await createTestDatabase('postgres');
    await importDemoStores(t.db, [1, 5]);
    const slack = new FakeSlack();
    await slack.listen();
    const [serving, worker] = await Promise.all([openPostgres(t.url!), openPostgres(t.url!)]);
    const env = { LOG_LEVEL: 'silent', STORECAST_RETRAIN: 'off', STORECAST_ADMIN_CHANNEL: 'slack:CADMIN1', SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: slack.apiUrl };
    const servingConfig = loadConfig({ ...env, STORECAST_FORECAST_PRECOMPUTE: 'off' });
    const workerConfig = loadConfig({ ...env, STORECAST_FORECAST_PRECOMPUTE: 'on' });
    const servingDeps: RetrainDeps = { db: serving, config: servingConfig, logger: createLogger('silent') };
    const workerDeps: RetrainDeps = { db: worker, config: workerConfig, logger: createLogger('silent'), announce: adminChannelPoster(workerConfig, deliveryPlatforms(workerConfig)) };
    const scheduler = startRetrainScheduler(workerDeps, 60 * 60_000, 200);
    try {
      const asked = await startRetrain(servingDeps, { trigger: 'chat', requestedBy: 'slack:U1' });
      expect(asked).toMatchObject({ decision: 'queued', id: expect.any(Number) });
      // Asked again before the worker took it: one request waits at a time.
      expect(await startRetrain(servingDeps, { trigger: 'api', requestedBy: 'token:t' })).toMatchObject({ decision: 'busy', reason: expect.stringMatching(/is waiting for the worker/) });
      const id = (asked as RetrainOutcome).id!;
      const done = await until('the worker finished the request', async () => {
        const [row] = await t.db.query<{ status: string; requested_by: string; challenger_version: number | null }>('SELECT status, requested_by, challenger_version FROM model_retrains WHERE id = $1', [id]);
        return row && row.status !== 'requested' && row.status !== 'running' ? row : undefined;
      }, 300_000, 200);
      expect(done).toMatchObject({ status: 'promoted', requested_by: 'slack:U1', challenger_version: expect.any(Number) });
      expect(await t.db.query('SELECT id FROM model_retrains ORDER BY id')).toHaveLength(1);
      expect(await activeVersion(t.db)).toBe(done.challenger_version);
      const posted = await until('the outcome in the admin channel', () => slack.method('chat.postMessage')[0], 10_000);
      expect(posted.body.channel).toBe('CADMIN1');
      expect(JSON.stringify(posted.body)).toContain(`Model v${done.challenger_version} promoted`);
      // Once a request is done the slot is free for the next one.
      expect(await startRetrain(servingDeps, { trigger: 'chat', requestedBy: 'slack:U1' })).toMatchObject({ decision: 'queued' });
    } finally {
      await scheduler.stop();
      await Promise.all([serving.close(), worker.close()]);
      await slack.close();
      await t.cleanup();
    }
  }, 360_000);

  it('a replica that does no model work and schedules nothing looks for no requests; a CLI retrain there still runs there', async () => {
    const t = await createTestDatabase('postgres');
    try {
      const config = loadConfig({ LOG_LEVEL: 'silent', STORECAST_RETRAIN: 'off', STORECAST_FORECAST_PRECOMPUTE: 'off' });
      const deps: RetrainDeps = { db: t.db, config, logger: createLogger('silent') };
      const queued = await startRetrain(deps, { trigger: 'chat', requestedBy: 'u' });
      expect(queued).toMatchObject({ decision: 'queued' });
      // The serving replica's own scheduler is idle: the request is still waiting.
      const idle = startRetrainScheduler(deps, 50, 50);
      await new Promise((r) => setTimeout(r, 300));
      await idle.stop();
      expect(await t.db.query(`SELECT status FROM model_retrains`)).toEqual([{ status: 'requested' }]);
      // An operator's run (no worker here) takes the waiting request over instead of being refused by it.
      const queuedId = (queued as RetrainOutcome).id;
      expect(await claimRetrain(t.db, 'cli', 'op', 'off')).toEqual({ id: queuedId });
      await t.db.query(`UPDATE model_retrains SET status = 'requested', lease_until = now() WHERE id = $1`, [queuedId]);
      expect(await claimRequested(t.db)).toMatchObject({ trigger: 'chat', requestedBy: 'u' });
      expect(await t.db.query(`SELECT status, reason FROM model_retrains`)).toEqual([{ status: 'running', reason: null }]);
      expect(await claimRequested(t.db)).toBeUndefined();
      expect(await startRetrain(deps, { trigger: 'cli' })).toMatchObject({ decision: 'busy', reason: expect.stringMatching(/is running/) });
    } finally {
      await t.cleanup();
    }
  });
});
