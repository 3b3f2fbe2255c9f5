import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateAfterImport } from '../src/alerts/hooks.ts';
import { createRule } from '../src/alerts/rules.ts';
import { createAlertScheduler } from '../src/alerts/scheduler.ts';
import { createOutbound } from '../src/net/outbound.ts';
import { ingestJson } from '../src/data/ingest.ts';
import { FakeHttpServer } from './fakes/http.ts';
import { createTestDatabase, type TestDatabase, importDemoStores } from './helpers/db.ts';
import { TEST_SECRET_KEY } from './helpers/keys.ts';
import { testServices } from './helpers/services.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

let t: TestDatabase;
const receiver = new FakeHttpServer(() => ({ status: 200, body: 'ok' }));

beforeAll(async () => {
  t = await createTestDatabase('pglite');
  await importDemoStores(t.db, [5]);
  await receiver.listen();
}, 120_000);
afterAll(async () => {
  await receiver.close();
  await t?.cleanup();
});

describe('alert notices to a webhook URL', () => {
  it('posts JSON (type "alert") through the outbound guard; the URL is stored encrypted', async () => {
    const url = `${receiver.url}/hooks/stock`;
    const services = testServices(t.db, { STORECAST_OUTBOUND_ALLOW: '127.0.0.1' });
    const rule = await createRule(t.db, TEST_SECRET_KEY, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store', store: 5 }, condition: { type: 'cover-below', weeks: 2, basis: 'median' }, target: { kind: 'webhook', url } }, createOutbound({ allow: ['127.0.0.1'] }));
    const [stored] = await t.db.query<{ target_secret: string; target_hint: string }>('SELECT target_secret, target_hint FROM alert_rules WHERE id = $1', [rule.id]);
    expect(stored!.target_secret).not.toContain('127.0.0.1');
    expect(stored!.target_hint).toMatch(/…tock$/);
    await evaluateAfterImport(services, await ingestJson(t.db, [{ store: 5, dept: 7, date: '2012-10-26', onHand: 10 }], 'test', 'stock'));
    const scheduler = createAlertScheduler(services, { key: TEST_SECRET_KEY });
    await scheduler.tick();
    await scheduler.stop();
    const [call] = receiver.find((c) => c.path === '/hooks/stock');
    expect(call!.headers['x-storecast-event']).toBe('alert');
    expect(call!.body).toMatchObject({ type: 'alert', title: 'Alert: Store 5 · stock cover below 2 weeks at median demand' });
    expect((call!.body.data as { alert: string; kind: string }).kind).toBe('firing');

    // Refused when it points inside, as webhook subscriptions are.
    await expect(createRule(t.db, TEST_SECRET_KEY, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store', store: 5 }, condition: { type: 'cover-below', weeks: 2, basis: 'median' }, target: { kind: 'webhook', url } }, createOutbound())).rejects.toThrow(/internal address/);
  });
});
