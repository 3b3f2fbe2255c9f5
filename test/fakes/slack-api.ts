import { WebSocketServer, type WebSocket } from 'ws';
import { FakeHttpServer, type Captured } from './http.ts';

export const FAKE_BOT = { userId: 'UBOT0001', botId: 'BBOT0001', teamId: 'T1DC2JH3J' };

/**
 * Fake Slack: the Web API methods storecast uses (auth.test, chat.postMessage, chat.update,
 * chat.postEphemeral, views.publish, conversations.open, files.getUploadURLExternal + the upload URL + files.completeUploadExternal,
 * apps.connections.open), response_url endpoints, and a Socket Mode WebSocket.
 * Every call is recorded; failures can be injected.
 */
export class FakeSlack extends FakeHttpServer {
  private seq = 0;
  readonly uploads = new Map<string, { filename: string; length: number; alt_text?: string; data?: Buffer }>();
  readonly wss = new WebSocketServer({ noServer: true });
  readonly sockets: WebSocket[] = [];
  private readonly options_: { record?: boolean };
  /** Messages posted, as `channel/ts`: what chat.update can find. */
  readonly posted = new Set<string>();

  constructor(options: { record?: boolean } = {}) {
    super((c) => this.answer(c), options);
    this.options_ = options;
    this.server.on('upgrade', (req, socket, head) => {
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.sockets.push(ws);
        ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'fake', approximate_connection_time: 18060 }, connection_info: { app_id: 'A0FAKE' } }));
      });
    });
  }

  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** A response_url the fake accepts; its calls are recorded under this path. */
  responseUrl(id = 'T1DC2JH3J/1/abc'): string {
    return `${this.url}/commands/${id}`;
  }

  /** Calls of one Web API method (`chat.postMessage`). */
  method(name: string): Captured[] {
    return this.find((c) => c.path === `/api/${name}`);
  }

  override async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    await super.close();
  }

  private answer(c: Captured) {
    const ok = (body: Record<string, unknown> = {}) => ({ status: 200, body: { ok: true, ...body } });
    const auth = c.headers.authorization ?? '';
    if (c.path.startsWith('/commands/')) return { status: 200, body: 'ok' };
    if (c.path.startsWith('/upload/')) {
      const id = c.path.slice('/upload/'.length);
      const job = this.uploads.get(id);
      if (!job) return { status: 404, body: 'unknown upload' };
      job.data = c.files.body?.data ?? c.raw;
      return { status: 200, body: `OK - ${job.data.length}` };
    }
    if (!c.path.startsWith('/api/')) return { status: 404, body: 'not found' };
    const method = c.path.slice('/api/'.length);
    if (method === 'apps.connections.open') {
      if (!auth.startsWith('Bearer xapp-')) return ok({ ok: false, error: 'not_allowed_token_type' });
      return ok({ url: `${this.url.replace('http', 'ws')}/link/?ticket=fake` });
    }
    if (!auth.startsWith('Bearer xoxb-')) return ok({ ok: false, error: 'not_authed' });
    const b = c.body as Record<string, string | undefined>;
    switch (method) {
      case 'auth.test':
        return ok({ url: 'https://fake.slack.com/', team: 'fake', user: 'storecast', team_id: FAKE_BOT.teamId, user_id: FAKE_BOT.userId, bot_id: FAKE_BOT.botId });
      case 'chat.postMessage':
        if (!b.channel) return ok({ ok: false, error: 'channel_not_found' });
        if (b.channel.startsWith('CNOTIN')) return ok({ ok: false, error: 'not_in_channel' });
      {
        // A post to a user id lands in the app's DM with them (D + the user id), as Slack answers.
        const channel = /^U/.test(b.channel) ? `D${b.channel.slice(1)}` : b.channel;
        const ts = `${Math.floor(Date.now() / 1000)}.${String(++this.seq).padStart(6, '0')}`;
        this.posted.add(`${channel}/${ts}`);
        return ok({ channel, ts, message: { text: b.text } });
      }
      case 'chat.update':
        // An edit keeps the message's ts; a message the fake never posted is not found.
        if (!b.channel || !b.ts) return ok({ ok: false, error: 'invalid_arguments' });
        if (!this.posted.has(`${b.channel}/${b.ts}`)) return ok({ ok: false, error: 'message_not_found' });
        return ok({ channel: b.channel, ts: b.ts, text: b.text });
      case 'views.publish':
        if (!b.user_id || !c.body.view) return ok({ ok: false, error: 'invalid_arguments' });
        return ok({ view: { id: `V${String(++this.seq).padStart(8, '0')}`, type: 'home' } });
      case 'conversations.open':
        // The app's DM with a user (im:write): D + the user id.
        if (!b.users) return ok({ ok: false, error: 'users_not_found' });
        return ok({ channel: { id: `D${b.users.slice(1)}` } });
      case 'chat.postEphemeral':
        return ok({ message_ts: `${Math.floor(Date.now() / 1000)}.000001` });
      case 'files.getUploadURLExternal': {
        const id = `F${String(++this.seq).padStart(8, '0')}`;
        if (!b.filename || !b.length) return ok({ ok: false, error: 'invalid_arguments' });
        this.uploads.set(id, { filename: b.filename, length: Number(b.length), alt_text: b.alt_text });
        return ok({ upload_url: `${this.url}/upload/${id}`, file_id: id });
      }
      case 'files.completeUploadExternal': {
        const files = c.body.files as { id: string; title?: string }[] | undefined;
        if (!files?.length) return ok({ ok: false, error: 'invalid_arguments' });
        for (const f of files) {
          const job = this.uploads.get(f.id);
          if (!job?.data) return ok({ ok: false, error: 'file_not_found' });
          if (job.data.length !== job.length) return ok({ ok: false, error: 'file_size_mismatch' });
        }
        if (this.options_.record === false) for (const f of files) this.uploads.delete(f.id);
        return ok({ files: files.map((f) => ({ id: f.id, title: f.title ?? '' })) });
      }
      default:
        return ok({ ok: false, error: 'unknown_method' });
    }
  }

  /** Sends a Socket Mode envelope to every connected client; resolves with the client's ack. */
  async sendEnvelope(type: 'slash_commands' | 'interactive' | 'events_api', payload: Record<string, unknown>, timeoutMs = 5_000): Promise<{ envelope_id: string; payload?: unknown; at: number }> {
    const ws = this.sockets.at(-1);
    if (!ws) throw new Error('no socket mode client connected');
    const envelopeId = `env-${++this.seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ack for the envelope')), timeoutMs);
      const onMessage = (data: Buffer) => {
        const msg = JSON.parse(data.toString('utf8')) as { envelope_id?: string; payload?: unknown };
        if (msg.envelope_id === envelopeId) {
          clearTimeout(timer);
          ws.off('message', onMessage);
          resolve({ envelope_id: envelopeId, payload: msg.payload, at: Date.now() });
        }
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: type !== 'events_api', retry_attempt: 0, retry_reason: '' }));
    });
  }
}
