import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { launchChromium } from './helpers/chromium.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/server/app.ts';
import { listen } from './fakes/serve.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';


describe('the API reference page in headless Chromium', () => {
  let t: TestDatabase;
  let server: Awaited<ReturnType<typeof listen>>;
  let browser: Browser;

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    server = await listen(createApp(testServices(t.db)).app);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await t?.cleanup();
  });

  it('renders every operation from openapi.json, loading nothing from outside the server', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    const outside: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) outside.push(r.url());
    });
    await page.goto(`${server.url}/api/v1/docs`);
    await page.locator('.opblock').first().waitFor();
    const summaries = await page.locator('.opblock-summary-path').allInnerTexts();
    const doc = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    expect(summaries.length).toBe(operations);
    expect(summaries.map((s) => s.replace(/\u200b/g, ''))).toContain('/subscriptions/{id}');
    expect(await page.locator('.info .title').innerText()).toContain('storecast API');
    expect(outside).toEqual([]);
    mkdirSync('test/output', { recursive: true });
    await page.screenshot({ path: 'test/output/api-reference.png', fullPage: false });
  });
});
