import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateAfterImport } from '../src/alerts/hooks.ts';
import { createRule } from '../src/alerts/rules.ts';
import { createAlertScheduler } from '../src/alerts/scheduler.ts';
import { createOutbound } from '../src/net/outbound.ts';
import type { Services } from '../src/services.ts';
import { ingestJson } from '../src/data/ingest.ts';
import { FAKE_APP_ID, type FakeDiscord, discordHeaders, discordKeys } from './fakes/discord-api.ts';
import { createTestDatabase, type TestDatabase, importDemoStores } from './helpers/db.ts';
import { serveDiscord, type DiscordServer } from './helpers/platforms.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

const keys = discordKeys();
const GUILD = '1300000000000000001';
const CHANNEL = '1200000000000000001';
const USER = '1400000000000000001';

let t: TestDatabase;
let fake: FakeDiscord;
let services: Services;
let server: DiscordServer;
let weekly: Map<number, number>;

const counts = (dept7: number, asOf: string) => [...weekly].map(([dept, avg]) => ({ store: 5, dept, date: asOf, onHand: Math.round(avg * (dept === 7 ? dept7 : 30)), leadTimeWeeks: 1 }));

function click(customId: string): string {
  return JSON.stringify({
    id: String(1700000000000000000n + BigInt(Math.floor(Math.random() * 1e9))),
    application_id: FAKE_APP_ID,
    type: 3,
    token: `interaction-token-${Math.random()}`,
    version: 1,
    guild_id: GUILD,
    channel_id: CHANNEL,
    channel: { id: CHANNEL, type: 0, name: 'stock', guild_id: GUILD },
    member: { user: { id: USER, username: 'manager', discriminator: '0', global_name: 'Manager', avatar: null }, roles: [], permissions: '0', joined_at: '2024-01-01T00:00:00.000Z', deaf: false, mute: false, flags: 0 },
    locale: 'en-US',
    app_permissions: '0',
    entitlements: [],
    data: { custom_id: customId, component_type: 2 },
    message: { id: '1800000000000000001', channel_id: CHANNEL, type: 20, content: '', embeds: [], components: [], attachments: [], author: { id: FAKE_APP_ID, username: 'storecast', discriminator: '0', avatar: null }, timestamp: new Date().toISOString(), flags: 0 },
  });
}

beforeAll(async () => {
  t = await createTestDatabase('pglite');
  await importDemoStores(t.db, [5]);
  const rows = await t.db.query<{ dept_id: number; avg: number }>("SELECT dept_id, avg(sales)::float8 AS avg FROM weekly_sales WHERE store_id = 5 AND week > '2012-08-31' GROUP BY dept_id");
  weekly = new Map(rows.map((r) => [r.dept_id, Math.max(100, r.avg)]));
  server = await serveDiscord(t.db, { discordPublicKey: keys.publicKeyHex });
  ({ discord: fake, services } = server);
}, 120_000);

afterAll(async () => {
  await server?.close();
  await t?.cleanup();
});

