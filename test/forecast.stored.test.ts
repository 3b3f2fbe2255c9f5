import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DB_KINDS, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { importRecords } from '../src/data/import.ts';
import { addWeeks } from '../src/data/weeks.ts';
import type { ForecastResult } from '../src/forecast/forecaster.ts';
import type { Hyperparameters } from '../src/forecast/model.ts';
import { ModelForecaster } from '../src/forecast/model-forecaster.ts';
import { trainAndRegister } from '../src/forecast/pipeline.ts';
import { precomputeForecasts, type PrecomputeDeps } from '../src/forecast/precompute.ts';
import { StoredForecaster } from '../src/forecast/stored-forecaster.ts';
import { createLogger } from '../src/logger.ts';
import { loadConfig } from '../src/config.ts';
import { createServices } from '../src/services.ts';

/** Tiny settings: the tests check that stored answers are the computed ones, not accuracy. */
const TINY: Partial<Hyperparameters> = { hidden: [16, 8], maxTrainRows: 8_000, maxValRows: 3_000, epochs: 3, patience: 2, valWeeks: 8, originStep: 4, svdRank: 3 };
const STORES = [1, 5];
const logger = createLogger('silent');

const cents = (r: ForecastResult) => r.points.map((p) => [p.week, Math.round(p.value * 100), Math.round(p.lower * 100), Math.round(p.upper * 100)]);

