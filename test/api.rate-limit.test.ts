import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { listAudit } from '../src/audit/log.ts';
import { createApp } from '../src/server/app.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

/** Issue 19, item 9: every /api/v1 route under the per-principal limit; anonymous calls counted, not listed. */
describe.each(DB_KINDS)('the /api/v1 request limit and counted anonymous audit rows (%s)', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(() => t.cleanup());

  const forecast = (token: string) =>
    ({ method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ store: 1, horizon: 4 }) }) as const;

  it('POST /forecasts and GET /models are limited per token; another token and other callers keep their own budget', async () => {
    const { app } = createApp(testServices(t.db, { STORECAST_API_RATE_LIMIT: '3' }));
    const a = (await createToken(t.db, { name: 'a', scopes: ['admin'] })).token;
    const b = (await createToken(t.db, { name: 'b', scopes: ['admin'] })).token;
    for (let i = 0; i < 2; i++) expect((await app.request('/api/v1/forecasts', forecast(a))).status).not.toBe(429);
    expect((await app.request('/api/v1/models', { headers: { authorization: `Bearer ${a}` } })).status).toBe(200);
    const limited = await app.request('/api/v1/models', { headers: { authorization: `Bearer ${a}` } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ error: { code: 'too_many_requests' } });
    expect((await app.request('/api/v1/forecasts', forecast(a))).status).toBe(429);
    expect((await app.request('/api/v1/models', { headers: { authorization: `Bearer ${b}` } })).status).toBe(200);
    // Anonymous callers are limited by client address, on public routes too.
    for (let i = 0; i < 3; i++) expect((await app.request('/api/v1/openapi.json')).status).toBe(200);
    expect((await app.request('/api/v1/openapi.json')).status).toBe(429);
  });

  it('guessed tokens count against the client address: past the limit, the client is refused whatever it presents', async () => {
    const { app } = createApp(testServices(t.db, { STORECAST_API_RATE_LIMIT: '3', STORECAST_TRUST_PROXY: '1' }));
    const good = (await createToken(t.db, { name: 'good', scopes: ['admin'] })).token;
    const from = (ip: string, token: string) => ({ headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': ip } });
    for (let i = 0; i < 3; i++) expect((await app.request('/api/v1/models', from('203.0.113.9', `sc_0000000${i}_guess`))).status).toBe(401);
    expect((await app.request('/api/v1/models', from('203.0.113.9', 'sc_00000009_guess'))).status).toBe(429);
    expect((await app.request('/api/v1/models', from('203.0.113.9', good))).status).toBe(429);
    expect((await app.request('/api/v1/models', from('198.51.100.4', good))).status).toBe(200);
  });

  it('anonymous calls are audited as one counted row per client, minute, route and status', async () => {
    await t.db.query('DELETE FROM audit_log');
    const { app } = createApp(testServices(t.db, { STORECAST_TRUST_PROXY: '1' }));
    const anon = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });
    for (let i = 0; i < 40; i++) expect((await app.request('/api/v1/commands', anon('203.0.113.1'))).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await app.request('/api/v1/alerts', anon('203.0.113.1'))).status).toBe(401);
    for (let i = 0; i < 7; i++) await app.request('/api/v1/commands', anon('203.0.113.2'));
    const token = (await createToken(t.db, { name: 'listed', scopes: ['admin'] })).token;
    for (let i = 0; i < 3; i++) await app.request('/api/v1/models', { headers: { authorization: `Bearer ${token}` } });
    const rows = await listAudit(t.db, { limit: 100 });
    const anonymous = rows.filter((r) => r.principal === 'anonymous').map((r) => `${r.client} ${r.method} ${r.route} ${r.status} x${r.hits}`);
    expect(anonymous.sort()).toEqual(['203.0.113.1 GET /api/v1/alerts 401 x5', '203.0.113.1 GET /api/v1/commands 200 x40', '203.0.113.2 GET /api/v1/commands 200 x7']);
    // A token's calls keep a row each.
    expect(rows.filter((r) => r.principal.startsWith('token:')).map((r) => r.hits)).toEqual([1, 1, 1]);
    expect(await t.db.query('SELECT 1 FROM audit_log')).toHaveLength(6);
  });
});
