import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { loadConfig } from '../src/config.ts';
import { importRecords } from '../src/data/import.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { createApp } from '../src/server/app.ts';
import type { Services } from '../src/services.ts';
import { createSubscription, listSubscriptions } from '../src/delivery/index.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

/** Hostile requests against the composed app (every route the server mounts). */
describe.each(DB_KINDS)('the composed HTTP app under hostile requests (%s)', (kind) => {
  let t: TestDatabase;
  let services: Services;
  let app: ReturnType<typeof createApp>['app'];
  const commandCount = async (name: string) =>
    (await services.metrics.commandDuration.get()).values.filter((v) => v.metricName?.endsWith('_count') && v.labels.command === name).reduce((a, v) => a + v.value, 0);
  const post = (body: string, headers: Record<string, string>) => app.request('/api/v1/commands', { method: 'POST', headers, body });

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    const rows = [1, 2].flatMap((store) => Array.from({ length: 60 }, (_, i) => [String(store), '1', addWeeks('2010-02-05', i), String(1000 + 10 * i), 'FALSE']));
    await t.db.exec("INSERT INTO stores (store_id, type, size, region) VALUES (1, 'A', 150000, 'West'), (2, 'B', 90000, 'West')");
    const report = await importRecords(t.db, 'train', 'fixture', [rows]);
    expect(report.accepted).toBe(rows.length);
    services = testServices(t.db);
    app = createApp(services).app;
  });
  afterAll(() => t.cleanup());

  it('runs console commands only from JSON bodies (415 for form and text/plain), running nothing', async () => {
    const line = JSON.stringify({ command: '/sales store 1' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '']) {
      const res = await post(line, type ? { 'content-type': type } : {});
      expect(res.status, type).toBe(415);
      expect(await res.json()).toMatchObject({ error: { code: 'unsupported_media_type' } });
    }
    expect(await commandCount('sales')).toBe(0);
    expect((await post(line, { 'content-type': 'application/json' })).status).toBe(200);
    expect(await commandCount('sales')).toBe(1);
  });

  it('refuses commands started by another site (Origin, Sec-Fetch-Site)', async () => {
    const line = JSON.stringify({ command: '/sales store 1' });
    const json = { 'content-type': 'application/json' };
    const before = await commandCount('sales');
    const refused: Record<string, string>[] = [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'null' }];
    for (const headers of refused) {
      const res = await post(line, { ...json, ...headers });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: 'forbidden' } });
    }
    expect(await commandCount('sales')).toBe(before);
    expect((await post(line, { ...json, origin: 'http://localhost', 'sec-fetch-site': 'same-origin' })).status).toBe(200);
  });

  it('never manages subscriptions from the anonymous console', async () => {
    const { subscription } = await createSubscription(t.db, undefined, { delivery: OPERATOR_DELIVERY,
      scope: { kind: 'store', store: 1 },
      target: { kind: 'channel', platform: 'slack', workspace: 'T1', channel: 'C1' },
      schedule: { weekday: 1, time: '08:00', timezone: 'UTC' },
    });
    for (const command of [`/unsubscribe id ${subscription.id}`, '/subscriptions', '/subscribe store 1']) {
      const res = await post(JSON.stringify({ command }), { 'content-type': 'application/json' });
      expect(res.status, command).toBe(403);
      const body = (await res.json()) as { kind: string; error: { message: string }; reply: { summary: string } };
      expect(body.kind).toBe('denied');
      expect(body.error.message).toMatch(/needs a signed-in identity/);
      expect(JSON.stringify(body.reply)).not.toContain(subscription.id);
    }
    expect((await listSubscriptions(t.db)).map((s) => s.id)).toContain(subscription.id);
  });

  it('listens on loopback unless HOST says otherwise', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });

  it('protects /metrics with a token and keeps typed command names out of its labels', async () => {
    expect((await app.request('/metrics')).status).toBe(401);
    const query = await createToken(t.db, { name: 'q', scopes: ['query'] });
    expect((await app.request('/metrics', { headers: { authorization: `Bearer ${query.token}` } })).status).toBe(403);
    const { token } = await createToken(t.db, { name: 'prometheus', scopes: ['metrics'] });
    const scrape = async () => (await app.request('/metrics', { headers: { authorization: `Bearer ${token}` } })).text();
    // Label values, not the body size: process metrics (GC, pool) may appear between scrapes.
    const commandLabels = (text: string) => new Set([...text.matchAll(/command="([^"]*)"/g)].map((m) => m[1]));
    const before = commandLabels(await scrape());
    for (let i = 0; i < 30; i++) await post(JSON.stringify({ command: `/zz${i}qq${'x'.repeat(i)} store 1` }), { 'content-type': 'application/json' });
    const after = await scrape();
    expect(after).not.toMatch(/zz\d+qq/);
    expect(await commandCount('unknown')).toBe(30);
    expect([...commandLabels(after)].filter((label) => !before.has(label))).toEqual(before.has('unknown') ? [] : ['unknown']);
  });

  it('serves a console chart from any replica on the database, until it expires and is pruned', async () => {
    const res = await post(JSON.stringify({ command: '/sales store 1' }), { 'content-type': 'application/json' });
    const { image } = (await res.json()) as { image: string };
    expect(image).toMatch(/^\/api\/v1\/charts\/[A-Za-z0-9_-]{20,}\.png$/);
    // A second replica: its own services and app, the same database.
    const other = testServices(t.db);
    const png = await createApp(other).app.request(image);
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await png.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
    expect(await other.charts.prune(new Date(Date.now() + 2 * 24 * 3600_000))).toBeGreaterThanOrEqual(1);
    expect((await app.request(image)).status).toBe(404);
  });
});
