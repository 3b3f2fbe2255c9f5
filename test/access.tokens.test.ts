import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addGrant } from '../src/access/grants.ts';
import { createToken } from '../src/auth/tokens.ts';
import type { Database } from '../src/db/client.ts';
import { createApp } from '../src/server/app.ts';
import { openTestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

describe('API tokens carry a data scope: their grants (restricted mode)', () => {
  let db: Database;
  let app: ReturnType<typeof createApp>['app'];
  let bi: { token: string; info: { id: string } };
  const run = (token: string, command: string) =>
    app.request('/api/v1/commands', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ command }) });

  beforeAll(async () => {
    db = await openTestDatabase([1, 5]);
    app = createApp(testServices(db, { STORECAST_ACCESS: 'restricted' })).app;
    bi = await createToken(db, { name: 'bi', scopes: ['query'] });
    await addGrant(db, { principal: `token:${bi.info.id}`, role: 'viewer', scope: { kind: 'store', store: 5 } });
  }, 120_000);
  afterAll(() => db.close());

  it('a query token runs commands within its grants, and is refused outside them', async () => {
    const five = await run(bi.token, '/forecast store 5');
    expect(five.status).toBe(200);
    expect(await five.json()).toMatchObject({ kind: 'ok', reply: { title: expect.stringContaining('Store 5') } });
    const one = await run(bi.token, '/forecast store 1');
    expect(one.status).toBe(403);
    expect(await one.json()).toMatchObject({ kind: 'denied', error: { message: expect.stringContaining('viewer of Store 5') } });
  });

  it('admins manage tokens through the API: create (shown once), list (hashes only), revoke', async () => {
    const admin = await createToken(db, { name: 'ops', scopes: ['admin'] });
    const call = (method: string, path: string, body?: unknown) =>
      app.request(`/api/v1${path}`, { method, headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const created = await call('POST', '/tokens', { name: 'dashboard', scopes: ['query'] });
    expect(created.status).toBe(201);
    const { id, token } = (await created.json()) as { id: string; token: string };
    const listed = await (await call('GET', '/tokens')).text();
    expect(listed).toContain(id);
    expect(listed).not.toContain(token);
    await addGrant(db, { principal: `token:${id}`, role: 'viewer', scope: { kind: 'store', store: 5 } });
    expect((await run(token, '/forecast store 5')).status).toBe(200);
    expect((await call('DELETE', `/tokens/${id}`)).status).toBe(204);
    expect((await run(token, '/forecast store 5')).status).toBe(401);
    expect((await call('DELETE', `/tokens/${id}`)).status).toBe(404);
    expect((await run(bi.token, '/forecast store 5')).status).toBe(200);
  });

  it('a token without grants sees nothing; an ingest token may not run commands at all', async () => {
    const bare = await createToken(db, { name: 'bare', scopes: ['query'] });
    expect((await run(bare.token, '/forecast store 5')).status).toBe(403);
    const ingest = await createToken(db, { name: 'pos', scopes: ['ingest'] });
    expect((await run(ingest.token, '/forecast store 5')).status).toBe(403);
    expect((await run('sc_0_unknown', '/forecast store 5')).status).toBe(401);
  });
});
