import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createToken, revokeToken } from '../auth/tokens.ts';
import type { Database } from '../db/client.ts';

/**
 * While `storecast serve` holds an embedded data directory, no other process may open it, so the
 * shell's admin commands go through the server instead: it publishes its address and an admin
 * token in `<dataDir>/operator.json`, readable only by its own OS user (the directory is 0700,
 * the file 0600) — who could read the whole database anyway.
 */
export const OPERATOR_FILE = 'operator.json';
const TOKEN_NAME = 'operator (storecast serve)';

export interface OperatorEndpoint {
  pid: number;
  url: string;
  token: string;
}

/** Publishes the endpoint; `close` revokes the token and removes the file (on shutdown). */
export async function publishOperatorEndpoint(db: Database, dataDir: string, url: string): Promise<{ close(): Promise<void> }> {
  // A server that died without closing left its token: revoke it before making a new one.
  await db.query('UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL', [TOKEN_NAME]);
  const { token, info } = await createToken(db, { name: TOKEN_NAME, scopes: ['admin'] });
  const file = join(dataDir, OPERATOR_FILE);
  writeFileSync(file, JSON.stringify({ pid: process.pid, url, token } satisfies OperatorEndpoint), { mode: 0o600 });
  return {
    async close() {
      rmSync(file, { force: true });
      await revokeToken(db, info.id).catch(() => {});
    },
  };
}

/** The endpoint of the server that holds `dataDir` (pid as in its lock), if it published one. */
export function readOperatorEndpoint(dataDir: string, pid: number | undefined): OperatorEndpoint | undefined {
  try {
    const endpoint = JSON.parse(readFileSync(join(dataDir, OPERATOR_FILE), 'utf8')) as OperatorEndpoint;
    return endpoint.pid === pid && typeof endpoint.url === 'string' && typeof endpoint.token === 'string' ? endpoint : undefined;
  } catch {
    return undefined;
  }
}

/** The loopback address of a server listening on `host`. */
export function localUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** One call to the running server's /api/v1 as the operator; a refusal or failure throws with its message. */
export async function callOperatorApi<T>(endpoint: OperatorEndpoint, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${endpoint.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${endpoint.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  const json: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new Error((json as { error?: { message?: string } } | undefined)?.error?.message ?? `the server answered ${res.status}`);
  return json as T;
}
