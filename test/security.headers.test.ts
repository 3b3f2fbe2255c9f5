import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRule } from '../src/alerts/rules.ts';
import { createToken } from '../src/auth/tokens.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createOutbound } from '../src/net/outbound.ts';
import { SeasonalNaiveForecaster } from '../src/forecast/seasonal-naive.ts';
import { createApp } from '../src/server/app.ts';
import { createServices } from '../src/services.ts';
import { listen } from './fakes/serve.ts';
import { launchChromium } from './helpers/chromium.ts';
import { createTestDatabase, DB_KINDS, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { captureLogs } from './helpers/logs.ts';
import { testServices } from './helpers/services.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

/** Issue 19, item 11: the smaller leaks. */
describe('a config error never repeats DATABASE_URL (its password)', () => {
  it('names the variable and the rule, not the value', () => {
    let error: unknown;
    try {
      loadConfig({ DATABASE_URL: 'mysql://admin:hunter2-sekrit@db.internal:5432/storecast' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/DATABASE_URL=\(\d+ characters, not shown\): must start with postgres:\/\//);
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('db.internal');
  });
});

describe.each(DB_KINDS)('headers, asset lookups and ingest answers through the composed app (%s)', (kind) => {
  let t: TestDatabase;
  const logs = captureLogs();
  let app: ReturnType<typeof createApp>['app'];

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, [5]);
    const config = loadConfig({ STORECAST_DATA_DIR: 'memory://', STORECAST_ACCESS: 'open', STORECAST_RATE_LIMIT: '0', LOG_LEVEL: 'debug' });
    app = createApp(createServices({ config, db: t.db, logger: logs.logger, forecaster: new SeasonalNaiveForecaster() })).app;
  }, 120_000);
  afterAll(() => t.cleanup());

  it('every HTML answer carries a CSP that forbids framing, nosniff, a referrer policy and X-Frame-Options', async () => {
    const restricted = createApp(testServices(t.db, { STORECAST_ACCESS: 'restricted' })).app;
    const pages = [
      ['console', await app.request('/')],
      ['sign-in page', await restricted.request('/')],
      ['sign-in link problem', await app.request('/console/login?token=nope')],
      ['API reference', await app.request('/api/v1/docs')],
    ] as const;
    for (const [name, res] of pages) {
      expect(res.headers.get('content-type'), name).toMatch(/^text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, name).toMatch(/frame-ancestors 'none'/);
      expect(csp, name).toMatch(/default-src 'none'/);
      expect(csp, name).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
      expect(csp, name).not.toMatch(/script-src[^;]*'unsafe-inline'/);
      expect(res.headers.get('x-content-type-options'), name).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), name).toBe('no-referrer');
      expect(res.headers.get('x-frame-options'), name).toBe('DENY');
    }
  });

  it('docs assets are looked up by own property: prototype names are 404s, with no error log', async () => {
    const before = logs.lines.filter((l) => Number(l.level) >= 50).length;
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const res = await app.request(`/api/v1/docs/${name}`);
      expect(res.status, name).toBe(404);
      expect(await res.json(), name).toMatchObject({ error: { code: 'not_found' } });
    }
    expect(logs.lines.filter((l) => Number(l.level) >= 50).length).toBe(before);
    expect((await app.request('/api/v1/docs/swagger-ui.css')).status).toBe(200);
  });

  it('POST /api/v1/stock answers an ingest token with counts, not the ids of the rules it evaluated', async () => {
    const rule = await createRule(t.db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'chain' }, condition: { type: 'cover-below', weeks: 2, basis: 'median' }, target: { kind: 'channel', platform: 'slack', channel: 'C1', workspace: 'T1' } }, createOutbound());
    const { token } = await createToken(t.db, { name: 'ingest', scopes: ['ingest'] });
    const res = await app.request('/api/v1/stock', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rows: [{ store: 5, dept: 7, date: '2012-10-26', onHand: 10 }] }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(rule.id);
    const body = JSON.parse(text) as { accepted: number; alerts: Record<string, unknown> };
    expect(body.accepted).toBe(1);
    expect(body.alerts).toMatchObject({ evaluated: 1, fired: 1, resolved: 0, failed: 0 });
  });
});

describe('the console and the API reference still work under the CSP (headless Chromium)', () => {
  let t: TestDatabase;
  let server: Awaited<ReturnType<typeof listen>>;
  let browser: Browser;

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    await importDemoStores(t.db, [5]);
    server = await listen(createApp(testServices(t.db)).app);
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await t?.cleanup();
  });

  const open = async (path: string) => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1200 } });
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    page.on('pageerror', (e) => violations.push(e.message));
    await page.goto(`${server.url}${path}`);
    return { page, violations };
  };
  const shots = process.env.SCREENSHOT_DIR ?? 'test/output';

  it('the console runs its inline script (by hash), a command, and shows the chart', async () => {
    const { page, violations } = await open('/');
    await page.fill('#command', '/sales store 5');
    await page.click('button[type=submit]');
    await page.locator('section.msg img.chart').first().waitFor();
    await page.waitForFunction(() => {
      const i = document.querySelector<HTMLImageElement>('img.chart');
      return i !== null && i.complete && i.naturalWidth > 0;
    });
    expect(await page.locator('section.msg h2').first().textContent()).toMatch(/Store 5/);
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: `${shots}/csp-console.png` });
    expect(violations).toEqual([]);
  });

  it('Swagger UI renders the reference', async () => {
    const { page, violations } = await open('/api/v1/docs');
    await page.locator('.opblock').first().waitFor();
    expect(await page.locator('.opblock').count()).toBeGreaterThan(20);
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: `${shots}/csp-docs.png` });
    expect(violations).toEqual([]);
  });
});
