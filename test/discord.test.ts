import { Command as Program } from 'commander';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../commands/index.ts';
import { DISCORD_NAME } from '../src/adapters/discord/commands.ts';
import { buildDiscordCommands, discordRoutes, startDiscordGateway } from '../src/adapters/discord/index.ts';
import { discordCommandDefinitions, register, registerDiscordCommands } from '../src/cli/discord.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import type { Database } from '../src/db/client.ts';
import type { Services } from '../src/services.ts';
import { FAKE_APP_ID, FAKE_BOT_TOKEN, type FakeDiscord, discordHeaders, discordKeys } from './fakes/discord-api.ts';
import { pngInfo, type Captured } from './fakes/http.ts';
import { openTestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';
import { serveDiscord, type DiscordServer } from './helpers/platforms.ts';

const FAST_RETRY = { attempts: 3, baseDelayMs: 20, maxDelayMs: 5_000 };
const keys = discordKeys();
const GUILD = '1300000000000000001';
const CHANNEL = '1200000000000000001';

let fake: FakeDiscord;
let db: Database;
let services: Services;
let server: DiscordServer;
let seq = 0;

type Option = { name: string; type: number; value: string | number; focused?: boolean };

function interaction(type: number, data: Record<string, unknown>): Record<string, unknown> & { token: string } {
  const n = ++seq;
  return {
    id: String(1700000000000000000n + BigInt(n)),
    application_id: FAKE_APP_ID,
    type,
    token: `interaction-token-${n}`,
    version: 1,
    guild_id: GUILD,
    channel_id: CHANNEL,
    channel: { id: CHANNEL, type: 0, name: 'stores', guild_id: GUILD },
    member: {
      user: { id: '1400000000000000001', username: 'manager', discriminator: '0', global_name: 'Manager', avatar: null },
      roles: ['1500000000000000001'],
      permissions: '2248473465835073',
      joined_at: '2024-01-01T00:00:00.000Z',
      deaf: false,
      mute: false,
      flags: 0,
    },
    locale: 'en-US',
    guild_locale: 'en-US',
    app_permissions: '2248473465835073',
    entitlements: [],
    authorizing_integration_owners: { '0': GUILD },
    context: 0,
    data,
  };
}

const command = (name: string, options: Option[] = []) => interaction(2, { id: '1600000000000000001', name, type: 1, options });
const button = (customId: string) =>
  Object.assign(interaction(3, { custom_id: customId, component_type: 2 }), {
    message: { id: '1800000000000000001', channel_id: CHANNEL, type: 20, content: '', embeds: [], components: [], attachments: [], author: { id: FAKE_APP_ID, username: 'storecast', discriminator: '0', avatar: null }, timestamp: new Date().toISOString(), flags: 0 },
  });
const autocomplete = (name: string, options: Option[]) => interaction(4, { id: '1600000000000000001', name, type: 1, options });

async function send(body: unknown, headers?: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> | undefined; at: number }> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(`${server.url}/discord/interactions`, { method: 'POST', headers: headers ?? discordHeaders(keys.privateKey, text), body: text });
  const at = Date.now();
  const raw = await res.text();
  return { status: res.status, json: res.headers.get('content-type')?.includes('json') ? (JSON.parse(raw) as Record<string, unknown>) : undefined, at };
}

const originalOf = (token: string) => (c: Captured) => c.method === 'PATCH' && c.path === `/api/v10/webhooks/${FAKE_APP_ID}/${token}/messages/@original`;
const followUpOf = (token: string) => (c: Captured) => c.method === 'POST' && c.path === `/api/v10/webhooks/${FAKE_APP_ID}/${token}`;
const payloadOf = (c: Captured) => (c.body.payload_json ?? c.body) as { embeds?: { title: string; description?: string; footer?: { text: string }; image?: { url: string }; fields?: { name: string; value: string }[] }[]; components?: { components: { label: string; custom_id: string }[] }[]; attachments?: { id: number; filename: string; description?: string }[]; content?: string; flags?: number };

