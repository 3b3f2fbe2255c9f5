import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngSize } from '../charts/index.ts';
import { loadDemoData } from '../src/data/demo.ts';
import { createApp, type AppState } from '../src/server/app.ts';
import { createToken } from '../src/auth/tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

describe('HTTP API and console (in-process)', () => {
  let t: TestDatabase;
  let app: ReturnType<typeof createApp>['app'];
  const state: AppState = { phase: 'starting' };

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    app = createApp(testServices(t.db), state).app;
  });
  afterAll(() => t.cleanup());

  it('is healthy at once and ready only with data', async () => {
    expect((await app.request('/healthz')).status).toBe(200);
    expect((await app.request('/readyz')).status).toBe(503);
    state.phase = 'ready';
    const empty = await app.request('/readyz');
    expect(empty.status).toBe(503);
    expect(await empty.json()).toMatchObject({ status: 'no-data' });
    await loadDemoData(t.db);
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', data: { stores: 45, lastWeek: '2012-10-26' } });
  });

  it('answers a command with the Reply and a chart URL that serves a PNG', async () => {
    const res = await app.request('/api/v1/commands', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: '/forecast store 5 week 12' }) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { kind: string; image: string; reply: { data: { forecast: unknown[] } }; csv: string };
    expect(body.kind).toBe('ok');
    expect(body.reply.data.forecast).toHaveLength(12);
    expect(body.csv.split('\r\n')[0]).toBe('week,forecast,lower_80,upper_80,same_week_last_year');
    const png = await app.request(body.image);
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(pngSize(new Uint8Array(await png.arrayBuffer())).width).toBeGreaterThanOrEqual(1200);
  });

  it('returns 400 with usage and suggestion for a user error', async () => {
    const res = await app.request('/api/v1/commands', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: '/forcast store 5' }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ kind: 'user-error', error: { suggestion: '/forecast store 5', usage: '/forecast store N [dept D] [horizon 1-52]' } });
  });

  it('explains a malformed request body, refuses an oversized one, 404s an unknown chart', async () => {
    const bad = await app.request('/api/v1/commands', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"nope":1}' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid', message: expect.stringMatching(/Send JSON like/) } });
    const big = await app.request('/api/v1/commands', { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(20_000) }, body: JSON.stringify({ command: 'x'.repeat(20_000) }) });
    expect(big.status).toBe(413);
    expect((await app.request('/api/v1/charts/doesnotexist.png')).status).toBe(404);
  });

  it('serves the console page and Prometheus metrics with command latency', async () => {
    const page = await app.request('/');
    expect(await page.text()).toContain('<form id="ask">');
    const { token } = await createToken(t.db, { name: 'prometheus', scopes: ['metrics'] });
    const metrics = await (await app.request('/metrics', { headers: { authorization: `Bearer ${token}` } })).text();
    expect(metrics).toMatch(/storecast_command_duration_seconds_count\{command="forecast",platform="web",outcome="ok"\} 1/);
    expect(metrics).toMatch(/storecast_errors_total\{kind="user"\} 1/);
  });
});
