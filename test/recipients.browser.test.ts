import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addGrant } from '../src/access/grants.ts';
import type { Asker, Services } from '../src/services.ts';
import { DEFAULT_SCHEDULE } from '../src/delivery/summaries/schedule.ts';
import { createSubscription } from '../src/delivery/summaries/subscriptions.ts';
import { serveConsole, type ConsoleServer } from './helpers/chromium.ts';
import { createTestDatabase, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

// A per-recipient copy in the web console, signed in as the Slack manager it is sent to: /me
// lists it with its "Stop my copy", and the button stops that copy alone.
describe('a per-recipient copy in the web console (headless Chromium)', () => {
  let t: TestDatabase;
  let server: ConsoleServer;
  let browser: Browser;
  let services: Services;
  let subscription: string;
  const who: Asker = { platform: 'slack', workspace: 'T1', channel: 'C1', user: 'U1', roles: [] };

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    await importDemoStores(t.db, [3, 7]);
    await addGrant(t.db, { principal: 'slack:T1/U1', role: 'manager', scope: { kind: 'store', store: 3 } });
    server = await serveConsole(t.db, { restricted: true });
    ({ services, browser } = server);
    const created = await createSubscription(t.db, undefined, { delivery: OPERATOR_DELIVERY, scope: { kind: 'region', region: 'West' }, target: { kind: 'recipients', role: 'manager' }, schedule: DEFAULT_SCHEDULE });
    subscription = created.subscription.id;
    // Last week's copy to U1, as the fan-out queues it (src/delivery/summaries/recipients.ts).
    await t.db.query("INSERT INTO webhook_deliveries (id, subscription_id, week, recipient, status) VALUES ('d1', $1, '2030-01-07', 'slack:T1/U1', 'succeeded')", [subscription]);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await t?.cleanup();
  });

  it('lists the copy on /me and stops it from its button', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const link = await services.run({ name: 'console', text: '' }, who);
    await page.goto(link.reply.data.url as string);
    await page.locator('#who', { hasText: 'Slack user U1 (T1)' }).waitFor();
    await page.fill('#command', '/me');
    await page.click('button[type=submit]');
    const home = page.locator('section.msg', { hasText: 'Your storecast home' });
    await home.waitFor();
    expect(await home.textContent()).toContain('none you set up, 1 copy sent to you');
    await home.locator('summary', { hasText: 'Table' }).click();
    expect(await home.textContent()).toContain('Your copy: weekly summary of your stores in West region, every Monday 08:00 UTC, by direct message');
    const stop = home.getByRole('button', { name: `Stop my copy ${subscription}` });
    await stop.waitFor();
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/storecast-recipient-copy-home.png`, fullPage: true });
    await stop.click();
    const stopped = page.locator('section.msg', { hasText: 'Your copy is stopped' });
    await stopped.waitFor();
    expect(await stopped.textContent()).toContain(`You will no longer get the weekly summary of West region (${subscription}). Everyone else still gets theirs.`);
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/storecast-recipient-copy-stopped.png`, fullPage: true });
    expect((await t.db.query<{ recipient: string }>('SELECT recipient FROM subscription_optouts WHERE subscription_id = $1', [subscription])).map((r) => r.recipient)).toEqual(['slack:U1']);
  });
});