beforeAll(async () => {
  db = await openTestDatabase();
  // The composed app, as the server mounts it: a route shadowed by another shows up here.
  server = await serveDiscord(db, { discordPublicKey: keys.publicKeyHex, app: { discord: { retry: FAST_RETRY } } });
  ({ discord: fake, services } = server);
});

afterAll(async () => {
  await server?.close();
  await db?.close();
});

beforeEach(() => fake.reset());

describe('Discord request signatures', () => {
  it('answers a signed PING with PONG', async () => {
    const res = await send({ id: '1', application_id: FAKE_APP_ID, type: 1, token: 't', version: 1 });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ type: 1 });
  });

  it('refuses bad or missing signatures with 401 and runs nothing', async () => {
    const body = JSON.stringify(command('forecast', [{ name: 'store', type: 4, value: 5 }]));
    const good = discordHeaders(keys.privateKey, body);
    const other = discordKeys();
    const cases: [string, string, Record<string, string>][] = [
      ['tampered body', body.replace('"value":5', '"value":7'), good],
      ['other key', body, discordHeaders(other.privateKey, body)],
      ['timestamp changed', body, { ...good, 'x-signature-timestamp': String(Number(good['x-signature-timestamp']) + 1) }],
      ['signature flipped', body, { ...good, 'x-signature-ed25519': good['x-signature-ed25519']!.replace(/^./, (ch) => (ch === '0' ? '1' : '0')) }],
      ['no signature', body, { 'content-type': 'application/json', 'x-signature-timestamp': good['x-signature-timestamp']! }],
      ['no headers', body, { 'content-type': 'application/json' }],
      ['garbage signature', body, { ...good, 'x-signature-ed25519': 'zz' }],
    ];
    for (const [what, b, headers] of cases) {
      const res = await send(b, headers);
      expect(res.status, what).toBe(401);
    }
    // Discord's own probe: a PING with a bad signature must be refused too.
    const ping = JSON.stringify({ id: '1', type: 1, application_id: FAKE_APP_ID, token: 't', version: 1 });
    expect((await send(ping, discordHeaders(other.privateKey, ping))).status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.calls.map((c) => `${c.method} ${c.path}`)).toEqual([]);
  });
});

