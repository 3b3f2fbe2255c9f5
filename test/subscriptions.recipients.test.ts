import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addGrant, removeGrants } from '../src/access/grants.ts';
import { createToken } from '../src/auth/tokens.ts';
import { openPostgres, type Database } from '../src/db/client.ts';
import { createScheduler } from '../src/delivery/summaries/scheduler.ts';
import { listDeliveries } from '../src/delivery/summaries/deliveries.ts';
import { formatDeliveries } from '../src/cli/deliveries.ts';
import type { Services } from '../src/services.ts';
import { FAKE_APP_ID, type FakeDiscord, discordHeaders, discordKeys } from './fakes/discord-api.ts';
import type { Captured } from './fakes/http.ts';
import type { FakeSlack } from './fakes/slack-api.ts';
import { createTestDatabase, DB_KINDS, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { askOk } from './helpers/services.ts';
import { serveDiscord, servePlatforms, slackButtonClick, type SlackDiscordServer } from './helpers/platforms.ts';
import { runStorecast } from './helpers/cli.ts';

// One subscription, one answer per recipient: a region's weekly summary sent by direct message to
// each manager of a store in it, with their stores only, resolved from the grants at send time (a
// Discord role grant through the server's member list). Through the real @slack/web-api, Bolt and
// discord.js REST clients against the fake platform APIs on 127.0.0.1, on PGlite and Postgres.
const SECRET = 'recipients-signing-secret-0123456789';
const TEAM = 'T1DC2JH3J';
const GUILD = '1300000000000000001';
const ROLE = '1500000000000000009';
/** Manages store 3 (West) in Slack. */
const SLACK_MANAGER = 'U0MANAGER3';
/** Manages store 7 (West) through a Discord role. */
const DISCORD_MANAGER = '1400000000000000007';
/** Manages store 5 (South): nothing of West. */
const SOUTH_MANAGER = 'U0MANAGER5';
/** Views store 3: not a manager. */
const VIEWER = 'U0VIEWER3';
const keys = discordKeys();

type Block = { type: string; text?: { text: string }; elements?: { type: string; value?: string; text?: { text: string } }[] };
const blocksOf = (c: Captured) => (typeof c.body.blocks === 'string' ? JSON.parse(c.body.blocks) : c.body.blocks) as Block[];
const headerOf = (c: Captured) => blocksOf(c).find((b) => b.type === 'header')!.text!.text;
const embedOf = (c: Captured) => ((c.body.payload_json ?? c.body) as { embeds: { title: string; footer?: { text: string } }[] }).embeds[0]!;
const WEEK = 7 * 86_400_000;

for (const kind of DB_KINDS) {
  describe(`per-recipient weekly summaries (${kind})`, () => {
    let t: TestDatabase;
    let slack: FakeSlack;
    let discord: FakeDiscord;
    let services: Services;
    let server: SlackDiscordServer;
    let token: string;
    let subscription: string;
    let now = new Date('2030-01-07T09:00:00Z');

    const slackDms = () => slack.method('chat.postMessage').filter((c) => String(c.body.channel).startsWith('U'));
    const discordDms = () => discord.find((c) => c.method === 'POST' && /^\/api\/v10\/channels\/9\d+\/messages$/.test(c.path));

    /** One or more scheduler rounds at `now` (the first plans and fans out, the next sends the copies). */
    async function rounds(n: number, db: Database = t.db): Promise<void> {
      const scheduler = createScheduler({ ...services, db }, { now: () => now });
      for (let i = 0; i < n; i++) await scheduler.tick();
      await scheduler.stop();
    }

    const slackClick = (user: string, value: string) => slackButtonClick(server, SECRET, { team: TEAM, user, channel: `D${user.slice(1)}`, ts: '1700000000.000100', value, responseUrl: slack.responseUrl('recipients/stop') });

    beforeAll(async () => {
      t = await createTestDatabase(kind);
      await importDemoStores(t.db, [3, 5, 7]);
      server = await servePlatforms(t.db, { slackSecret: SECRET, discordPublicKey: keys.publicKeyHex, env: { STORECAST_ACCESS: 'restricted' } });
      ({ slack, discord, services } = server);
      await addGrant(t.db, { principal: `slack:${TEAM}/${SLACK_MANAGER}`, role: 'manager', scope: { kind: 'store', store: 3 } });
      await addGrant(t.db, { principal: `discord-role:${GUILD}/${ROLE}`, role: 'manager', scope: { kind: 'store', store: 7 } });
      await addGrant(t.db, { principal: `slack:${TEAM}/${SOUTH_MANAGER}`, role: 'manager', scope: { kind: 'store', store: 5 } });
      await addGrant(t.db, { principal: `slack:${TEAM}/${VIEWER}`, role: 'viewer', scope: { kind: 'store', store: 3 } });
      // The role's member, and a member of the server without it.
      discord.members.set(`${GUILD}/${DISCORD_MANAGER}`, [ROLE]);
      discord.members.set(`${GUILD}/1400000000000000002`, []);
      // The integration that subscribes: an admin token whose own grant is viewing West (not a recipient: no one to message).
      const created = await createToken(t.db, { name: 'ops', scopes: ['admin'] });
      token = created.token;
      await addGrant(t.db, { principal: `token:${created.info.id}`, role: 'viewer', scope: { kind: 'region', region: 'West' } });
    }, 180_000);

    afterAll(async () => {
      await server?.close();
      await t?.cleanup();
    });

    beforeEach(() => server.reset());

    it('POST /api/v1/subscriptions with recipients: each-manager DMs each manager of West the summary of their own store only', async () => {
      const bad = await fetch(`${server.url}/api/v1/subscriptions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ region: 'West', recipients: 'each-manager', url: 'https://example.com/hook' }) });
      expect(bad.status).toBe(400);
      expect(await bad.text()).toContain('exactly one of url or recipients');
      const res = await fetch(`${server.url}/api/v1/subscriptions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ region: 'West', recipients: 'each-manager', every: 'monday 08:00' }) });
      expect(res.status).toBe(201);
      const sub = (await res.json()) as { id: string; target: { kind: string; hint: string }; recipients: string };
      expect(sub.target).toEqual({ kind: 'recipients', hint: 'each manager (direct messages)' });
      expect(sub.recipients).toBe('manager');
      subscription = sub.id;
      await t.db.query('UPDATE webhook_subscriptions SET next_run_at = $2 WHERE id = $1', [subscription, new Date(now.getTime() - 60_000).toISOString()]);

      await rounds(2);

      // Slack: one DM (chat.postMessage to the user id), of store 3 alone.
      const dms = slackDms();
      expect(dms.map((c) => c.body.channel)).toEqual([SLACK_MANAGER]);
      expect(headerOf(dms[0]!)).toMatch(/^Store 3: weekly summary/);
      expect(JSON.stringify(blocksOf(dms[0]!))).not.toMatch(/Store 7|West region sold/);
      // Discord: the role's member, found in the server's member list, gets a DM of store 7 alone.
      expect(discord.requests('GET', new RegExp(`^/guilds/${GUILD}/members$`)).length).toBeGreaterThan(0);
      expect(discord.find((c) => c.path === '/api/v10/users/@me/channels').map((c) => (c.body as { recipient_id: string }).recipient_id)).toEqual([DISCORD_MANAGER]);
      const ddms = discordDms();
      expect(ddms).toHaveLength(1);
      expect(embedOf(ddms[0]!).title).toMatch(/^Store 7: weekly summary/);
      // No one else: not the South manager, not store 3's viewer, not the token.
      expect(slack.method('chat.postMessage').filter((c) => [SOUTH_MANAGER, VIEWER].includes(String(c.body.channel)))).toEqual([]);

      const rows = await t.db.query<{ recipient: string; status: string; week: string }>('SELECT recipient, status, week::text AS week FROM webhook_deliveries WHERE subscription_id = $1 ORDER BY recipient', [subscription]);
      expect(rows.map((r) => [r.recipient, r.status])).toEqual([
        ['', 'succeeded'],
        [`discord:${GUILD}/${DISCORD_MANAGER}`, 'succeeded'],
        [`slack:${TEAM}/${SLACK_MANAGER}`, 'succeeded'],
      ]);
      expect(new Set(rows.map((r) => r.week)).size).toBe(1);
      // `storecast deliveries` shows each copy as whose it is.
      expect(formatDeliveries(await listDeliveries(t.db, { subscriptionId: subscription }))).toContain(`DM to slack:${TEAM}/${SLACK_MANAGER}`);
    });

    it("a recipient's Stop button (run as the clicker, through the access check) stops only their copy", async () => {
      const dm = (await t.db.query<{ id: string }>('SELECT id FROM webhook_deliveries WHERE subscription_id = $1 AND recipient = $2', [subscription, `slack:${TEAM}/${SLACK_MANAGER}`]))[0];
      expect(dm).toBeDefined();
      // The button of the DM just sent (re-sent here to read it: the same summary, the same button).
      await t.db.query("UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now() - interval '1 minute' WHERE id = $1", [dm!.id]);
      await rounds(1);
      const stop = blocksOf(slackDms()[0]!).flatMap((b) => b.elements ?? []).find((e) => e.type === 'button' && e.text?.text === 'Stop my copy')!;
      expect(stop.value).toBe(`/unsubscribe id ${subscription} only me`);
      // Their home lists the copy with the same Stop (the others' homes do not).
      const home = async (user: string) => JSON.stringify((await askOk(services, '/me', { platform: 'slack', workspace: TEAM, channel: `D${user.slice(1)}`, user, roles: [] })).data.home);
      expect(await home(SLACK_MANAGER)).toContain(`"text":"Your copy: weekly summary of your stores in West region, every Monday 08:00 UTC, by direct message","copy":true,"actions":[{"label":"Stop my copy","command":"/unsubscribe id ${subscription} only me","danger":true}]`);
      expect(await home(SOUTH_MANAGER)).not.toContain('Your copy');
      // Someone who gets no copy cannot stop anyone else's: the line stops the clicker's own.
      expect((await slackClick(SLACK_MANAGER, stop.value!)).status).toBe(200);
      await services.drain();
      await slack.waitFor((c) => JSON.stringify(c.body).includes('Your copy is stopped'));
      expect((await t.db.query('SELECT recipient FROM subscription_optouts WHERE subscription_id = $1', [subscription])).map((r) => (r as { recipient: string }).recipient)).toEqual([`slack:${SLACK_MANAGER}`]);
      expect(await home(SLACK_MANAGER)).not.toContain('Your copy');

      slack.reset();
      discord.reset();
      now = new Date(now.getTime() + WEEK);
      await rounds(2);
      expect(slackDms()).toEqual([]);
      expect(discordDms()).toHaveLength(1);
      const [fan] = await t.db.query<{ last_error: string }>("SELECT last_error FROM webhook_deliveries WHERE subscription_id = $1 AND recipient = '' ORDER BY week DESC LIMIT 1", [subscription]);
      expect(fan!.last_error).toMatch(/^1 recipient \(1 queued now, 1 stopped their copy\)/);
    });

    it('two schedulers racing deliver each DM once per week', async () => {
      const second = t.url ? await openPostgres(t.url) : t.db;
      try {
        slack.reset();
        discord.reset();
        await t.db.query('DELETE FROM subscription_optouts');
        now = new Date(now.getTime() + WEEK);
        for (let i = 0; i < 3; i++) await Promise.all([rounds(1), rounds(1, second)]);
        expect(slackDms().map((c) => c.body.channel)).toEqual([SLACK_MANAGER]);
        expect(discordDms()).toHaveLength(1);
        const rows = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook_deliveries WHERE subscription_id = $1 AND week = (SELECT max(week) FROM webhook_deliveries WHERE subscription_id = $1) AND status = 'succeeded'", [subscription]);
        expect(rows[0]!.n).toBe(3);
      } finally {
        if (second !== t.db) await second.close();
      }
    });

    it('a creator who lost the access pauses it: the week is recorded paused, no one messaged', async () => {
      const [{ created_by: creator } = { created_by: '' }] = await t.db.query<{ created_by: string }>('SELECT created_by FROM webhook_subscriptions WHERE id = $1', [subscription]);
      await removeGrants(t.db, creator);
      slack.reset();
      discord.reset();
      now = new Date(now.getTime() + WEEK);
      await rounds(2);
      expect(slackDms()).toEqual([]);
      expect(discordDms()).toEqual([]);
      const [fan] = await t.db.query<{ status: string; last_error: string }>("SELECT status, last_error FROM webhook_deliveries WHERE subscription_id = $1 AND recipient = '' ORDER BY week DESC LIMIT 1", [subscription]);
      expect(fan!.status).toBe('paused');
      expect(fan!.last_error).toContain(`Weekly summary ${subscription} is paused`);
      await addGrant(t.db, { principal: creator, role: 'viewer', scope: { kind: 'region', region: 'West' } });
    });

    // The CLI runs in a child process, so it needs a database it can reach: the Postgres run's.
    if (kind === 'postgres') {
      it('storecast subscriptions create --region West --each manager', async () => {
        const made = await runStorecast(['subscriptions', 'create', '--region', 'West', '--each', 'manager', '--every', 'tuesday 07:00', '--json'], { DATABASE_URL: t.url! });
        expect(made.code).toBe(0);
        expect(JSON.parse(made.stdout)).toMatchObject({ scope: { kind: 'region', region: 'West' }, target: { kind: 'recipients', hint: 'each manager (direct messages)' }, recipients: 'manager' });
        const both = await runStorecast(['subscriptions', 'create', '--region', 'West', '--each', 'manager', '--url', 'https://example.com/hook'], { DATABASE_URL: t.url! });
        expect(both.code).not.toBe(0);
        expect(both.stderr).toContain('Give --url or --each, not both.');
      }, 60_000);
    }

    it('/subscribe … each manager in chat: created by a manager of West, listed in the channel, refused for a viewer', async () => {
      await addGrant(t.db, { principal: `slack:${TEAM}/U0REGIONAL`, role: 'manager', scope: { kind: 'region', region: 'West' } });
      const regional = { platform: 'slack' as const, workspace: TEAM, channel: 'C0WEST', user: 'U0REGIONAL', roles: [] };
      const reply = await askOk(services, '/subscribe weekly-summary region West each manager every friday at 17:00', regional);
      expect(reply.title).toBe('Subscribed: weekly summary of West region, to each manager');
      const again = await services.run({ name: 'subscribe', text: 'weekly-summary region West each manager' }, regional);
      expect(again.reply.summary).toContain('already gets their copy');
      const listed = await askOk(services, '/subscriptions', regional);
      expect(JSON.stringify(listed.table?.rows)).toContain('recipients each manager (direct messages)');
      const viewer = await services.run({ name: 'subscribe', text: 'weekly-summary region West each manager' }, { platform: 'slack', workspace: TEAM, channel: 'C0WEST', user: VIEWER, roles: [] });
      expect(viewer.kind).toBe('denied');
    });
  });
}

