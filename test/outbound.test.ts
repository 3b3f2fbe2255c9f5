import { randomBytes } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { LookupAddress } from 'node:dns';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import type { Database } from '../src/db/client.ts';
import { importRecords } from '../src/data/import.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { SeasonalNaiveForecaster } from '../src/forecast/seasonal-naive.ts';
import { createLogger } from '../src/logger.ts';
import { createOutbound, type Resolver } from '../src/net/outbound.ts';
import { createApp } from '../src/server/app.ts';
import { createServices } from '../src/services.ts';
import { createScheduler, createSubscription } from '../src/delivery/index.ts';
import { listen } from './fakes/serve.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

// SSRF through webhook targets (issue #9): what a token holder may make the server call.

const KEY_HEX = randomBytes(32).toString('hex');
const PUBLIC_V4 = '93.184.215.14';
const DAY = 86_400_000;

async function seed(db: Database): Promise<void> {
  await db.exec("INSERT INTO stores (store_id, type, size, region) VALUES (1, 'A', 150000, 'West')");
  const rows: string[][] = [];
  for (const dept of [1, 2]) for (let i = 0; i < 110; i++) rows.push(['1', String(dept), addWeeks('2010-02-05', i), (1000 + 100 * dept + 200 * Math.sin(i / 8)).toFixed(2), 'FALSE']);
  await importRecords(db, 'train', 'test', [rows]);
}