describe.each(DB_KINDS)('stored forecasts on %s', (kind) => {
  let t: TestDatabase;
  let deps: PrecomputeDeps;
  let lastWeek: string;
  let depts: number[];
  // Readers only: no precompute of their own, so what they answer from is what the test wrote.
  const reader = () => new StoredForecaster(t.db, { refreshMs: 0 });

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, STORES);
    await trainAndRegister(t.db, { tfBackend: 'auto' }, logger, { hyper: { ...TINY, seed: 3 }, logWeeks: 0 });
    deps = { db: t.db, logger, config: { tfBackend: 'auto', modelOps: { forecastRetention: 2 } } };
    const [row] = await t.db.query<{ w: string }>('SELECT max(week)::text AS w FROM store_week_sales');
    lastWeek = row!.w;
    depts = (await t.db.query<{ d: number }>('SELECT DISTINCT dept_id AS d FROM weekly_sales WHERE store_id = 1 ORDER BY 1')).map((r) => Number(r.d));
  }, 240_000);

  afterAll(async () => {
    await t?.cleanup();
  });

  it('one of two concurrent callers computes the run; the other returns at once', async () => {
    const [a, b] = await Promise.all([precomputeForecasts(deps), precomputeForecasts(deps)]);
    expect([a.status, b.status].sort()).toEqual(['computed', 'skipped']);
    const computed = a.status === 'computed' ? a : b;
    expect(computed.origin).toBe(lastWeek);
    expect(computed.stores).toBe(2);
    // The model's first run stores the week before too: alerts and summaries compare the newest week with it.
    const runs = await t.db.query<{ o: string }>(`SELECT origin::text AS o FROM forecast_runs WHERE status = 'ready' ORDER BY origin`);
    expect(runs.map((r) => r.o)).toEqual([addWeeks(lastWeek, -1), lastWeek]);
    // Nothing moved: a third call computes nothing.
    expect((await precomputeForecasts(deps)).status).toBe('skipped');
  }, 240_000);

  it('stored forecasts equal the directly computed ones to the cent (store totals and every department)', async () => {
    const stored = reader();
    const direct = new ModelForecaster({ refreshMs: 0, cacheSize: 0 });
    for (const store of STORES) {
      for (const horizon of [12, 52]) {
        const s = await stored.forecast(t.db, { store }, horizon);
        expect(s.note).toBeUndefined();
        expect(s.model).toBe('global-mlp v1');
        expect(cents(s)).toEqual(cents(await direct.forecast(t.db, { store }, horizon, { origin: lastWeek })));
      }
    }
    const many = await stored.forecastDepartments(t.db, depts.map((dept) => ({ store: 1, dept })), 26);
    expect(many?.size).toBe(depts.length);
    for (const dept of depts) {
      const d = await direct.forecast(t.db, { store: 1, dept }, 26, { origin: lastWeek });
      const m = many!.get(`1/${dept}`)!;
      const c = (xs: number[]) => xs.map((v) => Math.round(v * 100));
      expect([m.firstWeek, c(m.p10), c(m.p50), c(m.p90)]).toEqual([d.points[0]!.week, c(d.points.map((p) => p.lower)), c(d.points.map((p) => p.value)), c(d.points.map((p) => p.upper))]);
    }
    const totals = await stored.forecastStores(t.db, STORES, 8);
    expect(cents(totals.get(5)!)).toEqual(cents(await direct.forecast(t.db, { store: 5 }, 8, { origin: lastWeek })));
    // The week before, as an alert asks it: read from its stored run, equal to the direct one.
    const before = addWeeks(lastWeek, -1);
    expect(cents(await stored.forecast(t.db, { store: 1, dept: depts[1]! }, 1, { origin: before }))).toEqual(cents(await direct.forecast(t.db, { store: 1, dept: depts[1]! }, 1, { origin: before })));
  }, 240_000);

  it('a forecast from an origin that is not stored is computed on the worker, equal to the direct one', async () => {
    const origin = addWeeks(lastWeek, -10);
    const stored = reader();
    const direct = new ModelForecaster({ refreshMs: 0, cacheSize: 0 });
    try {
      const s = await stored.forecast(t.db, { store: 5, dept: depts[0] }, 6, { origin });
      expect(s.points[0]!.week).toBe(addWeeks(origin, 1));
      expect(cents(s)).toEqual(cents(await direct.forecast(t.db, { store: 5, dept: depts[0] }, 6, { origin })));
      await expect(stored.forecast(t.db, { store: 1, dept: 999 }, 4, { origin })).rejects.toThrow(/No sales recorded/);
    } finally {
      await stored.close();
    }
  }, 240_000);

  it('a light replica answers an origin that is not stored from the stored run before it, saying so, and loads no panel', async () => {
    await precomputeForecasts(deps);
    // A gap: the run of the week before the newest is moved two weeks back, so the week before is not stored.
    const [newest] = await t.db.query<{ o: string }>(`SELECT max(origin)::text AS o FROM forecast_runs WHERE status = 'ready'`);
    const origin = addWeeks(newest!.o, -1);
    const earlier = addWeeks(origin, -2);
    const moved = await t.db.query<{ id: number }>(`UPDATE forecast_runs SET origin = $2::date WHERE status = 'ready' AND origin = $1::date RETURNING id`, [origin, earlier]);
    expect(moved.length).toBeGreaterThan(0);
    const light = new StoredForecaster(t.db, { refreshMs: 0, unstoredOrigins: 'stored' });
    const direct = new ModelForecaster({ refreshMs: 0, cacheSize: 0 });
    try {
      const key = { store: 5, dept: depts[0] };
      const answer = await light.forecast(t.db, key, 6, { origin });
      // The weeks asked, from the earlier run's arrays: the figures that run answers for them.
      const fromRun = await light.forecast(t.db, key, 8, { origin: earlier });
      expect(fromRun.note).toBeUndefined();
      expect(cents(answer)).toEqual(cents({ ...fromRun, points: fromRun.points.slice(2) }));
      expect(answer.points[0]!.week).toBe(addWeeks(origin, 1));
      expect(answer.note).toBe(`as of ${earlier}: no forecasts are stored from the week of ${origin}`);
      // Not what a full replica computes exactly on its worker for that origin.
      expect(cents(answer)).not.toEqual(cents(await direct.forecast(t.db, key, 6, { origin })));
      // Nothing stored early enough: seasonal naive answers, saying why.
      const [first] = await t.db.query<{ o: string }>(`SELECT min(origin)::text AS o FROM forecast_runs WHERE status = 'ready'`);
      const tooEarly = await light.forecast(t.db, key, 4, { origin: addWeeks(first!.o, -1) });
      expect(tooEarly.model).not.toMatch(/v\d/);
      expect(tooEarly.note).toContain('no forecasts are stored from the week of');
    } finally {
      await t.db.query(`UPDATE forecast_runs SET origin = $1::date WHERE id = ANY($2::int[])`, [origin, moved.map((r) => r.id)]);
      await light.close();
    }
  }, 240_000);

  it('after a new week, answers come from the previous origin and say so until the new one is stored; old origins are pruned', async () => {
    const week = addWeeks(lastWeek, 1);
    const stored = reader();
    const before = await stored.forecast(t.db, { store: 1 }, 4);
    await importRecords(t.db, 'train', 'test:new-week', [STORES.flatMap((store) => depts.map((dept) => [String(store), String(dept), week, String(1000 + dept), 'FALSE']))]);
    const meanwhile = await stored.forecast(t.db, { store: 1 }, 4);
    expect(meanwhile.note).toContain(`as of ${lastWeek}`);
    expect(meanwhile.note).toContain(week);
    expect(cents(meanwhile)).toEqual(cents(before));

    expect((await precomputeForecasts(deps)).status).toBe('computed');
    const after = await stored.forecast(t.db, { store: 1 }, 4);
    expect(after.note).toBeUndefined();
    expect(after.points[0]!.week).toBe(addWeeks(week, 1));
    // The previous origin is still stored (alerts and summaries compare with it): read, not recomputed.
    const previous = await stored.forecast(t.db, { store: 1 }, 4, { origin: lastWeek });
    expect(cents(previous)).toEqual(cents(before));

    // A third origin with retention 2: the oldest goes.
    await importRecords(t.db, 'train', 'test:new-week-2', [STORES.flatMap((store) => depts.map((dept) => [String(store), String(dept), addWeeks(week, 1), String(1100 + dept), 'FALSE']))]);
    expect((await precomputeForecasts(deps)).status).toBe('computed');
    const origins = await t.db.query<{ o: string }>(`SELECT origin::text AS o FROM forecast_runs ORDER BY origin`);
    expect(origins.map((r) => r.o)).toEqual([week, addWeeks(week, 1)]);
    const orphans = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM stored_forecasts WHERE run_id NOT IN (SELECT id FROM forecast_runs)');
    expect(orphans[0]!.n).toBe(0);
  }, 300_000);
});

