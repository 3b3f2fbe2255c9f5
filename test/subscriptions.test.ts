import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../commands/index.ts';
import { bindChannel } from '../src/access/channels.ts';
import { addGrant } from '../src/access/grants.ts';
import { createToken } from '../src/auth/tokens.ts';
import { loadConfig } from '../src/config.ts';
import type { Database } from '../src/db/client.ts';
import { importRecords } from '../src/data/import.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { SeasonalNaiveForecaster } from '../src/forecast/seasonal-naive.ts';
import { createLogger } from '../src/logger.ts';
import { createServices, type Asker } from '../src/services.ts';
import { createScheduler, createSubscription, listSubscriptions } from '../src/delivery/index.ts';
import { createApp } from '../src/server/app.ts';
import { decryptSecret, encryptSecret, resolveSecretKey } from '../src/delivery/crypto.ts';
import { nextRun, parseEvery, zonedTimeToUtc } from '../src/delivery/summaries/schedule.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { TEST_SECRET_KEY_HEX } from './helpers/keys.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

const KEY_HEX = TEST_SECRET_KEY_HEX;
const DAY = 86_400_000;

async function seed(db: Database): Promise<void> {
  await db.exec("INSERT INTO stores (store_id, type, size, region) VALUES (1, 'A', 150000, 'West'), (2, 'B', 90000, 'West'), (3, 'A', 120000, 'East')");
  const rows: string[][] = [];
  for (const store of [1, 2, 3])
    for (const dept of [1, 2])
      for (let i = 0; i < 110; i++) rows.push([String(store), String(dept), addWeeks('2010-02-05', i), (900 * store + 100 * dept + 200 * Math.sin(i / 8)).toFixed(2), 'FALSE']);
  await importRecords(db, 'train', 'test', [rows]);
}

