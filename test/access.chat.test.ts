import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bindChannel } from '../src/access/channels.ts';
import { addGrant } from '../src/access/grants.ts';
import { slackSignature } from '../src/adapters/slack/verify.ts';
import type { Database } from '../src/db/client.ts';
import type { Services } from '../src/services.ts';
import { FAKE_APP_ID, type FakeDiscord, discordHeaders, discordKeys } from './fakes/discord-api.ts';
import type { Captured } from './fakes/http.ts';
import type { FakeSlack } from './fakes/slack-api.ts';
import { openTestDatabase } from './helpers/db.ts';
import { servePlatforms, type SlackDiscordServer } from './helpers/platforms.ts';

// Restricted mode through the real SDKs and fake platform APIs on 127.0.0.1.
const SECRET = 'access-test-signing-secret-0123456789';
const TEAM = 'T1DC2JH3J';
const SLACK_USER = 'U2CERLKJA';
const GUILD = '1300000000000000001';
const CHANNEL = '1200000000000000001';
const WEST_ROLE = '1500000000000000009';
const FAST_RETRY = { attempts: 3, baseDelayMs: 20, maxDelayMs: 3_000 };

let db: Database;
let slack: FakeSlack;
let discord: FakeDiscord;
let services: Services;
let server: SlackDiscordServer;
const keys = discordKeys();
let westStore: number;
let seq = 0;

beforeAll(async () => {
  db = await openTestDatabase([1, 5, 7, 12]);
  server = await servePlatforms(db, { slackSecret: SECRET, discordPublicKey: keys.publicKeyHex, env: { STORECAST_ACCESS: 'restricted' }, app: { slack: { retry: FAST_RETRY }, discord: { retry: FAST_RETRY } } });
  ({ slack, discord, services } = server);
  await addGrant(db, { principal: `slack:${TEAM}/${SLACK_USER}`, role: 'viewer', scope: { kind: 'store', store: 5 } });
  await db.exec("UPDATE stores SET region = CASE WHEN store_id IN (7, 12) THEN 'West' ELSE 'South' END");
  westStore = 12;
  await addGrant(db, { principal: `discord-role:${GUILD}/${WEST_ROLE}`, role: 'viewer', scope: { kind: 'region', region: 'West' } });
  await bindChannel(db, { platform: 'discord', workspace: GUILD, channel: CHANNEL, scope: { kind: 'region', region: 'West' } });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await db?.close();
});

beforeEach(() => server.reset());

/** The audit rows of one principal's command (every answer, refusal included, leaves one). */
const auditRows = (principal: string, command: string) =>
  db.query<{ outcome: string; platform: string; channel: string | null; scope: string | null }>('SELECT outcome, platform, channel, scope FROM audit_log WHERE principal = $1 AND command LIKE $2 || \'%\' ORDER BY id', [principal, command]);

function slashCommand(command: string, text: string, channel: string): { body: string; responsePath: string } {
  const responseUrl = slack.responseUrl(`${TEAM}/${++seq}/tok`);
  const body = new URLSearchParams({ team_id: TEAM, channel_id: channel, user_id: SLACK_USER, user_name: 'pat', command, text, response_url: responseUrl, trigger_id: '1.2.3' }).toString();
  return { body, responsePath: new URL(responseUrl).pathname };
}

