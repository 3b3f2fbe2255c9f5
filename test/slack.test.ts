import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { slackRoutes, startSlackSocketMode } from '../src/adapters/slack/index.ts';
import { createApp } from '../src/server/app.ts';
import { slackInput } from '../src/adapters/slack/app.ts';
import { slackSignature, verifySlackRequest } from '../src/adapters/slack/verify.ts';
import type { Database } from '../src/db/client.ts';
import { createServices, type Services } from '../src/services.ts';
import { pngInfo } from './fakes/http.ts';
import { listen } from './fakes/serve.ts';
import { openTestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';
import { FakeSlack } from './fakes/slack-api.ts';

const SECRET = 'test-signing-secret-0123456789abcdef';
const FAST_RETRY = { attempts: 3, baseDelayMs: 20, maxDelayMs: 3_000 };

let fake: FakeSlack;
let db: Database;
let services: Services;
let server: Awaited<ReturnType<typeof listen>>;

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Signs like Slack does: v0=HMAC-SHA256(secret, "v0:ts:body"). */
function signed(body: string, opts: { ts?: number; secret?: string; contentType?: string } = {}): RequestInit {
  const ts = opts.ts ?? nowSeconds();
  return {
    method: 'POST',
    headers: {
      'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': slackSignature(opts.secret ?? SECRET, ts, body),
    },
    body,
  };
}

function slashCommand(command: string, text: string, over: Record<string, string> = {}): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T1DC2JH3J',
    team_domain: 'testteamnow',
    channel_id: 'C0STORES',
    channel_name: 'stores',
    user_id: 'U2CERLKJA',
    user_name: 'roadrunner',
    command,
    text,
    response_url: fake.responseUrl(`T1DC2JH3J/${Math.floor(Math.random() * 1e9)}/tok`),
    trigger_id: '398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
    ...over,
  }).toString();
}