// The Discord side of the stop button: a click in the DM (no server) stops that member's copy.
describe('per-recipient stop from a Discord DM', () => {
  it('is the clicker\'s own copy, whatever server the grant was in', async () => {
    const t = await createTestDatabase('pglite');
    const server = await serveDiscord(t.db, { discordPublicKey: keys.publicKeyHex, env: { STORECAST_ACCESS: 'restricted' } });
    const { discord, services } = server;
    try {
      await importDemoStores(t.db, [3, 7]);
      await addGrant(t.db, { principal: `discord-role:${GUILD}/${ROLE}`, role: 'manager', scope: { kind: 'store', store: 7 } });
      discord.members.set(`${GUILD}/${DISCORD_MANAGER}`, [ROLE]);
      const created = await askOk(services, '/subscribe weekly-summary region West each manager', { platform: 'cli', roles: [] }).catch((err: Error) => err);
      // The operator's shell is no chat channel: per-recipient subscriptions come from a channel, the API or the CLI's createSubscription.
      expect(created).toBeInstanceOf(Error);
      const { createSubscription } = await import('../src/delivery/summaries/subscriptions.ts');
      const { subscription: sub } = await createSubscription(t.db, undefined, { scope: { kind: 'region', region: 'West' }, target: { kind: 'recipients', role: 'manager' }, schedule: { weekday: 1, time: '08:00', timezone: 'UTC' }, delivery: { mode: 'restricted', creator: { kind: 'operator' } } });
      await t.db.query('UPDATE webhook_subscriptions SET next_run_at = $2 WHERE id = $1', [sub.id, '2030-01-07T08:00:00Z']);
      const scheduler = createScheduler(services, { now: () => new Date('2030-01-07T09:00:00Z') });
      await scheduler.tick();
      await scheduler.tick();
      await scheduler.stop();
      const dm = discord.find((c) => c.method === 'POST' && /^\/api\/v10\/channels\/9\d+\/messages$/.test(c.path))[0]!;
      const button = ((dm.body.payload_json ?? dm.body) as { components: { components: { custom_id: string; label: string }[] }[] }).components.flatMap((r) => r.components).find((b) => b.label === 'Stop my copy')!;
      const body = JSON.stringify({
        id: '1700000000000000099',
        application_id: FAKE_APP_ID,
        type: 3,
        token: 'dm-stop-token',
        version: 1,
        channel_id: `9${DISCORD_MANAGER.slice(1)}`,
        channel: { id: `9${DISCORD_MANAGER.slice(1)}`, type: 1 },
        user: { id: DISCORD_MANAGER, username: 'manager', discriminator: '0', global_name: 'Manager', avatar: null },
        locale: 'en-US',
        app_permissions: '0',
        entitlements: [],
        data: { custom_id: button.custom_id, component_type: 2 },
        message: { id: '1800000000000000001', channel_id: `9${DISCORD_MANAGER.slice(1)}`, type: 0, content: '', embeds: [], components: [], attachments: [], author: { id: FAKE_APP_ID, username: 'storecast', discriminator: '0', avatar: null }, timestamp: new Date().toISOString(), flags: 0 },
      });
      expect((await fetch(`${server.url}/discord/interactions`, { method: 'POST', headers: discordHeaders(keys.privateKey, body), body })).status).toBe(200);
      await services.drain();
      const optouts = await t.db.query<{ recipient: string }>('SELECT recipient FROM subscription_optouts WHERE subscription_id = $1', [sub.id]);
      expect(optouts.map((r) => r.recipient)).toEqual([`discord:${DISCORD_MANAGER}`]);
      expect(JSON.stringify(discord.calls.map((c) => c.body))).toContain('Your copy is stopped');
    } finally {
      await server.close();
      await t.cleanup();
    }
  }, 120_000);
});
