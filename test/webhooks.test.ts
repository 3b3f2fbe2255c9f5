import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureLogs } from './helpers/logs.ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatDeliveries } from '../src/cli/deliveries.ts';
import { loadConfig } from '../src/config.ts';
import { openPostgres, type Database } from '../src/db/client.ts';
import { importRecords } from '../src/data/import.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { SeasonalNaiveForecaster } from '../src/forecast/seasonal-naive.ts';
import { createOutbound } from '../src/net/outbound.ts';
import { createScheduler, createSubscription, deleteSubscription, listDeliveries, verifySignature, type Scheduler, type SchedulerOptions } from '../src/delivery/index.ts';
import { createApp } from '../src/server/app.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';
import { TEST_SECRET_KEY } from './helpers/keys.ts';
import { testServices } from './helpers/services.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';
import { deliveryPlatforms } from '../src/adapters/platforms.ts';

// ---------- fixtures ----------

const KEY = TEST_SECRET_KEY;
const FAKE_PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
const DAY = 86_400_000;
/** The receivers listen on 127.0.0.1, an internal address: these suites allow it explicitly. */
const LOCAL_ALLOW = '127.0.0.1';
const localOutbound = createOutbound({ allow: [LOCAL_ALLOW] });

/** Three stores (two in West), three departments, 110 weeks: enough for last-year and forecast numbers. */
async function seed(db: Database): Promise<void> {
  await db.exec("INSERT INTO stores (store_id, type, size, region) VALUES (1, 'A', 150000, 'West'), (2, 'B', 90000, 'West'), (3, 'A', 120000, 'East')");
  const rows: string[][] = [];
  for (const store of [1, 2, 3]) {
    for (const dept of [1, 2, 3]) {
      for (let i = 0; i < 110; i++) {
        const week = addWeeks('2010-02-05', i);
        const value = 1000 * store + 200 * dept + 300 * Math.sin((2 * Math.PI * i) / 52) + (i > 100 ? 50 * dept * store : 0);
        rows.push([String(store), String(dept), week, value.toFixed(2), 'FALSE']);
      }
    }
  }
  const report = await importRecords(db, 'train', 'test', [rows]);
  expect(report.rejectedCount).toBe(0);
}

interface Receipt {
  at: number;
  headers: Record<string, string>;
  body: string;
  status: number;
}