function buttonClick(actionId: string, value: string, channel = 'C0STORES'): string {
  const payload = {
    type: 'block_actions',
    team: { id: 'T1DC2JH3J', domain: 'testteamnow' },
    user: { id: 'U2CERLKJA', username: 'roadrunner', team_id: 'T1DC2JH3J' },
    api_app_id: 'A0FAKE',
    token: 'deprecated',
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: channel, is_ephemeral: false },
    trigger_id: '1.2.3',
    channel: { id: channel, name: 'stores' },
    message: { type: 'message', ts: '1700000000.000100', text: 'x' },
    response_url: fake.responseUrl(`actions/${Math.floor(Math.random() * 1e9)}`),
    actions: [{ type: 'button', action_id: actionId, block_id: 'b1', text: { type: 'plain_text', text: 'x' }, value, action_ts: '1700000001.0' }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

const post = (body: string, init?: Parameters<typeof signed>[1]) => fetch(`${server.url}/slack/events`, signed(body, init));

beforeAll(async () => {
  fake = new FakeSlack();
  await fake.listen();
  db = await openTestDatabase();
  services = testServices(db, { SLACK_SIGNING_SECRET: SECRET, SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: fake.apiUrl });
  // The composed app, as the server mounts it: a route shadowed by another shows up here.
  server = await listen(createApp(services, undefined, { slack: { retry: FAST_RETRY } }).app);
  // The bot's identity is looked up once at start, in the background (never in an ack's path).
  await fake.waitFor((c) => c.path === '/api/auth.test');
});

afterAll(async () => {
  await services?.drain();
  await server?.close();
  await fake?.close();
  await db?.close();
});

beforeEach(() => fake.reset());

describe('Slack request signatures', () => {
  // https://api.slack.com/authentication/verifying-requests-from-slack
  const doc = {
    secret: '8f742231b10e8888abcd99yyyzzz85a5',
    ts: 1531420618,
    body: 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
    signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
  };

  it("computes Slack's documented example signature", () => {
    expect(slackSignature(doc.secret, doc.ts, doc.body)).toBe(doc.signature);
    expect(verifySlackRequest({ signingSecret: doc.secret, body: doc.body, timestamp: String(doc.ts), signature: doc.signature, nowSeconds: doc.ts + 60 })).toEqual({ ok: true });
    expect(verifySlackRequest({ signingSecret: doc.secret, body: `${doc.body}x`, timestamp: String(doc.ts), signature: doc.signature, nowSeconds: doc.ts + 60 })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifySlackRequest({ signingSecret: doc.secret, body: doc.body, timestamp: String(doc.ts), signature: doc.signature, nowSeconds: doc.ts + 301 })).toEqual({ ok: false, reason: 'stale' });
  });

  it('refuses tampered, stale, unsigned and wrongly keyed requests with 401, calling no API', async () => {
    const body = slashCommand('/forecast', 'store 5 week 12');
    const tampered = signed(body);
    tampered.body = body.replace('store+5', 'store+7');
    // Well past the 5-minute window: a second's margin turned into a pass on a loaded machine.
    const stale = signed(body, { ts: nowSeconds() - 400 });
    const future = signed(body, { ts: nowSeconds() + 400 });
    const wrongKey = signed(body, { secret: 'not-the-secret' });
    const unsigned: RequestInit = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body };
    // Slack's own documented request, correctly signed with its secret: stale here and now.
    const documented = signed(doc.body, { ts: doc.ts, secret: doc.secret });
    expect(documented.headers).toMatchObject({ 'x-slack-signature': doc.signature });
    for (const init of [tampered, stale, future, wrongKey, unsigned, documented]) {
      const res = await fetch(`${server.url}/slack/events`, init);
      expect(res.status).toBe(401);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.calls.map((c) => `${c.method} ${c.path}`)).toEqual([]);
  });

  it('answers url_verification with the challenge and ssl_check with 200', async () => {
    const res = await post(JSON.stringify({ token: 't', challenge: 'c-123', type: 'url_verification' }), { contentType: 'application/json' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: 'c-123' });
    const ssl = await post('ssl_check=1&token=t');
    expect(ssl.status).toBe(200);
  });
});

describe('Slack slash commands over HTTP', () => {
  it('acks /forecast store 5 week 12 at once, then posts Block Kit and a PNG chart in the channel', async () => {
    const started = Date.now();
    const res = await post(slashCommand('/forecast', 'store 5 week 12'));
    const ackedAt = Date.now();
    expect(res.status).toBe(200);
    expect(ackedAt - started).toBeLessThan(3000);
    const ack = (await res.json()) as { response_type: string; text: string };
    expect(ack.response_type).toBe('ephemeral');
    expect(ack.text).toContain('/forecast store 5 week 12');

    const [message] = await fake.waitFor((c) => c.path === '/api/chat.postMessage');
    // The ack went out before the answer was even posted: nothing slow sat in front of it.
    expect(message!.at).toBeGreaterThanOrEqual(ackedAt - 5);
    expect(message!.headers.authorization).toBe('Bearer xoxb-test-token');
    expect(message!.body.channel).toBe('C0STORES');
    const blocks = message!.body.blocks as { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { text: unknown; value?: string; action_id?: string }[] }[];
    expect(blocks[0]).toMatchObject({ type: 'header', text: { text: 'Store 5: 12-week forecast' } });
    expect(blocks.find((b) => b.type === 'section' && b.fields)?.fields?.map((f) => f.text).join('\n')).toContain('*Next week*');
    const context = JSON.stringify(blocks.find((b) => b.type === 'context'));
    expect(context).toContain('Data through 2012-10-26');
    expect(context).toContain('model seasonal-naive');
    expect(context).toContain('<@U2CERLKJA>');
    const buttons = blocks.find((b) => b.type === 'actions')!.elements!;
    expect(buttons).toContainEqual(expect.objectContaining({ value: '/forecast store 5 horizon 16', text: expect.objectContaining({ text: '+4 weeks' }) }));
    expect(buttons).toContainEqual(expect.objectContaining({ action_id: 'storecast:csv', value: '/forecast store 5 horizon 12' }));

    const [complete] = await fake.waitFor((c) => c.path === '/api/files.completeUploadExternal');
    expect(complete!.body.channel_id).toBe('C0STORES');
    const fileId = (complete!.body.files as { id: string }[])[0]!.id;
    const upload = fake.uploads.get(fileId)!;
    expect(upload.filename).toMatch(/\.png$/);
    expect(upload.alt_text).toContain('forecast');
    const png = pngInfo(upload.data!);
    expect(png).toBeDefined();
    expect(png!.width).toBeGreaterThan(200);
    expect(fake.method('chat.postMessage')).toHaveLength(1);
    expect(fake.find((c) => c.path.startsWith('/commands/'))).toHaveLength(0);
  });

  it('answers a user error in the ack itself, with usage and a suggestion, and runs nothing', async () => {
    const res = await post(slashCommand('/forecast', 'stor 5'));
    expect(res.status).toBe(200);
    const ack = (await res.json()) as { response_type: string; blocks: unknown[] };
    expect(ack.response_type).toBe('ephemeral');
    const text = JSON.stringify(ack.blocks);
    expect(text).toContain('Unknown word');
    expect(text).toContain('store 5');
    expect(text).toContain('/forecast store N');
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.calls.map((c) => `${c.method} ${c.path}`)).toEqual([]);
  });

  it('suggests a misspelt command with its arguments, and the suggested button runs it', async () => {
    const res = await post(slashCommand('/forcast', 'store 5'));
    const ack = (await res.json()) as { blocks: unknown[] };
    const text = JSON.stringify(ack.blocks);
    expect(text).toContain('There is no /forcast command.');
    expect(text).toContain('*Did you mean*\\n/forecast store 5"');
    expect(text).toContain('"value":"/forecast store 5"');
  });

  it('sends errors found after the ack (unknown store) ephemerally through response_url', async () => {
    const body = slashCommand('/forecast', 'store 99');
    const res = await post(body);
    expect(res.status).toBe(200);
    const responseUrl = new URLSearchParams(body).get('response_url')!;
    const [reply] = await fake.waitFor((c) => c.path === new URL(responseUrl).pathname);
    expect(reply!.body.response_type).toBe('ephemeral');
    expect(JSON.stringify(reply!.body.blocks)).toContain('Store 99 has no sales data');
    expect(fake.method('chat.postMessage')).toHaveLength(0);
  });

  it('answers /help ephemerally, and the umbrella /storecast command runs subcommands', async () => {
    const body = slashCommand('/storecast', 'help');
    await post(body);
    const path = new URL(new URLSearchParams(body).get('response_url')!).pathname;
    const [reply] = await fake.waitFor((c) => c.path === path);
    expect(reply!.body.response_type).toBe('ephemeral');
    expect(JSON.stringify(reply!.body.blocks)).toContain('storecast commands');
    expect(fake.method('chat.postMessage')).toHaveLength(0);
    expect(slackInput('/storecast', 'forecast store 5 csv')).toEqual({ input: { name: 'forecast', text: 'store 5' }, csv: true, share: false, line: '/forecast store 5' });
  });

  it('uploads the table as CSV when asked', async () => {
    await post(slashCommand('/forecast', 'store 5 week 4 csv'));
    await fake.waitFor((c) => c.path === '/api/files.completeUploadExternal', { count: 2 });
    const csv = [...fake.uploads.values()].find((u) => u.filename === 'forecast-store5-4w.csv');
    expect(csv?.data?.toString('utf8').split('\r\n')[0]).toBe('week,forecast,lower_80,upper_80,same_week_last_year');
    expect(csv?.data?.toString('utf8').trim().split('\r\n')).toHaveLength(5);
  });

  it('falls back to response_url in the channel when the bot is not a member', async () => {
    const body = slashCommand('/sales', 'store 5', { channel_id: 'CNOTIN01' });
    await post(body);
    const path = new URL(new URLSearchParams(body).get('response_url')!).pathname;
    const replies = await fake.waitFor((c) => c.path === path, { count: 2 });
    expect(replies[0]!.body.response_type).toBe('in_channel');
    expect(JSON.stringify(replies[0]!.body.blocks)).toContain('Store 5');
    expect(replies[1]!.body.response_type).toBe('ephemeral');
    expect(String(replies[1]!.body.text)).toContain('/invite');
  });
});

