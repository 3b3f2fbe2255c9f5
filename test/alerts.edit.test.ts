import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { evaluateAfterImport } from '../src/alerts/hooks.ts';
import { createRule } from '../src/alerts/rules.ts';
import { createAlertScheduler } from '../src/alerts/scheduler.ts';
import { createOutbound } from '../src/net/outbound.ts';
import type { Services } from '../src/services.ts';
import { ingestJson } from '../src/data/ingest.ts';
import { FAKE_APP_ID, type FakeDiscord, discordHeaders, discordKeys } from './fakes/discord-api.ts';
import type { Captured } from './fakes/http.ts';
import type { FakeSlack } from './fakes/slack-api.ts';
import { createTestDatabase, DB_KINDS, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { servePlatforms, slackButtonClick, type SlackDiscordServer } from './helpers/platforms.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

// Alerts edited in place: an episode is one chat message, edited as it is acknowledged, snoozed
// and resolved, each change also said in the message's thread. Through the real Bolt app and
// discord.js REST client against the fake platform APIs on 127.0.0.1, on PGlite and Postgres.
const SECRET = 'alerts-edit-signing-secret-0123456789';
const TEAM = 'T1DC2JH3J';
const SLACK_CHANNEL = 'C0STOCK5';
const SLACK_USER = 'U0MANAGER';
const GUILD = '1300000000000000001';
const CHANNEL = '1200000000000000001';
const DUSER = '1400000000000000001';
const keys = discordKeys();

type Block = { type: string; text?: { text: string }; elements?: { type: string; value?: string; text?: { text: string } }[] };
const blocksOf = (c: Captured) => (typeof c.body.blocks === 'string' ? JSON.parse(c.body.blocks) : c.body.blocks) as Block[];
const headerOf = (c: Captured) => blocksOf(c).find((b) => b.type === 'header')!.text!.text;
const slackButtons = (c: Captured) => blocksOf(c).flatMap((b) => (b.elements ?? []).filter((e) => e.type === 'button')) as { value: string; text: { text: string } }[];
const embedOf = (c: Captured) => ((c.body.payload_json ?? c.body) as { embeds: { title: string; description?: string; fields?: { name: string; value: string }[] }[] }).embeds[0]!;
const discordButtons = (c: Captured) => ((c.body.payload_json ?? c.body) as { components?: { components: { custom_id: string; label: string }[] }[] }).components?.flatMap((r) => r.components) ?? [];

for (const kind of DB_KINDS) {
  describe(`alerts edited in place (${kind})`, () => {
    let t: TestDatabase;
    let slack: FakeSlack;
    let discord: FakeDiscord;
    let services: Services;
    let server: SlackDiscordServer;
    let weekly: Map<number, number>;
    let day = 10;

    /** Store 5's stock counts: department 7 holding `dept7` weeks of its sales, the rest 30. */
    async function count(dept7: number): Promise<void> {
      const asOf = `2012-10-${String(++day).padStart(2, '0')}`;
      const rows = [...weekly].map(([dept, avg]) => ({ store: 5, dept, date: asOf, onHand: Math.round(avg * (dept === 7 ? dept7 : 30)), leadTimeWeeks: 1 }));
      await evaluateAfterImport(services, await ingestJson(t.db, rows, 'test', 'stock'));
    }

    async function deliverNotices(): Promise<void> {
      const scheduler = createAlertScheduler(services, { key: Buffer.alloc(32, 7) });
      await scheduler.tick();
      await scheduler.stop();
    }

    const slackClick = (value: string, ts: string) => slackButtonClick(server, SECRET, { team: TEAM, user: SLACK_USER, channel: SLACK_CHANNEL, ts, value, responseUrl: slack.responseUrl('alerts/edit') });

    function discordClick(customId: string, message: string): Promise<Response> {
      const body = JSON.stringify({
        id: String(1700000000000000000n + BigInt(++day)),
        application_id: FAKE_APP_ID,
        type: 3,
        token: `edit-token-${day}`,
        version: 1,
        guild_id: GUILD,
        channel_id: CHANNEL,
        channel: { id: CHANNEL, type: 0, name: 'stock', guild_id: GUILD },
        member: { user: { id: DUSER, username: 'manager', discriminator: '0', global_name: 'Manager', avatar: null }, roles: [], permissions: '0', joined_at: '2024-01-01T00:00:00.000Z', deaf: false, mute: false, flags: 0 },
        locale: 'en-US',
        app_permissions: '0',
        entitlements: [],
        data: { custom_id: customId, component_type: 2 },
        message: { id: message, channel_id: CHANNEL, type: 0, content: '', embeds: [], components: [], attachments: [], author: { id: FAKE_APP_ID, username: 'storecast', discriminator: '0', avatar: null }, timestamp: new Date().toISOString(), flags: 0 },
      });
      return fetch(`${server.url}/discord/interactions`, { method: 'POST', headers: discordHeaders(keys.privateKey, body), body });
    }

    beforeAll(async () => {
      t = await createTestDatabase(kind);
      await importDemoStores(t.db, [5]);
      const rows = await t.db.query<{ dept_id: number; avg: number }>("SELECT dept_id, avg(sales)::float8 AS avg FROM weekly_sales WHERE store_id = 5 AND week > '2012-08-31' GROUP BY dept_id");
      weekly = new Map(rows.map((r) => [r.dept_id, Math.max(100, r.avg)]));
      server = await servePlatforms(t.db, { slackSecret: SECRET, discordPublicKey: keys.publicKeyHex });
      ({ slack, discord, services } = server);
      await count(30);
    }, 180_000);

    afterAll(async () => {
      await server?.close();
      await t?.cleanup();
    });

    beforeEach(() => server.reset());

    it('Slack: firing then resolving leaves one channel message, edited to resolved, and one thread reply', async () => {
      const rule = await createRule(t.db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store-dept', store: 5, dept: 7 }, condition: { type: 'cover-below', weeks: 2, basis: 'p90' }, target: { kind: 'channel', platform: 'slack', workspace: TEAM, channel: SLACK_CHANNEL }, createdBy: `slack:${TEAM}/${SLACK_USER}` }, createOutbound());
      await count(0.2);
      await deliverNotices();
      await count(30);
      await deliverNotices();

      const posts = slack.method('chat.postMessage').filter((c) => c.body.channel === SLACK_CHANNEL);
      const top = posts.filter((c) => !c.body.thread_ts);
      expect(top).toHaveLength(1);
      expect(headerOf(top[0]!)).toMatch(/^Alert: Store 5 · Dept 7/);
      const [notice] = await t.db.query<{ message_channel: string; message_id: string }>("SELECT message_channel, message_id FROM alert_notifications WHERE rule_id = $1 AND kind = 'firing'", [rule.id]);
      const updates = slack.method('chat.update');
      expect(updates).toHaveLength(1);
      expect(updates[0]!.body).toMatchObject({ channel: SLACK_CHANNEL, ts: notice!.message_id });
      expect(headerOf(updates[0]!)).toMatch(/^Resolved: Store 5 · Dept 7/);
      // Resolved: the snooze and acknowledge buttons are gone.
      expect(slackButtons(updates[0]!).map((b) => b.text.text)).toEqual(['Stock cover']);
      const replies = posts.filter((c) => c.body.thread_ts === notice!.message_id);
      expect(replies).toHaveLength(1);
      expect(headerOf(replies[0]!)).toBe('Resolved: Store 5 · Dept 7');
      const rows = await t.db.query<{ kind: string; status: string }>('SELECT kind, status FROM alert_notifications WHERE rule_id = $1 ORDER BY created_at', [rule.id]);
      expect(rows).toEqual([{ kind: 'firing', status: 'succeeded' }, { kind: 'resolved', status: 'succeeded' }]);
    });

    it('Slack: Acknowledge and Snooze clicked on the notice edit it and are said in its thread', async () => {
      const rule = await createRule(t.db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store-dept', store: 5, dept: 7 }, condition: { type: 'cover-below', weeks: 1.5, basis: 'p90' }, target: { kind: 'channel', platform: 'slack', workspace: TEAM, channel: SLACK_CHANNEL }, createdBy: `slack:${TEAM}/${SLACK_USER}` }, createOutbound());
      await count(0.2);
      await deliverNotices();
      const firing = slack.method('chat.postMessage').find((c) => c.body.channel === SLACK_CHANNEL && !c.body.thread_ts && headerOf(c).includes('1.5 weeks'))!;
      const [{ message_id: ts } = { message_id: '' }] = await t.db.query<{ message_id: string }>("SELECT message_id FROM alert_notifications WHERE rule_id = $1 AND kind = 'firing'", [rule.id]);
      const buttons = slackButtons(firing);
      expect((await slackClick(buttons.find((b) => b.text.text === 'Acknowledge')!.value, ts)).status).toBe(200);
      await services.drain();
      await deliverNotices();
      expect((await slackClick(buttons.find((b) => b.text.text === 'Snooze a day')!.value, ts)).status).toBe(200);
      await services.drain();
      await deliverNotices();

      const updates = slack.method('chat.update').filter((c) => c.body.ts === ts);
      expect(updates).toHaveLength(2);
      const statusOf = (c: Captured) => JSON.stringify(blocksOf(c));
      expect(statusOf(updates[0]!)).toContain(`firing, acknowledged by Slack user ${SLACK_USER} (${TEAM})`);
      expect(statusOf(updates[1]!)).toMatch(/firing, acknowledged by Slack user U0MANAGER \(T1DC2JH3J\), snoozed until \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
      const replies = slack.method('chat.postMessage').filter((c) => c.body.thread_ts === ts && String(c.body.channel) === SLACK_CHANNEL);
      expect(replies.map(headerOf)).toEqual(['Acknowledged: Store 5 · Dept 7', 'Snoozed: Store 5 · Dept 7']);
      expect(slack.method('chat.postMessage').filter((c) => c.body.channel === SLACK_CHANNEL && !c.body.thread_ts && headerOf(c).includes('1.5 weeks'))).toHaveLength(1);
    });

    it('Discord: firing then resolving leaves one channel message, edited, and one reply in a thread on it', async () => {
      const rule = await createRule(t.db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store-dept', store: 5, dept: 7 }, condition: { type: 'cover-below', weeks: 2, basis: 'p90' }, target: { kind: 'channel', platform: 'discord', workspace: GUILD, channel: CHANNEL }, createdBy: `discord:${GUILD}/${DUSER}` }, createOutbound());
      await count(0.2);
      await deliverNotices();
      const firing = discord.requests('POST', new RegExp(`^/channels/${CHANNEL}/messages$`));
      expect(firing).toHaveLength(1);
      const [{ message_id: id } = { message_id: '' }] = await t.db.query<{ message_id: string }>("SELECT message_id FROM alert_notifications WHERE rule_id = $1 AND kind = 'firing'", [rule.id]);
      expect(id).toMatch(/^\d+$/);
      // Acknowledged from the notice's button, then resolved.
      const ack = discordButtons(firing[0]!).find((b) => b.label === 'Acknowledge')!.custom_id;
      expect((await discordClick(ack, id)).status).toBe(200);
      await services.drain();
      await deliverNotices();
      await count(30);
      await deliverNotices();

      expect(discord.requests('POST', new RegExp(`^/channels/${CHANNEL}/messages$`))).toHaveLength(1);
      const edits = discord.requests('PATCH', new RegExp(`^/channels/${CHANNEL}/messages/${id}$`));
      expect(edits.map((e) => embedOf(e).title)).toEqual(['Alert: Store 5 · Dept 7 · stock cover below 2 weeks at p90 demand', 'Resolved: Store 5 · Dept 7 · stock cover below 2 weeks at p90 demand']);
      expect(JSON.stringify(embedOf(edits[0]!))).toContain(`acknowledged by Discord user ${DUSER} (${GUILD})`);
      // One thread on the notice (it takes the message's id; a second start is refused as existing), holding both changes.
      expect(discord.threads.has(id)).toBe(true);
      const inThread = discord.requests('POST', new RegExp(`^/channels/${id}/messages$`));
      expect(inThread.map((c) => embedOf(c).title)).toEqual(['Acknowledged: Store 5 · Dept 7', 'Resolved: Store 5 · Dept 7']);
    });
  });
}
