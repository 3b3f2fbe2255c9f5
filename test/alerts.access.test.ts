import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mayDeliver, resolveCreator } from '../src/access/delivery.ts';
import { bindChannel } from '../src/access/channels.ts';
import { addGrant, removeGrants } from '../src/access/grants.ts';
import { createToken } from '../src/auth/tokens.ts';
import { createApp } from '../src/server/app.ts';
import type { Asker, Services } from '../src/services.ts';
import { DB_KINDS, createTestDatabase, type TestDatabase, importDemoStores } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

const who = (user: string): Asker => ({ platform: 'slack', workspace: 'T1', channel: 'C1', user, roles: [] });

describe.each(DB_KINDS)('who may set, change and see alerts, restricted mode (%s)', (kind) => {
  let t: TestDatabase;
  let services: Services;
  const run = (asker: Asker, text: string) => services.run({ name: 'alert', text }, asker);

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, [5, 7]);
    services = testServices(t.db, { STORECAST_ACCESS: 'restricted' });
    await addGrant(t.db, { principal: 'slack:T1/UVIEW', role: 'viewer', scope: { kind: 'store', store: 5 } });
    await addGrant(t.db, { principal: 'slack:T1/UMGR', role: 'manager', scope: { kind: 'store', store: 5 } });
    await addGrant(t.db, { principal: 'slack:T1/UADMIN', role: 'admin', scope: { kind: 'chain' } });
    // Rules notify channel C1: its audience (the chain here) must hold what they watch.
    await bindChannel(t.db, { platform: 'slack', workspace: 'T1', channel: 'C1', scope: { kind: 'chain' } });
  }, 120_000);
  afterAll(() => t?.cleanup());

  it('a rule needs the manager role for its scope; a viewer is refused and nothing is stored', async () => {
    const viewer = await run(who('UVIEW'), 'stock store 5 below 2 weeks');
    expect(viewer.kind).toBe('denied');
    const elsewhere = await run(who('UMGR'), 'stock store 7 below 2 weeks');
    expect(elsewhere.kind).toBe('denied');
    const manager = await run(who('UMGR'), 'sales store 5 below forecast 10%');
    expect(manager.kind).toBe('ok');
    const rows = await t.db.query<{ created_by: string; condition: unknown; target_kind: string; channel: string }>('SELECT created_by, condition, target_kind, channel FROM alert_rules');
    expect(rows).toEqual([{ created_by: 'slack:T1/UMGR', condition: { type: 'below-forecast', pct: 10 }, target_kind: 'slack-channel', channel: 'C1' }]);
  });

  it('email targets need the admin role; "to me" is a direct message; URLs are refused in chat', async () => {
    const byMail = await run(who('UMGR'), 'stock store 5 below 2 to ops@example.com');
    expect(byMail.kind).toBe('user-error');
    expect(byMail.reply.summary).toContain('need the admin role');
    const url = await run(who('UADMIN'), 'stock store 5 below 2 to <https://hooks.example.com/x>');
    expect(url.reply.summary).toContain('not taken in chat');
    expect((await run(who('UADMIN'), 'stock store 5 below 2 to ops@example.com')).kind).toBe('ok');
    expect((await run(who('UMGR'), 'stock store 5 dept 7 below 1 to me')).kind).toBe('ok');
    const targets = await t.db.query<{ target_kind: string; channel: string }>("SELECT target_kind, channel FROM alert_rules WHERE kind = 'stock' ORDER BY created_at");
    expect(targets).toEqual([
      { target_kind: 'email', channel: 'ops@example.com' },
      { target_kind: 'slack-dm', channel: 'UMGR' },
    ]);
  });

  it('delete, snooze and ack need the manager role for the rule; /alerts shows only what the asker may see', async () => {
    const [rule] = await t.db.query<{ id: string }>("SELECT id FROM alert_rules WHERE kind = 'sales'");
    const viewerDelete = await run(who('UVIEW'), `delete ${rule!.id}`);
    expect(viewerDelete.kind).toBe('denied');
    await addGrant(t.db, { principal: 'slack:T1/UMGR7', role: 'manager', scope: { kind: 'store', store: 7 } });
    const otherStore = await run(who('UMGR7'), `snooze ${rule!.id} for week`);
    expect(otherStore.kind).toBe('user-error');
    expect(otherStore.reply.summary).toContain('needs the manager role for Store 5');
    expect((await run(who('UMGR'), `snooze ${rule!.id} for week`)).kind).toBe('ok');
    const notFiring = await run(who('UMGR'), `ack ${rule!.id}`);
    expect(notFiring.reply.summary).toContain('is not firing');
    const seen = await services.run({ name: 'alerts', text: '' }, who('UMGR7'));
    expect(seen.kind === 'ok' && seen.reply.data.alerts).toEqual([]);
    // The same through the API: a query token granted store 7 lists none of store 5's rules.
    const store7 = await createToken(t.db, { name: 'bi7', scopes: ['query'] });
    await addGrant(t.db, { principal: `token:${store7.info.id}`, role: 'viewer', scope: { kind: 'store', store: 7 } });
    const store5 = await createToken(t.db, { name: 'bi5', scopes: ['query'] });
    await addGrant(t.db, { principal: `token:${store5.info.id}`, role: 'viewer', scope: { kind: 'store', store: 5 } });
    const { app } = createApp(services);
    const listed = async (token: string) => ((await (await app.request('/api/v1/alerts', { headers: { authorization: `Bearer ${token}` } })).json()) as { alerts: { id: string }[] }).alerts.map((a) => a.id);
    expect(await listed(store7.token)).toEqual([]);
    expect(await listed(store5.token)).toContain(rule!.id);
    // The channel's rules, and the asker's own wherever they notify (a direct message).
    const viewer = await services.run({ name: 'alerts', text: '' }, who('UVIEW'));
    expect(viewer.kind === 'ok' && (viewer.reply.data.alerts as { target: { kind: string } }[]).map((a) => a.target.kind)).toEqual(['slack-channel']);
    const mine = await services.run({ name: 'alerts', text: '' }, who('UMGR'));
    expect(mine.kind === 'ok' && (mine.reply.data.alerts as { target: { kind: string } }[]).map((a) => a.target.kind)).toEqual(['slack-channel', 'slack-dm']);
    expect((await run(who('UMGR'), `delete ${rule!.id}`)).kind).toBe('ok');
  });

  it('a rule stops speaking for a creator who lost access: the send-time check is false after the grant goes', async () => {
    await addGrant(t.db, { principal: 'slack:T1/UGONE', role: 'manager', scope: { kind: 'store', store: 7 } });
    expect((await run(who('UGONE'), 'stock store 7 below 2 weeks')).kind).toBe('ok');
    const [rule] = await t.db.query<{ created_by: string; created_by_roles: string[] | null }>("SELECT created_by, created_by_roles FROM alert_rules WHERE created_by = 'slack:T1/UGONE'");
    const settings = services.config.access;
    const scope = { kind: 'store', store: 7 } as const;
    const verdict = async () => mayDeliver(t.db, 'restricted', await resolveCreator(t.db, settings, { key: rule!.created_by, roles: rule!.created_by_roles }), scope, { kind: 'webhook' });
    expect(await verdict()).toEqual({ ok: true });
    await removeGrants(t.db, 'slack:T1/UGONE');
    expect(await verdict()).toMatchObject({ ok: false, cause: 'creator' });
  });

  it('a sales rule on one department of a region or the chain is refused by the API as in chat, and not stored', async () => {
    const admin = await createToken(t.db, { name: 'ops', scopes: ['admin'] });
    const { app } = createApp(services);
    const before = await t.db.query('SELECT id FROM alert_rules');
    for (const scope of [{ chain: true }, { region: 'South' }]) {
      const res = await app.request('/api/v1/alerts', {
        method: 'POST',
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'sales', ...scope, dept: 7, belowForecast: true, email: 'ops@example.com' }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain('per store');
    }
    expect(await t.db.query('SELECT id FROM alert_rules')).toEqual(before);
  });

  it('/subscribe ... email: weekly summaries by email to any address need the admin role', async () => {
    const subscribe = (user: string) => services.run({ name: 'subscribe', text: 'weekly-summary store 5 every monday at 08:00 email ops@example.com' }, who(user));
    const manager = await subscribe('UMGR');
    expect(manager.kind).toBe('user-error');
    expect(manager.reply.summary).toContain('needs the admin role');
    const admin = await subscribe('UADMIN');
    expect(admin.kind).toBe('ok');
    const [row] = await t.db.query<{ target_kind: string; channel: string; target_hint: string }>("SELECT target_kind, channel, target_hint FROM webhook_subscriptions");
    expect(row).toEqual({ target_kind: 'email', channel: 'ops@example.com', target_hint: 'email o…s@example.com' });
    // It belongs to no channel: removed by id, by an admin of its scope.
    const id = (admin.kind === 'ok' && (admin.reply.data.subscription as { id: string }).id) as string;
    expect((await services.run({ name: 'unsubscribe', text: `id ${id}` }, who('UMGR'))).kind).toBe('user-error');
    expect((await services.run({ name: 'unsubscribe', text: `id ${id}` }, who('UADMIN'))).kind).toBe('ok');
  });

  it('wrong words answer what was wrong, the usage and an example', async () => {
    const bad = await run(who('UMGR'), 'stock store 5');
    expect(bad.kind).toBe('user-error');
    expect(bad.reply.summary).toContain('threshold in weeks of cover');
    const drop = await run(who('UMGR'), 'sales store 5 drop lots');
    expect(drop.reply.summary).toContain('percentage');
    const typo = await run(who('UMGR'), 'stokc store 5 below 2');
    expect(typo.kind).toBe('user-error');
    expect(JSON.stringify(typo.reply)).toContain('/alert what stock|sales|delete|snooze|ack');
  });
});