describe('Slack buttons (block_actions)', () => {
  it("runs the button's command line and posts the new answer in the channel", async () => {
    const res = await post(buttonClick('storecast:run:0', '/forecast store 5 weeks 16'));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    const [message] = await fake.waitFor((c) => c.path === '/api/chat.postMessage');
    expect(JSON.stringify(message!.body.blocks)).toContain('Store 5: 16-week forecast');
    await fake.waitFor((c) => c.path === '/api/files.completeUploadExternal');
  });

  it('the CSV button uploads only the table', async () => {
    await post(buttonClick('storecast:csv', '/forecast store 5 horizon 6'));
    const [complete] = await fake.waitFor((c) => c.path === '/api/files.completeUploadExternal');
    const upload = fake.uploads.get((complete!.body.files as { id: string }[])[0]!.id)!;
    expect(upload.filename).toBe('forecast-store5-6w.csv');
    expect(upload.data!.toString('utf8').trim().split('\r\n')).toHaveLength(7);
    expect(fake.method('chat.postMessage')).toHaveLength(0);
  });
});

describe('Slack limits', () => {
  it('waits Retry-After on 429 and retries', async () => {
    fake.fail((c) => c.path === '/api/chat.postMessage', { status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } });
    await post(slashCommand('/sales', 'store 7'));
    const calls = await fake.waitFor((c) => c.path === '/api/chat.postMessage', { count: 2, timeoutMs: 10_000 });
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(950);
    await fake.waitFor((c) => c.path === '/api/files.completeUploadExternal');
  });

  it('retries 5xx with backoff, then gives up and tells the user ephemerally with a reference', async () => {
    fake.fail((c) => c.path === '/api/chat.postMessage', { status: 503, body: 'unavailable' }, 10);
    const body = slashCommand('/sales', 'store 1');
    await post(body);
    const path = new URL(new URLSearchParams(body).get('response_url')!).pathname;
    const [note] = await fake.waitFor((c) => c.path === path, { timeoutMs: 10_000 });
    expect(fake.method('chat.postMessage')).toHaveLength(FAST_RETRY.attempts);
    expect(note!.body.response_type).toBe('ephemeral');
    expect(String(note!.body.text)).toMatch(/could not post .* \(ref [0-9a-f]{8}\)/);
  });

  it('keeps a posted answer when the chart upload fails, and says so ephemerally', async () => {
    fake.fail((c) => c.path === '/api/files.completeUploadExternal', { status: 500, body: 'oops' }, 10);
    const before = (await services.metrics.registry.getSingleMetricAsString('storecast_errors_total')).match(/kind="delivery"} (\d+)/)?.[1] ?? '0';
    const body = slashCommand('/sales', 'store 5');
    await post(body);
    const path = new URL(new URLSearchParams(body).get('response_url')!).pathname;
    const [note] = await fake.waitFor((c) => c.path === path);
    expect(fake.method('chat.postMessage')).toHaveLength(1);
    expect(fake.method('files.completeUploadExternal')).toHaveLength(FAST_RETRY.attempts);
    expect(String(note!.body.text)).toMatch(/answer is posted, but I could not attach the chart \(ref [0-9a-f]{8}\)/);
    const after = (await services.metrics.registry.getSingleMetricAsString('storecast_errors_total')).match(/kind="delivery"} (\d+)/)?.[1];
    expect(Number(after)).toBe(Number(before) + 1);
  });

  it('retries a response_url that answers 5xx', async () => {
    fake.fail((c) => c.path.startsWith('/commands/'), { status: 500, body: 'oops' }, 1);
    const body = slashCommand('/forecast', 'store 98');
    await post(body);
    const path = new URL(new URLSearchParams(body).get('response_url')!).pathname;
    const hits = await fake.waitFor((c) => c.path === path, { count: 2 });
    expect(hits[1]!.body.response_type).toBe('ephemeral');
  });
});

