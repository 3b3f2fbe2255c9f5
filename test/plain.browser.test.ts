import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveConsole, type ConsoleServer } from './helpers/chromium.ts';
import { createTestDatabase, importDemoStores, type TestDatabase } from './helpers/db.ts';

describe('plain questions in the web console (headless Chromium)', () => {
  let t: TestDatabase;
  let server: ConsoleServer;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    await importDemoStores(t.db, [5, 7]);
    server = await serveConsole(t.db);
    ({ browser, url: base } = server);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await t?.cleanup();
  });

  it('answers a question with how it was read, and offers two readings as buttons when unsure', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
    await page.goto(base);
    await page.fill('#command', 'how did store five do over the last 8 weeks?');
    await page.click('button[type=submit]');
    const answer = page.locator('section.msg:not(.pending)').first();
    await answer.waitFor();
    await expect(answer.locator('h2').textContent()).resolves.toMatch(/^Store 5: sales/);
    await expect(answer.locator('p code').first().textContent()).resolves.toBe('/sales store 5 from 2012-09-07');
    await page.waitForFunction(() => {
      const i = document.querySelector<HTMLImageElement>('img.chart');
      return i !== null && i.complete && i.naturalWidth > 0;
    });

    await page.fill('#command', 'store 5 sales next weeks');
    await page.click('button[type=submit]');
    const unsure = page.locator('section.msg', { hasText: 'Which did you mean?' });
    await unsure.waitFor();
    await expect(unsure.locator('button.action').allTextContents()).resolves.toEqual(['/forecast store 5', '/sales store 5']);
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/storecast-plain-console.png`, fullPage: true });
    await unsure.getByRole('button', { name: '/forecast store 5' }).click();
    await page.locator('section.msg h2', { hasText: 'Store 5: 8-week forecast' }).waitFor();
  });
});
