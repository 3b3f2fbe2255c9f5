import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Config } from '../config.ts';
import { allowsAddress, allowsHost, internalRange, isMetadataHost, normalizeHost, parseAddress, parseAllowList } from './addresses.ts';

/**
 * The one way out to a URL a user gave us (webhook targets today, email APIs later). A user
 * who may store a URL must not be able to make the server call its own network (SSRF):
 * cloud metadata credentials, databases, admin ports. So every request here:
 *  - refuses internal addresses (see addresses.ts) unless STORECAST_OUTBOUND_ALLOW lets them
 *    through, and cloud metadata host names always;
 *  - resolves the host once, inside the socket's own lookup, and connects to the address it
 *    checked: a name that answers a public address when checked and 127.0.0.1 when connected
 *    (DNS rebinding) has no second answer to give. No keep-alive, so every request is checked;
 *  - follows no redirects (a 3xx to http://169.254.169.254/ is just a failed delivery);
 *  - returns status and headers only: the body is discarded unread, so a target's answer
 *    (an internal page, an error with secrets) can never reach logs, the delivery log or users.
 * Operator-configured endpoints (SLACK_API_URL, DISCORD_API_URL) do not come through here.
 */

/** The setting that lets internal targets through; named in every refusal. */
export const ALLOW_SETTING = 'STORECAST_OUTBOUND_ALLOW';

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true });

export class OutboundRefused extends Error {
  readonly code = 'ERR_OUTBOUND_REFUSED';
  /** Safe to store and show: a range name, never the URL, host or address. */
  constructor(readonly reason: string) {
    super(`refused: internal address (${reason})`);
    this.name = 'OutboundRefused';
  }
}

export interface OutboundOptions {
  /** Networks, addresses and host names allowed although internal (STORECAST_OUTBOUND_ALLOW). */
  allow?: readonly string[];
  /** How names are resolved (tests inject answers; default: the system resolver). */
  resolve?: Resolver;
}

export interface OutboundRequest {
  method?: 'POST' | 'PUT' | 'GET';
  headers?: Record<string, string>;
  body?: string | Uint8Array | FormData;
  timeoutMs: number;
}

/** What a caller gets back: never the body. */
export interface OutboundResponse {
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
}

export interface Outbound {
  /**
   * The create-time check: throws OutboundRefused if the URL is, or its host now resolves
   * only to, an internal address. A name that does not resolve yet passes (it is checked
   * again on every request).
   */
  check(url: string | URL): Promise<void>;
  /** One request through the guard. Rejects on refusal and network errors (see describeOutboundError). */
  request(url: string | URL, init: OutboundRequest): Promise<OutboundResponse>;
  close(): Promise<void>;
}

function familyOf(options: LookupOptions): 0 | 4 | 6 {
  const f = options.family;
  return f === 4 || f === 'IPv4' ? 4 : f === 6 || f === 'IPv6' ? 6 : 0;
}

/** A FormData goes out as its multipart bytes, with their length. */
async function encodeBody(init: OutboundRequest): Promise<{ headers: Record<string, string>; body?: string | Uint8Array }> {
  if (!(init.body instanceof FormData)) return { headers: init.headers ?? {}, body: init.body };
  const encoded = new Response(init.body);
  return { headers: { ...init.headers, 'content-type': encoded.headers.get('content-type')! }, body: new Uint8Array(await encoded.arrayBuffer()) };
}

/**
 * The process's one outbound policy, from STORECAST_OUTBOUND_ALLOW: built once by services (and
 * once per CLI command) and handed to every place that checks or calls a user-given URL, so the
 * same URL gets the same answer wherever it was typed (chat, API, CLI, schedulers, retraining).
 */
export function outboundPolicy(config: Pick<Config, 'outboundAllow'>, resolve?: Resolver): Outbound {
  return createOutbound({ allow: config.outboundAllow, ...(resolve ? { resolve } : {}) });
}

