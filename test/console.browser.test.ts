import type { Browser } from 'playwright-core';
import { serveConsole, type ConsoleServer } from './helpers/chromium.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDemoData } from '../src/data/demo.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';


describe('web console in headless Chromium', () => {
  let t: TestDatabase;
  let server: ConsoleServer;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    await loadDemoData(t.db);
    server = await serveConsole(t.db);
    ({ browser, url: base } = server);
  });
  afterAll(async () => {
    await server?.close();
    await t?.cleanup();
  });

  it('types a command, shows facts and a chart image that loads, and runs a follow-up button', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1300 } });
    await page.goto(base);
    await page.fill('#command', '/forecast store 5 week 12');
    await page.click('button[type=submit]');
    const img = page.locator('section.msg img.chart').first();
    await img.waitFor();
    await page.waitForFunction(() => {
      const i = document.querySelector<HTMLImageElement>('img.chart');
      return i !== null && i.complete && i.naturalWidth > 0;
    });
    expect(await img.evaluate((i: HTMLImageElement) => i.naturalWidth)).toBeGreaterThanOrEqual(1200);
    await expect(page.locator('section.msg h2').first().textContent()).resolves.toBe('Store 5: 12-week forecast');
    await expect(page.locator('section.msg dt').first().textContent()).resolves.toBe('Next week');

    await page.getByRole('button', { name: '+4 weeks' }).click();
    await page.locator('section.msg h2', { hasText: 'Store 5: 16-week forecast' }).waitFor();

    await page.fill('#command', '/forcast store 5');
    await page.click('button[type=submit]');
    const error = page.locator('section.msg.error');
    await error.waitFor();
    await expect(error.textContent()).resolves.toContain('/forecast store 5');
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/storecast-console.png`, fullPage: true });
  });
});
