import { randomBytes } from 'node:crypto';
import type { Database } from '../db/client.ts';
import { hashToken } from './tokens.ts';

/**
 * Sign-in to the web console (restricted mode): /console in Slack or Discord, or `storecast
 * console-link` at the server's shell, makes a one-time link bound to a chat principal; opening
 * it starts a session whose cookie names that principal on every console request. Links and
 * sessions live in the database, so any replica honours them; like API tokens, only their
 * SHA-256 is stored (256-bit random values: a plain hash is as strong as a KDF here).
 */
export const LOGIN_LINK_MINUTES = 10;

/** Who a link or session signs in: a chat principal, and a Discord member's roles at the time. */
export interface ConsoleIdentity {
  /** `slack:T1/U1` or `discord:G1/U2`. */
  principal: string;
  /** Discord role ids, so `discord-role:` grants apply in the console as in Discord. */
  roles: string[];
}

export interface ConsoleSession extends ConsoleIdentity {
  expiresAt: string;
}

/** Why a link did not sign anyone in, for the page that says so. */
export type LoginRefusal = 'unknown' | 'used' | 'expired';

/** 32 random bytes, base64url: tokens and session ids look alike; anything else is refused unread. */
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/;
const newSecret = () => randomBytes(32).toString('base64url');

/** Principals a console session may be: a chat user (roles and tokens sign in elsewhere). */
const CHAT_USER_RE = /^(slack|discord):[A-Za-z0-9_-]*\/[A-Za-z0-9_-]+$/;

export function isChatUser(principal: string): boolean {
  return CHAT_USER_RE.test(principal);
}

/** The Slack team or Discord guild of a chat principal (`slack:T1/U1` -> `T1`). */
export function workspaceOf(principal: string): string | undefined {
  return /^(?:slack|discord):([^/]+)\//.exec(principal)?.[1];
}

/** The link a user opens: `${base}/console/login?token=...`. */
export function loginUrl(baseUrl: string, token: string): string {
  return `${baseUrl}/console/login?token=${token}`;
}

/** A one-time sign-in token for `identity`, valid LOGIN_LINK_MINUTES; returned once, never stored. */
export async function createLoginToken(db: Database, identity: ConsoleIdentity & { issuedVia: string }): Promise<{ token: string; expiresAt: string }> {
  if (!isChatUser(identity.principal)) throw new Error(`a console sign-in link is for a Slack or Discord user (slack:TEAM/USER, discord:GUILD/USER), not "${identity.principal.slice(0, 80)}"`);
  const token = newSecret();
  // The database's clock decides expiry, so replicas with drifting clocks agree.
  const [row] = await db.query<{ expires_at: Date | string }>(
    `INSERT INTO console_login_tokens (token_hash, principal, roles, issued_via, expires_at)
     VALUES ($1, $2, $3::text[], $4, now() + make_interval(mins => $5)) RETURNING expires_at`,
    [hashToken(token), identity.principal, identity.roles, identity.issuedVia, LOGIN_LINK_MINUTES],
  );
  return { token, expiresAt: new Date(row!.expires_at).toISOString() };
}

/**
 * Uses a sign-in token up and starts a session for its principal, in one transaction. The
 * UPDATE ... WHERE used_at IS NULL is the single use: of two replicas opening the same link at
 * once, Postgres lets one update the row and the other finds it used.
 */
export async function signIn(db: Database, token: string, sessionHours: number): Promise<{ ok: true; sessionId: string; session: ConsoleSession } | { ok: false; reason: LoginRefusal }> {
  if (!SECRET_RE.test(token)) return { ok: false, reason: 'unknown' };
  const hash = hashToken(token);
  return db.transaction(async (tx) => {
    const [used] = await tx.query<{ principal: string; roles: string[] }>(
      'UPDATE console_login_tokens SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING principal, roles',
      [hash],
    );
    if (!used) {
      const [row] = await tx.query<{ used: boolean }>('SELECT used_at IS NOT NULL AS used FROM console_login_tokens WHERE token_hash = $1', [hash]);
      return { ok: false, reason: !row ? 'unknown' : row.used ? 'used' : 'expired' } as const;
    }
    const sessionId = newSecret();
    const [session] = await tx.query<{ expires_at: Date | string }>(
      'INSERT INTO console_sessions (id_hash, principal, roles, expires_at) VALUES ($1, $2, $3::text[], now() + make_interval(secs => $4)) RETURNING expires_at',
      [hashToken(sessionId), used.principal, used.roles, Math.round(sessionHours * 3600)],
    );
    // Housekeeping while here: ended sessions, and links a day past expiry (until then a late
    // click still hears "expired" rather than "unknown").
    await tx.query('DELETE FROM console_sessions WHERE expires_at < now()');
    await tx.query("DELETE FROM console_login_tokens WHERE expires_at < now() - interval '1 day'");
    return { ok: true, sessionId, session: { principal: used.principal, roles: used.roles, expiresAt: new Date(session!.expires_at).toISOString() } } as const;
  });
}