/** A fake platform API on 127.0.0.1 recording calls; `route` answers. */
async function fakeApi(route: (path: string, body: Buffer, headers: Record<string, string>) => { status: number; headers?: Record<string, string>; body: unknown }) {
  const calls: { path: string; body: Buffer; headers: Record<string, string>; at: number }[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const call = { path: req.url ?? '', body: Buffer.concat(chunks), headers: req.headers as Record<string, string>, at: Date.now() };
    calls.push(call);
    const r = route(call.path, call.body, call.headers);
    res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers }).end(typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe('schedules', () => {
  it('parses "every monday 08:00" and computes runs in the time zone, across DST', () => {
    expect(parseEvery('every monday 08:00')).toEqual({ weekday: 1, time: '08:00' });
    expect(parseEvery('fri 5pm')).toEqual({ weekday: 5, time: '17:00' });
    expect(() => parseEvery('every someday')).toThrow(/weekday/);
    const s = { weekday: 1, time: '08:00', timezone: 'America/Chicago' };
    expect(nextRun(s, new Date('2026-11-23T13:59:00Z')).toISOString()).toBe('2026-11-23T14:00:00.000Z'); // CST, UTC-6
    expect(nextRun(s, new Date('2026-11-23T14:00:00Z')).toISOString()).toBe('2026-11-30T14:00:00.000Z');
    expect(nextRun(s, new Date('2026-07-01T00:00:00Z')).toISOString()).toBe('2026-07-06T13:00:00.000Z'); // CDT, UTC-5
    expect(zonedTimeToUtc('2026-03-08', '03:00', 'America/Chicago').toISOString()).toBe('2026-03-08T08:00:00.000Z');
  });
});

describe('the secret key', () => {
  it('is never invented for Postgres or in-memory databases; the embedded mode keeps one in its data dir', () => {
    const quiet = createLogger('silent');
    expect(resolveSecretKey(loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/db' }), quiet)).toBeUndefined();
    expect(resolveSecretKey(loadConfig({ STORECAST_DATA_DIR: 'memory://' }), quiet)).toBeUndefined();
    expect(resolveSecretKey(loadConfig({ STORECAST_SECRET_KEY: KEY_HEX, DATABASE_URL: 'postgres://x@127.0.0.1/db' }))).toEqual(Buffer.from(KEY_HEX, 'hex'));
    const dir = mkdtempSync(join(tmpdir(), 'storecast-key-'));
    try {
      const config = loadConfig({ STORECAST_DATA_DIR: dir });
      const key = resolveSecretKey(config, quiet)!;
      expect(key).toHaveLength(32);
      expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
      expect(resolveSecretKey(config, quiet)).toEqual(key);
      const sealed = encryptSecret(key, 'https://hooks.slack.com/services/T/B/X', 'sub_1');
      expect(decryptSecret(key, sealed, 'sub_1')).toBe('https://hooks.slack.com/services/T/B/X');
      expect(() => decryptSecret(key, sealed, 'sub_2')).toThrow();
      expect(() => decryptSecret(Buffer.alloc(32), sealed, 'sub_1')).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('subscriptions API and chat commands', () => {
  let t: TestDatabase;
  let admin: string;
  let query: string;
  let ingest: string;

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    await seed(t.db);
    admin = (await createToken(t.db, { name: 'ops', scopes: ['admin'] })).token;
    query = (await createToken(t.db, { name: 'bi', scopes: ['query'] })).token;
    ingest = (await createToken(t.db, { name: 'pos', scopes: ['ingest'] })).token;
  });
  afterAll(async () => t?.cleanup());
  beforeEach(async () => t.db.exec('DELETE FROM webhook_deliveries; DELETE FROM webhook_subscriptions;'));

  const api = (env: Record<string, string> = { STORECAST_SECRET_KEY: KEY_HEX }) =>
    createApp(createServices({ config: loadConfig({ STORECAST_DATA_DIR: 'memory://', ...env }), db: t.db, logger: createLogger('silent'), forecaster: new SeasonalNaiveForecaster() })).app;
  const call = (app: ReturnType<typeof api>, method: string, path: string, token?: string, body?: unknown) =>
    app.request(`/api/v1${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('creates, lists and deletes with the right scopes; the URL is never echoed', async () => {
    const app = api();
    const body = { store: 1, url: 'https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX', every: 'monday 08:00', tz: 'America/Chicago' };
    expect((await call(app, 'POST', '/subscriptions', undefined, body)).status).toBe(401);
    expect((await call(app, 'POST', '/subscriptions', query, body)).status).toBe(403);
    expect((await call(app, 'POST', '/subscriptions', ingest, body)).status).toBe(403);
    const res = await call(app, 'POST', '/subscriptions', admin, body);
    expect(res.status).toBe(201);
    const text = await res.text();
    expect(text).not.toContain('SECRET');
    const created = JSON.parse(text);
    expect(created).toMatchObject({
      id: expect.stringMatching(/^sub_/),
      scope: { kind: 'store', store: 1 },
      target: { kind: 'slack-webhook', hint: 'hooks.slack.com/…XXXX' },
      schedule: { weekday: 1, time: '08:00', timezone: 'America/Chicago' },
    });
    expect(created.signingSecret).toBeUndefined();
    expect(new Date(created.nextRunAt).getUTCHours()).toBeGreaterThanOrEqual(13);

    const generic = await (await call(app, 'POST', '/subscriptions', admin, { region: 'west', url: 'https://example.com/storecast', weekday: 'fri', time: '5pm' })).json();
    expect(generic).toMatchObject({ target: { kind: 'generic' }, schedule: { weekday: 5, time: '17:00', timezone: 'UTC' }, signingSecret: expect.stringMatching(/^whsec_/) });

    expect((await call(app, 'GET', '/subscriptions', ingest)).status).toBe(403);
    const list = await (await call(app, 'GET', '/subscriptions', query)).json();
    expect(list.subscriptions.map((s: { id: string }) => s.id)).toEqual([created.id, generic.id]);
    expect(JSON.stringify(list)).not.toMatch(/SECRET|whsec_/);

    expect((await call(app, 'DELETE', `/subscriptions/${created.id}`, query)).status).toBe(403);
    expect((await call(app, 'DELETE', `/subscriptions/${created.id}`, admin)).status).toBe(204);
    expect((await call(app, 'DELETE', `/subscriptions/${created.id}`, admin)).status).toBe(404);
    expect((await (await call(app, 'GET', '/subscriptions', admin)).json()).subscriptions).toHaveLength(1);
  });

  it('GET /subscriptions lists only subscriptions on data the token may see (restricted), as GET /alerts does', async () => {
    const app = api({ STORECAST_SECRET_KEY: KEY_HEX, STORECAST_ACCESS: 'restricted' });
    // The admin token's grants decide what it may subscribe (its scope says which routes it may call).
    await addGrant(t.db, { principal: `token:${admin.split('_')[1]}`, role: 'viewer', scope: { kind: 'chain' } });
    const ids: Record<string, string> = {};
    for (const [name, scope] of [['store1', { store: 1 }], ['store3', { store: 3 }], ['west', { region: 'West' }], ['chain', { chain: true }]] as const) {
      const res = await call(app, 'POST', '/subscriptions', admin, { ...scope, url: `https://example.com/hook/${name}` });
      expect(res.status, await res.clone().text()).toBe(201);
      ids[name] = (await res.json()).id;
    }
    const granted = async (name: string, scope: { kind: 'store'; store: number } | { kind: 'region'; region: string }) => {
      const made = await createToken(t.db, { name, scopes: ['query'] });
      await addGrant(t.db, { principal: `token:${made.info.id}`, role: 'viewer', scope });
      return made.token;
    };
    const listed = async (token: string) => ((await (await call(app, 'GET', '/subscriptions', token)).json()).subscriptions as { id: string }[]).map((s) => s.id).sort();
    expect(await listed(await granted('bi-store1', { kind: 'store', store: 1 }))).toEqual([ids.store1]);
    expect(await listed(await granted('bi-west', { kind: 'region', region: 'West' }))).toEqual([ids.store1, ids.west].sort());
    expect(await listed(query)).toEqual([]);
    // The same through the chat command run by a token (a manager of store 1 may list, and sees its own).
    const manager = await createToken(t.db, { name: 'ops-store1', scopes: ['query'] });
    await addGrant(t.db, { principal: `token:${manager.info.id}`, role: 'manager', scope: { kind: 'store', store: 1 } });
    const res = await call(app, 'POST', '/commands', manager.token, { command: '/subscriptions' });
    expect(res.status).toBe(200);
    const reply = ((await res.json()) as { reply: { data: { subscriptions: { id: string }[] } } }).reply;
    expect(reply.data.subscriptions.map((s) => s.id)).toEqual([ids.store1]);
    // ...and may remove only those: another store's is unknown to it, named nowhere in the answer.
    const other = await call(app, 'POST', '/commands', manager.token, { command: `/unsubscribe id ${ids.store3}` });
    const refusal = await other.text();
    expect(other.status, refusal).toBe(400);
    expect(refusal.replaceAll(`No subscription ${ids.store3!}`, '')).not.toContain(ids.store3!);
    expect((await listSubscriptions(t.db)).map((s) => s.id)).toContain(ids.store3);
    expect((await call(app, 'POST', '/commands', manager.token, { command: `/unsubscribe id ${ids.store1}` })).status).toBe(200);
  });

  it('explains bad requests', async () => {
    const app = api();
    const bad = async (body: unknown, pattern: RegExp) => {
      const res = await call(app, 'POST', '/subscriptions', admin, body);
      expect(res.status).toBe(400);
      const json = await res.json();
      expect(json.error.message).toMatch(pattern);
      expect(JSON.stringify(json)).not.toContain('secret-path');
    };
    await bad({ url: 'https://x.example/secret-path' }, /exactly one of store, region or chain/);
    await bad({ store: 1, region: 'West', url: 'https://x.example/secret-path' }, /exactly one/);
    await bad({ store: 1, url: 'http://x.example/secret-path' }, /https/);
    await bad({ store: 1, url: 'not a url secret-path' }, /not a valid URL/);
    await bad({ store: 99, url: 'https://x.example/secret-path' }, /Store 99 has no sales/);
    await bad({ region: 'North', url: 'https://x.example/secret-path' }, /Regions: East, West/);
    await bad({ chain: true, url: 'https://x.example/secret-path', tz: 'Mars/Olympus' }, /not a time zone/);
    await bad({ chain: true, url: 'https://x.example/secret-path', every: 'someday' }, /weekday/);
  });

  it('refuses URL subscriptions without STORECAST_SECRET_KEY (no key invented for shared or in-memory databases)', async () => {
    const res = await call(api({}), 'POST', '/subscriptions', admin, { chain: true, url: 'https://example.com/hook' });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/STORECAST_SECRET_KEY/);
    expect(await t.db.query('SELECT * FROM webhook_subscriptions')).toHaveLength(0);
  });

  const slackAsker: Asker = { platform: 'slack', workspace: 'T1', channel: 'C123', user: 'U1', roles: [] };

  it('/subscribe, /subscriptions and /unsubscribe from a channel', async () => {
    const services = createServices({
      config: loadConfig({ STORECAST_DATA_DIR: 'memory://' }),
      db: t.db,
      logger: createLogger('silent'),
      forecaster: new SeasonalNaiveForecaster(),
      registry: createRegistry(),
    });
    const run = (text: string, asker: Asker = slackAsker) => {
      const [name, ...rest] = text.replace(/^\//, '').split(' ');
      return services.run({ name: name!, text: rest.join(' ') }, asker);
    };
    const ok = await run('/subscribe weekly-summary store 5 every monday at 08:00 tz America/Chicago');
    expect(ok.kind).toBe('user-error'); // store 5 has no data here
    expect(ok.reply.summary).toMatch(/Store 5 has no sales data/);

    const sub = await run('/subscribe weekly-summary store 2 every monday at 08:00 tz America/Chicago');
    expect(sub.kind).toBe('ok');
    expect(sub.reply.title).toBe('Subscribed: weekly summary of Store 2');
    expect(sub.reply.facts.find((f) => f.label === 'Schedule')?.value).toBe('every Monday 08:00 America/Chicago');
    const id = (sub.reply.data.subscription as { id: string }).id;

    const dup = await run('/subscribe store 2');
    expect(dup.kind).toBe('user-error');
    expect(dup.reply.summary).toMatch(/already gets/);

    const region = await run('/subscribe region West every friday');
    expect(region.kind).toBe('ok');
    const chain = await run('/subscribe chain at 7am', { ...slackAsker, channel: 'C999' });
    expect(chain.kind).toBe('ok');

    const list = await run('/subscriptions');
    expect(list.reply.table?.rows.map((r) => r[1])).toEqual(['Store 2', 'West region']);

    const badTime = await run('/subscribe store 1 at 25:00');
    expect(badTime.reply.summary).toMatch(/not a time/);
    const notChannel = await run('/subscribe store 1', { platform: 'cli', roles: [] });
    expect(notChannel.reply.summary).toMatch(/Slack or Discord channel/);

    const unsub = await run('/unsubscribe weekly-summary store 2');
    expect(unsub.kind).toBe('ok');
    expect(unsub.reply.data.removed).toEqual([id]);
    expect((await run('/unsubscribe store 2')).reply.summary).toMatch(/No weekly summary of Store 2 in this channel.*West region/);
    // Another channel's subscription cannot be removed from here.
    const chainId = (chain.reply.data.subscription as { id: string }).id;
    expect((await run(`/unsubscribe id ${chainId}`)).kind).toBe('user-error');
    expect((await run(`/unsubscribe id ${chainId}`, { ...slackAsker, channel: 'C999' })).kind).toBe('ok');
  });

  it('delivers channel subscriptions through the bot: Discord (attachment) and Slack (blocks + uploaded chart, 429 honoured)', async () => {
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    const discord = await fakeApi(() => ({ status: 200, body: { id: 'M1' } }));
    let slackLimited = true;
    const slack = await fakeApi((path) => {
      if (path === '/api/chat.postMessage' && slackLimited) {
        slackLimited = false;
        return { status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } };
      }
      if (path === '/api/chat.postMessage') return { status: 200, body: { ok: true, ts: '1700000000.000100', channel: 'C123' } };
      if (path === '/api/files.getUploadURLExternal') return { status: 200, body: { ok: true, upload_url: `${slack.url}/upload/F1`, file_id: 'F1' } };
      if (path.startsWith('/upload/')) return { status: 200, body: 'OK' };
      if (path === '/api/files.completeUploadExternal') return { status: 200, body: { ok: true, files: [{ id: 'F1' }] } };
      return { status: 404, body: { ok: false, error: 'unknown_method' } };
    });
    try {
      const config = loadConfig({
        STORECAST_DATA_DIR: 'memory://',
        DISCORD_BOT_TOKEN: 'discord-bot-token',
        DISCORD_API_URL: `${discord.url}/api/v10`,
        SLACK_BOT_TOKEN: 'xoxb-test',
        SLACK_API_URL: `${slack.url}/api/`,
      });
      const services = createServices({ config, db: t.db, logger: createLogger('silent'), forecaster: new SeasonalNaiveForecaster(), registry: createRegistry() });
      const past = new Date(Date.now() - 8 * DAY);
      const dAsker: Asker = { platform: 'discord', workspace: 'G1', channel: '555', user: 'u', roles: [] };
      // Restricted (a chat adapter is configured): each channel's audience holds what it gets.
      await bindChannel(t.db, { platform: 'discord', workspace: 'G1', channel: '555', scope: { kind: 'store', store: 1 } });
      await bindChannel(t.db, { platform: 'slack', workspace: 'T1', channel: 'C123', scope: { kind: 'region', region: 'West' } });
      // Created "8 days ago" so the first run is already due.
      await createSubscription(t.db, undefined, { delivery: OPERATOR_DELIVERY, scope: { kind: 'store', store: 1 }, target: { kind: 'channel', platform: 'discord', workspace: dAsker.workspace, channel: '555' }, schedule: { weekday: 2, time: '09:00', timezone: 'Europe/Berlin' }, now: past });
      await createSubscription(t.db, undefined, { delivery: OPERATOR_DELIVERY, scope: { kind: 'region', region: 'West' }, target: { kind: 'channel', platform: 'slack', workspace: 'T1', channel: 'C123' }, schedule: { weekday: 2, time: '09:00', timezone: 'UTC' }, now: past });

      const scheduler = createScheduler({ ...services, renderChart: async () => png }, { pollMs: 25, backoffBaseMs: 50 });
      scheduler.start();
      const deadline = Date.now() + 15_000;
      let rows: { status: string; attempts: number; last_status: number | null }[] = [];
      while (Date.now() < deadline) {
        rows = await t.db.query('SELECT status, attempts, last_status FROM webhook_deliveries ORDER BY attempts');
        if (rows.length === 2 && rows.every((r) => r.status === 'succeeded')) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await scheduler.stop();
      expect(rows).toEqual([
        { status: 'succeeded', attempts: 1, last_status: 200 },
        { status: 'succeeded', attempts: 2, last_status: 200 },
      ]);

      expect(discord.calls).toHaveLength(1);
      const d = discord.calls[0]!;
      expect(d.path).toBe('/api/v10/channels/555/messages');
      expect(d.headers.authorization).toBe('Bot discord-bot-token');
      expect(d.headers['user-agent']).toMatch(/^DiscordBot \(https?:\/\/[^,]+, [\d.]+\)/);
      const form = await new Request('http://x/', { method: 'POST', headers: { 'content-type': d.headers['content-type']! }, body: new Uint8Array(d.body) }).formData();
      expect(JSON.parse(String(form.get('payload_json'))).embeds[0].title).toMatch(/^Store 1: weekly summary/);
      expect(Buffer.from(await (form.get('files[0]') as File).arrayBuffer())).toEqual(png);

      const posts = slack.calls.filter((c) => c.path === '/api/chat.postMessage');
      expect(posts).toHaveLength(2); // 429, then the post after Retry-After
      expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(950);
      const body = new URLSearchParams(posts[1]!.body.toString());
      expect(body.get('channel')).toBe('C123');
      expect(JSON.parse(body.get('blocks')!)[0].text.text).toMatch(/^West region: weekly summary/);
      expect(slack.calls.map((c) => c.path)).toContain('/upload/F1');
      expect(slack.calls.map((c) => c.path)).toContain('/api/files.completeUploadExternal');

      // The delivery log over the API (admin only).
      expect((await call(api(), 'GET', '/deliveries', query)).status).toBe(403);
      const log = await (await call(api(), 'GET', '/deliveries?status=succeeded', admin)).json();
      expect(log.deliveries.map((x: { target: string }) => x.target).sort()).toEqual(['discord-channel discord channel 555', 'slack-channel slack channel C123']);
    } finally {
      await discord.close();
      await slack.close();
    }
  });
});