describe('Slack events', () => {
  it('answers an @mention in a thread', async () => {
    const event = {
      token: 't',
      team_id: 'T1DC2JH3J',
      api_app_id: 'A0FAKE',
      type: 'event_callback',
      event_id: 'Ev1',
      event_time: nowSeconds(),
      event: { type: 'app_mention', user: 'U2CERLKJA', text: '<@UBOT0001> top stores by sales 3', ts: '1700000000.000200', channel: 'C0STORES', event_ts: '1700000000.000200' },
    };
    const res = await post(JSON.stringify(event), { contentType: 'application/json' });
    expect(res.status).toBe(200);
    const [message] = await fake.waitFor((c) => c.path === '/api/chat.postMessage');
    expect(message!.body.thread_ts).toBe('1700000000.000200');
    expect(JSON.stringify(message!.body.blocks)).toContain('Top 3 stores by sales');
  });
});

describe('Slack Socket Mode', () => {
  it('connects with the app token and answers a slash command envelope', async () => {
    const socketServices = testServices(db, { SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_APP_TOKEN: 'xapp-1-test', SLACK_API_URL: fake.apiUrl });
    const socket = await startSlackSocketMode(socketServices, { retry: FAST_RETRY });
    try {
      expect(fake.method('apps.connections.open')).toHaveLength(1);
      const payload = Object.fromEntries(new URLSearchParams(slashCommand('/top', 'stores by growth 3')));
      const ack = await fake.sendEnvelope('slash_commands', payload);
      expect(JSON.stringify(ack.payload)).toContain('Working on');
      const [message] = await fake.waitFor((c) => c.path === '/api/chat.postMessage');
      expect(JSON.stringify(message!.body.blocks)).toContain('Top 3 stores by growth');
      await fake.waitFor((c) => c.path === '/api/files.completeUploadExternal');
    } finally {
      await socketServices.drain();
      await socket.stop();
    }
  });
});

