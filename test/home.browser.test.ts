import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addGrant } from '../src/access/grants.ts';
import { createRule } from '../src/alerts/rules.ts';
import { createOutbound } from '../src/net/outbound.ts';
import type { Asker, Services } from '../src/services.ts';
import { DEFAULT_SCHEDULE } from '../src/delivery/summaries/schedule.ts';
import { createSubscription } from '../src/delivery/summaries/subscriptions.ts';
import { serveConsole, type ConsoleServer } from './helpers/chromium.ts';
import { createTestDatabase, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

// /me in the web console, signed in as a Slack manager of store 5: the console's one renderer
// shows the home as a plain answer (facts, the items' table, the buttons that work anywhere).
describe('/me in the web console (headless Chromium)', () => {
  let t: TestDatabase;
  let server: ConsoleServer;
  let browser: Browser;
  let services: Services;
  const who: Asker = { platform: 'slack', workspace: 'T1', channel: 'C1', user: 'U1', roles: [] };

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    await importDemoStores(t.db, [5, 6]);
    await addGrant(t.db, { principal: 'slack:T1/U1', role: 'manager', scope: { kind: 'store', store: 5 } });
    server = await serveConsole(t.db, { restricted: true });
    ({ services, browser } = server);
    await createSubscription(t.db, undefined, { delivery: OPERATOR_DELIVERY, scope: { kind: 'store', store: 5 }, target: { kind: 'channel', platform: 'slack', workspace: 'T1', channel: 'C0FIVE' }, schedule: DEFAULT_SCHEDULE, createdBy: 'slack:T1/U1' });
    await createRule(t.db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store', store: 5 }, condition: { type: 'cover-below', weeks: 2, basis: 'p90' }, target: { kind: 'dm', platform: 'slack', workspace: 'T1', channel: 'U1' }, createdBy: 'slack:T1/U1' }, createOutbound());
    for (const line of ['sales store 5', 'sales store 5', 'forecast store 5 week 12', 'stock store 5']) {
      const [name, ...rest] = line.split(' ');
      await services.run({ name: name!, text: rest.join(' ') }, who);
    }
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await t?.cleanup();
  });

  it('shows the stores, the model line, the top questions and the items, with working buttons', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1100 } });
    const link = await services.run({ name: 'console', text: '' }, who);
    await page.goto(link.reply.data.url as string);
    await page.locator('#who', { hasText: 'Slack user U1 (T1)' }).waitFor();
    await page.fill('#command', '/me');
    await page.click('button[type=submit]');
    const home = page.locator('section.msg', { hasText: 'Your storecast home' });
    await home.waitFor();
    const text = (await home.textContent()) ?? '';
    expect(text).toMatch(/You are manager of Store 5\. You see Store 5 \(\w+\)\./);
    expect(text).not.toContain('Store 6');
    expect(text).toContain('/sales store 5 (2x)');
    expect(text).toMatch(/sub_[0-9a-f]{12}/);
    expect(text).toMatch(/alr_[0-9a-f]{12}/);
    const buttons = await home.locator('button.action').allTextContents();
    expect(buttons[0]).toBe('Ask again: /sales store 5');
    // Away from their items the buttons name them; a channel's subscription is stopped from the console by id.
    expect(buttons.filter((b) => /^(Stop|Snooze a day) (sub|alr)_[0-9a-f]{12}$/.test(b))).toHaveLength(3);
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/storecast-home-console.png`, fullPage: true });
    // "Ask again" runs the question in the console, as the signed-in user.
    await home.getByRole('button', { name: 'Ask again: /sales store 5' }).click();
    await page.locator('section.msg h2', { hasText: 'Store 5: sales' }).nth(0).waitFor();
  });
});