describe('Discord slash commands over HTTP', () => {
  it('defers /forecast at once, then edits the original response with an embed and the PNG', async () => {
    const i = command('forecast', [
      { name: 'store', type: 4, value: 5 },
      { name: 'horizon', type: 4, value: 12 },
    ]);
    const started = Date.now();
    const res = await send(i);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ type: 5 });
    expect(res.at - started).toBeLessThan(3000);

    const [edit] = await fake.waitFor(originalOf(i.token));
    expect(edit!.at).toBeGreaterThanOrEqual(res.at - 5);
    const payload = payloadOf(edit!);
    const embed = payload.embeds![0]!;
    expect(embed.title).toBe('Store 5: 12-week forecast');
    expect(embed.description).toContain('Sales are forecast at');
    expect(embed.fields?.map((f) => f.name)).toContain('Next week');
    expect(embed.footer?.text).toContain('Data through 2012-10-26');
    expect(embed.footer?.text).toContain('model seasonal-naive');
    expect(embed.image?.url).toBe('attachment://chart.png');
    expect(payload.attachments).toEqual([expect.objectContaining({ id: 0, filename: 'chart.png' })]);
    const buttons = payload.components!.flatMap((row) => row.components);
    expect(buttons).toContainEqual(expect.objectContaining({ label: '+4 weeks', custom_id: 'run:/forecast store 5 horizon 16' }));
    expect(buttons).toContainEqual(expect.objectContaining({ label: 'CSV', custom_id: 'csv:/forecast store 5 horizon 12' }));
    const file = edit!.files['files[0]']!;
    expect(file.filename).toBe('chart.png');
    expect(pngInfo(file.data)?.width).toBeGreaterThan(200);
  });

  it('answers an invalid option at once, ephemerally, without deferring or calling the API', async () => {
    const res = await send(command('sales', [{ name: 'store', type: 4, value: 5 }, { name: 'from', type: 3, value: '2012-13-01' }]));
    expect(res.json?.type).toBe(4);
    const data = res.json!.data as { flags: number; embeds: { title: string; description: string; fields: { name: string; value: string }[] }[] };
    expect(data.flags).toBe(64);
    expect(data.embeds[0]!.description).toContain('from must be a date like 2012-02-10');
    expect(data.embeds[0]!.fields.find((f) => f.name === 'Usage')?.value).toContain('/sales store N');
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.calls).toEqual([]);
  });

  it('suggests a misspelt command with its options as a command line', async () => {
    const res = await send(command('forcast', [{ name: 'store', type: 4, value: 5 }]));
    expect(res.json?.type).toBe(4);
    const data = res.json!.data as { embeds: { description: string; fields: { name: string; value: string }[] }[]; components: { components: { custom_id: string }[] }[] };
    expect(data.embeds[0]!.description).toContain('There is no /forcast command.');
    expect(data.embeds[0]!.fields.find((f) => f.name === 'Did you mean')?.value).toBe('/forecast store 5');
    expect(JSON.stringify(data.components)).toContain('/forecast store 5');
  });

  it('sends an error found after the deferral to the asker alone (delete + ephemeral follow-up)', async () => {
    const i = command('forecast', [{ name: 'store', type: 4, value: 99 }]);
    const res = await send(i);
    expect(res.json).toEqual({ type: 5 });
    const [follow] = await fake.waitFor(followUpOf(i.token));
    expect(fake.find((c) => c.method === 'DELETE' && c.path.endsWith(`${i.token}/messages/@original`))).toHaveLength(1);
    const payload = payloadOf(follow!);
    expect(payload.flags).toBe(64);
    expect(payload.embeds![0]!.description).toContain('Store 99 has no sales data');
  });

  it('defers /help ephemerally and edits it', async () => {
    const i = command('help');
    const res = await send(i);
    expect(res.json).toEqual({ type: 5, data: { flags: 64 } });
    const [edit] = await fake.waitFor(originalOf(i.token));
    expect(payloadOf(edit!).embeds![0]!.title).toBe('storecast commands');
  });
});

describe('Discord buttons and autocomplete', () => {
  it("a follow-up button on an ephemeral answer runs its command line and edits the new deferred message", async () => {
    // A posted message's follow-ups answer in a thread on it (test/home.test.ts); an ephemeral one has none.
    const i = button('run:/forecast store 5 weeks 16');
    (i.message as { flags: number }).flags = 64;
    const res = await send(i);
    expect(res.json).toEqual({ type: 5 });
    const [edit] = await fake.waitFor(originalOf(i.token));
    expect(payloadOf(edit!).embeds![0]!.title).toBe('Store 5: 16-week forecast');
    expect(pngInfo(edit!.files['files[0]']!.data)).toBeDefined();
  });

  it('the CSV button answers ephemerally with the table as a file', async () => {
    const i = button('csv:/forecast store 5 horizon 6');
    const res = await send(i);
    expect(res.json).toEqual({ type: 5, data: { flags: 64 } });
    const [edit] = await fake.waitFor(originalOf(i.token));
    const file = edit!.files['files[0]']!;
    expect(file.filename).toBe('forecast-store5-6w.csv');
    const lines = file.data.toString('utf8').trim().split('\r\n');
    expect(lines[0]).toBe('week,forecast,lower_80,upper_80,same_week_last_year');
    expect(lines).toHaveLength(7);
  });

  it('suggests store and department numbers from the data', async () => {
    const all = await send(autocomplete('forecast', [{ name: 'store', type: 4, value: '', focused: true }]));
    expect(all.json?.type).toBe(8);
    const stores = (all.json!.data as { choices: { name: string; value: number }[] }).choices;
    expect(stores.map((c) => c.value)).toEqual([1, 5, 7]);
    expect(stores[1]!.name).toMatch(/^Store 5 · type [ABC]/);

    const typed = await send(autocomplete('forecast', [{ name: 'store', type: 4, value: '7', focused: true }]));
    expect((typed.json!.data as { choices: { value: number }[] }).choices.map((c) => c.value)).toEqual([7]);

    const depts = await send(autocomplete('sales', [{ name: 'store', type: 4, value: 5 }, { name: 'dept', type: 4, value: '', focused: true }]));
    const deptChoices = (depts.json!.data as { choices: { name: string; value: number }[] }).choices;
    const [row] = await db.query<{ n: number }>('SELECT count(DISTINCT dept_id)::int AS n FROM weekly_sales WHERE store_id = 5');
    expect(deptChoices.length).toBe(Math.min(25, row!.n));
    expect(deptChoices[0]!.name).toMatch(/^Dept \d+/);
    expect(fake.calls).toEqual([]);
  });
});