/** The live session a cookie names, or undefined (unknown, malformed, expired, ended). */
export async function findSession(db: Database, sessionId: string): Promise<ConsoleSession | undefined> {
  if (!SECRET_RE.test(sessionId)) return undefined;
  const [row] = await db.query<{ principal: string; roles: string[]; expires_at: Date | string }>(
    'SELECT principal, roles, expires_at FROM console_sessions WHERE id_hash = $1 AND expires_at > now()',
    [hashToken(sessionId)],
  );
  return row ? { principal: row.principal, roles: row.roles, expiresAt: new Date(row.expires_at).toISOString() } : undefined;
}

/** Ends a session (logout); true when there was one. */
export async function endSession(db: Database, sessionId: string): Promise<boolean> {
  if (!SECRET_RE.test(sessionId)) return false;
  return (await db.query('DELETE FROM console_sessions WHERE id_hash = $1 RETURNING principal', [hashToken(sessionId)])).length > 0;
}

/** Ends every session of a principal (`storecast access signout`, `/access signout`); returns how many. */
export async function endSessionsOf(db: Pick<Database, 'query'>, principal: string): Promise<number> {
  return (await db.query('DELETE FROM console_sessions WHERE principal = $1 RETURNING principal', [principal])).length;
}

/** What a re-check asks of the rest of the product (src/server/console-session.ts wires it). */
export interface SessionRecheck {
  /** A Discord member's role ids now; null when they left the guild. Throws when Discord cannot say (the session is kept, and asked again later). */
  discordRoles?: (guild: string, user: string) => Promise<string[] | null>;
  /** Whether the principal, with these Discord roles, still holds any access (a grant, an admin setting). */
  entitled: (principal: string, roles: readonly string[]) => Promise<boolean>;
}

interface SessionRow {
  id_hash: string;
  principal: string;
  roles: string[];
}

/** Ends one session found by a re-check; false when another replica ended it first. */
async function dropRow(db: Pick<Database, 'query'>, row: SessionRow): Promise<boolean> {
  return (await db.query('DELETE FROM console_sessions WHERE id_hash = $1 RETURNING id_hash', [row.id_hash])).length > 0;
}

/** One session re-checked: its roles refreshed (Discord), or ended when no access is left. True when ended. */
async function recheckOne(db: Pick<Database, 'query'>, row: SessionRow, check: SessionRecheck): Promise<boolean> {
  let roles = row.roles;
  const member = /^discord:([^/]+)\/(.+)$/.exec(row.principal);
  if (member && check.discordRoles) {
    const now = await check.discordRoles(member[1]!, member[2]!);
    if (now === null) return dropRow(db, row);
    roles = now;
  }
  if (!(await check.entitled(row.principal, roles))) return dropRow(db, row);
  await db.query('UPDATE console_sessions SET roles = $2::text[], checked_at = now() WHERE id_hash = $1', [row.id_hash, roles]);
  return false;
}

/**
 * Sessions not re-checked for `everyMs` get their Discord roles read again (roles were copied at
 * sign-in, and a session lasts up to STORECAST_CONSOLE_SESSION_HOURS) and end when the principal
 * holds no access any more. A session Discord cannot answer for keeps its roles until the next round.
 */
export async function recheckSessions(db: Pick<Database, 'query'>, everyMs: number, check: SessionRecheck, limit = 50): Promise<{ checked: number; ended: number }> {
  const due = await db.query<SessionRow>(
    `SELECT id_hash, principal, roles FROM console_sessions WHERE expires_at > now() AND checked_at <= now() - make_interval(secs => $1) ORDER BY checked_at LIMIT $2`,
    [everyMs / 1000, limit],
  );
  let ended = 0;
  for (const row of due) {
    try {
      if (await recheckOne(db, row, check)) ended++;
    } catch {
      // Discord did not answer: the next round asks again.
    }
  }
  return { checked: due.length, ended };
}

/**
 * After a revocation: the sessions it may concern (the principal's own, or, for a Discord role,
 * its members' in that guild) that hold no access any more end at once, before any re-check.
 */
export async function endUnentitledSessions(db: Pick<Database, 'query'>, revoked: string, entitled: SessionRecheck['entitled']): Promise<number> {
  const role = /^discord-role:([^/]*)\/(.+)$/.exec(revoked);
  const rows = role
    ? await db.query<SessionRow>("SELECT id_hash, principal, roles FROM console_sessions WHERE principal LIKE $1 AND $2 = ANY(roles)", [`discord:${role[1]}/%`, role[2]])
    : await db.query<SessionRow>('SELECT id_hash, principal, roles FROM console_sessions WHERE principal = $1', [revoked]);
  let ended = 0;
  for (const row of rows) {
    if (!(await entitled(row.principal, row.roles))) ended += Number(await dropRow(db, row));
  }
  return ended;
}
