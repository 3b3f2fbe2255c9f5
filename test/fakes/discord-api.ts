import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { FakeHttpServer, type Captured } from './http.ts';

export const FAKE_APP_ID = '1100000000000000001';
export const FAKE_BOT_TOKEN = 'fake-bot-token.abc.def';

/** An Ed25519 key pair like the one behind an application's "Public Key". */
export function discordKeys(): { publicKeyHex: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return { publicKeyHex: der.subarray(der.length - 32).toString('hex'), privateKey };
}

/** Signs as Discord does: Ed25519 over timestamp + raw body, hex, in two headers. */
export function discordHeaders(privateKey: KeyObject, body: string, timestamp = String(Math.floor(Date.now() / 1000))): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-signature-ed25519': sign(null, Buffer.from(timestamp + body), privateKey).toString('hex'),
    'x-signature-timestamp': timestamp,
  };
}

/**
 * Fake Discord: the REST routes storecast uses under /api/v10 (interaction callback, edit /
 * delete original response, follow-ups, command registration, gateway discovery, threads on messages, message edits,
 * guild member lists) and a
 * gateway WebSocket speaking enough of the protocol (HELLO, IDENTIFY, READY, heartbeats,
 * INTERACTION_CREATE) for a discord.js Client. Every call is recorded.
 */
export class FakeDiscord extends FakeHttpServer {
  private seq = 0;
  readonly wss = new WebSocketServer({ noServer: true });
  readonly sockets: WebSocket[] = [];
  readonly identifies: Record<string, unknown>[] = [];
  private gatewaySeq = 0;
  /** Guild members and their role ids, by `guild/user` (GET /guilds/:guild/members/:user); absent: Unknown Member. */
  readonly members = new Map<string, string[]>();
  /** Messages the bot posted in channels, as `channel/id`: what an edit can find. */
  readonly posted = new Set<string>();
  /** Messages a thread was started on (POST /channels/:channel/messages/:message/threads). */
  readonly threads = new Set<string>();