describe('alert notices in Discord', () => {
  it('posts to the channel and by DM with Snooze and Acknowledge buttons that run /alert as the clicker', async () => {
    const outbound = createOutbound();
    const rule = await createRule(t.db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store', store: 5 }, condition: { type: 'cover-below', weeks: 2, basis: 'p90' }, target: { kind: 'channel', platform: 'discord', workspace: GUILD, channel: CHANNEL }, createdBy: `discord:${GUILD}/${USER}` }, outbound);
    const dm = await createRule(t.db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store-dept', store: 5, dept: 7 }, condition: { type: 'cover-below', weeks: 1, basis: 'median' }, target: { kind: 'dm', platform: 'discord', workspace: GUILD, channel: USER }, createdBy: `discord:${GUILD}/${USER}` }, outbound);
    await evaluateAfterImport(services, await ingestJson(t.db, counts(30, '2012-10-26'), 'test', 'stock'));
    await evaluateAfterImport(services, await ingestJson(t.db, counts(0.2, '2012-10-27'), 'test', 'stock'));
    const scheduler = createAlertScheduler(services);
    await scheduler.tick();
    await scheduler.stop();

    const posted = fake.find((c) => c.method === 'POST' && /^\/api\/v10\/channels\/\d+\/messages$/.test(c.path));
    expect(posted.map((c) => c.path).sort()).toEqual([`/api/v10/channels/${CHANNEL}/messages`, `/api/v10/channels/9${USER.slice(1)}/messages`].sort());
    const payload = posted.find((c) => c.path.includes(CHANNEL))!.body.payload_json as { embeds: { title: string }[]; components: { components: { label: string; custom_id: string }[] }[] };
    expect(payload.embeds[0]!.title).toBe('Alert: Store 5 · stock cover below 2 weeks at p90 demand');
    const buttons = payload.components.flatMap((r) => r.components);
    expect(buttons.map((b) => b.label)).toEqual(['Snooze a day', 'Snooze a week', 'Acknowledge']);
    expect(fake.find((c) => c.path === '/api/v10/users/@me/channels')[0]!.body).toEqual({ recipient_id: USER });

    const snooze = buttons.find((b) => b.label === 'Snooze a week')!.custom_id;
    const body = click(snooze);
    expect((await fetch(`${server.url}/discord/interactions`, { method: 'POST', headers: discordHeaders(keys.privateKey, body), body })).status).toBe(200);
    const ack = click(buttons.find((b) => b.label === 'Acknowledge')!.custom_id);
    expect((await fetch(`${server.url}/discord/interactions`, { method: 'POST', headers: discordHeaders(keys.privateKey, ack), body: ack })).status).toBe(200);
    await services.drain();
    const [row] = await t.db.query<{ snoozed_until: Date | string; acknowledged_by: string }>('SELECT snoozed_until, acknowledged_by FROM alert_rules WHERE id = $1', [rule.id]);
    expect(new Date(row!.snoozed_until).getTime() - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    expect(row!.acknowledged_by).toBe(`discord:${GUILD}/${USER}`);
    expect(dm.target.kind).toBe('discord-dm');
  });

  it('opens the DM through the adapter\'s REST client: a 429 on it is waited out (Retry-After) and the notice goes out in the same round', async () => {
    const other = '1400000000000000002';
    const rule = await createRule(t.db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store-dept', store: 5, dept: 7 }, condition: { type: 'cover-below', weeks: 1, basis: 'median' }, target: { kind: 'dm', platform: 'discord', workspace: GUILD, channel: other }, createdBy: `discord:${GUILD}/${USER}` }, createOutbound());
    fake.fail((c) => c.path === '/api/v10/users/@me/channels', { status: 429, headers: { 'retry-after': '0.2', 'x-ratelimit-scope': 'user' }, body: { message: 'You are being rate limited.', retry_after: 0.2, global: false } });
    await evaluateAfterImport(services, await ingestJson(t.db, counts(0.2, '2012-10-28'), 'test', 'stock'));
    const scheduler = createAlertScheduler(services);
    await scheduler.tick();
    await scheduler.stop();

    const opens = fake.find((c) => c.path === '/api/v10/users/@me/channels' && (c.body as { recipient_id?: string }).recipient_id === other);
    expect(opens).toHaveLength(2);
    // Discord asks bots for a User-Agent of this form; the SDK sends it, a bare fetch did not.
    expect(opens[1]!.headers['user-agent']).toMatch(/^DiscordBot \(/);
    expect(fake.find((c) => c.method === 'POST' && c.path === `/api/v10/channels/9${other.slice(1)}/messages`)).toHaveLength(1);
    const [notice] = await t.db.query<{ status: string; attempts: number }>('SELECT status, attempts FROM alert_notifications WHERE rule_id = $1', [rule.id]);
    expect(notice).toEqual({ status: 'succeeded', attempts: 1 });
  });
});
