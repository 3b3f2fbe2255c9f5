import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addGrant } from '../src/access/grants.ts';
import { listAudit, recordAudit, redactCommand, type AuditRecord } from '../src/audit/log.ts';
import { createToken } from '../src/auth/tokens.ts';
import { loadConfig } from '../src/config.ts';
import { generateDemoData } from '../src/data/demo.ts';
import { importRecords } from '../src/data/import.ts';
import type { Database } from '../src/db/client.ts';
import { createApp } from '../src/server/app.ts';
import type { Asker } from '../src/services.ts';
import { createScheduler } from '../src/delivery/index.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';
import { runStorecast } from './helpers/cli.ts';
import { testServices } from './helpers/services.ts';

/** The demo data of a few stores: enough for answered commands. */
async function seedStores(db: Database, stores: readonly number[]): Promise<void> {
  const demo = generateDemoData();
  const keep = new Set(stores.map(String));
  await importRecords(db, 'stores', 'test:stores', [demo.stores.filter((r) => keep.has(r[0]!))]);
  const sales: string[][][] = [];
  for (const chunk of demo.sales) sales.push(chunk.filter((r) => keep.has(r[0]!)));
  await importRecords(db, 'train', 'test:sales', sales.filter((c) => c.length));
}

const slackUser = (user: string): Asker => ({ platform: 'slack', workspace: 'T1', channel: 'C1', user, roles: [] });
const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe.each(DB_KINDS)('the audit log (%s)', (kind) => {
  let t: TestDatabase;
  const rows = () => listAudit(t.db, { limit: 100 });

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await seedStores(t.db, [1, 5]);
  });
  afterAll(() => t.cleanup());
  beforeEach(async () => {
    await t.db.query('DELETE FROM audit_log');
  });

  it('writes one row per command through services.run: who, where, the normalized command, scope, outcome, latency, ref', async () => {
    const services = testServices(t.db);
    const outcome = await services.run({ name: 'forecast', text: 'week 12 store=1' }, slackUser('U1'), 'abcdef0123456789abcdef0123456789');
    expect(outcome.kind).toBe('ok');
    const [row, ...more] = await rows();
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      principal: 'slack:T1/U1',
      platform: 'slack',
      workspace: 'T1',
      channel: 'C1',
      command: '/forecast store 1 horizon 12',
      scope: 'Store 1',
      outcome: 'ok',
      ref: 'abcdef01',
    });
    expect(row!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(Date.now() - Date.parse(row!.at)).toBeLessThan(60_000);
    expect(row!.method).toBeUndefined();

    // Discord's typed options read back to the same line; a mistake is kept as typed.
    await services.run({ name: 'forecast', options: { store: 1, horizon: 12 } }, { platform: 'discord', workspace: 'G1', channel: 'C9', user: 'U2', roles: ['R1'] });
    await services.run({ name: 'forcast', text: 'store 1' }, { platform: 'cli', roles: [] });
    const [typo, discord] = await rows();
    expect(discord).toMatchObject({ principal: 'discord:G1/U2', command: '/forecast store 1 horizon 12', outcome: 'ok' });
    expect(typo).toMatchObject({ principal: 'cli', platform: 'cli', command: '/forcast store 1', outcome: 'user-error' });
    expect(typo!.scope).toBeUndefined();
  });

  it('records a refusal as denied, with the data it reached for', async () => {
    const services = testServices(t.db, { STORECAST_ACCESS: 'restricted' });
    await addGrant(t.db, { principal: 'slack:T1/U7', role: 'viewer', scope: { kind: 'store', store: 1 } });
    expect((await services.run({ name: 'forecast', text: 'store 5' }, slackUser('U7'))).kind).toBe('denied');
    expect((await services.run({ name: 'forecast', text: 'store 1' }, slackUser('U7'))).kind).toBe('ok');
    const [ok, denied] = await rows();
    expect(denied).toMatchObject({ principal: 'slack:T1/U7', command: '/forecast store 5', scope: 'Store 5', outcome: 'denied' });
    expect(ok).toMatchObject({ outcome: 'ok', scope: 'Store 1' });
    expect(await listAudit(t.db, { outcome: 'denied' })).toEqual([denied]);
  });

  it('records an API call: method, route pattern, status, client address, the token principal; no token, query or body', async () => {
    // Two proxies in front (the client's own and the load balancer): both hops believed.
    const services = testServices(t.db, { STORECAST_TRUST_PROXY: '2' });
    const { app } = createApp(services);
    const { token, info } = await createToken(t.db, { name: 'q', scopes: ['query'] });
    const res = await app.request(`/api/v1/deliveries?limit=5&token=${token}`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.7, 10.0.0.1' } });
    expect(res.status).toBe(403);
    const ok = await app.request('/api/v1/subscriptions?access_token=sekrit', { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    await app.request('/api/v1/subscriptions/sub_123456789abc', { method: 'DELETE' });
    const [anonymous, listed, refused] = await rows();
    expect(refused).toMatchObject({ principal: `token:${info.id}`, platform: 'api', method: 'GET', route: '/api/v1/deliveries', status: 403, outcome: 'denied', client: '203.0.113.7' });
    expect(listed).toMatchObject({ principal: `token:${info.id}`, method: 'GET', route: '/api/v1/subscriptions', status: 200, outcome: 'ok' });
    expect(anonymous).toMatchObject({ principal: 'anonymous', method: 'DELETE', route: '/api/v1/subscriptions/:id', status: 401, outcome: 'denied' });
    expect(refused!.command).toBeUndefined();
    const text = JSON.stringify(await t.db.query('SELECT * FROM audit_log'));
    for (const secret of [token, token.slice(12), 'sekrit', 'limit=5', 'sub_123456789abc']) expect(text).not.toContain(secret);
  });

  it('gives an API internal error the reference the caller was shown', async () => {
    const services = testServices(t.db);
    const { app } = createApp(services);
    const admin = (await createToken(t.db, { name: 'a', scopes: ['admin'] })).token;
    await t.db.query('ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_away');
    try {
      const res = await app.request('/api/v1/deliveries', { headers: { authorization: `Bearer ${admin}` } });
      expect(res.status).toBe(500);
      const { error } = (await res.json()) as { error: { ref: string } };
      expect(await rows()).toMatchObject([{ route: '/api/v1/deliveries', status: 500, outcome: 'internal', ref: error.ref }]);
    } finally {
      await t.db.query('ALTER TABLE webhook_deliveries_away RENAME TO webhook_deliveries');
    }
  });

  it('GET /api/v1/audit: admin tokens only, filtered by since, principal and outcome', async () => {
    const { app } = createApp(testServices(t.db));
    const admin = (await createToken(t.db, { name: 'admin', scopes: ['admin'] })).token;
    const query = (await createToken(t.db, { name: 'query', scopes: ['query'] })).token;
    const old = new Date(Date.now() - 10 * 86_400_000);
    await recordAudit(t.db, { principal: 'slack:T1/U1', platform: 'slack', command: '/forecast store 1', outcome: 'ok', latencyMs: 12, at: old });
    await recordAudit(t.db, { principal: 'slack:T1/U1', platform: 'slack', command: '/forecast store 5', outcome: 'denied', latencyMs: 3 });
    await recordAudit(t.db, { principal: 'discord:G1/U2', platform: 'discord', command: '/top', outcome: 'denied', latencyMs: 4 });
    const get = (q: string, token = admin) => app.request(`/api/v1/audit${q}`, { headers: { authorization: `Bearer ${token}` } });
    expect((await app.request('/api/v1/audit')).status).toBe(401);
    expect((await get('', query)).status).toBe(403);
    const since = old.toISOString().slice(0, 10);
    const body = async (q: string) => ((await (await get(q)).json()) as { entries: AuditRecord[] }).entries.filter((e) => e.platform !== 'api');
    expect((await body('')).map((e) => e.command)).toEqual(['/top', '/forecast store 5', '/forecast store 1']);
    expect((await body('?principal=slack:T1/U1&outcome=denied')).map((e) => e.command)).toEqual(['/forecast store 5']);
    expect((await body(`?since=${new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)}`)).map((e) => e.command)).toEqual(['/top', '/forecast store 5']);
    expect((await body(`?since=${since}&limit=1`)).length).toBeLessThanOrEqual(1);
    const bad = await get('?since=last-tuesday');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid', message: expect.stringMatching(/since/) } });
  });

  it('/audit in chat: chain admins see the last entries, privately; a viewer and a region admin are refused', async () => {
    const services = testServices(t.db, { STORECAST_ACCESS: 'restricted', STORECAST_ADMINS: 'slack:T1/UADMIN' });
    await addGrant(t.db, { principal: 'slack:T1/UVIEW', role: 'viewer', scope: { kind: 'chain' } });
    await addGrant(t.db, { principal: 'slack:T1/UREGION', role: 'admin', scope: { kind: 'region', region: 'West' } });
    await recordAudit(t.db, { principal: 'discord:G1/U2', platform: 'discord', command: '/top', scope: 'All stores', outcome: 'denied', latencyMs: 4, ref: 'feedbeef' });
    for (const user of ['UVIEW', 'UREGION']) {
      const refused = await services.run({ name: 'audit', text: '' }, slackUser(user));
      expect(refused.kind, user).toBe('denied');
      expect(refused.reply.data).not.toHaveProperty('entries');
    }
    const answered = await services.run({ name: 'audit', text: 'denied limit 5' }, slackUser('UADMIN'));
    expect(answered.kind).toBe('ok');
    expect(answered.reply.visibility).toBe('ephemeral');
    const facts = answered.reply.facts.map((f) => `${f.label} | ${f.value}`);
    expect(facts[0]).toMatch(/slack:T1\/UREGION \| \/audit · All stores · denied/);
    expect(facts).toContainEqual(expect.stringMatching(/discord:G1\/U2 \| \/top · All stores · denied, 4 ms · ref feedbeef/));
    expect(answered.reply.table?.rows.length).toBe(3);
    const mentioned = await services.run({ name: 'audit', text: 'principal <@UVIEW|vic>' }, slackUser('UADMIN'));
    expect(mentioned.kind).toBe('ok');
    expect(mentioned.reply.summary).toMatch(/by slack:T1\/UVIEW/);
    expect(mentioned.reply.facts.map((f) => f.label)).toEqual([expect.stringMatching(/slack:T1\/UVIEW$/)]);
  });

  it('prunes rows past STORECAST_AUDIT_RETENTION_DAYS in the scheduler’s hourly maintenance', async () => {
    const services = testServices(t.db, { STORECAST_AUDIT_RETENTION_DAYS: '30' });
    const day = 86_400_000;
    for (const age of [40, 31, 29, 1]) await recordAudit(t.db, { principal: 'cli', platform: 'cli', command: `/help age ${age}`, outcome: 'ok', latencyMs: 1, at: new Date(Date.now() - age * day) });
    await createScheduler(services, { key: randomBytes(32) }).tick();
    expect((await rows()).map((r) => r.command)).toEqual(['/help age 1', '/help age 29']);
    expect(testServices(t.db).config.auditRetentionDays).toBe(365);
    expect(() => loadConfig({ STORECAST_AUDIT_RETENTION_DAYS: '0' })).toThrow(/STORECAST_AUDIT_RETENTION_DAYS="0"/);
  });

  it('keeps webhook URLs and tokens out, whatever the route or the text', async () => {
    const services = testServices(t.db, { STORECAST_OUTBOUND_ALLOW: '127.0.0.1', STORECAST_SECRET_KEY: randomBytes(32).toString('hex') });
    const { app } = createApp(services);
    const { token } = await createToken(t.db, { name: 'admin', scopes: ['admin'] });
    const url = 'http://127.0.0.1:9/hooks/s3cr3t-path-xyz';
    const res = await app.request('/api/v1/subscriptions', { ...json({ store: 1, url, format: 'json' }), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; signingSecret: string };
    // A URL or a token pasted into a command is replaced, in refused and answered commands alike.
    await services.run({ name: 'subscribe', text: `store 1 url ${url}` }, slackUser('U1'));
    await services.run({ name: 'sales', text: `store 1 ${token}` }, slackUser('U1'));
    await services.run({ name: 'subscribe', text: 'region https://hooks.slack.com/services/T0/B0/XYZ every monday' }, slackUser('U1'));
    await services.run({ name: 'subscribe', text: 'region hooks.slack.com/services/T0/B0/XYZ' }, slackUser('U1'));
    const text = JSON.stringify(await t.db.query('SELECT * FROM audit_log'));
    for (const secret of [url, 's3cr3t', token, token.slice(12), created.signingSecret, 'XYZ', 'hooks.slack.com']) expect(text).not.toContain(secret);
    expect(await rows()).toContainEqual(expect.objectContaining({ method: 'POST', route: '/api/v1/subscriptions', status: 201, outcome: 'ok' }));
    expect(text).toContain('<url>');
  });
});

describe('the audit log, beside the request', () => {
  it('never fails a request it cannot record: logged and counted as an audit error', async () => {
    const t = await createTestDatabase('pglite');
    try {
      await t.db.query('DROP TABLE audit_log');
      const services = testServices(t.db);
      const outcome = await services.run({ name: 'help', text: '' }, { platform: 'cli', roles: [] });
      expect(outcome.kind).toBe('ok');
      const api = await createApp(services).app.request('/api/v1/commands');
      expect(api.status).toBe(200);
      const metric = await services.metrics.errors.get();
      expect(metric.values.find((v) => v.labels.kind === 'audit')?.value).toBe(2);
    } finally {
      await t.cleanup();
    }
  });

  it('records the socket address when no proxy says otherwise', async () => {
    const t = await createTestDatabase('pglite');
    let server: ServerType | undefined;
    try {
      const { app } = createApp(testServices(t.db));
      server = await new Promise<ServerType>((resolve) => {
        const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
      });
      const { port } = server.address() as AddressInfo;
      expect((await fetch(`http://127.0.0.1:${port}/api/v1/commands`)).status).toBe(200);
      expect(await listAudit(t.db)).toMatchObject([{ method: 'GET', route: '/api/v1/commands', client: expect.stringMatching(/127\.0\.0\.1$/) }]);
    } finally {
      await new Promise((r) => (server ? server.close(r) : r(undefined)));
      await t.cleanup();
    }
  });

  it('redacts URLs and tokens in command text and clips it', () => {
    expect(redactCommand('/subscribe region https://hooks.slack.com/services/T/B/X  every monday')).toBe('/subscribe region <url> every monday');
    expect(redactCommand('/sales store 1 sc_0123abcd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA xoxb-1-2-3')).toBe('/sales store 1 <token> <token>');
    expect(redactCommand('discord.com/api/webhooks/1/abc')).toBe('<url>');
    expect(redactCommand(`/top ${'x'.repeat(1000)}`).length).toBe(300);
  });
});

describe('storecast audit (CLI)', () => {
  let t: TestDatabase;

  const storecast = (args: string[]) => runStorecast(args, { DATABASE_URL: t.url! });

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    const day = 86_400_000;
    await recordAudit(t.db, { principal: 'slack:T1/U1', platform: 'slack', workspace: 'T1', channel: 'C1', command: '/forecast store 1', scope: 'Store 1', outcome: 'ok', latencyMs: 80, ref: 'aaaa1111', at: new Date(Date.now() - 20 * day) });
    await recordAudit(t.db, { principal: 'slack:T1/U1', platform: 'slack', command: '/forecast store 5', scope: 'Store 5', outcome: 'denied', latencyMs: 5, ref: 'bbbb2222' });
    await recordAudit(t.db, { principal: 'token:0a1b2c3d', platform: 'api', method: 'GET', route: '/api/v1/subscriptions', status: 200, outcome: 'ok', latencyMs: 7, ref: 'cccc3333', client: '203.0.113.7' });
  });
  afterAll(() => t.cleanup());

  it('lists newest first, as a table or JSON, filtered by since, principal and outcome', async () => {
    const all = await storecast(['audit']);
    expect(all.code).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^at\s+principal\s+platform\s+where\s+action\s+scope\s+outcome\s+ms\s+ref\s+client$/);
    expect(lines[1]).toMatch(/token:0a1b2c3d\s+api\s+-\s+GET \/api\/v1\/subscriptions -> 200\s+-\s+ok\s+7\s+cccc3333\s+203\.0\.113\.7/);
    expect(lines[3]).toMatch(/slack:T1\/U1\s+slack\s+T1\/C1\s+\/forecast store 1\s+Store 1\s+ok/);

    const denied = await storecast(['audit', '--principal', 'slack:T1/U1', '--outcome', 'denied', '--json']);
    expect(JSON.parse(denied.stdout)).toMatchObject([{ command: '/forecast store 5', outcome: 'denied', ref: 'bbbb2222' }]);
    const recent = await storecast(['audit', '--since', new Date(Date.now() - 86_400_000).toISOString().slice(0, 10), '--json', '--limit', '1']);
    expect((JSON.parse(recent.stdout) as AuditRecord[]).map((r) => r.ref)).toEqual(['cccc3333']);

    const bad = await storecast(['audit', '--since', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since "yesterday" is not a date/);
  });
});