describe('Slack under a burst past the answer queue bound', () => {
  it('answers "busy, try again" in the ack, runs nothing and counts it', async () => {
    const busy = createServices({ ...services, maxWaiting: 0, metrics: undefined });
    const app = createApp(busy, undefined, { slack: { retry: FAST_RETRY } }).app;
    const res = await app.request('/slack/events', signed(slashCommand('/forecast', 'store 1')));
    expect(res.status).toBe(200);
    const ack = (await res.json()) as { response_type: string; blocks: unknown[] };
    expect(ack.response_type).toBe('ephemeral');
    expect(JSON.stringify(ack.blocks)).toContain('try again in a minute');
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.calls.filter((c) => !c.path.includes('auth.test'))).toEqual([]);
    expect((await busy.metrics.busy.get()).values).toEqual([expect.objectContaining({ labels: { platform: 'slack' }, value: 1 })]);
  });
});

describe('Slack not configured', () => {
  it('answers 503 and runs nothing', async () => {
    const off = new Hono();
    off.route('/slack', slackRoutes(testServices(db, {})));
    const res = await off.request('/slack/events', { method: 'POST', body: 'x' });
    expect(res.status).toBe(503);
  });
});

describe('slack/manifest.yml', () => {
  const manifest = readFileSync(new URL('../slack/manifest.yml', import.meta.url), 'utf8');

  it('declares a slash command for every command the server answers (but /help, and /me: Slack\'s own; the App Home is it), all on /slack/events', () => {
    const commands = [...manifest.matchAll(/^\s*- command: \/(\S+)$/gm)].map((m) => m[1]);
    const expected = [...services.registry.keys()].filter((n) => n !== 'help' && n !== 'me');
    expect(commands.sort()).toEqual([...expected, 'storecast'].sort());
    const urls = [...manifest.matchAll(/^\s*(?:url|request_url): (\S+)$/gm)].map((m) => m[1]);
    expect(urls.length).toBe(commands.length + 2); // + events + interactivity
    for (const url of urls) expect(url).toBe('https://storecast.example.com/slack/events');
  });

  it('asks for the scopes the adapter uses', () => {
    const scopes = [...manifest.matchAll(/^\s*- ([a-z_.:]+)\s*(?:#.*)?$/gm)].map((m) => m[1]).filter((s) => s!.includes(':') || s === 'commands');
    expect(scopes).toEqual(expect.arrayContaining(['commands', 'chat:write', 'files:write', 'app_mentions:read', 'im:history', 'im:write']));
    expect(manifest).toMatch(/bot_events:\n\s*- app_mention/);
    // The App Home (views.publish on app_home_opened) needs its tab and the event.
    expect(manifest).toMatch(/home_tab_enabled: true/);
    expect(manifest).toMatch(/^\s*- app_home_opened/m);
    expect(manifest).toMatch(/interactivity:\n\s*is_enabled: true/);
  });
});