/** DNS answers by name, as a test's resolver; unknown names do not resolve (the sandbox is offline anyway). */
function fakeDns(answers: Record<string, string[] | (() => string[])>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (host: string): Promise<LookupAddress[]> => {
    calls.push(host);
    const entry = answers[host];
    const list = typeof entry === 'function' ? entry() : entry;
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

/** A webhook receiver on 127.0.0.1 that records requests; `answer` decides each response. */
async function receiver(answer: (res: ServerResponse, path: string) => void = (res) => void res.writeHead(200).end('ok')) {
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      paths.push(req.url ?? '');
      answer(res, req.url ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { port, paths, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

describe.each(DB_KINDS)('outbound requests to webhook targets (%s)', (kind) => {
  let t: TestDatabase;
  let admin: string;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await seed(t.db);
    admin = (await createToken(t.db, { name: 'ops', scopes: ['admin'] })).token;
  });
  afterAll(async () => t?.cleanup());
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
    await t.db.exec('DELETE FROM webhook_deliveries; DELETE FROM webhook_subscriptions;');
  });

  /** The server's composed app on a real socket, and a scheduler over the same services. */
  async function start(env: Record<string, string> = {}, resolve?: Resolver) {
    const config = loadConfig({ STORECAST_DATA_DIR: 'memory://', LOG_LEVEL: 'silent', STORECAST_SECRET_KEY: KEY_HEX, ...env });
    const services = createServices({
      config,
      db: t.db,
      logger: createLogger('silent'),
      forecaster: new SeasonalNaiveForecaster(),
      ...(resolve ? { outbound: createOutbound({ allow: config.outboundAllow, resolve }) } : {}),
    });
    // The server's own composition (createApp mounts the webhook API as `storecast serve` does).
    const http = await listen(createApp(services).app);
    const scheduler = createScheduler({ ...services, renderChart: async () => Buffer.from('png') }, { pollMs: 25, timeoutMs: 5_000 });
    cleanups.push(async () => {
      await scheduler.stop();
      await http.close();
      await services.outbound.close();
    });
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${http.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const subscribe = (url: string) => api('POST', '/subscriptions', { store: 1, url, every: 'monday 08:00' });
    return { services, scheduler, api, subscribe };
  }

  /** Makes every subscription due now (as if created 8 days ago). */
  const makeDue = () => t.db.query('UPDATE webhook_subscriptions SET next_run_at = $1', [new Date(Date.now() - DAY).toISOString()]);
  const deliveries = (db: Database) => db.query<{ status: string; last_status: number | null; last_error: string | null }>('SELECT status, last_status, last_error FROM webhook_deliveries');

  const dns = {
    'hooks.example.test': [PUBLIC_V4],
    'v6.example.test': ['2606:4700:4700::1111'],
    'mixed.example.test': ['10.0.0.7', PUBLIC_V4],
    'private.example.test': ['10.1.2.3'],
    'cgnat.example.test': ['100.100.100.200'],
    'mapped.example.test': ['::ffff:7f00:1'],
    'nat64.example.test': ['64:ff9b::a9fe:a9fe'],
    'ula.example.test': ['fd00::1'],
    localhost: ['127.0.0.1', '::1'],
  };

  it.each([
    ['https://169.254.169.254/latest/meta-data/iam/secret-path', 'linkLocal'],
    ['https://10.0.0.5:8443/secret-path', 'private'],
    ['https://192.168.1.1/secret-path', 'private'],
    ['https://172.20.0.1/secret-path', 'private'],
    ['https://100.64.0.1/secret-path', 'carrierGradeNat'],
    ['http://127.0.0.1:5432/secret-path', 'loopback'],
    ['https://2130706433/secret-path', 'loopback'], // 127.0.0.1 written as a number
    ['https://0.0.0.0/secret-path', 'unspecified'],
    ['https://224.0.0.251/secret-path', 'multicast'],
    ['https://240.0.0.1/secret-path', 'reserved'],
    ['https://[::1]/secret-path', 'loopback'],
    ['https://[::]/secret-path', 'unspecified'],
    ['https://[::ffff:7f00:1]/secret-path', 'ipv4Mapped of loopback'],
    ['https://[::ffff:127.0.0.1]/secret-path', 'ipv4Mapped of loopback'],
    ['https://[::ffff:169.254.169.254]/secret-path', 'ipv4Mapped of linkLocal'],
    ['https://[::127.0.0.1]/secret-path', 'ipv4Compatible of loopback'],
    ['https://[64:ff9b::10.0.0.1]/secret-path', 'rfc6052 of private'],
    ['https://[2002:c0a8:101::1]/secret-path', '6to4 of private'],
    ['https://[fc00::1]/secret-path', 'uniqueLocal'],
    ['https://[fd12:3456::1]/secret-path', 'uniqueLocal'],
    ['https://[fe80::1]/secret-path', 'linkLocal'],
    ['https://[ff02::1]/secret-path', 'multicast'],
    ['https://metadata.google.internal/computeMetadata/v1/secret-path', 'cloud metadata host'],
    ['https://Metadata.Google.Internal./computeMetadata/secret-path', 'cloud metadata host'],
    ['https://metadata/secret-path', 'cloud metadata host'],
    ['https://instance-data/latest/secret-path', 'cloud metadata host'],
    ['https://private.example.test/secret-path', 'private'],
    ['https://cgnat.example.test/secret-path', 'carrierGradeNat'],
    ['https://mapped.example.test/secret-path', 'ipv4Mapped of loopback'],
    ['https://nat64.example.test/secret-path', 'rfc6052 of linkLocal'],
    ['https://ula.example.test/secret-path', 'uniqueLocal'],
    ['http://localhost:8080/secret-path', 'loopback'],
  ])('refuses %s at create with a 400 naming the setting', async (url, reason) => {
    const { subscribe } = await start({}, fakeDns(dns));
    const res = await subscribe(url);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('internal_address');
    expect(error.message).toContain(`internal address (${reason})`);
    expect(error.message).toContain('STORECAST_OUTBOUND_ALLOW');
    expect(error.message).not.toContain('secret-path');
    expect(await t.db.query('SELECT id FROM webhook_subscriptions')).toHaveLength(0);
  });

  it('accepts public targets, names with some public address, and names that do not resolve yet', async () => {
    const { subscribe } = await start({}, fakeDns(dns));
    for (const url of ['https://hooks.example.test/h', 'https://v6.example.test/h', 'https://mixed.example.test/h', 'https://[2606:4700::1111]/h', 'https://[64:ff9b::808:808]/h', 'https://not-yet.example.test/h']) {
      expect({ url, status: (await subscribe(url)).status }).toEqual({ url, status: 201 });
    }
  });

  it('refuses at send time a name that resolved to a public address at create and to loopback later (DNS rebinding)', async () => {
    const target = await receiver();
    cleanups.push(target.close);
    let answer = PUBLIC_V4;
    const resolve = fakeDns({ localhost: () => [answer] });
    const { subscribe, scheduler } = await start({}, resolve);
    expect((await subscribe(`http://localhost:${target.port}/hook/s3cr3t`)).status).toBe(201);
    answer = '127.0.0.1';
    await makeDue();
    expect(await scheduler.tick()).toBe(1);
    expect(target.paths).toEqual([]);
    expect(await deliveries(t.db)).toEqual([{ status: 'retry', last_status: null, last_error: 'refused: internal address (loopback)' }]);
    // One lookup at create, one for the connection: the socket connects to the address that was checked.
    expect(resolve.calls).toEqual(['localhost', 'localhost']);
  });

  it('refuses at send time a literal internal address stored before the check existed', async () => {
    const target = await receiver();
    cleanups.push(target.close);
    const { scheduler } = await start();
    const input = { scope: { kind: 'store', store: 1 }, target: { kind: 'url', url: `http://127.0.0.1:${target.port}/hook` }, schedule: { weekday: 1, time: '08:00', timezone: 'UTC' }, delivery: OPERATOR_DELIVERY } as const;
    await createSubscription(t.db, Buffer.from(KEY_HEX, 'hex'), input, createOutbound({ allow: ['127.0.0.0/8'] }));
    await makeDue();
    await scheduler.tick();
    expect(target.paths).toEqual([]);
    expect((await deliveries(t.db))[0]).toMatchObject({ last_error: 'refused: internal address (loopback)' });
  });

  it('STORECAST_OUTBOUND_ALLOW lets an internal target through, by network or by host name', async () => {
    const target = await receiver();
    cleanups.push(target.close);
    const url = `http://127.0.0.1:${target.port}/hook`;
    expect((await (await start()).subscribe(url)).status).toBe(400);
    const { subscribe, scheduler } = await start({ STORECAST_OUTBOUND_ALLOW: '10.0.0.0/8, 127.0.0.1' });
    expect((await subscribe(url)).status).toBe(201);
    expect((await subscribe(`http://localhost:${target.port}/by-name`)).status).toBe(201); // localhost resolves to 127.0.0.1
    await makeDue();
    expect(await scheduler.tick()).toBe(2);
    expect(target.paths.sort()).toEqual(['/by-name', '/hook']);
    expect((await deliveries(t.db)).map((d) => d.status)).toEqual(['succeeded', 'succeeded']);

    const byName = await start({ STORECAST_OUTBOUND_ALLOW: 'hooks.internal' }, fakeDns({ 'hooks.internal': ['127.0.0.1'] }));
    expect((await byName.subscribe(`http://127.0.0.1:${target.port}/x`)).status).toBe(400); // the address itself is not allowed
    const sub = await createSubscription(
      t.db,
      Buffer.from(KEY_HEX, 'hex'),
      { delivery: OPERATOR_DELIVERY, scope: { kind: 'store', store: 1 }, target: { kind: 'url', url: `https://hooks.internal:${target.port}/x` }, schedule: { weekday: 1, time: '08:00', timezone: 'UTC' } },
      byName.services.outbound,
    );
    expect(sub.subscription.target.hint).toMatch(/^hooks\.internal:/);
  });

  it('keeps the status and a short reason in /deliveries, never the body; follows no redirect', async () => {
    const target = await receiver((res, path) => {
      if (path.startsWith('/redirect')) res.writeHead(302, { location: '/followed' }).end();
      else res.writeHead(500, { 'content-type': 'text/plain' }).end('db_password=hunter2 at http://10.0.0.9/admin');
    });
    cleanups.push(target.close);
    const { subscribe, scheduler, api } = await start({ STORECAST_OUTBOUND_ALLOW: '127.0.0.1' });
    expect((await subscribe(`http://127.0.0.1:${target.port}/fails`)).status).toBe(201);
    expect((await subscribe(`http://127.0.0.1:${target.port}/redirect`)).status).toBe(201);
    const closed = await receiver();
    await closed.close(); // a port nothing listens on
    expect((await subscribe(`http://127.0.0.1:${closed.port}/gone`)).status).toBe(201);
    await makeDue();
    expect(await scheduler.tick()).toBe(3);
    expect(target.paths.sort()).toEqual(['/fails', '/redirect']);

    const log = await api('GET', '/deliveries');
    const text = await log.text();
    expect(text).not.toMatch(/hunter2|db_password|10\.0\.0\.9/);
    const rows = (JSON.parse(text) as { deliveries: { lastStatus: number | null; lastError: string }[] }).deliveries;
    expect(rows.map((d) => `${d.lastStatus} ${d.lastError}`).sort()).toEqual(['302 HTTP 302', '500 HTTP 500', 'null connection refused']);
  });

  it('does not apply to the operator-configured Slack and Discord API URLs', async () => {
    const discord = await receiver((res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"M1"}'));
    cleanups.push(discord.close);
    const { scheduler } = await start({ DISCORD_BOT_TOKEN: 'bot', DISCORD_API_URL: `http://127.0.0.1:${discord.port}/api/v10` });
    const input = { scope: { kind: 'store', store: 1 }, target: { kind: 'channel', platform: 'discord', channel: '555' }, schedule: { weekday: 1, time: '08:00', timezone: 'UTC' }, delivery: OPERATOR_DELIVERY } as const;
    await createSubscription(t.db, undefined, input);
    await makeDue();
    await scheduler.tick();
    expect(discord.paths).toEqual(['/api/v10/channels/555/messages']);
    expect((await deliveries(t.db))[0]).toMatchObject({ status: 'succeeded' });
  });
});

describe('STORECAST_OUTBOUND_ALLOW', () => {
  it('takes addresses, networks and host names, and names a bad entry', () => {
    expect(loadConfig({ STORECAST_OUTBOUND_ALLOW: ' 127.0.0.1, 10.0.0.0/8,fd00::/8 ,hooks.internal ' }).outboundAllow).toEqual(['127.0.0.1', '10.0.0.0/8', 'fd00::/8', 'hooks.internal']);
    expect(loadConfig({}).outboundAllow).toEqual([]);
    expect(() => loadConfig({ STORECAST_OUTBOUND_ALLOW: '10.0.0.0/33' })).toThrow(ConfigError);
    expect(() => loadConfig({ STORECAST_OUTBOUND_ALLOW: '127.0.0.1,http://x' })).toThrow(/STORECAST_OUTBOUND_ALLOW.*"http:\/\/x"/);
  });
});