export function createOutbound(options: OutboundOptions = {}): Outbound {
  const allow = parseAllowList(options.allow ?? []);
  const resolve = options.resolve ?? systemResolver;

  /** Why an address may not be reached, or undefined. */
  const refusal = (address: string): string | undefined => {
    const ip = parseAddress(address);
    if (!ip) return 'not an IP address';
    return allowsAddress(allow, ip) ? undefined : internalRange(ip);
  };

  /** Checks needing no DNS; returns the host name still to resolve, if any. */
  function preflight(url: URL): string | undefined {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`unsupported scheme ${url.protocol}`);
    const host = normalizeHost(url.hostname);
    if (allowsHost(allow, host)) return undefined;
    if (isMetadataHost(host)) throw new OutboundRefused('cloud metadata host');
    if (!parseAddress(host)) return host;
    const why = refusal(host);
    if (why) throw new OutboundRefused(why);
    return undefined;
  }

  /** Resolves once and keeps only addresses that may be reached; refuses if none is left. */
  async function resolveChecked(hostname: string): Promise<LookupAddress[]> {
    const answers = await resolve(hostname);
    if (allowsHost(allow, hostname)) return answers;
    if (isMetadataHost(hostname)) throw new OutboundRefused('cloud metadata host');
    const usable = answers.filter((a) => refusal(a.address) === undefined);
    if (!usable.length && answers.length) throw new OutboundRefused(refusal(answers[0]!.address)!);
    if (!usable.length) throw Object.assign(new Error('no address'), { code: 'ENOTFOUND' });
    return usable;
  }

  // Called by the socket for every connection to a name: the address it connects to is one
  // resolveChecked returned. IP literals skip lookup, which is why preflight checks them.
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    const family = familyOf(lookupOptions);
    resolveChecked(hostname).then(
      (answers) => {
        const wanted = family ? answers.filter((a) => a.family === family) : answers;
        if (!wanted.length) return callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '', 0);
        if (lookupOptions.all) callback(null, wanted);
        else callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
  return {
    async check(raw) {
      const host = preflight(typeof raw === 'string' ? new URL(raw) : raw);
      if (!host) return;
      await resolveChecked(host).catch((err: unknown) => {
        if (err instanceof OutboundRefused) throw err;
      });
    },
    async request(raw, init) {
      const url = typeof raw === 'string' ? new URL(raw) : raw;
      preflight(url);
      return send(url, init, lookup);
    },
    close: async () => {},
  };
}

/**
 * One request on a fresh socket (no agent, so no keep-alive: every connection is looked up and
 * checked), through node:http(s) rather than a fetch library: nothing global is installed, so
 * the platform SDKs' own HTTP clients are untouched. The body is never read.
 */
async function send(url: URL, init: OutboundRequest, lookup: LookupFunction): Promise<OutboundResponse> {
  const { headers, body } = await encodeBody(init);
  const length = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<OutboundResponse>((resolve, reject) => {
    const req = request(
      url,
      { method: init.method ?? 'POST', headers: { ...headers, 'content-length': String(length) }, agent: false, lookup, signal: AbortSignal.timeout(init.timeoutMs) },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const get = (name: string) => {
          const v = res.headers[name.toLowerCase()];
          return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
        };
        res.destroy();
        resolve({ ok: status >= 200 && status < 300, status, headers: { get } });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/**
 * A short reason fit for logs and the delivery log: a refusal, "timed out", "connection
 * refused", a TLS error code. Never a message from the far side or the URL.
 */
export function describeOutboundError(err: unknown): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string; message?: string } } | undefined;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timed out';
  const refused = err instanceof OutboundRefused ? err : e?.cause instanceof OutboundRefused ? e.cause : undefined;
  if (refused) return refused.message;
  const code = e?.cause?.code ?? e?.code;
  if (code && NETWORK_ERRORS[code]) return NETWORK_ERRORS[code];
  if (code && /^[A-Z0-9_]{2,64}$/.test(code)) return /CERT|TLS|SSL/.test(code) ? `TLS error (${code})` : `network error (${code})`;
  return 'network error';
}