describe.each(DB_KINDS)('while the first model trains (%s)', (kind) => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, [1]);
    // An earlier run took 6 minutes (not active: none is); the current one started 2 minutes ago.
    await t.db.query(`INSERT INTO model_registry (status, active, created_at, finished_at) VALUES ('ready', false, now() - interval '10 minutes', now() - interval '4 minutes')`);
    await t.db.query(`INSERT INTO model_registry (status, created_at, heartbeat_at) VALUES ('training', now() - interval '2 minutes', now())`);
  }, 120_000);

  afterAll(async () => {
    await t?.cleanup();
  });

  it('/model says a model is training, since when and about how long is left; forecasts meanwhile say which model answered', async () => {
    const config = loadConfig({ STORECAST_DATA_DIR: 'memory://', STORECAST_RATE_LIMIT: '0', LOG_LEVEL: 'silent' });
    const forecaster = new StoredForecaster(t.db, { refreshMs: 0 });
    const services = createServices({ config, db: t.db, logger, forecaster });
    const status = await services.run({ name: 'model', text: '' }, { platform: 'cli', roles: [] });
    expect(status.kind).toBe('ok');
    expect(status.reply.title).toBe('Model v2 is training');
    expect(status.reply.summary).toMatch(/^No model is active yet: model v2 has been training since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(2 min\); about 4 min left\./);
    const r = await forecaster.forecast(t.db, { store: 1 }, 4);
    expect(r.model).toBe('seasonal-naive');
    expect(r.note).toMatch(/model still training \(model v2 has been training since .* UTC \(2 min\); about 4 min left\) — seasonal-naive answered/);
  });
});