  constructor() {
    super((c) => this.answer(c));
    this.server.on('upgrade', (req, socket, head) => {
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onGateway(ws));
    });
  }

  get apiUrl(): string {
    return `${this.url}/api`;
  }

  /** Calls whose path (under /api/v10) matches. */
  requests(method: string, pattern: RegExp): Captured[] {
    return this.find((c) => c.method === method && pattern.test(c.path.replace(/^\/api\/v10/, '')));
  }

  override async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    await super.close();
  }

  private answer(c: Captured) {
    if (!c.path.startsWith('/api/v10/')) return { status: 404, body: { message: '404: Not Found', code: 0 } };
    const path = c.path.slice('/api/v10'.length);
    const bot = c.headers.authorization === `Bot ${FAKE_BOT_TOKEN}`;
    const unauthorized = { status: 401, body: { message: '401: Unauthorized', code: 0 } };
    let m: RegExpExecArray | null;

    if ((m = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path)) && c.method === 'POST') return { status: 204 };
    if ((m = /^\/webhooks\/(\d+)\/([^/]+)\/messages\/@original$/.exec(path))) {
      if (m[1] !== FAKE_APP_ID) return { status: 404, body: { message: 'Unknown Webhook', code: 10015 } };
      if (c.method === 'DELETE') return { status: 204 };
      if (c.method === 'PATCH') return { status: 200, body: this.message(c) };
    }
    if ((m = /^\/webhooks\/(\d+)\/([^/]+)$/.exec(path)) && c.method === 'POST') return { status: 200, body: this.message(c) };
    if ((m = /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(path)) && c.method === 'PUT') {
      if (!bot) return unauthorized;
      const commands = (c.body as unknown as Record<string, unknown>[]) ?? [];
      return { status: 200, body: commands.map((cmd) => ({ ...cmd, id: String(++this.seq), application_id: m![1], guild_id: m![2], version: '1' })) };
    }
    // A thread on a message takes the message's id; a message has at most one.
    if ((m = /^\/channels\/(\d+)\/messages\/(\d+)\/threads$/.exec(path)) && c.method === 'POST') {
      if (!bot) return unauthorized;
      if (this.threads.has(m[2]!)) return { status: 400, body: { message: 'A thread has already been created for this message', code: 160004 } };
      this.threads.add(m[2]!);
      return { status: 201, body: { id: m[2], type: 11, parent_id: m[1], name: (c.body as { name?: string }).name } };
    }
    if ((m = /^\/channels\/(\d+)\/messages$/.exec(path)) && c.method === 'POST') {
      if (!bot) return unauthorized;
      const posted = { ...this.message(c), channel_id: m[1] };
      this.posted.add(`${m[1]}/${posted.id}`);
      return { status: 200, body: posted };
    }
    // A message edit: only of a message the bot posted.
    if ((m = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path)) && c.method === 'PATCH') {
      if (!bot) return unauthorized;
      if (!this.posted.has(`${m[1]}/${m[2]}`)) return { status: 404, body: { message: 'Unknown Message', code: 10008 } };
      return { status: 200, body: { ...this.message(c), id: m[2], channel_id: m[1], edited_timestamp: new Date().toISOString() } };
    }
    // The guild's members, a page at a time (needs the GUILD_MEMBERS intent): ?limit=&after=, by user id.
    if ((m = /^\/guilds\/(\d+)\/members$/.exec(path)) && c.method === 'GET') {
      if (!bot) return unauthorized;
      const limit = Math.min(1000, Number(c.query.get('limit') ?? 1));
      const after = BigInt(c.query.get('after') ?? '0');
      const all = [...this.members].filter(([k]) => k.startsWith(`${m![1]}/`)).map(([k, roles]) => ({ id: k.split('/')[1]!, roles })).filter((u) => BigInt(u.id) > after).sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      return { status: 200, body: all.slice(0, limit).map((u) => ({ user: { id: u.id, username: `u${u.id.slice(-4)}` }, roles: u.roles, joined_at: '2024-01-01T00:00:00.000Z', deaf: false, mute: false })) };
    }
    // A bot opens (or finds) its DM channel with a user before writing to them.
    if (path === '/users/@me/channels' && c.method === 'POST') {
      if (!bot) return unauthorized;
      const recipient = String((c.body as { recipient_id?: string }).recipient_id ?? '');
      return { status: 200, body: { id: `9${recipient.slice(1)}`, type: 1, recipients: [{ id: recipient }] } };
    }
    if ((m = /^\/guilds\/(\d+)\/members\/(\d+)$/.exec(path)) && c.method === 'GET') {
      if (!bot) return unauthorized;
      const roles = this.members.get(`${m[1]}/${m[2]}`);
      return roles ? { status: 200, body: { user: { id: m[2] }, roles, joined_at: '2024-01-01T00:00:00.000Z', deaf: false, mute: false } } : { status: 404, body: { message: 'Unknown Member', code: 10007 } };
    }
    if (path === '/gateway/bot' && c.method === 'GET') {
      if (!bot) return unauthorized;
      return { status: 200, body: { url: this.url.replace('http', 'ws'), shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 } } };
    }
    return { status: 404, body: { message: '404: Not Found', code: 0 } };
  }

  private message(c: Captured) {
    const payload = (c.body.payload_json ?? c.body) as Record<string, unknown>;
    return {
      id: String(++this.seq),
      channel_id: '1200000000000000001',
      type: 20,
      content: payload.content ?? '',
      embeds: payload.embeds ?? [],
      components: payload.components ?? [],
      attachments: Object.values(c.files).map((f, i) => ({ id: String(i), filename: f.filename, size: f.data.length, url: `${this.url}/attachments/${f.filename}`, proxy_url: '' })),
      author: { id: FAKE_APP_ID, username: 'storecast', discriminator: '0', avatar: null, bot: true, global_name: null },
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      pinned: false,
      flags: payload.flags ?? 0,
    };
  }

  private onGateway(ws: WebSocket): void {
    this.sockets.push(ws);
    const send = (payload: Record<string, unknown>) => ws.send(JSON.stringify(payload));
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString('utf8')) as { op: number; d: Record<string, unknown> };
      if (msg.op === 1) send({ op: 11, d: null });
      if (msg.op === 2) {
        this.identifies.push(msg.d);
        if (msg.d.token !== FAKE_BOT_TOKEN) {
          ws.close(4004, 'Authentication failed.');
          return;
        }
        send({
          op: 0,
          s: ++this.gatewaySeq,
          t: 'READY',
          d: {
            v: 10,
            user: { id: FAKE_APP_ID, username: 'storecast', discriminator: '0', global_name: null, avatar: null, bot: true, flags: 0, verified: true, mfa_enabled: false },
            guilds: [],
            session_id: 'fake-session',
            resume_gateway_url: this.url.replace('http', 'ws'),
            shard: [0, 1],
            application: { id: FAKE_APP_ID, flags: 0 },
          },
        });
      }
    });
    send({ op: 10, d: { heartbeat_interval: 41_250 } });
  }

  /** Delivers any gateway event (MESSAGE_CREATE for a question by mention or DM). */
  dispatchEvent(t: string, d: Record<string, unknown>): void {
    const ws = this.sockets.at(-1);
    if (!ws) throw new Error('no gateway client connected');
    ws.send(JSON.stringify({ op: 0, s: ++this.gatewaySeq, t, d }));
  }

  /** Delivers an interaction over the gateway, as INTERACTION_CREATE. */
  dispatchInteraction(interaction: Record<string, unknown>): void {
    const ws = this.sockets.at(-1);
    if (!ws) throw new Error('no gateway client connected');
    ws.send(JSON.stringify({ op: 0, s: ++this.gatewaySeq, t: 'INTERACTION_CREATE', d: interaction }));
  }
}