/** A webhook receiver on 127.0.0.1; `answer` decides each response (may delay or never answer). */
class Receiver {
  readonly receipts: Receipt[] = [];
  private server: Server;
  answer: (r: Receipt, res: ServerResponse) => void | Promise<void> = (_r, res) => {
    res.writeHead(200).end('ok');
  };
  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
  }
  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook/s3cr3t-path`;
  }
  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const receipt: Receipt = {
      at: Date.now(),
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
      body: Buffer.concat(chunks).toString('utf8'),
      status: 0,
    };
    this.receipts.push(receipt);
    const end = res.end.bind(res);
    res.end = ((...args: Parameters<typeof res.end>) => {
      receipt.status = res.statusCode;
      return end(...args);
    }) as typeof res.end;
    await this.answer(receipt, res);
  }
  /** Receipts answered 2xx, by delivery key. */
  successesByKey(): Map<string, number> {
    const m = new Map<string, number>();
    for (const r of this.receipts) if (r.status >= 200 && r.status < 300) m.set(r.headers['idempotency-key']!, (m.get(r.headers['idempotency-key']!) ?? 0) + 1);
    return m;
  }
  async close() {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

function deps(db: Database, logger = captureLogs().logger, env: Record<string, string> = {}) {
  const config = loadConfig({ STORECAST_SECRET_KEY: KEY.toString('hex'), STORECAST_OUTBOUND_ALLOW: LOCAL_ALLOW, ...env });
  return {
    config,
    platforms: deliveryPlatforms(config),
    db,
    logger,
    forecaster: new SeasonalNaiveForecaster(),
    renderChart: async () => FAKE_PNG,
  };
}

const FAST: SchedulerOptions = { pollMs: 25, backoffBaseMs: 50, backoffMaxMs: 2_000, timeoutMs: 5_000, key: KEY };

/** A subscription already due: created as if 8 days ago, so its first run has passed. */
async function dueSubscription(db: Database, url: string, extra: { format?: 'json' | 'slack' | 'discord'; store?: number } = {}) {
  const input = {
    scope: { kind: 'store', store: extra.store ?? 1 },
    target: { kind: 'url', url, format: extra.format },
    schedule: { weekday: 1, time: '08:00', timezone: 'America/Chicago' },
    now: new Date(Date.now() - 8 * DAY),
    delivery: OPERATOR_DELIVERY,
  } as const;
  return createSubscription(db, KEY, input, localOutbound);
}

async function until<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const deliveryRows = (db: Database) =>
  db.query<{ id: string; subscription_id: string; week: string; status: string; attempts: number; last_status: number | null; last_error: string | null }>(
    'SELECT id, subscription_id, week::text AS week, status, attempts, last_status, last_error FROM webhook_deliveries ORDER BY created_at, id',
  );

// ---------- tests ----------

describe.each(DB_KINDS)('weekly summary delivery (%s)', (kind) => {
  let t: TestDatabase;
  let receiver: Receiver;
  let url: string;
  const schedulers: Scheduler[] = [];

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await seed(t.db);
  });
  afterAll(async () => t?.cleanup());
  afterEach(async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.stop()));
    await receiver?.close();
    await t.db.exec('DELETE FROM webhook_deliveries; DELETE FROM webhook_subscriptions;');
  });
  const start = async () => {
    receiver = new Receiver();
    url = await receiver.listen();
  };

  it('posts a due subscription once, signed, with the numbers; not again until next week', async () => {
    await start();
    const { logger, lines: logged } = captureLogs();
    const logText = () => logged.map((l) => JSON.stringify(l)).join('\n');
    const { subscription, signingSecret } = await dueSubscription(t.db, url);
    expect(signingSecret).toMatch(/^whsec_/);
    expect(subscription.target).toEqual({ kind: 'generic', hint: expect.stringMatching(/^127\.0\.0\.1:\d+\/…path$/) });

    let clock = new Date();
    const s = createScheduler(deps(t.db, logger), { ...FAST, now: () => clock });
    expect(await s.tick()).toBe(1);
    expect(await s.tick()).toBe(0);
    expect(await s.tick()).toBe(0);
    expect(receiver.receipts).toHaveLength(1);

    const [r] = receiver.receipts;
    expect(r!.headers['content-type']).toBe('application/json');
    expect(verifySignature(signingSecret!, r!.body, r!.headers['x-storecast-signature']!)).toBe(true);
    expect(verifySignature(signingSecret!, r!.body.replace('"Store 1', '"Store 2'), r!.headers['x-storecast-signature']!)).toBe(false);
    expect(verifySignature('whsec_wrong', r!.body, r!.headers['x-storecast-signature']!)).toBe(false);
    const payload = JSON.parse(r!.body);
    const [row] = await deliveryRows(t.db);
    expect(row).toMatchObject({ status: 'succeeded', attempts: 1, last_status: 200 });
    expect(r!.headers['idempotency-key']).toBe(row!.id);
    expect(payload).toMatchObject({ type: 'weekly-summary', deliveryId: row!.id, subscriptionId: subscription.id, period: row!.week });
    expect(payload.data).toMatchObject({ scope: { kind: 'store', store: 1 }, week: addWeeks('2010-02-05', 109), model: 'seasonal-naive' });
    expect(payload.data.forecast).toHaveLength(4);
    for (const p of payload.data.forecast) expect(p.lower).toBeLessThanOrEqual(p.upper);
    expect(payload.data.lastYear).toBeGreaterThan(0);
    expect(typeof payload.data.changeVsLastYear).toBe('number');
    expect(typeof payload.data.forecastForWeek).toBe('number');
    // Departments are the movers of a store; the fixture's last weeks grow every department.
    expect(payload.data.movers.up.length).toBeGreaterThan(0);
    expect(payload.data.movers.up[0]).toMatchObject({ kind: 'dept', id: 3 });
    expect(payload.data.movers.down).toEqual([]);
    expect(payload.facts.map((f: { label: string }) => f.label)).toEqual(['Last week', 'vs last year', 'vs forecast', 'Biggest gains', 'Next 4 weeks']);

    // The period is the local date (America/Chicago) of a Monday run.
    expect(new Date(`${row!.week}T12:00:00Z`).getUTCDay()).toBe(1);

    // A week later the next period is delivered, exactly once.
    clock = new Date(clock.getTime() + 7 * DAY);
    expect(await s.tick()).toBe(1);
    expect(await s.tick()).toBe(0);
    const rows = await deliveryRows(t.db);
    expect(rows.map((x) => x.status)).toEqual(['succeeded', 'succeeded']);
    expect(new Set(rows.map((x) => x.week)).size).toBe(2);
    expect(receiver.receipts).toHaveLength(2);

    // The target URL is a secret: not stored in clear, never logged.
    const [stored] = await t.db.query<{ target_secret: string; signing_secret: string }>('SELECT target_secret, signing_secret FROM webhook_subscriptions');
    expect(stored!.target_secret).toMatch(/^v1:/);
    expect(stored!.target_secret).not.toContain('s3cr3t');
    expect(stored!.signing_secret).not.toContain(signingSecret!);
    expect(logText()).toContain('webhook delivered');
    expect(logText()).not.toContain('s3cr3t');
  });

  it('retries a 429 after Retry-After and records exactly one successful delivery', async () => {
    await start();
    let first = true;
    receiver.answer = (_r, res) => {
      if (first) {
        first = false;
        res.writeHead(429, { 'retry-after': '1' }).end('slow down');
      } else res.writeHead(200).end('ok');
    };
    await dueSubscription(t.db, url);
    const s = createScheduler(deps(t.db), FAST);
    schedulers.push(s);
    s.start();
    const row = await until(async () => (await deliveryRows(t.db)).find((r) => r.status === 'succeeded'));
    expect(row).toMatchObject({ attempts: 2, last_status: 200, last_error: null });
    expect(receiver.receipts.map((r) => r.status)).toEqual([429, 200]);
    // Retry-After was honoured (the loop polls every 25 ms: a plain backoff would retry at ~50 ms).
    expect(receiver.receipts[1]!.at - receiver.receipts[0]!.at).toBeGreaterThanOrEqual(950);
    expect([...receiver.successesByKey().values()]).toEqual([1]);
    expect(new Set(receiver.receipts.map((r) => r.headers['idempotency-key'])).size).toBe(1);
  });

  it('backs off on errors and marks a delivery dead after the last attempt', async () => {
    await start();
    receiver.answer = (_r, res) => void res.writeHead(503).end('down for maintenance');
    await dueSubscription(t.db, url);
    const s = createScheduler(deps(t.db), { ...FAST, maxAttempts: 3, backoffBaseMs: 100 });
    schedulers.push(s);
    s.start();
    const row = await until(async () => (await deliveryRows(t.db)).find((r) => r.status === 'dead'));
    // Status only: the target's answer is never read, stored or shown.
    expect(row).toMatchObject({ attempts: 3, last_status: 503, last_error: 'HTTP 503' });
    expect(receiver.receipts).toHaveLength(3);
    const gaps = receiver.receipts.slice(1).map((r, i) => r.at - receiver.receipts[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(45); // 100 ms * 2^0, jittered down to at most half
    expect(gaps[1]).toBeGreaterThanOrEqual(95); // 100 ms * 2^1, jittered
    const [listed] = await listDeliveries(t.db, { status: 'dead' });
    expect(listed).toMatchObject({ status: 'dead', attempts: 3, target: expect.stringMatching(/^generic 127\.0\.0\.1/) });
    // What `storecast deliveries` prints.
    const printed = formatDeliveries([listed!]);
    expect(printed).toMatch(/^id\s+subscription\s+week\s+status\s+attempts/);
    expect(printed).toMatch(new RegExp(`${listed!.id}.*dead\\s+3\\s+503.*HTTP 503`));
    expect(printed).not.toContain('maintenance');
    expect(printed).not.toContain('s3cr3t');
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.receipts).toHaveLength(3);
  });

  it('deleting a subscription stops its queued retries', async () => {
    await start();
    receiver.answer = (_r, res) => void res.writeHead(500).end('oops');
    const { subscription } = await dueSubscription(t.db, url);
    const s = createScheduler(deps(t.db), { ...FAST, backoffBaseMs: 60_000 });
    await s.tick();
    expect((await deliveryRows(t.db))[0]).toMatchObject({ status: 'retry', attempts: 1, last_status: 500 });
    await deleteSubscription(t.db, subscription.id);
    expect((await deliveryRows(t.db))[0]).toMatchObject({ status: 'dead', last_error: 'subscription deleted' });
    expect(await s.tick()).toBe(0);
    expect(receiver.receipts).toHaveLength(1);
  });

  it('a permanent client error (404: webhook deleted) is dead at once', async () => {
    await start();
    receiver.answer = (_r, res) => void res.writeHead(404).end('no_service');
    await dueSubscription(t.db, url);
    const s = createScheduler(deps(t.db), FAST);
    await s.tick();
    expect((await deliveryRows(t.db))[0]).toMatchObject({ status: 'dead', attempts: 1, last_status: 404 });
  });

  it('formats Slack incoming webhooks (chart linked from PUBLIC_URL) and Discord webhooks (chart attached)', async () => {
    await start();
    const slack = await dueSubscription(t.db, url.replace('/hook/', '/slack/'), { format: 'slack' });
    const discord = await dueSubscription(t.db, url.replace('/hook/', '/discord/'), { format: 'discord', store: 2 });
    expect(slack.subscription.target.kind).toBe('slack-webhook');
    expect(discord.subscription.target.kind).toBe('discord-webhook');
    expect(slack.signingSecret).toBeUndefined();
    const d = deps(t.db, undefined, { PUBLIC_URL: 'https://storecast.example.com' });
    const s = createScheduler(d, FAST);
    expect(await s.tick()).toBe(2);
    expect(receiver.receipts.every((r) => r.status === 200)).toBe(true);

    const slackReceipt = receiver.receipts.find((r) => r.headers['content-type'] === 'application/json')!;
    const message = JSON.parse(slackReceipt.body);
    expect(message.text).toMatch(/^Store 1: weekly summary/);
    const image = message.blocks.find((b: { type: string }) => b.type === 'image');
    expect(image.image_url).toMatch(/^https:\/\/storecast\.example\.com\/api\/v1\/charts\/[A-Za-z0-9_-]+\.png$/);
    // The composed server (any replica on this database) serves the chart at that address.
    const { app } = createApp(testServices(t.db));
    const png = await app.request(new URL(image.image_url).pathname);
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await png.arrayBuffer())).toEqual(FAKE_PNG);
    expect((await app.request('/api/v1/charts/AAAAAAAAAAAAAAAAAAAAAAAA.png')).status).toBe(404);

    const discordReceipt = receiver.receipts.find((r) => r.headers['content-type']?.startsWith('multipart/form-data'))!;
    const form = await new Request('http://x/', { method: 'POST', headers: { 'content-type': discordReceipt.headers['content-type']! }, body: discordReceipt.body }).formData();
    const payload = JSON.parse(String(form.get('payload_json')));
    expect(payload.embeds[0].title).toMatch(/^Store 2: weekly summary/);
    expect(payload.embeds[0].image.url).toBe('attachment://summary.png');
    expect(payload.attachments).toEqual([expect.objectContaining({ id: 0, filename: 'summary.png' })]);
    expect((form.get('files[0]') as File).name).toBe('summary.png');
  });
});

describe('several replicas on one Postgres', () => {
  let t: TestDatabase;
  const extra: Database[] = [];
  let receiver: Receiver;
  let child: ChildProcess | undefined;
  let dir: string | undefined;

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    await seed(t.db);
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
    await Promise.all(extra.map((d) => d.close()));
    await t?.cleanup();
  });
  afterEach(async () => {
    await receiver?.close();
    await t.db.exec('DELETE FROM webhook_deliveries; DELETE FROM webhook_subscriptions;');
  });

  it('two schedulers post exactly once per subscription-week', async () => {
    receiver = new Receiver();
    const url = await receiver.listen();
    receiver.answer = async (_r, res) => {
      await new Promise((r) => setTimeout(r, 30));
      res.writeHead(200).end('ok');
    };
    const subs = [];
    for (let i = 0; i < 6; i++) subs.push((await dueSubscription(t.db, `${url}/${i}`, { store: 1 + (i % 3) })).subscription.id);
    const a = await openPostgres(t.url!);
    const b = await openPostgres(t.url!);
    extra.push(a, b);
    const sa = createScheduler(deps(a), { ...FAST, batchSize: 2 });
    const sb = createScheduler(deps(b), { ...FAST, batchSize: 2 });
    // Both race on every step: planning the same due subscriptions and claiming the same rows.
    const byA: number[] = [];
    const byB: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [a1, b1, a2, b2] = await Promise.all([sa.tick(), sb.tick(), sa.tick(), sb.tick()]);
      byA.push(a1, a2);
      byB.push(b1, b2);
    }
    // Every delivery was claimed by exactly one of the eight racing ticks (which one varies).
    expect([...byA, ...byB].reduce((x, y) => x + y, 0)).toBe(6);
    sa.start();
    sb.start();
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all([sa.stop(), sb.stop()]);

    const rows = await deliveryRows(t.db);
    expect(rows).toHaveLength(6);
    expect(new Set(rows.map((r) => r.subscription_id))).toEqual(new Set(subs));
    expect(rows.every((r) => r.status === 'succeeded' && r.attempts === 1)).toBe(true);
    expect(receiver.receipts).toHaveLength(6);
    expect([...receiver.successesByKey().values()]).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('a server killed mid-delivery delivers after restart, without a duplicate', async () => {
    receiver = new Receiver();
    const url = await receiver.listen();
    let hang = true;
    receiver.answer = (_r, res) => {
      if (hang) return; // the first server dies while this request is open
      res.writeHead(200).end('ok');
    };
    await dueSubscription(t.db, url);

    // Server A: a separate process running the scheduler, killed with SIGKILL mid-request.
    dir = mkdtempSync(join(tmpdir(), 'storecast-webhooks-'));
    const src = (p: string) => JSON.stringify(fileURLToPath(new URL(`../src/${p}`, import.meta.url)));
    const script = join(dir, 'replica.mts');
    writeFileSync(
      script,
      `import { loadConfig } from ${src('config.ts')};
       import { openPostgres } from ${src('db/client.ts')};
       import { createLogger } from ${src('logger.ts')};
       import { SeasonalNaiveForecaster } from ${src('forecast/seasonal-naive.ts')};
       import { startScheduler } from ${src('delivery/index.ts')};
       import { deliveryPlatforms } from ${src('adapters/platforms.ts')};
       const db = await openPostgres(process.env.DB_URL!);
       const config = loadConfig({ STORECAST_SECRET_KEY: process.env.KEY!, STORECAST_OUTBOUND_ALLOW: '127.0.0.1' });
       await startScheduler({ config, platforms: deliveryPlatforms(config), db, logger: createLogger('silent'),
         forecaster: new SeasonalNaiveForecaster(), renderChart: async () => Buffer.from('png') }, { pollMs: 25, leaseMs: 1500 });
       process.stdout.write('started\\n');`,
    );
    child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, DB_URL: t.url!, KEY: KEY.toString('hex') }, stdio: ['ignore', 'pipe', 'inherit'] });
    await until(async () => receiver.receipts.length === 1, 30_000);
    const [inFlight] = await deliveryRows(t.db);
    expect(inFlight).toMatchObject({ status: 'in_progress', attempts: 1 });
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    child = undefined;

    // Server B starts; the receiver is healthy again. B takes the delivery over once A's lease expires.
    hang = false;
    const db = await openPostgres(t.url!);
    extra.push(db);
    const s = createScheduler(deps(db), { ...FAST, leaseMs: 1500 });
    s.start();
    const row = await until(async () => (await deliveryRows(t.db)).find((r) => r.status === 'succeeded'));
    await s.stop();
    expect(row).toMatchObject({ attempts: 2, last_status: 200 });
    expect(await deliveryRows(t.db)).toHaveLength(1);
    // Two requests on the wire (the first never answered), one delivery key, one success.
    expect(receiver.receipts).toHaveLength(2);
    expect(receiver.receipts[0]!.headers['idempotency-key']).toBe(row.id);
    expect(receiver.receipts[1]!.headers['idempotency-key']).toBe(row.id);
    expect([...receiver.successesByKey().entries()]).toEqual([[row.id, 1]]);
  });
});
