import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addGrant } from '../src/access/grants.ts';
import { createOutbound } from '../src/net/outbound.ts';
import { createScheduler, createSubscription, listDeliveries } from '../src/delivery/index.ts';
import { openTestDatabase } from './helpers/db.ts';
import { TEST_SECRET_KEY, TEST_SECRET_KEY_HEX } from './helpers/keys.ts';
import { testServices } from './helpers/services.ts';
import type { Database } from '../src/db/client.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

describe('weekly summaries re-check their creator’s access at send time (restricted mode)', () => {
  let db: Database;
  const bodies: Record<string, { title: string; summary: string }> = {};
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      bodies[req.url!] = JSON.parse(body) as { title: string; summary: string };
      res.end('ok');
    });
  });
  let base = '';

  beforeAll(async () => {
    db = await openTestDatabase([1, 5]);
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  }, 120_000);
  afterAll(async () => {
    receiver.close();
    await db.close();
  });

  it('delivers for a creator who still sees the scope, and a pause notice (no numbers) for one who does not', async () => {
    await addGrant(db, { principal: 'slack:T1/UKEEP', role: 'manager', scope: { kind: 'store', store: 1 } });
    await addGrant(db, { principal: 'discord-role:G1/RWEST', role: 'manager', scope: { kind: 'store', store: 1 } });
    const past = new Date(Date.now() - 8 * 86_400_000);
    const outbound = createOutbound({ allow: ['127.0.0.1'] });
    const subscribe = (path: string, createdBy: string, createdByRoles: string[] = []) =>
      createSubscription(db, TEST_SECRET_KEY, { delivery: OPERATOR_DELIVERY, scope: { kind: 'store', store: 1 }, target: { kind: 'url', url: `${base}${path}`, format: 'json' }, schedule: { weekday: 1, time: '08:00', timezone: 'UTC' }, createdBy, createdByRoles, now: past }, outbound);
    await subscribe('/kept', 'slack:T1/UKEEP');
    await subscribe('/by-role', 'discord:G1/ULEAD', ['RWEST']);
    const lost = await subscribe('/lost', 'slack:T1/UGONE');
    const services = testServices(db, { STORECAST_ACCESS: 'restricted', STORECAST_SECRET_KEY: TEST_SECRET_KEY_HEX, STORECAST_OUTBOUND_ALLOW: '127.0.0.1' });
    const scheduler = createScheduler(services, { pollMs: 25, key: TEST_SECRET_KEY });
    expect(await scheduler.tick()).toBe(3);
    expect(bodies['/kept']!.title).toMatch(/^Store 1: weekly summary/);
    expect(bodies['/by-role']!.title).toMatch(/^Store 1: weekly summary/); // a Discord role grant counts too
    expect(bodies['/lost']!.title).toBe(`Weekly summary ${lost.subscription.id} paused`);
    expect(bodies['/lost']!.summary).toContain(`/unsubscribe id ${lost.subscription.id}`);
    expect(JSON.stringify(bodies['/lost'])).not.toMatch(/\$\d/);
    const log = await listDeliveries(db, { limit: 10 });
    expect(log.find((d) => d.subscriptionId === lost.subscription.id)).toMatchObject({ status: 'succeeded' });
  });
});