async function postSlack(body: string): Promise<Response> {
  const ts = Math.floor(Date.now() / 1000);
  return fetch(`${server.url}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(SECRET, ts, body) },
    body,
  });
}

describe('Slack in restricted mode', () => {
  it('a viewer of store 5 asking about store 6 gets an ephemeral refusal; nothing is posted', async () => {
    const { body, responsePath } = slashCommand('/forecast', 'store 6', 'C0STORE5');
    expect((await postSlack(body)).status).toBe(200);
    const [reply] = await slack.waitFor((c) => c.path === responsePath);
    expect(reply!.body.response_type).toBe('ephemeral');
    const text = JSON.stringify(reply!.body.blocks);
    expect(text).toContain('You cannot see Store 6');
    expect(text).toContain('viewer of Store 5');
    await services.drain();
    expect(slack.method('chat.postMessage')).toHaveLength(0);
    expect(await auditRows(`slack:${TEAM}/${SLACK_USER}`, '/forecast store 6')).toEqual([expect.objectContaining({ outcome: 'denied', platform: 'slack', channel: 'C0STORE5' })]);
  });

  it('/help suggests only stores the asker may see', async () => {
    const outcome = await services.run({ name: 'help', text: 'forecast' }, { platform: 'slack', workspace: TEAM, channel: 'C0STORE5', user: SLACK_USER, roles: [] });
    expect(outcome.reply.actions.map((a) => a.command)).toEqual(expect.arrayContaining([expect.stringMatching(/store 5/)]));
    expect(JSON.stringify(outcome.reply.actions)).not.toMatch(/store (?!5\b)\d+/);
  });

  it('a store-5 answer asked in a channel bound to store 7 goes to the asker alone, saying why', async () => {
    await bindChannel(db, { platform: 'slack', workspace: TEAM, channel: 'C0STORE7', scope: { kind: 'store', store: 7 } });
    const { body, responsePath } = slashCommand('/forecast', 'store 5', 'C0STORE7');
    await postSlack(body);
    const [reply] = await slack.waitFor((c) => c.path === responsePath && JSON.stringify(c.body).includes('Store 5'));
    expect(reply!.body.response_type).toBe('ephemeral');
    expect(JSON.stringify(reply!.body.blocks)).toContain('this channel is for Store 7');
    await services.drain();
    expect(slack.method('chat.postMessage')).toHaveLength(0);
    expect(await auditRows(`slack:${TEAM}/${SLACK_USER}`, '/forecast store 5')).toContainEqual(expect.objectContaining({ outcome: 'ok', channel: 'C0STORE7', scope: 'Store 5' }));
  });

  it('the same answer in a channel bound to store 5 is posted for everyone', async () => {
    await bindChannel(db, { platform: 'slack', workspace: TEAM, channel: 'C0STORE5', scope: { kind: 'store', store: 5 } });
    const { body } = slashCommand('/forecast', 'store 5', 'C0STORE5');
    await postSlack(body);
    const [posted] = await slack.waitFor((c) => c.path === '/api/chat.postMessage');
    expect(posted!.body.channel).toBe('C0STORE5');
    expect(JSON.stringify(posted!.body.blocks)).toContain('Store 5');
  });
});

describe('sharing into a channel without an audience', () => {
  it('a manager gets the answer privately with "Share to channel"; the click posts it; a viewer gets no button', async () => {
    await addGrant(db, { principal: `slack:${TEAM}/UMGR`, role: 'manager', scope: { kind: 'store', store: 5 } });
    const responseUrl = slack.responseUrl(`${TEAM}/${++seq}/tok`);
    const body = new URLSearchParams({ team_id: TEAM, channel_id: 'C0UNBOUND', user_id: 'UMGR', user_name: 'mo', command: '/forecast', text: 'store 5', response_url: responseUrl, trigger_id: '1.2.3' }).toString();
    await postSlack(body);
    const [reply] = await slack.waitFor((c) => c.path === new URL(responseUrl).pathname && JSON.stringify(c.body).includes('Store 5'));
    expect(reply!.body.response_type).toBe('ephemeral');
    const text = JSON.stringify(reply!.body.blocks);
    expect(text).toContain('this channel has no audience yet');
    expect(text).toContain('"value":"/forecast store 5 share"');
    await services.drain();
    expect(slack.method('chat.postMessage')).toHaveLength(0);

    const click = {
      type: 'block_actions',
      team: { id: TEAM, domain: 't' },
      user: { id: 'UMGR', username: 'mo', team_id: TEAM },
      api_app_id: 'A0FAKE',
      container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C0UNBOUND', is_ephemeral: true },
      trigger_id: '1.2.3',
      channel: { id: 'C0UNBOUND', name: 'general' },
      response_url: slack.responseUrl(`actions/${++seq}`),
      actions: [{ type: 'button', action_id: 'storecast:run:0', block_id: 'b1', text: { type: 'plain_text', text: 'Share to channel' }, value: '/forecast store 5 share', action_ts: '1700000001.0' }],
    };
    await postSlack(new URLSearchParams({ payload: JSON.stringify(click) }).toString());
    const [posted] = await slack.waitFor((c) => c.path === '/api/chat.postMessage');
    expect(posted!.body.channel).toBe('C0UNBOUND');
    expect(JSON.stringify(posted!.body.blocks)).toContain('Store 5');
  });

  it('a viewer is offered no share button, and "share" typed by hand does not post', async () => {
    const { body, responsePath } = slashCommand('/forecast', 'store 5 share', 'C0UNBOUND2');
    await postSlack(body);
    const [reply] = await slack.waitFor((c) => c.path === responsePath && JSON.stringify(c.body).includes('Store 5'));
    expect(reply!.body.response_type).toBe('ephemeral');
    expect(JSON.stringify(reply!.body.blocks)).not.toContain(' share"');
    await services.drain();
    expect(slack.method('chat.postMessage')).toHaveLength(0);
  });
});

describe('Discord in restricted mode', () => {
  function command(name: string, options: { name: string; type: number; value: string | number }[]) {
    const n = ++seq;
    return {
      id: String(1700000000000000000n + BigInt(n)),
      application_id: FAKE_APP_ID,
      type: 2,
      token: `access-token-${n}`,
      version: 1,
      guild_id: GUILD,
      channel_id: CHANNEL,
      channel: { id: CHANNEL, type: 0, name: 'west', guild_id: GUILD },
      member: { user: { id: '1400000000000000002', username: 'lead', discriminator: '0', global_name: 'Lead', avatar: null }, roles: [WEST_ROLE], permissions: '0', joined_at: '2024-01-01T00:00:00.000Z', deaf: false, mute: false, flags: 0 },
      locale: 'en-US',
      app_permissions: '0',
      entitlements: [],
      authorizing_integration_owners: { '0': GUILD },
      context: 0,
      data: { id: '1600000000000000001', name, type: 1, options },
    };
  }
  const send = async (body: unknown) => {
    const text = JSON.stringify(body);
    return fetch(`${server.url}/discord/interactions`, { method: 'POST', headers: discordHeaders(keys.privateKey, text), body: text });
  };
  const edits = (token: string) => (c: Captured) => c.method === 'PATCH' && c.path === `/api/v10/webhooks/${FAKE_APP_ID}/${token}/messages/@original`;

  it('autocomplete offers only the stores the member may see', async () => {
    const i = { ...command('forecast', [{ name: 'store', type: 4, value: '', focused: true } as never]), type: 4 };
    const answer = (await (await send(i)).json()) as { type: number; data: { choices: { value: number }[] } };
    expect(answer.type).toBe(8);
    expect(answer.data.choices.map((c) => c.value).sort((a, b) => a - b)).toEqual([7, 12]);
  });

  it('a member with the West role gets a West store answer posted in the channel bound to West', async () => {
    const i = command('forecast', [{ name: 'store', type: 4, value: westStore }]);
    expect(((await (await send(i)).json()) as { type: number }).type).toBe(5); // deferred, public
    const [edit] = await discord.waitFor(edits(i.token));
    const payload = (edit!.body.payload_json ?? edit!.body) as { embeds: { title: string }[]; flags?: number };
    expect(payload.embeds[0]!.title).toContain(`Store ${westStore}`);
    await services.drain();
    expect(discord.calls.filter((c) => c.method === 'DELETE')).toHaveLength(0);
    expect(await auditRows('discord:1300000000000000001/1400000000000000002', `/forecast store ${westStore}`)).toEqual([expect.objectContaining({ outcome: 'ok', platform: 'discord' })]);
  });
});
