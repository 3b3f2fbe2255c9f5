import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as a fake API received it. */
export interface Captured {
  method: string;
  /** Path without the query string, percent-decoded. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  raw: Buffer;
  /** JSON or form fields (JSON-looking form values parsed); multipart text fields. */
  body: Record<string, unknown>;
  /** Multipart file parts by field name. */
  files: Record<string, { filename: string; type: string; data: Buffer }>;
  at: number;
}

export interface Injected {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export type Handler = (req: Captured) => Injected | Promise<Injected>;

/**
 * A small HTTP server on 127.0.0.1 for fake platform APIs: records every request, answers
 * through `route()`, and lets a test inject failures (429 with Retry-After, 5xx) per path.
 */
export class FakeHttpServer {
  readonly calls: Captured[] = [];
  readonly server: Server;
  private readonly failures: { match: (c: Captured) => boolean; reply: Injected; times: number }[] = [];
  private readonly waiters = new Set<() => void>();
  /** Requests per "METHOD path" — kept even when `record` is off (benchmarks). */
  readonly counts = new Map<string, number>();

  constructor(
    private readonly route: Handler,
    private readonly options: { record?: boolean } = {},
  ) {
    this.server = createServer((req, res) => void this.onRequest(req, res));
    this.server.keepAliveTimeout = 30_000;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next `times` requests matching `match` get `reply` instead of the normal answer. */
  fail(match: (c: Captured) => boolean, reply: Injected, times = 1): void {
    this.failures.push({ match, reply, times });
  }

  reset(): void {
    this.calls.length = 0;
    this.failures.length = 0;
  }

  find(pred: (c: Captured) => boolean): Captured[] {
    return this.calls.filter(pred);
  }

  /** Resolves once `count` recorded calls satisfy `pred`; rejects after `timeoutMs`. */
  async waitFor(pred: (c: Captured) => boolean, { count = 1, timeoutMs = 10_000 } = {}): Promise<Captured[]> {
    const check = () => {
      const hits = this.find(pred);
      return hits.length >= count ? hits : undefined;
    };
    const now = check();
    if (now) return now;
    return new Promise((resolve, reject) => {
      const waiter = () => {
        const hits = check();
        if (hits) {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(hits);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out waiting for ${count} matching call(s); got: ${this.calls.map((c) => `${c.method} ${c.path}`).join(', ') || 'none'}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    const captured: Captured = {
      method: req.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
      headers,
      raw,
      body: {},
      files: {},
      at: Date.now(),
    };
    await parseInto(captured);
    const key = `${captured.method} ${captured.path.replace(/\/(commands|upload)\/.*/, '/$1/*')}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (this.options.record !== false) {
      this.calls.push(captured);
      for (const w of [...this.waiters]) w();
    }

    let reply: Injected;
    const failure = this.failures.find((f) => f.times > 0 && f.match(captured));
    if (failure) {
      failure.times--;
      reply = failure.reply;
    } else {
      try {
        reply = await this.route(captured);
      } catch (err) {
        reply = { status: 500, body: { error: String(err) } };
      }
    }
    const isJson = reply.body !== undefined && typeof reply.body !== 'string' && !Buffer.isBuffer(reply.body);
    res.writeHead(reply.status, { ...(isJson ? { 'content-type': 'application/json' } : {}), ...reply.headers });
    res.end(reply.body === undefined ? '' : isJson ? JSON.stringify(reply.body) : (reply.body as string | Buffer));
  }
}

async function parseInto(c: Captured): Promise<void> {
  const type = c.headers['content-type'] ?? '';
  if (c.raw.length === 0) return;
  if (type.includes('application/json')) {
    c.body = JSON.parse(c.raw.toString('utf8')) as Record<string, unknown>;
  } else if (type.includes('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(c.raw.toString('utf8'))) c.body[k] = maybeJson(v);
  } else if (type.includes('multipart/form-data')) {
    const form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': type }, body: new Uint8Array(c.raw) }).formData();
    for (const [k, v] of form) {
      if (typeof v === 'string') c.body[k] = maybeJson(v);
      else c.files[k] = { filename: v.name, type: v.type, data: Buffer.from(await v.arrayBuffer()) };
    }
  }
}

function maybeJson(v: string): unknown {
  if (/^[[{]/.test(v)) {
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }
  return v;
}

/** True for a PNG file; returns its width and height from the IHDR chunk. */
export function pngInfo(data: Buffer): { width: number; height: number } | undefined {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (data.length < 24 || !data.subarray(0, 8).equals(signature) || data.toString('ascii', 12, 16) !== 'IHDR') return undefined;
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}