describe('Discord limits', () => {
  it('waits Retry-After on 429 and retries the edit', async () => {
    fake.fail((c) => c.method === 'PATCH', { status: 429, headers: { 'retry-after': '1', 'x-ratelimit-scope': 'user' }, body: { message: 'You are being rate limited.', retry_after: 1, global: false } });
    const i = command('sales', [{ name: 'store', type: 4, value: 7 }]);
    await send(i);
    const edits = await fake.waitFor(originalOf(i.token), { count: 2, timeoutMs: 10_000 });
    expect(edits[1]!.at - edits[0]!.at).toBeGreaterThanOrEqual(950);
    expect(payloadOf(edits[1]!).embeds![0]!.title).toContain('Store 7');
  });

  it('posts the answer without the image when the chart cannot be rendered', async () => {
    const render = services.renderChart;
    services.renderChart = async () => {
      throw new Error('canvas exploded');
    };
    try {
      const i = command('sales', [{ name: 'store', type: 4, value: 5 }]);
      await send(i);
      const [edit] = await fake.waitFor(originalOf(i.token));
      const embed = payloadOf(edit!).embeds![0]!;
      expect(embed.title).toContain('Store 5');
      expect(embed.image).toBeUndefined();
      expect(edit!.files).toEqual({});
    } finally {
      services.renderChart = render;
    }
  });

  it('retries 5xx with backoff, then gives up and tells the user ephemerally with a reference', async () => {
    fake.fail((c) => c.method === 'PATCH', { status: 502, body: 'bad gateway' }, 10);
    const i = command('sales', [{ name: 'store', type: 4, value: 1 }]);
    await send(i);
    const [note] = await fake.waitFor(followUpOf(i.token));
    expect(fake.find(originalOf(i.token))).toHaveLength(FAST_RETRY.attempts);
    expect(payloadOf(note!).flags).toBe(64);
    expect(payloadOf(note!).content).toMatch(/could not post .* \(ref [0-9a-f]{8}\)/);
  });
});

