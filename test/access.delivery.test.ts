import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindChannel, channelScope } from '../src/access/channels.ts';
import { addGrant, listGrants, removeGrants } from '../src/access/grants.ts';
import { createRule } from '../src/alerts/rules.ts';
import { createAlertScheduler } from '../src/alerts/scheduler.ts';
import { createToken, revokeToken } from '../src/auth/tokens.ts';
import { createOutbound } from '../src/net/outbound.ts';
import { createApp } from '../src/server/app.ts';
import type { Asker, Services } from '../src/services.ts';
import { createScheduler, createSubscription, listDeliveries, listSubscriptions } from '../src/delivery/index.ts';
import { DB_KINDS, createTestDatabase, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { TEST_SECRET_KEY, TEST_SECRET_KEY_HEX } from './helpers/keys.ts';
import { testServices } from './helpers/services.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

const DAY = 86_400_000;
const slack = (user: string, channel: string): Asker => ({ platform: 'slack', workspace: 'T1', channel, user, roles: [] });

describe.each(DB_KINDS)('what may be delivered where: creation and send time agree (%s)', (kind) => {
  let t: TestDatabase;
  let services: Services;
  const posts: { path: string; title: string; summary: string }[] = [];
  let flaky = 0;
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      if (req.url === '/flaky' && flaky-- > 0) return void res.writeHead(500).end();
      const json = JSON.parse(body) as { title: string; summary: string };
      posts.push({ path: req.url!, title: json.title, summary: json.summary });
      res.end('ok');
    });
  });
  let base = '';
  const run = (who: Asker, line: string) => {
    const [name, ...rest] = line.slice(1).split(' ');
    return services.run({ name: name!, text: rest.join(' ') }, who);
  };

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, [5, 7]);
    services = testServices(t.db, { STORECAST_ACCESS: 'restricted', STORECAST_SECRET_KEY: TEST_SECRET_KEY_HEX, STORECAST_OUTBOUND_ALLOW: '127.0.0.1', STORECAST_ALERT_RULES_PER_PRINCIPAL: '3' });
    await addGrant(t.db, { principal: 'slack:T1/UM5', role: 'manager', scope: { kind: 'store', store: 5 } });
    await addGrant(t.db, { principal: 'slack:T1/UM7', role: 'manager', scope: { kind: 'store', store: 7 } });
    await bindChannel(t.db, { platform: 'slack', workspace: 'T1', channel: 'C7', scope: { kind: 'store', store: 7 } });
    await bindChannel(t.db, { platform: 'slack', workspace: 'T1', channel: 'C5', scope: { kind: 'store', store: 5 } });
    await bindChannel(t.db, { platform: 'slack', workspace: 'T1', channel: 'CALL', scope: { kind: 'chain' } });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  }, 120_000);
  afterAll(async () => {
    receiver.close();
    await t?.cleanup();
  });

  it('a manager of store 5 cannot /subscribe or /alert store 5 in a channel bound to store 7; in store 5’s channel they can', async () => {
    const sub = await run(slack('UM5', 'C7'), '/subscribe weekly-summary store 5');
    expect(sub.kind).toBe('denied');
    expect(sub.reply.summary).toContain('this channel is for Store 7');
    const alert = await run(slack('UM5', 'C7'), '/alert stock store 5 below 2 weeks');
    expect(alert.kind).toBe('denied');
    expect(await t.db.query("SELECT id FROM webhook_subscriptions WHERE channel = 'C7' UNION ALL SELECT id FROM alert_rules WHERE channel = 'C7'")).toEqual([]);
    expect((await run(slack('UM5', 'C5'), '/subscribe weekly-summary store 5')).kind).toBe('ok');
    expect((await run(slack('UM5', 'C5'), '/alert stock store 5 below 2 weeks')).kind).toBe('ok');
  });

  it('an admin-scope token with no grants is refused (403, naming the grant it lacks) instead of creating pause notices', async () => {
    const admin = await createToken(t.db, { name: 'ops', scopes: ['admin'] });
    const { app } = createApp(services);
    const post = (path: string, body: unknown) => app.request(`/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const sub = await post('/subscriptions', { store: 5, url: `${base}/ops` });
    expect(sub.status).toBe(403);
    expect(((await sub.json()) as { error: { message: string } }).error.message).toMatch(/would need the viewer role for Store 5.*no access yet/);
    const rule = await post('/alerts', { kind: 'stock', store: 5, belowWeeks: 2, url: `${base}/ops` });
    expect(rule.status).toBe(403);
    // Mail goes to an address storecast cannot vouch for: the admin role, not the viewer's.
    await addGrant(t.db, { principal: `token:${admin.info.id}`, role: 'viewer', scope: { kind: 'store', store: 5 } });
    const mail = await post('/alerts', { kind: 'stock', store: 5, belowWeeks: 2, email: 'ops@example.com' });
    expect(mail.status).toBe(403);
    expect(((await mail.json()) as { error: { message: string } }).error.message).toContain('admin role for Store 5');
    expect((await post('/subscriptions', { store: 5, url: `${base}/ops` })).status).toBe(201);
  });

  it('a revoked token and a removed grant pause what they set up with one notice, not one a week; a grant given back resumes it', async () => {
    const token = await createToken(t.db, { name: 'bi', scopes: ['admin'] });
    await addGrant(t.db, { principal: `token:${token.info.id}`, role: 'viewer', scope: { kind: 'store', store: 7 } });
    await addGrant(t.db, { principal: 'slack:T1/UGONE', role: 'viewer', scope: { kind: 'store', store: 7 } });
    const outbound = createOutbound({ allow: ['127.0.0.1'] });
    const past = new Date(Date.now() - 8 * DAY);
    const schedule = { weekday: new Date().getUTCDay(), time: '00:00', timezone: 'UTC' };
    const subscribe = (path: string, createdBy: string) =>
      createSubscription(t.db, TEST_SECRET_KEY, { delivery: OPERATOR_DELIVERY, scope: { kind: 'store', store: 7 }, target: { kind: 'url', url: `${base}${path}`, format: 'json' }, schedule, createdBy, now: past }, outbound);
    const byToken = await subscribe('/by-token', `token:${token.info.id}`);
    const byUser = await subscribe('/by-user', 'slack:T1/UGONE');
    expect(await revokeToken(t.db, token.info.id)).toBe(true);
    expect(await listGrants(t.db, [`token:${token.info.id}`])).toEqual([]);
    await removeGrants(t.db, 'slack:T1/UGONE');

    let clock = Date.now();
    const scheduler = createScheduler(services, { key: TEST_SECRET_KEY, now: () => new Date(clock) });
    const weeks = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await scheduler.tick();
        clock += 7 * DAY;
      }
    };
    posts.length = 0;
    await weeks(3);
    const to = (path: string) => posts.filter((p) => p.path === path);
    expect(to('/by-token').map((p) => p.title)).toEqual([`Weekly summary ${byToken.subscription.id} paused`]);
    expect(to('/by-token')[0]!.summary).toContain('was revoked');
    expect(to('/by-user').map((p) => p.title)).toEqual([`Weekly summary ${byUser.subscription.id} paused`]);
    // The notices name no store: the creator may no longer see it.
    expect(JSON.stringify([...to('/by-token'), ...to('/by-user')])).not.toMatch(/Store 7|\$\d/);
    const held = await listDeliveries(t.db, { subscriptionId: byUser.subscription.id, limit: 10 });
    expect(held.map((d) => d.status).sort()).toEqual(['paused', 'paused', 'succeeded']);
    expect((await listSubscriptions(t.db)).find((s) => s.id === byUser.subscription.id)?.pausedAt).not.toBeNull();

    await addGrant(t.db, { principal: 'slack:T1/UGONE', role: 'viewer', scope: { kind: 'store', store: 7 } });
    await weeks(1);
    expect(to('/by-user').map((p) => p.title)[1]).toMatch(/^Store 7: weekly summary/);
    expect(to('/by-token')).toHaveLength(1);
    expect((await listSubscriptions(t.db)).find((s) => s.id === byUser.subscription.id)?.pausedAt).toBeNull();
  });

  it('a pause notice that does not get through is sent again by the retry, still only once', async () => {
    const outbound = createOutbound({ allow: ['127.0.0.1'] });
    const schedule = { weekday: new Date().getUTCDay(), time: '00:00', timezone: 'UTC' };
    const sub = await createSubscription(t.db, TEST_SECRET_KEY, { delivery: OPERATOR_DELIVERY, scope: { kind: 'store', store: 7 }, target: { kind: 'url', url: `${base}/flaky`, format: 'json' }, schedule, createdBy: 'slack:T1/UNOBODY', now: new Date(Date.now() - 8 * DAY) }, outbound);
    flaky = 1;
    let clock = Date.now();
    const scheduler = createScheduler(services, { key: TEST_SECRET_KEY, now: () => new Date(clock), backoffBaseMs: 1000, backoffMaxMs: 1000 });
    posts.length = 0;
    await scheduler.tick();
    expect(posts.filter((p) => p.path === '/flaky')).toEqual([]);
    expect((await listSubscriptions(t.db)).find((s) => s.id === sub.subscription.id)?.pausedAt).toBeNull();
    clock += 5_000;
    await scheduler.tick();
    clock += 7 * DAY;
    await scheduler.tick();
    expect(posts.filter((p) => p.path === '/flaky').map((p) => p.title)).toEqual([`Weekly summary ${sub.subscription.id} paused`]);
    expect((await listDeliveries(t.db, { subscriptionId: sub.subscription.id, limit: 5 })).map((d) => d.status).sort()).toEqual(['paused', 'succeeded']);
  });

  it('an alert whose creator lost access sends one pause notice for all its notices, naming no store', async () => {
    await addGrant(t.db, { principal: 'slack:T1/UALERT', role: 'manager', scope: { kind: 'store', store: 7 } });
    const rule = await createRule(t.db, TEST_SECRET_KEY, { delivery: OPERATOR_DELIVERY, kind: 'sales', scope: { kind: 'store', store: 7 }, condition: { type: 'drop-vs-last-year', pct: 1 }, target: { kind: 'webhook', url: `${base}/alert` }, createdBy: 'slack:T1/UALERT' }, createOutbound({ allow: ['127.0.0.1'] }));
    await removeGrants(t.db, 'slack:T1/UALERT');
    for (const [n, kind] of [[1, 'firing'], [1, 'resolved'], [2, 'firing']] as const) {
      await t.db.query("INSERT INTO alert_notifications (id, rule_id, episode, kind, detail) VALUES ($1, $2, $3, $4, '{}'::jsonb)", [`ntf_${n}_${kind}`, rule.id, n, kind]);
    }
    // Evaluated already: only the queued notices are at stake.
    await t.db.query('UPDATE alert_rules SET last_evaluated_at = now() + interval \'1 day\' WHERE id = $1', [rule.id]);
    posts.length = 0;
    const alerts = createAlertScheduler(services, { key: TEST_SECRET_KEY, batchSize: 10 });
    await alerts.tick();
    await alerts.stop();
    expect(posts.filter((p) => p.path === '/alert').map((p) => p.title)).toEqual([`Alert ${rule.id} paused`]);
    expect(JSON.stringify(posts.filter((p) => p.path === '/alert'))).not.toMatch(/Store 7/);
    const statuses = await t.db.query<{ status: string }>('SELECT status FROM alert_notifications WHERE rule_id = $1 ORDER BY status', [rule.id]);
    expect(statuses.map((r) => r.status)).toEqual(['paused', 'paused', 'succeeded']);
  });

  it('/unsubscribe id checks the asker manages what it removes, as /unsubscribe by scope does', async () => {
    await addGrant(t.db, { principal: 'slack:T1/UADMIN', role: 'admin', scope: { kind: 'chain' } });
    const chain = await run(slack('UADMIN', 'CALL'), '/subscribe weekly-summary chain');
    expect(chain.kind).toBe('ok');
    const id = (chain.reply.data.subscription as { id: string }).id;
    const byId = await run(slack('UM7', 'CALL'), `/unsubscribe id ${id}`);
    expect(byId.kind).toBe('denied');
    expect(byId.reply.summary).toContain('needs the manager role for All stores');
    expect((await listSubscriptions(t.db)).map((s) => s.id)).toContain(id);
    expect((await run(slack('UADMIN', 'CALL'), `/unsubscribe id ${id}`)).kind).toBe('ok');
  });

  it('/access channel store N refuses to rebind a region- or chain-bound channel for an admin of store N alone', async () => {
    await addGrant(t.db, { principal: 'slack:T1/UA5', role: 'admin', scope: { kind: 'store', store: 5 } });
    await bindChannel(t.db, { platform: 'slack', workspace: 'T1', channel: 'CREGION', scope: { kind: 'region', region: 'West' } });
    const where = { platform: 'slack' as const, workspace: 'T1', channel: 'CREGION' };
    const rebind = await run(slack('UA5', 'CREGION'), '/access channel store 5');
    expect(rebind.kind).toBe('denied');
    expect(rebind.reply.summary).toContain('This channel is for West region, which you do not administer');
    expect(await channelScope(t.db, where)).toEqual({ kind: 'region', region: 'West' });
    const chain = await run(slack('UA5', 'CALL'), '/access channel store 5');
    expect(chain.kind).toBe('denied');
    // Their own store's channel they may rebind; an admin of the region may rebind its channel.
    expect((await run(slack('UA5', 'C5'), '/access channel store 5')).kind).toBe('ok');
    expect((await run(slack('UADMIN', 'CREGION'), '/access channel store 5')).kind).toBe('ok');
  });

  it('alert rules are unique per scope, condition and target, and capped per creator with a clear message', async () => {
    const first = await run(slack('UM7', 'C7'), '/alert sales store 7 below forecast');
    expect(first.kind).toBe('ok');
    const again = await run(slack('UM7', 'C7'), '/alert sales store 7 below forecast');
    expect(again.kind).toBe('ok');
    const id = (first.reply.data.alert as { id: string }).id;
    expect(again.reply.title).toBe(`Alert exists already: ${id}`);
    expect((again.reply.data.alert as { id: string }).id).toBe(id);
    expect(await t.db.query("SELECT id FROM alert_rules WHERE created_by = 'slack:T1/UM7'")).toEqual([{ id }]);
    expect((await run(slack('UM7', 'C7'), '/alert sales store 7 drop 10% vs last year')).kind).toBe('ok');
    expect((await run(slack('UM7', 'C7'), '/alert stock store 7 below 2 weeks')).kind).toBe('ok');
    const over = await run(slack('UM7', 'C7'), '/alert stock store 7 below 3 weeks');
    expect(over.kind).toBe('user-error');
    expect(over.reply.summary).toContain('You have 3 alert rules, the most one person or token may have (STORECAST_ALERT_RULES_PER_PRINCIPAL=3)');
    // A duplicate at the cap is still answered with the rule it duplicates.
    expect((await run(slack('UM7', 'C7'), '/alert sales store 7 below forecast')).reply.title).toBe(`Alert exists already: ${id}`);
  });

  it('rules from before the unique key, duplicates included, neither break the index nor escape it', async () => {
    // As the migration leaves them: no key, two alike.
    const insert = (id: string, at: string) =>
      t.db.query(
        `INSERT INTO alert_rules (id, kind, scope_kind, scope_value, condition, target_kind, target_hint, workspace, channel, created_at)
         VALUES ($1, 'stock', 'store', '5', '{"type":"cover-below","weeks":4,"basis":"p90"}'::jsonb, 'slack-channel', 'slack channel C5', 'T1', 'C5', $2)`,
        [id, at],
      );
    await insert('alr_old000000001', '2020-01-01T00:00:00Z');
    await insert('alr_old000000002', '2020-01-02T00:00:00Z');
    const rule = await createRule(t.db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store', store: 5 }, condition: { type: 'cover-below', weeks: 4, basis: 'p90' }, target: { kind: 'channel', platform: 'slack', workspace: 'T1', channel: 'C5' } }, createOutbound());
    expect(rule).toMatchObject({ id: 'alr_old000000001', duplicate: true });
    expect(await t.db.query("SELECT id, dedupe_key IS NOT NULL AS keyed FROM alert_rules WHERE id LIKE 'alr_old%' ORDER BY id")).toEqual([
      { id: 'alr_old000000001', keyed: true },
      { id: 'alr_old000000002', keyed: false },
    ]);
  });
});
