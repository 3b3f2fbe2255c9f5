import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addGrant } from '../src/access/grants.ts';
import { createToken } from '../src/auth/tokens.ts';
import { loadConfig } from '../src/config.ts';
import { generateDemoData } from '../src/data/demo.ts';
import { importRecords, importRows } from '../src/data/import.ts';
import { changeOfReports, dataChanged } from '../src/data/changed.ts';
import type { LiveAccuracy } from '../src/forecast/forecast-log.ts';
import type { Hyperparameters } from '../src/forecast/model.ts';
import { ModelForecaster } from '../src/forecast/model-forecaster.ts';
import { trainAndRegister } from '../src/forecast/pipeline.ts';
import { createLogger } from '../src/logger.ts';
import { createApp } from '../src/server/app.ts';
import { createServices, type Services } from '../src/services.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';

const TINY: Partial<Hyperparameters> = { hidden: [16, 8], maxTrainRows: 8_000, maxValRows: 3_000, epochs: 2, patience: 2, valWeeks: 8, originStep: 6, svdRank: 3 };

async function demoStores(t: TestDatabase, stores: string[]): Promise<void> {
  const demo = generateDemoData();
  const keep = new Set(stores);
  await importRecords(t.db, 'stores', 'test:stores', [demo.stores.filter((r) => keep.has(r[0]!))]);
  await importRecords(t.db, 'train', 'test:sales', [Array.from(demo.sales).flat().filter((r) => keep.has(r[0]!))]);
}

