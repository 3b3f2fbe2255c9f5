import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addGrant } from '../src/access/grants.ts';
import { slackSignature } from '../src/adapters/slack/verify.ts';
import type { Database } from '../src/db/client.ts';
import { createApp } from '../src/server/app.ts';
import type { Services } from '../src/services.ts';
import type { Captured } from './fakes/http.ts';
import { listen } from './fakes/serve.ts';
import { FAKE_BOT, FakeSlack } from './fakes/slack-api.ts';
import { openTestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

// Plain questions by @mention and direct message, through the real Bolt app the server composes.
const SECRET = 'plain-test-signing-secret-0123456789';
const TEAM = 'T1DC2JH3J';
const USER = 'U2CERLKJA';
const FAST_RETRY = { attempts: 3, baseDelayMs: 20, maxDelayMs: 3_000 };

let fake: FakeSlack;
let db: Database;
let services: Services;
let server: Awaited<ReturnType<typeof listen>>;
let seq = 0;

function postEvent(event: Record<string, unknown>): Promise<Response> {
  const body = JSON.stringify({ token: 't', team_id: TEAM, api_app_id: 'A0FAKE', type: 'event_callback', event_id: `EvPlain${++seq}`, event_time: Math.floor(Date.now() / 1000), event });
  const ts = Math.floor(Date.now() / 1000);
  return fetch(`${server.url}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(SECRET, ts, body) },
    body,
  });
}

const mention = (text: string, user = USER) => ({ type: 'app_mention', user, text: `<@${FAKE_BOT.userId}> ${text}`, ts: `1700000000.0${++seq}`, channel: 'C0STORES', event_ts: '1700000000.000200', team: TEAM });
const direct = (text: string, extra: Record<string, unknown> = {}) => ({ type: 'message', channel_type: 'im', user: USER, text, ts: `1700000001.0${++seq}`, channel: 'D0PLAIN', event_ts: '1700000001.000100', team: TEAM, ...extra });
const blocksOf = (c: Captured) => JSON.stringify(c.body.blocks);

/** `/storecast <text>`, signed, from the channel C0STORES. */
async function postSlash(text: string): Promise<{ res: Response; responsePath: string }> {
  const ts = Math.floor(Date.now() / 1000);
  const body = new URLSearchParams({ team_id: TEAM, channel_id: 'C0STORES', user_id: USER, command: '/storecast', text, response_url: fake.responseUrl(`${TEAM}/${++seq}/tok`), trigger_id: '1.2.3' }).toString();
  const res = await fetch(`${server.url}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(SECRET, ts, body) },
    body,
  });
  return { res, responsePath: new URL(new URLSearchParams(body).get('response_url')!).pathname };
}

beforeAll(async () => {
  fake = new FakeSlack();
  await fake.listen();
  db = await openTestDatabase([5, 7]);
  services = testServices(db, { STORECAST_ACCESS: 'restricted', SLACK_SIGNING_SECRET: SECRET, SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: fake.apiUrl });
  await addGrant(db, { principal: `slack:${TEAM}/${USER}`, role: 'viewer', scope: { kind: 'store', store: 5 } });
  server = await listen(createApp(services, undefined, { slack: { retry: FAST_RETRY } }).app);
  await fake.waitFor((c) => c.path === '/api/auth.test');
}, 120_000);

afterAll(async () => {
  await services?.drain();
  await server?.close();
  await fake?.close();
  await db?.close();
});

beforeEach(() => fake.reset());

describe('Slack: questions in plain words', () => {
  it('answers a direct message (message.im) in the conversation, starting with how it was read', async () => {
    const res = await postEvent(direct('how did store 5 do last week?'));
    expect(res.status).toBe(200);
    const [message] = await fake.waitFor((c) => c.path === '/api/chat.postMessage');
    expect(message!.body.channel).toBe('D0PLAIN');
    expect(blocksOf(message!)).toContain('Read as `/sales store 5 from 2012-10-26`');
    expect(blocksOf(message!)).toContain('Store 5: sales');
    // The chart follows in the same conversation.
    const [upload] = await fake.waitFor((c) => c.path === '/api/files.completeUploadExternal');
    expect(upload!.body.channel_id).toBe('D0PLAIN');
  });

  it('refuses a question about a store the asker may not see, as the typed command is, and posts nothing', async () => {
    await postEvent(mention('what will store 7 sell over the next 8 weeks'));
    const [note] = await fake.waitFor((c) => c.path === '/api/chat.postEphemeral');
    expect(note!.body.user).toBe(USER);
    expect(blocksOf(note!)).toContain('Not allowed');
    expect(blocksOf(note!)).toContain('Read as `/forecast store 7`');
    expect(fake.method('chat.postMessage')).toHaveLength(0);
  });

  it('offers the two best readings as buttons when unsure, to the asker alone', async () => {
    await postEvent(mention('store 5 sales next weeks'));
    const [note] = await fake.waitFor((c) => c.path === '/api/chat.postEphemeral');
    const buttons = ((note!.body.blocks as { type: string; elements?: { type: string; value?: string }[] }[]) ?? []).flatMap((b) => b.elements ?? []).filter((e) => e.type === 'button');
    expect(buttons.map((b) => b.value).sort()).toEqual(['/forecast store 5', '/sales store 5']);
    expect(note!.body.thread_ts).toBeDefined();
  });

  it('says it could not read a question, with examples', async () => {
    await postEvent(direct('tell me a joke'));
    const [message] = await fake.waitFor((c) => c.path === '/api/chat.postMessage');
    expect(blocksOf(message!)).toContain('I could not read that as a question');
    expect(blocksOf(message!)).toContain('how did store 5 do last week?');
  });

  it('/storecast takes a question too: acked at once, answered through its response_url', async () => {
    const { res, responsePath } = await postSlash('how did store 5 do last week?');
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).toContain('Reading');
    // Restricted mode, a channel without an audience: the answer goes to the asker alone.
    const [answer] = await fake.waitFor((c) => c.path === responsePath);
    expect(answer!.body.response_type).toBe('ephemeral');
    expect(JSON.stringify(answer!.body.blocks)).toContain('Read as `/sales store 5 from 2012-10-26`');
  });

  it('still runs command lines by mention, and ignores bots, edits and its own messages', async () => {
    await postEvent(direct('forecast store 5 week 4', { bot_id: 'B1' }));
    await postEvent(direct('how did store 5 do', { subtype: 'message_changed' }));
    await postEvent(direct('how did store 5 do', { user: FAKE_BOT.userId }));
    await postEvent(mention('sales store 5'));
    // A channel without an audience (restricted mode): the asker alone sees the answer, as for a slash command.
    const [note] = await fake.waitFor((c) => c.path === '/api/chat.postEphemeral');
    expect(note!.body.channel).toBe('C0STORES');
    expect(blocksOf(note!)).toContain('Store 5: sales');
    expect(blocksOf(note!)).not.toContain('Read as');
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.method('chat.postMessage')).toHaveLength(0);
    expect(fake.method('chat.postEphemeral')).toHaveLength(1);
  });
});
