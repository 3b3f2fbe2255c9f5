import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { serveConsole, type ConsoleServer } from './helpers/chromium.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addGrant } from '../src/access/grants.ts';
import { importRecords } from '../src/data/import.ts';
import { addWeeks } from '../src/data/weeks.ts';
import type { Services } from '../src/services.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

const OUTPUT = new URL('./output/', import.meta.url);

describe('web console sign-in in headless Chromium (restricted)', () => {
  let t: TestDatabase;
  let server: ConsoleServer;
  let browser: Browser;
  let services: Services;
  let base: string;

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    await t.db.exec("INSERT INTO stores (store_id, type, size, region) VALUES (5, 'A', 150000, 'East'), (6, 'B', 90000, 'West')");
    const rows = [5, 6].flatMap((store) => Array.from({ length: 120 }, (_, i) => [String(store), '1', addWeeks('2010-02-05', i), String(Math.round(20000 + 3000 * Math.sin(i / 8) + 40 * i)), 'FALSE']));
    await importRecords(t.db, 'train', 'fixture', [rows]);
    await addGrant(t.db, { principal: 'slack:T1/U1', role: 'viewer', scope: { kind: 'store', store: 5 } });
    server = await serveConsole(t.db, { restricted: true });
    ({ services, browser, url: base } = server);
  });
  afterAll(async () => {
    await server?.close();
    await t?.cleanup();
  });

  it('shows how to sign in, signs in by a /console link, answers within the grants, signs out', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
    await page.goto(base);
    await expect(page.locator('#sign-in h2').textContent()).resolves.toBe('Sign in to the storecast console');
    await expect(page.locator('#sign-in').textContent()).resolves.toContain('In Slack or Discord, run /console');
    expect(await page.locator('form#ask').count()).toBe(0);
    const api = await page.evaluate(async () => {
      const res = await fetch('/api/v1/commands', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: '/sales store 5' }) });
      return { status: res.status, body: (await res.json()) as { error: { code: string } } };
    });
    expect(api).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: new URL('console-sign-in.png', OUTPUT).pathname });

    const outcome = await services.run({ name: 'console', text: '' }, { platform: 'slack', workspace: 'T1', channel: 'C1', user: 'U1', roles: [] });
    expect(outcome.reply.visibility).toBe('ephemeral');
    await page.goto(outcome.reply.data.url as string);
    expect(page.url()).toBe(`${base}/`);
    const who = page.locator('#who');
    await who.filter({ hasText: 'Slack user U1 (T1)' }).waitFor();
    await expect(who.textContent()).resolves.toBe('Slack user U1 (T1) · viewer of Store 5 · sees store 5');
    expect(await page.locator('#logout').isVisible()).toBe(true);

    await page.fill('#command', '/sales store 5');
    await page.click('button[type=submit]');
    await page.locator('section.msg[data-kind="ok"] h2', { hasText: 'Store 5' }).waitFor();
    await page.waitForFunction(() => {
      const i = document.querySelector<HTMLImageElement>('img.chart');
      return i !== null && i.complete && i.naturalWidth > 0;
    });

    await page.fill('#command', '/sales store 6');
    await page.click('button[type=submit]');
    const denied = page.locator('section.msg[data-kind="denied"]');
    await denied.waitFor();
    await expect(denied.textContent()).resolves.toContain('You cannot see Store 6');
    await page.screenshot({ path: new URL('console-signed-in.png', OUTPUT).pathname, fullPage: true });

    await page.click('#logout');
    await page.locator('#sign-in').waitFor();
    expect(page.url()).toBe(`${base}/`);
  });
});