describe.each(DB_KINDS)('prediction API and /model (%s)', (kind) => {
  let t: TestDatabase;
  let services: Services;
  let app: ReturnType<typeof createApp>['app'];
  const auth: Record<'query' | 'admin' | 'ingest', Record<string, string>> = { query: {}, admin: {}, ingest: {} };
  let lastWeek: string;

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await demoStores(t, ['1', '5']);
    const trained = await trainAndRegister(t.db, { tfBackend: 'auto' }, createLogger('silent'), { hyper: TINY, logWeeks: 4 });
    trained?.model.network.dispose();
    const config = loadConfig({ STORECAST_DATA_DIR: 'memory://', STORECAST_ACCESS: 'restricted', STORECAST_RATE_LIMIT: '0', LOG_LEVEL: 'silent' });
    services = createServices({ config, db: t.db, logger: createLogger('silent'), forecaster: new ModelForecaster({ refreshMs: 0 }) });
    app = createApp(services).app;
    for (const scope of ['query', 'admin', 'ingest'] as const) {
      const { token, info } = await createToken(t.db, { name: scope, scopes: [scope] });
      auth[scope] = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      if (scope === 'query') await addGrant(t.db, { principal: `token:${info.id}`, role: 'viewer', scope: { kind: 'store', store: 1 } });
    }
    await addGrant(t.db, { principal: 'slack:T1/U1', role: 'viewer', scope: { kind: 'store', store: 1 } });
    [{ lastWeek }] = (await t.db.query<{ lastWeek: string }>('SELECT max(week)::text AS "lastWeek" FROM weekly_sales')) as [{ lastWeek: string }];
  }, 180_000);
  afterAll(() => t?.cleanup());

  const post = (path: string, who: keyof typeof auth, body: unknown) => app.request(`/api/v1${path}`, { method: 'POST', headers: auth[who], body: JSON.stringify(body) });

  it('POST /forecasts: points with intervals, the model version and the data-through week; logged once', async () => {
    const res = await post('/forecasts', 'query', { store: 1, horizon: 4 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { model: string; modelVersion: number; dataThrough: string; points: { week: string; value: number; lower: number; upper: number }[] };
    expect(body).toMatchObject({ model: 'global-mlp v1', modelVersion: 1, dataThrough: lastWeek });
    expect(body.points).toHaveLength(4);
    for (const p of body.points) expect(p.lower <= p.value && p.value <= p.upper).toBe(true);
    const dept = await post('/forecasts', 'query', { store: 1, dept: 1, horizon: 2 });
    expect(dept.status).toBe(200);
    await post('/forecasts', 'query', { store: 1, horizon: 4 }); // the same answer again: logged once
    const [logged] = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM forecast_log WHERE source = 'served' AND store_id = 1 AND dept_id = 0`);
    expect(logged!.n).toBe(4);
  });

  it("POST /forecasts refuses what the token's grants do not reach, a wrong scope and bad input", async () => {
    const other = await post('/forecasts', 'query', { store: 5, horizon: 4 });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: { message: string } }).error.message).toMatch(/cannot see Store 5/);
    expect((await post('/forecasts', 'ingest', { store: 1, horizon: 4 })).status).toBe(403);
    expect((await app.request('/api/v1/forecasts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"store":1}' })).status).toBe(401);
    const bad = await post('/forecasts', 'query', { store: 1, horizon: 99 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/horizon/);
    expect((await post('/forecasts', 'query', { store: 1, dept: 999, horizon: 2 })).status).toBe(404);
  });

  it('GET /models lists the registry without weights; activation needs an admin token', async () => {
    const list = await app.request('/api/v1/models', { headers: auth.query });
    expect(list.status).toBe(200);
    const { models } = (await list.json()) as { models: Record<string, unknown>[] };
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({ version: 1, status: 'ready', active: true, live: null });
    expect(models[0]).not.toHaveProperty('weights');
    // A week arrives: the logged forecasts of its series are scored and the model has live figures.
    const [{ next }] = (await t.db.query<{ next: string }>(`SELECT ($1::date + 7)::text AS next`, [lastWeek])) as [{ next: string }];
    const report = await importRows(t.db, 'train', [1, 2, 3].map((dept) => ({ store: 1, dept, week: next, sales: 20_000, isHoliday: false })), { source: 'test:next-week' });
    await dataChanged(services, changeOfReports('ingest', 'test:next-week', [report]));
    const after = (await (await app.request('/api/v1/models', { headers: auth.query })).json()) as { models: { live: { rows: number; weeks: number; naive: unknown } | null }[] };
    expect(after.models[0]!.live).toMatchObject({ rows: 3, weeks: 1 });
    // Live figures cover the token's stores only: a token for store 2 sees none of store 1's.
    const other = await createToken(t.db, { name: 'store2', scopes: ['query'] });
    await addGrant(t.db, { principal: `token:${other.info.id}`, role: 'viewer', scope: { kind: 'store', store: 2 } });
    const theirs = (await (await app.request('/api/v1/models', { headers: { authorization: `Bearer ${other.token}` } })).json()) as { models: { live: { rows: number } | null }[] };
    expect(theirs.models[0]!.live?.rows ?? 0).toBe(0);
    expect((await post('/models/1/activate', 'query', {})).status).toBe(403);
    expect((await post('/models/1/activate', 'admin', {})).status).toBe(200);
    const missing = await post('/models/99/activate', 'admin', {});
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/does not exist/);
  });

  it('/model answers a store viewer about their stores only; /model retrain is for admins', async () => {
    const viewer = { platform: 'slack' as const, workspace: 'T1', user: 'U1', roles: [] };
    const status = await services.run({ name: 'model', text: '' }, viewer);
    expect(status.kind).toBe('ok');
    const live = (status.reply.data as { live: LiveAccuracy }).live;
    // Store 1's week that arrived above is scored; nothing of store 5 is shown to a viewer of store 1.
    expect(live.overall).toMatchObject({ rows: 3, weeks: 1 });
    expect(live.byStore.map((s) => s.key)).toEqual([1]);
    expect(status.reply.summary).toMatch(/^Live WMAE \$[\d.,K]+ over 1 scored week in your store \(1\) vs \$[\d.,K]+ for seasonal naive\.$/);
    expect(status.reply.chart).toBeDefined();
    const denied = await services.run({ name: 'model', text: 'retrain' }, viewer);
    expect(denied.kind).toBe('denied');
    // An admin asks while a retrain holds the slot: told why nothing started.
    await t.db.query(`INSERT INTO model_retrains (trigger, lease_until) VALUES ('cli', now() + interval '5 minutes')`);
    const busy = await services.run({ name: 'model', text: 'retrain' }, { platform: 'cli', roles: [] });
    expect(busy.kind).toBe('ok');
    expect(busy.reply.summary).toMatch(/Not started: retrain #\d+ is running/);
    // Through the API: a token is an identity; its grants decide (a store viewer may not retrain, a chain admin may ask).
    const byViewerToken = (await (await post('/commands', 'query', { command: '/model retrain' })).json()) as { kind: string; error: { message: string } };
    expect(byViewerToken.kind).toBe('denied');
    expect(byViewerToken.error.message).toMatch(/needs the admin role/);
    const { token, info } = await createToken(t.db, { name: 'ops', scopes: ['query'] });
    await addGrant(t.db, { principal: `token:${info.id}`, role: 'admin', scope: { kind: 'chain' } });
    const res = await app.request('/api/v1/commands', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ command: '/model retrain' }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { reply: { summary: string } }).reply.summary).toMatch(/Not started: retrain #\d+ is running/);
  });
});
