import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bindChannel } from '../src/access/channels.ts';
import { addGrant } from '../src/access/grants.ts';
import { createRule } from '../src/alerts/rules.ts';
import { alertLine } from '../src/alerts/options.ts';
import { slackSignature } from '../src/adapters/slack/verify.ts';
import { homeView, parseHomeValue, VIEW_BLOCKS } from '../src/adapters/slack/blocks.ts';
import { followUpThread } from '../src/adapters/slack/app.ts';
import { homeToDiscord } from '../src/adapters/discord/render.ts';
import { homeOf, type Home, type HomeItem } from '../src/chat/home.ts';
import type { Database } from '../src/db/client.ts';
import { createOutbound } from '../src/net/outbound.ts';
import type { Asker, Services } from '../src/services.ts';
import { createSubscription } from '../src/delivery/summaries/subscriptions.ts';
import { DEFAULT_SCHEDULE } from '../src/delivery/summaries/schedule.ts';
import { FAKE_APP_ID, type FakeDiscord, discordHeaders, discordKeys } from './fakes/discord-api.ts';
import type { Captured } from './fakes/http.ts';
import type { FakeSlack } from './fakes/slack-api.ts';
import { createTestDatabase, DB_KINDS, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';
import { servePlatforms, type SlackDiscordServer } from './helpers/platforms.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

// The user's home (/me, Slack App Home) and follow-ups answered in a summary's thread, through
// the real Bolt app and discord.js REST client against the fake platform APIs on 127.0.0.1.
const SECRET = 'home-test-signing-secret-0123456789';
const TEAM = 'T1DC2JH3J';
const VIEWER = 'U0VIEWER5';
const MANAGER = 'U0MANAGER';
const GUILD = '1300000000000000001';
const CHANNEL = '1200000000000000001';
const DUSER = '1400000000000000001';
const ROLE = '1500000000000000009';
const FAST_RETRY = { attempts: 3, baseDelayMs: 20, maxDelayMs: 3_000 };
const keys = discordKeys();

let t: TestDatabase;
let db: Database;
let slack: FakeSlack;
let discord: FakeDiscord;
let services: Services;
let server: SlackDiscordServer;
let seq = 0;
const outbound = createOutbound();

const slackAsker = (user: string): Asker => ({ platform: 'slack', workspace: TEAM, user, roles: [] });

function signedSlack(body: string, contentType: string): RequestInit {
  const ts = Math.floor(Date.now() / 1000);
  return { method: 'POST', headers: { 'content-type': contentType, 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(SECRET, ts, body) }, body };
}

const homeOpened = (user: string) =>
  fetch(
    `${server.url}/slack/events`,
    signedSlack(JSON.stringify({ token: 't', team_id: TEAM, api_app_id: 'A0FAKE', type: 'event_callback', event_id: `EvHome${++seq}`, event_time: Math.floor(Date.now() / 1000), event: { type: 'app_home_opened', user, channel: 'D0HOME', tab: 'home', event_ts: '1700000000.000100' } }), 'application/json'),
  );

function slackClick(payload: Record<string, unknown>): Promise<Response> {
  const base = { type: 'block_actions', team: { id: TEAM, domain: 't' }, api_app_id: 'A0FAKE', token: 'deprecated', trigger_id: '1.2.3' };
  return fetch(`${server.url}/slack/events`, signedSlack(new URLSearchParams({ payload: JSON.stringify({ ...base, ...payload }) }).toString(), 'application/x-www-form-urlencoded'));
}

/** A click on a button of the published home view. */
const homeClick = (user: string, actionId: string, value: string) =>
  slackClick({ user: { id: user, team_id: TEAM }, container: { type: 'view', view_id: 'V1' }, view: { id: 'V1', type: 'home' }, actions: [{ type: 'button', action_id: actionId, block_id: 'b', value, action_ts: '1700000001.0' }] });

type Block = { type: string; text?: { text: string }; elements?: { type: string; action_id?: string; value?: string; text?: { text: string } }[]; accessory?: { action_id: string; value: string; text: { text: string } } };
const viewOf = (c: Captured) => c.body.view as { type: string; blocks: Block[] };
const buttonsOf = (blocks: Block[]) => blocks.flatMap((b) => [...(b.elements ?? []).filter((e) => e.type === 'button'), ...(b.accessory ? [b.accessory] : [])]) as { action_id: string; value: string; text: { text: string } }[];

function discordInteraction(type: number, data: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> & { token: string } {
  const n = ++seq;
  return {
    id: String(1700000000000000000n + BigInt(n)),
    application_id: FAKE_APP_ID,
    type,
    token: `home-token-${n}`,
    version: 1,
    guild_id: GUILD,
    channel_id: CHANNEL,
    channel: { id: CHANNEL, type: 0, name: 'stores', guild_id: GUILD },
    member: { user: { id: DUSER, username: 'regional', discriminator: '0', global_name: 'Regional', avatar: null }, roles: [ROLE], permissions: '0', joined_at: '2024-01-01T00:00:00.000Z', deaf: false, mute: false, flags: 0 },
    locale: 'en-US',
    app_permissions: '0',
    entitlements: [],
    data,
    ...extra,
  };
}

async function sendDiscord(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const text = JSON.stringify(body);
  const res = await fetch(`${server.url}/discord/interactions`, { method: 'POST', headers: discordHeaders(keys.privateKey, text), body: text });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const payloadOf = (c: Captured) => (c.body.payload_json ?? c.body) as { embeds?: { title: string; description?: string; fields?: { name: string; value: string }[] }[]; components?: { components: { custom_id: string; label: string }[] }[]; flags?: number };

beforeAll(async () => {
  t = await createTestDatabase('pglite');
  db = t.db;
  await importDemoStores(db, [5, 6]);
  await addGrant(db, { principal: `slack:${TEAM}/${VIEWER}`, role: 'viewer', scope: { kind: 'store', store: 5 } });
  await addGrant(db, { principal: `slack:${TEAM}/${MANAGER}`, role: 'manager', scope: { kind: 'store', store: 5 } });
  // The Discord user holds nothing of their own: their role manages store 5.
  await addGrant(db, { principal: `discord-role:${GUILD}/${ROLE}`, role: 'manager', scope: { kind: 'store', store: 5 } });
  // Store 5's channels: answers about store 5 are posted there for everyone.
  await bindChannel(db, { platform: 'slack', workspace: TEAM, channel: 'C0FIVE', scope: { kind: 'store', store: 5 } });
  await bindChannel(db, { platform: 'discord', workspace: GUILD, channel: CHANNEL, scope: { kind: 'store', store: 5 } });
  server = await servePlatforms(db, { slackSecret: SECRET, discordPublicKey: keys.publicKeyHex, env: { STORECAST_ACCESS: 'restricted' }, app: { slack: { retry: FAST_RETRY }, discord: { retry: FAST_RETRY } } });
  ({ slack, discord, services } = server);
  await slack.waitFor((c) => c.path === '/api/auth.test');
}, 120_000);

afterAll(async () => {
  await server?.close();
  await t?.cleanup();
});

beforeEach(() => server.reset());

describe('Slack App Home', () => {
  it('publishes, for a viewer of store 5, store 5 and nothing of store 6: stores, subscriptions, model accuracy, top questions', async () => {
    // A subscription of store 6 filed under the viewer (a grant since revoked) must not show, nor its store.
    await createSubscription(db, undefined, { delivery: OPERATOR_DELIVERY, scope: { kind: 'store', store: 6 }, target: { kind: 'channel', platform: 'slack', workspace: TEAM, channel: 'C0SIX' }, schedule: DEFAULT_SCHEDULE, createdBy: `slack:${TEAM}/${VIEWER}` });
    const five = (await createSubscription(db, undefined, { delivery: OPERATOR_DELIVERY, scope: { kind: 'store', store: 5 }, target: { kind: 'channel', platform: 'slack', workspace: TEAM, channel: 'C0FIVE' }, schedule: DEFAULT_SCHEDULE, createdBy: `slack:${TEAM}/${VIEWER}` })).subscription;
    for (const line of ['sales store 5', 'sales store 5', 'forecast store 5', 'sales store 5', 'forecast store 5', 'top stores by sales', 'me', 'help']) {
      const [name, ...rest] = line.split(' ');
      expect((await services.run({ name: name!, text: rest.join(' ') }, slackAsker(VIEWER))).kind).toBe('ok');
    }
    expect((await services.run({ name: 'forecast', text: 'store 6' }, slackAsker(VIEWER))).kind).toBe('denied'); // refused: not a question asked

    expect((await homeOpened(VIEWER)).status).toBe(200);
    const [publish] = await slack.waitFor((c) => c.path === '/api/views.publish');
    expect(publish!.body.user_id).toBe(VIEWER);
    const view = viewOf(publish!);
    expect(view.type).toBe('home');
    const text = JSON.stringify(view.blocks);
    expect(text).toContain('viewer of Store 5');
    expect(text).toMatch(/Stores you see:\* Store 5 \(\w+\)/);
    expect(text).not.toMatch(/Store 6|store 6|C0SIX/);
    expect(text).toContain(five.id);
    // What /model says to this viewer, word for word.
    const model = await services.run({ name: 'model', text: '' }, slackAsker(VIEWER));
    expect(text).toContain(model.reply.summary.slice(0, 60));
    // Most asked first, counted per normalised line; /me, /help and the refusal are not questions.
    const questions = view.blocks.find((b) => b.text?.text.startsWith('*Your top questions*'))!.text!.text;
    expect(questions.split('\n').slice(1)).toEqual(['• `/sales store 5` (3x)', '• `/forecast store 5` (2x)', '• `/top` (1x)']);
    // A viewer may not stop a subscription: no Stop is offered, only "Ask again".
    expect(buttonsOf(view.blocks).map((b) => b.text.text)).toEqual(expect.arrayContaining(['Ask again: /sales store 5']));
    expect(buttonsOf(view.blocks).some((b) => b.text.text === 'Stop')).toBe(false);
  });

  it("a manager's Stop and Snooze go through /unsubscribe's and /alert's checks, answer in the DM and republish the home", async () => {
    const sub = (await createSubscription(db, undefined, { delivery: OPERATOR_DELIVERY, scope: { kind: 'store', store: 5 }, target: { kind: 'channel', platform: 'slack', workspace: TEAM, channel: 'C0MGR' }, schedule: DEFAULT_SCHEDULE, createdBy: `slack:${TEAM}/${MANAGER}` })).subscription;
    const rule = await createRule(db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store', store: 5 }, condition: { type: 'cover-below', weeks: 2, basis: 'p90' }, target: { kind: 'dm', platform: 'slack', workspace: TEAM, channel: MANAGER }, createdBy: `slack:${TEAM}/${MANAGER}` }, outbound);
    await homeOpened(MANAGER);
    const [first] = await slack.waitFor((c) => c.path === '/api/views.publish');
    const buttons = buttonsOf(viewOf(first!).blocks);
    const stop = buttons.find((b) => b.text.text === 'Stop' && parseHomeValue(b.value)?.command === `/unsubscribe id ${sub.id}`)!;
    expect(parseHomeValue(stop.value)?.channel).toBe('C0MGR');
    const snooze = buttons.find((b) => parseHomeValue(b.value)?.command === alertLine({ what: 'snooze', id: rule.id, for: 'day' }))!;
    expect(snooze.text.text).toBe('Snooze a day');

    slack.reset();
    expect((await homeClick(MANAGER, stop.action_id, stop.value)).status).toBe(200);
    const [said] = await slack.waitFor((c) => c.path === '/api/chat.postMessage');
    expect(said!.body.channel).toBe(`D${MANAGER.slice(1)}`);
    expect(JSON.stringify(said!.body.blocks)).toContain('Unsubscribed');
    const [again] = await slack.waitFor((c) => c.path === '/api/views.publish');
    expect(JSON.stringify(viewOf(again!).blocks)).not.toContain(sub.id);
    expect((await db.query<{ deleted_at: unknown }>('SELECT deleted_at FROM webhook_subscriptions WHERE id = $1', [sub.id]))[0]!.deleted_at).not.toBeNull();

    slack.reset();
    await homeClick(MANAGER, snooze.action_id, snooze.value);
    await slack.waitFor((c) => c.path === '/api/views.publish');
    const [row] = await db.query<{ snoozed_until: unknown }>('SELECT snoozed_until FROM alert_rules WHERE id = $1', [rule.id]);
    expect(row!.snoozed_until).not.toBeNull();
  });

  it('a crafted home click is still judged by the command: the viewer cannot stop a subscription', async () => {
    const sub = (await createSubscription(db, undefined, { delivery: OPERATOR_DELIVERY, scope: { kind: 'store', store: 5 }, target: { kind: 'channel', platform: 'slack', workspace: TEAM, channel: 'C0MGR' }, schedule: DEFAULT_SCHEDULE, createdBy: `slack:${TEAM}/${MANAGER}` })).subscription;
    await homeClick(VIEWER, 'storecast:home:x', JSON.stringify({ c: `/unsubscribe id ${sub.id}`, ch: 'C0MGR' }));
    const [said] = await slack.waitFor((c) => c.path === '/api/chat.postMessage');
    expect(JSON.stringify(said!.body.blocks)).toContain('Not allowed');
    await slack.waitFor((c) => c.path === '/api/views.publish');
    expect((await db.query<{ deleted_at: unknown }>('SELECT deleted_at FROM webhook_subscriptions WHERE id = $1', [sub.id]))[0]!.deleted_at).toBeNull();
  });
});

describe('weekly summaries keep their follow-ups in a thread', () => {
  it('Slack: a follow-up clicked on a summary answers with thread_ts = the summary message ts, chart included', async () => {
    const summaryTs = '1700000500.000700';
    await slackClick({
      user: { id: MANAGER, team_id: TEAM },
      container: { type: 'message', message_ts: summaryTs, channel_id: 'C0FIVE', is_ephemeral: false },
      channel: { id: 'C0FIVE', name: 'store-5' },
      message: { type: 'message', ts: summaryTs, text: 'Store 5: weekly summary, week ending 2012-10-26', bot_id: 'BBOT0001' },
      response_url: slack.responseUrl('actions/summary'),
      actions: [{ type: 'button', action_id: 'storecast:run:0', block_id: 'b1', text: { type: 'plain_text', text: 'Forecast' }, value: '/forecast store 5 horizon 12', action_ts: '1700000501.0' }],
    });
    const [answer] = await slack.waitFor((c) => c.path === '/api/chat.postMessage');
    expect(answer!.body.channel).toBe('C0FIVE');
    expect(answer!.body.thread_ts).toBe(summaryTs);
    expect(JSON.stringify(answer!.body.blocks)).toContain('Store 5: 12-week forecast');
    const [chart] = await slack.waitFor((c) => c.path === '/api/files.completeUploadExternal');
    expect(chart!.body.thread_ts).toBe(summaryTs);
  });

  it('Slack: a follow-up on an ephemeral answer starts no thread', async () => {
    await slackClick({
      user: { id: MANAGER, team_id: TEAM },
      container: { type: 'message', message_ts: '1700000600.000100', channel_id: 'C0FIVE', is_ephemeral: true },
      channel: { id: 'C0FIVE', name: 'store-5' },
      response_url: slack.responseUrl('actions/ephemeral'),
      actions: [{ type: 'button', action_id: 'storecast:run:0', block_id: 'b1', text: { type: 'plain_text', text: 'Forecast' }, value: '/forecast store 5 horizon 4', action_ts: '1700000601.0' }],
    });
    const [answer] = await slack.waitFor((c) => c.path === '/api/chat.postMessage');
    expect(answer!.body.thread_ts).toBeUndefined();

    // Nor does one in a direct message (the conversation is the asker's own), unless already in a thread there.
    expect(followUpThread({ channel: { id: 'D0MANAGER' }, message: { ts: '1.1' }, container: { is_ephemeral: false } })).toBeUndefined();
    expect(followUpThread({ channel: { id: 'D0MANAGER' }, message: { ts: '1.2', thread_ts: '1.1' }, container: { is_ephemeral: false } })).toBe('1.1');
    expect(followUpThread({ channel: { id: 'C0FIVE' }, message: { ts: '1.2', thread_ts: '1.1' }, container: { is_ephemeral: false } })).toBe('1.1');
  });
});

describe('Discord /me and summary threads', () => {
  it('/me for a member whose role is granted store 5: private, store 5 only, Stop bound to the subscription channel', async () => {
    const sub = (await createSubscription(db, undefined, { delivery: OPERATOR_DELIVERY, scope: { kind: 'store', store: 5 }, target: { kind: 'channel', platform: 'discord', workspace: GUILD, channel: '1200000000000000055' }, schedule: DEFAULT_SCHEDULE, createdBy: `discord:${GUILD}/${DUSER}`, createdByRoles: [ROLE] })).subscription;
    const i = discordInteraction(2, { id: '1600000000000000001', name: 'me', type: 1, options: [] });
    expect(await sendDiscord(i)).toEqual({ type: 5, data: { flags: 64 } });
    const [edit] = await discord.waitFor((c) => c.method === 'PATCH' && c.path === `/api/v10/webhooks/${FAKE_APP_ID}/${i.token}/messages/@original`);
    const body = payloadOf(edit!);
    const text = JSON.stringify(body.embeds);
    expect(body.embeds![0]!.description).toMatch(/manager of Store 5[\s\S]*Stores you see:\*\* Store 5 \(\w+\)$/);
    expect(text).not.toMatch(/Store 6/);
    expect(body.embeds![1]!.title).toBe('Your subscriptions (1)');
    const ids = body.components!.flatMap((r) => r.components.map((c) => c.custom_id));
    expect(ids).toContain(`home:1200000000000000055:/unsubscribe id ${sub.id}`);

    // The Stop runs /unsubscribe as the clicker, in the subscription's channel: the role's manager grant allows it.
    // The click is acknowledged without a message (type 6): the answer is a private follow-up,
    // and the home it was on (@original of the click) is drawn again without the subscription.
    const click = discordInteraction(3, { custom_id: `home:1200000000000000055:/unsubscribe id ${sub.id}`, component_type: 2 }, { message: { id: '1800000000000000009', channel_id: CHANNEL, flags: 64, embeds: [], components: [] } });
    expect(await sendDiscord(click)).toEqual({ type: 6 });
    const [done] = await discord.waitFor((c) => c.method === 'POST' && c.path === `/api/v10/webhooks/${FAKE_APP_ID}/${click.token}`);
    expect(payloadOf(done!).embeds![0]!.title).toBe('Unsubscribed');
    expect(payloadOf(done!).flags).toBe(64);
    const [redrawn] = await discord.waitFor((c) => c.method === 'PATCH' && c.path === `/api/v10/webhooks/${FAKE_APP_ID}/${click.token}/messages/@original`);
    const home = payloadOf(redrawn!);
    expect(home.embeds![0]!.title).toBe('Your storecast home');
    expect(home.embeds![1]!.title).toBe('Your subscriptions (0)');
    expect(JSON.stringify(home.components)).not.toContain(sub.id);
    // The redraw comes after the answer, so the home never shows a subscription already stopped.
    expect(discord.calls.indexOf(redrawn!)).toBeGreaterThan(discord.calls.indexOf(done!));
  });

  it('/me: an alert\'s Snooze runs anywhere, answers privately, and the home shows it snoozed', async () => {
    const rule = await createRule(db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store', store: 5 }, condition: { type: 'cover-below', weeks: 2, basis: 'p90' }, target: { kind: 'dm', platform: 'discord', workspace: GUILD, channel: DUSER }, createdBy: `discord:${GUILD}/${DUSER}` }, outbound);
    const i = discordInteraction(2, { id: '1600000000000000002', name: 'me', type: 1, options: [] });
    await sendDiscord(i);
    const [edit] = await discord.waitFor((c) => c.method === 'PATCH' && c.path === `/api/v10/webhooks/${FAKE_APP_ID}/${i.token}/messages/@original`);
    const snooze = payloadOf(edit!).components!.flatMap((r) => r.components.map((c) => c.custom_id)).find((id) => id?.includes('snooze') && id.includes(rule.id));
    // An item's button on a home, bound to no channel.
    expect(snooze).toBe(`home::${alertLine({ what: 'snooze', id: rule.id, for: 'day' })}`);
    const click = discordInteraction(3, { custom_id: snooze!, component_type: 2 }, { message: { id: '1800000000000000010', channel_id: CHANNEL, flags: 64, embeds: [], components: [] } });
    expect(await sendDiscord(click)).toEqual({ type: 6 });
    const [redrawn] = await discord.waitFor((c) => c.method === 'PATCH' && c.path === `/api/v10/webhooks/${FAKE_APP_ID}/${click.token}/messages/@original`);
    expect(payloadOf(redrawn!).embeds![2]!.description).toMatch(new RegExp(`${rule.id}[^\n]*snoozed until`));
  });

  it('a follow-up on a summary starts a thread on it via REST and answers there; a second click reuses the thread', async () => {
    const summary = { id: '1800000000000000042', channel_id: CHANNEL, type: 0, content: '', flags: 0, embeds: [{ title: 'Store 5: weekly summary, week ending 2012-10-26' }], components: [], attachments: [], author: { id: FAKE_APP_ID, username: 'storecast', discriminator: '0', avatar: null, bot: true }, timestamp: new Date().toISOString() };
    const click = () => discordInteraction(3, { custom_id: 'run:/forecast store 5 horizon 12', component_type: 2 }, { message: summary });
    expect(await sendDiscord(click())).toEqual({ type: 6 });
    const [thread] = await discord.waitFor((c) => c.method === 'POST' && c.path === `/api/v10/channels/${CHANNEL}/messages/${summary.id}/threads`);
    expect((thread!.body as { name: string }).name).toBe('Follow-ups: Store 5: weekly summary, week ending 2012-10-26');
    const [answer] = await discord.waitFor((c) => c.method === 'POST' && c.path === `/api/v10/channels/${summary.id}/messages`);
    expect(payloadOf(answer!).embeds![0]!.title).toBe('Store 5: 12-week forecast');
    expect(discord.calls.filter((c) => c.path === `/api/v10/channels/${CHANNEL}/messages`)).toHaveLength(0);

    await sendDiscord(click());
    await discord.waitFor((c) => c.method === 'POST' && c.path === `/api/v10/channels/${summary.id}/messages`, { count: 2 });
    expect(discord.calls.filter((c) => c.path.endsWith('/threads'))).toHaveLength(2); // the second is refused (160004), and the thread is reused
  });
});

describe('home renderers stay within the platforms limits', () => {
  const item = (kind: 'sub' | 'alr', i: number): HomeItem => ({
    id: `${kind}_${i.toString(16).padStart(12, '0')}`,
    text: `Weekly summary of Store ${i % 45} every Monday 08:00 America/Los_Angeles -> slack channel C0${i}`.padEnd(180, '.'),
    firing: kind === 'alr' && i % 3 === 0,
    actions:
      kind === 'sub'
        ? [{ label: 'Stop', command: `/unsubscribe id sub_${i}`, channel: `C0${i}`, danger: true }]
        : [
            { label: 'Snooze a day', command: `/alert snooze alr_${i} for day` },
            { label: 'Stop', command: `/alert delete alr_${i}`, danger: true },
          ],
  });
  const many: Home = {
    title: 'Your storecast home',
    who: 'manager of West region',
    stores: Array.from({ length: 30 }, (_, i) => `Store ${i + 1} (West)`).join(', ') + ' and 15 more',
    subscriptions: Array.from({ length: 150 }, (_, i) => item('sub', i)),
    alerts: Array.from({ length: 150 }, (_, i) => item('alr', i)),
    model: { title: 'Model storecast v3 (active): accuracy', summary: 'Live WMAE $1,234 over 8 scored weeks in your 45 stores vs $1,500 for seasonal naive.' },
    questions: [
      { command: '/sales store 5', count: 12 },
      { command: '/forecast store 5 horizon 8', count: 7 },
      { command: '/stock store 5', count: 3 },
    ],
  };

  it(`Slack: 150 subscriptions and 150 alerts still make at most ${VIEW_BLOCKS} blocks, with "and N more" on each list`, () => {
    const view = homeView(many);
    expect(view.blocks.length).toBeLessThanOrEqual(VIEW_BLOCKS);
    expect(view.blocks.length).toBeGreaterThan(VIEW_BLOCKS - 5); // the room is used, not wasted
    const more = view.blocks.filter((b) => b.type === 'context').map((b) => JSON.stringify(b));
    expect(more.some((m) => /and \d+ more: \/subscriptions/.test(m))).toBe(true);
    expect(more.some((m) => /and \d+ more: \/alerts/.test(m))).toBe(true);
    // Every shown item plus the "more" line accounts for all 150 of each.
    const shownSubs = view.blocks.filter((b) => b.type === 'section' && 'text' in b && b.text?.text.startsWith('`sub_')).length;
    const moreSubs = Number(/and (\d+) more: \/subscriptions/.exec(more.join(''))![1]);
    expect(shownSubs + moreSubs).toBe(150);
    const ids = buttonsOf(view.blocks as Block[]).map((b) => b.action_id);
    expect(new Set(ids).size).toBe(ids.length); // Slack refuses a view with repeated action_ids
  });

  it('Slack: a short home lists everything, with no "more" line', () => {
    const view = homeView({ ...many, subscriptions: many.subscriptions.slice(0, 2), alerts: many.alerts.slice(0, 2) });
    expect(JSON.stringify(view.blocks)).not.toContain('more:');
    expect(buttonsOf(view.blocks as Block[])).toHaveLength(3 + 2 + 4);
  });

  it('Discord: 10 embeds, 6000 characters, 25 buttons in 5 rows, custom ids within 100', () => {
    const m = homeToDiscord(many, { ephemeral: true });
    const embeds = m.body.embeds!;
    expect(embeds.length).toBeLessThanOrEqual(10);
    const chars = embeds.reduce((n, e) => n + (e.title?.length ?? 0) + (e.description?.length ?? 0) + (e.footer?.text.length ?? 0) + (e.fields ?? []).reduce((k, f) => k + f.name.length + f.value.length, 0), 0);
    expect(chars).toBeLessThanOrEqual(6000);
    for (const e of embeds) expect(e.description?.length ?? 0).toBeLessThanOrEqual(4096);
    expect(embeds[1]!.description).toMatch(/and \d+ more: \/subscriptions/);
    expect(embeds[2]!.description).toMatch(/and \d+ more: \/alerts/);
    const rows = m.body.components as { components: { custom_id: string; label: string }[] }[];
    expect(rows.length).toBeLessThanOrEqual(5);
    const buttons = rows.flatMap((r) => r.components);
    expect(buttons).toHaveLength(25);
    for (const b of buttons) {
      expect(b.custom_id.length).toBeLessThanOrEqual(100);
      expect(b.label.length).toBeLessThanOrEqual(80);
    }
    expect(buttons[3]!.label).toMatch(/^Snooze a day · alr_/);
    expect(m.body.flags).toBe(64);
  });
});

describe.each(DB_KINDS)('the home model on %s', (kind) => {
  let h: TestDatabase;
  let s: Services;
  beforeAll(async () => {
    h = await createTestDatabase(kind);
    await importDemoStores(h.db, [5, 6]);
    s = testServices(h.db, { STORECAST_ACCESS: 'restricted' });
    await addGrant(h.db, { principal: `discord-role:${GUILD}/${ROLE}`, role: 'viewer', scope: { kind: 'store', store: 6 } });
  }, 120_000);
  afterAll(async () => {
    await s?.drain();
    await h?.cleanup();
  });

  it('counts questions per principal and normalised line, and lists only what the asker may see', async () => {
    const asker: Asker = { platform: 'discord', workspace: GUILD, user: DUSER, roles: [ROLE] };
    const other: Asker = { platform: 'discord', workspace: GUILD, user: '1400000000000000002', roles: [ROLE] };
    for (const text of ['store 6', 'store 6 horizon 8', '6']) await s.run({ name: 'forecast', text }, asker);
    await s.run({ name: 'sales', text: 'store 6' }, other);
    await s.run({ name: 'sales', text: 'store 6' }, other);
    const outcome = await s.run({ name: 'me', text: '' }, asker);
    expect(outcome.kind).toBe('ok');
    const home = homeOf(outcome.reply)!;
    // `store 6`, `store 6 horizon 8` and `6` are one question: horizon 8 is the default.
    expect(home.questions).toEqual([{ command: '/forecast store 6', count: 3 }]);
    expect(home.stores).toMatch(/^Store 6 \(\w+\)$/);
    expect(home.who).toBe('viewer of Store 6');
    // The console and the CLI show the same home as a plain reply.
    expect(outcome.reply.facts.find((f) => f.label === 'Your top questions')!.value).toBe('/forecast store 6 (3x)');
    const [audit] = await h.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE command = '/me'");
    expect(audit!.n).toBe(1);
  });
});
