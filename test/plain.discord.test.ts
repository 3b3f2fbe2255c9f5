import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bindChannel } from '../src/access/channels.ts';
import { addGrant } from '../src/access/grants.ts';
import { startDiscordGateway } from '../src/adapters/discord/index.ts';
import type { Database } from '../src/db/client.ts';
import type { Services } from '../src/services.ts';
import { FAKE_APP_ID, FAKE_BOT_TOKEN, FakeDiscord } from './fakes/discord-api.ts';
import { pngInfo, type Captured } from './fakes/http.ts';
import { openTestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

// Plain questions by @mention and DM through discord.js in gateway mode (the only mode that
// sees messages), against the fake Discord API and gateway on 127.0.0.1.
const FAST_RETRY = { attempts: 3, baseDelayMs: 20, maxDelayMs: 5_000 };
const GUILD = '1300000000000000001';
const CHANNEL = '1200000000000000001';
const DM_CHANNEL = '1200000000000000777';
const USER = '1400000000000000001';

let fake: FakeDiscord;
let db: Database;
let services: Services;
let gateway: { stop(): Promise<void> };
let seq = 0;

function message(content: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const id = String(1900000000000000000n + BigInt(++seq));
  const inGuild = over.guild_id !== null;
  return {
    id,
    channel_id: inGuild ? CHANNEL : DM_CHANNEL,
    ...(inGuild ? { guild_id: GUILD, member: { roles: [], joined_at: '2024-01-01T00:00:00.000Z', deaf: false, mute: false, flags: 0 } } : {}),
    author: { id: USER, username: 'manager', discriminator: '0', global_name: 'Manager', avatar: null },
    content,
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: content.includes(`<@${FAKE_APP_ID}>`) ? [{ id: FAKE_APP_ID, username: 'storecast', discriminator: '0', avatar: null, bot: true, global_name: null }] : [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    type: 0,
    flags: 0,
    ...Object.fromEntries(Object.entries(over).filter(([, v]) => v !== null)),
  };
}

const postsTo = (channel: string) => (c: Captured) => c.method === 'POST' && c.path === `/api/v10/channels/${channel}/messages`;
const payloadOf = (c: Captured) => (c.body.payload_json ?? c.body) as { embeds?: { title: string; description?: string; image?: { url: string } }[]; components?: { components: { custom_id: string }[] }[]; message_reference?: { message_id: string } };

beforeAll(async () => {
  fake = new FakeDiscord();
  await fake.listen();
  db = await openTestDatabase([5, 7]);
  services = testServices(db, { STORECAST_ACCESS: 'restricted', DISCORD_MODE: 'gateway', DISCORD_APP_ID: FAKE_APP_ID, DISCORD_BOT_TOKEN: FAKE_BOT_TOKEN, DISCORD_API_URL: fake.apiUrl });
  await addGrant(db, { principal: `discord:${GUILD}/${USER}`, role: 'viewer', scope: { kind: 'store', store: 5 } });
  // A DM carries no guild: the grant that applies there is the user's key without one (discord:/USER).
  await addGrant(db, { principal: `discord:/${USER}`, role: 'viewer', scope: { kind: 'store', store: 5 } });
  // The channel is store 5's: answers about store 5 are posted there for everyone.
  await bindChannel(db, { platform: 'discord', workspace: GUILD, channel: CHANNEL, scope: { kind: 'store', store: 5 } });
  gateway = await startDiscordGateway(services, { retry: FAST_RETRY });
}, 120_000);

afterAll(async () => {
  await services?.drain();
  await gateway?.stop();
  await fake?.close();
  await db?.close();
});

beforeEach(() => fake.reset());

describe('Discord: questions in plain words over the gateway', () => {
  it('asks for the message intents it needs, and not the privileged Message Content intent', () => {
    const intents = Number(fake.identifies.at(-1)!.intents);
    expect(intents & (1 << 0)).toBeTruthy(); // GUILDS
    expect(intents & (1 << 9)).toBeTruthy(); // GUILD_MESSAGES
    expect(intents & (1 << 12)).toBeTruthy(); // DIRECT_MESSAGES
    expect(intents & (1 << 15)).toBe(0); // MESSAGE_CONTENT
  });

  it('answers an @mention as a reply with how it was read, the chart attached', async () => {
    const m = message(`<@${FAKE_APP_ID}> how did store five do last week?`);
    fake.dispatchEvent('MESSAGE_CREATE', m);
    const [post] = await fake.waitFor(postsTo(CHANNEL));
    const body = payloadOf(post!);
    expect(body.message_reference?.message_id).toBe(m.id);
    expect(body.embeds![0]!.description).toMatch(/^Read as `\/sales store 5 from 2012-10-26`\./);
    expect(pngInfo(post!.files['files[0]']!.data)).toBeDefined();
  });

  it('refuses a store the asker may not see and says so by DM, posting nothing in the channel', async () => {
    fake.dispatchEvent('MESSAGE_CREATE', message(`<@${FAKE_APP_ID}> what will store 7 sell over the next 8 weeks`));
    const [dm] = await fake.waitFor((c) => c.method === 'POST' && /^\/api\/v10\/channels\/9\d+\/messages$/.test(c.path));
    expect(payloadOf(dm!).embeds![0]!.title).toBe('Not allowed');
    expect(fake.calls.filter(postsTo(CHANNEL))).toHaveLength(0);
  });

  it('offers two readings as buttons when unsure, and ignores guild messages that do not mention it', async () => {
    fake.dispatchEvent('MESSAGE_CREATE', message('how did store 5 do last week?'));
    fake.dispatchEvent('MESSAGE_CREATE', message('store 5 sales next weeks', { guild_id: null }));
    const [post] = await fake.waitFor(postsTo(DM_CHANNEL));
    const ids = payloadOf(post!).components!.flatMap((r) => r.components.map((c) => c.custom_id));
    expect(ids.sort()).toEqual(['run:/forecast store 5', 'run:/sales store 5']);
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.calls.filter(postsTo(CHANNEL))).toHaveLength(0);
  });
});
