import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateAfterImport } from '../src/alerts/hooks.ts';
import { createRule, deleteRule } from '../src/alerts/rules.ts';
import { createAlertScheduler } from '../src/alerts/scheduler.ts';
import { loadConfig } from '../src/config.ts';
import { createOutbound } from '../src/net/outbound.ts';
import { ingestJson } from '../src/data/ingest.ts';
import { planRotation, rotateSecretKey } from '../src/delivery/rotate.ts';
import { createSubscription, deleteSubscription } from '../src/delivery/summaries/subscriptions.ts';
import { openSecretKey, SecretKeyError } from '../src/delivery/secret-key.ts';
import { FakeHttpServer } from './fakes/http.ts';
import { createTestDatabase, DB_KINDS, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

/**
 * Issue 19, item 5: alert rules' encrypted webhook targets are in the one registry of encrypted
 * columns, so rotation moves them, the start-up check reads them, and a delete forgets them.
 */
describe.each(DB_KINDS)('alert targets in the registry of encrypted columns (%s)', (kind) => {
  let t: TestDatabase;
  const receiver = new FakeHttpServer(() => ({ status: 200, body: 'ok' }));
  const hex = (b: Buffer) => b.toString('hex');
  const shared = (env: Record<string, string>) => loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/db', ...env });
  const rule = (key: Buffer, path: string) =>
    createRule(t.db, key, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store', store: 5 }, condition: { type: 'cover-below', weeks: 2, basis: 'median' }, target: { kind: 'webhook', url: `${receiver.url}${path}` } }, createOutbound({ allow: ['127.0.0.1'] }));

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, [5]);
    await receiver.listen();
  }, 120_000);
  afterAll(async () => {
    await receiver.close();
    await t?.cleanup();
  });

  it('after `secret rotate` an alert webhook still delivers, under the new key', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const created = await rule(oldKey, '/hooks/rotated');
    const plan = planRotation(shared({ STORECAST_OLD_SECRET_KEY: hex(oldKey), STORECAST_SECRET_KEY: hex(newKey) }));
    expect(await rotateSecretKey(t.db, plan)).toEqual({ reencrypted: 1, what: '1 alert rule', dropped: 0 });
    expect(await openSecretKey(shared({ STORECAST_SECRET_KEY: hex(newKey) }), t.db)).toEqual(newKey);

    const services = testServices(t.db, { STORECAST_OUTBOUND_ALLOW: '127.0.0.1', STORECAST_SECRET_KEY: hex(newKey) });
    await evaluateAfterImport(services, await ingestJson(t.db, [{ store: 5, dept: 7, date: '2012-10-26', onHand: 10 }], 'test', 'stock'));
    const scheduler = createAlertScheduler(services, { key: newKey });
    await scheduler.tick();
    await scheduler.stop();
    const calls = receiver.find((c) => c.path === '/hooks/rotated');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toMatchObject({ type: 'alert' });
    const [notice] = await t.db.query<{ status: string }>('SELECT status FROM alert_notifications WHERE rule_id = $1', [created.id]);
    expect(notice!.status).toBe('succeeded');
    await deleteRule(t.db, created.id);
  });

  it('the start-up check refuses a key that does not decrypt an alert target, naming the rule', async () => {
    const key = randomBytes(32);
    const stray = await rule(randomBytes(32), '/hooks/stray');
    await expect(openSecretKey(shared({ STORECAST_SECRET_KEY: hex(key) }), t.db)).rejects.toThrow(SecretKeyError);
    await expect(openSecretKey(shared({ STORECAST_SECRET_KEY: hex(key) }), t.db)).rejects.toThrow(new RegExp(`does not decrypt the 1 alert rule stored \\(${stray.id}\\)`));
    await deleteRule(t.db, stray.id);
    expect(await openSecretKey(shared({ STORECAST_SECRET_KEY: hex(key) }), t.db)).toEqual(key);
  });

  it('a deleted alert rule keeps no secret', async () => {
    const key = randomBytes(32);
    const gone = await rule(key, '/hooks/gone');
    expect(await deleteRule(t.db, gone.id)).toBe(true);
    const [row] = await t.db.query<{ target_secret: string | null; target_hint: string }>('SELECT target_secret, target_hint FROM alert_rules WHERE id = $1', [gone.id]);
    expect(row!.target_secret).toBeNull();
    expect(row!.target_hint).toMatch(/…gone$/);
    expect(await t.db.query('SELECT 1 FROM alert_rules WHERE target_secret IS NOT NULL')).toHaveLength(0);
  });

  it('a deleted subscription keeps neither its URL nor its signing secret', async () => {
    const key = randomBytes(32);
    const { subscription } = await createSubscription(
      t.db,
      key,
      { delivery: OPERATOR_DELIVERY, scope: { kind: 'store', store: 5 }, target: { kind: 'url', url: `${receiver.url}/hooks/sub`, format: 'json' }, schedule: { weekday: 1, time: '08:00', timezone: 'UTC' }, createdBy: 'cli' },
      createOutbound({ allow: ['127.0.0.1'] }),
    );
    const secrets = 'SELECT target_secret, signing_secret FROM webhook_subscriptions WHERE id = $1';
    const [before] = await t.db.query<{ target_secret: string | null }>(secrets, [subscription.id]);
    expect(before!.target_secret).not.toBeNull();
    expect(await deleteSubscription(t.db, subscription.id)).toBe(true);
    const [after] = await t.db.query<{ target_secret: string | null; signing_secret: string | null }>(secrets, [subscription.id]);
    expect(after).toEqual({ target_secret: null, signing_secret: null });
    expect(await deleteSubscription(t.db, subscription.id)).toBe(false);
  });
});