describe('Discord application commands', () => {
  it('builds valid command JSON from the same definitions', () => {
    expect(buildDiscordCommands(createRegistry()).map((c) => c.name).sort()).toEqual(['access', 'alert', 'alerts', 'audit', 'campaign', 'campaign-impact', 'campaigns', 'compare', 'console', 'drivers', 'forecast', 'help', 'holiday-impact', 'markdown-impact', 'me', 'model', 'sales', 'segments', 'stock', 'subscribe', 'subscriptions', 'top', 'unsubscribe']);
    const commands = discordCommandDefinitions();
    expect(commands.map((c) => c.name)).toEqual([...services.registry.keys()]);
    for (const c of commands) {
      expect(c.name).toMatch(DISCORD_NAME);
      expect(c.description.length).toBeGreaterThan(0);
      expect(c.description.length).toBeLessThanOrEqual(100);
      const required = (c.options ?? []).map((o) => Boolean((o as { required?: boolean }).required));
      expect(required).toEqual([...required].sort((a, b) => Number(b) - Number(a)));
      for (const o of c.options ?? []) {
        expect(o.name).toMatch(DISCORD_NAME);
        expect(o.description.length).toBeLessThanOrEqual(100);
      }
    }
    const forecast = commands.find((c) => c.name === 'forecast')!;
    expect(forecast.options).toContainEqual(expect.objectContaining({ name: 'store', type: 4, required: true, min_value: 1, max_value: 99_999, autocomplete: true }));
    expect(forecast.options).toContainEqual(expect.objectContaining({ name: 'horizon', type: 4, required: false, min_value: 1, max_value: 52 }));
    const top = commands.find((c) => c.name === 'top')!;
    expect(top.options).toContainEqual(expect.objectContaining({ name: 'by', type: 3, choices: [{ name: 'sales', value: 'sales' }, { name: 'growth', value: 'growth' }] }));
  });

  it('`storecast discord register --guild` PUTs them to the guild with the bot token', async () => {
    const env = { DISCORD_APP_ID: FAKE_APP_ID, DISCORD_BOT_TOKEN: FAKE_BOT_TOKEN, DISCORD_API_URL: fake.apiUrl, LOG_LEVEL: 'silent' };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      const program = new Program().exitOverride();
      register(program);
      await program.parseAsync(['node', 'storecast', 'discord', 'register', '--guild', GUILD]);
    } finally {
      process.stdout.write = write;
      process.env = saved;
    }
    const [put] = fake.requests('PUT', new RegExp(`^/applications/${FAKE_APP_ID}/guilds/${GUILD}/commands$`));
    expect(put!.headers.authorization).toBe(`Bot ${FAKE_BOT_TOKEN}`);
    expect((put!.body as unknown as { name: string }[]).map((c) => c.name)).toContain('holiday-impact');
    expect(out.join('')).toContain(`Registered ${services.registry.size} commands in server ${GUILD}`);

    // --print shows the JSON and registers nothing.
    fake.reset();
    const printed: string[] = [];
    process.stdout.write = ((chunk: string) => (printed.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      const program = new Program().exitOverride();
      register(program);
      await program.parseAsync(['node', 'storecast', 'discord', 'register', '--print']);
    } finally {
      process.stdout.write = write;
    }
    expect((JSON.parse(printed.join('')) as { name: string }[]).map((c) => c.name)).toEqual([...services.registry.keys()]);
    expect(fake.calls).toEqual([]);

    const global = await registerDiscordCommands(loadConfig(env));
    expect(global.scope).toBe('global');
    expect(fake.requests('PUT', new RegExp(`^/applications/${FAKE_APP_ID}/commands$`))).toHaveLength(1);
    await expect(registerDiscordCommands(loadConfig({ DISCORD_API_URL: fake.apiUrl }))).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('Discord gateway mode', () => {
  it('logs in with discord.js, answers INTERACTION_CREATE with a deferral and edits the response', async () => {
    const gatewayServices = testServices(db, { DISCORD_MODE: 'gateway', DISCORD_APP_ID: FAKE_APP_ID, DISCORD_BOT_TOKEN: FAKE_BOT_TOKEN, DISCORD_API_URL: fake.apiUrl });
    const gateway = await startDiscordGateway(gatewayServices, { retry: FAST_RETRY });
    try {
      expect(fake.identifies).toHaveLength(1);
      expect(fake.identifies[0]!.token).toBe(FAKE_BOT_TOKEN);
      const i = command('top', [
        { name: 'by', type: 3, value: 'growth' },
        { name: 'limit', type: 4, value: 3 },
      ]);
      fake.dispatchInteraction(i);
      const [callback] = await fake.waitFor((c) => c.method === 'POST' && c.path === `/api/v10/interactions/${i.id as string}/${i.token}/callback`);
      expect(callback!.body).toEqual({ type: 5 });
      const [edit] = await fake.waitFor(originalOf(i.token));
      expect(edit!.at).toBeGreaterThanOrEqual(callback!.at);
      expect(payloadOf(edit!).embeds![0]!.title).toBe('Top 3 stores by growth vs a year before');
      expect(pngInfo(edit!.files['files[0]']!.data)).toBeDefined();
    } finally {
      await gatewayServices.drain();
      await gateway.stop();
    }
  });
});

describe('Discord not configured', () => {
  it('answers 503 and runs nothing', async () => {
    const off = new Hono();
    off.route('/discord', discordRoutes(testServices(db, {})));
    expect((await off.request('/discord/interactions', { method: 'POST', body: '{}' })).status).toBe(503);
  });
});
