import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database } from '../db/client.ts';

/**
 * Bearer tokens of the HTTP API (`storecast tokens create --scope ingest`). A token reads
 * `sc_<id>_<secret>`; only its SHA-256 is stored, so a database dump reveals no usable token.
 * The token is a 256-bit random value, so a plain (unsalted) hash is as strong as a KDF here.
 */
export const SCOPES = ['ingest', 'query', 'metrics', 'admin'] as const;
/**
 * What a token may do (its "scopes" on the wire: `--scope ingest`). Not a data Scope
 * (src/scope.ts): which stores a token sees is its grants'.
 */
export type TokenPermission = (typeof SCOPES)[number];

export interface ApiToken {
  id: string;
  name: string;
  scopes: TokenPermission[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const TOKEN_RE = /^sc_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$/;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function isTokenPermission(s: string): s is TokenPermission {
  return (SCOPES as readonly string[]).includes(s);
}

/** `admin` may do everything; otherwise the exact scope is needed. */
export function hasScope(scopes: readonly string[], needed: TokenPermission): boolean {
  return scopes.includes('admin') || scopes.includes(needed);
}

interface Row {
  id: string;
  name: string;
  scopes: string[];
  token_hash: string;
  created_at: Date | string;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

function toToken(r: Row): ApiToken {
  return {
    id: r.id,
    name: r.name,
    scopes: r.scopes.filter(isTokenPermission),
    createdAt: iso(r.created_at)!,
    lastUsedAt: iso(r.last_used_at),
    revokedAt: iso(r.revoked_at),
  };
}

/** Creates a token; the returned `token` is shown once and never stored. */
export async function createToken(db: Database, input: { name: string; scopes: readonly string[] }): Promise<{ token: string; info: ApiToken }> {
  const scopes = [...new Set(input.scopes)];
  const bad = scopes.filter((s) => !isTokenPermission(s));
  if (!scopes.length || bad.length) {
    throw new Error(`scope must be one or more of ${SCOPES.join(', ')}${bad.length ? ` (got ${bad.join(', ')})` : ''}`);
  }
  const id = randomBytes(4).toString('hex');
  const token = `sc_${id}_${randomBytes(32).toString('base64url')}`;
  const [row] = await db.query<Row>(
    'INSERT INTO api_tokens (id, name, token_hash, scopes) VALUES ($1, $2, $3, $4::text[]) RETURNING *',
    [id, input.name, hashToken(token), scopes],
  );
  return { token, info: toToken(row!) };
}

export async function listTokens(db: Database): Promise<ApiToken[]> {
  const rows = await db.query<Row>('SELECT * FROM api_tokens ORDER BY created_at, id');
  return rows.map(toToken);
}

/**
 * Revokes by id, and ends the token's grants with it: a revoked token is no one, and what it set
 * up pauses at its next send (src/access/delivery.ts). Returns false if no active token has that id.
 */
export async function revokeToken(db: Database, id: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows = await tx.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id', [id]);
    if (rows.length) await tx.query('DELETE FROM access_grants WHERE principal = $1', [`token:${id}`]);
    return rows.length > 0;
  });
}

/** The token's record if it is well-formed, known and not revoked; undefined otherwise. */
export async function verifyToken(db: Database, token: string): Promise<ApiToken | undefined> {
  const m = TOKEN_RE.exec(token);
  if (!m) return undefined;
  const [row] = await db.query<Row>('SELECT * FROM api_tokens WHERE id = $1', [m[1]]);
  if (!row || row.revoked_at) return undefined;
  const a = Buffer.from(row.token_hash, 'hex');
  const b = Buffer.from(hashToken(token), 'hex');
  if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
  // Best effort and coarse (once a minute) so a busy integration does not write on every call.
  await db.query("UPDATE api_tokens SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')", [row.id]);
  return toToken(row);
}
