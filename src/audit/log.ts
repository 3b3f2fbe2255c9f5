import { principalKeys, type Identity } from '../access/principal.ts';
import type { Database } from '../db/client.ts';
import { canonicalIp } from '../net/client-address.ts';
import { clip } from '../util/text.ts';

/**
 * The audit log (issue #10): one row per command, on every surface, and per /api/v1 call.
 * Append-only; rows leave only when older than STORECAST_AUDIT_RETENTION_DAYS (pruneAudit).
 * Nothing secret enters it: no request bodies, no query strings, and command text is redacted
 * of URLs and tokens whatever option they were typed into.
 */
export const AUDIT_OUTCOMES = ['ok', 'denied', 'user-error', 'internal'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export interface AuditEntry {
  /** `slack:T1/U1`, `discord:G1/U2`, `token:<id>`, a console session's key, `cli` or `anonymous` (see auditPrincipal). */
  principal: string;
  platform: string;
  workspace?: string;
  channel?: string;
  /** The command, normalized for answered ones (`/forecast store 5 horizon 12`). Redacted and clipped here. */
  command?: string;
  /** API calls: method, route pattern (never the query string) and status. */
  method?: string;
  route?: string;
  status?: number;
  /** The data reached, as describeScope says it. */
  scope?: string;
  outcome: AuditOutcome;
  latencyMs: number;
  ref?: string;
  /** The client's IP (src/net/client-address.ts); anything else is stored as none. */
  client?: string;
  /** When; the database's clock unless given (tests of retention). */
  at?: Date;
}

export interface AuditRecord extends Omit<AuditEntry, 'at'> {
  id: number;
  /** The first call's time; a counted row (hits > 1) stands for calls up to a minute later. */
  at: string;
  /** Calls this row stands for (1 but for counted anonymous API calls). */
  hits: number;
}

export interface AuditFilter {
  /** Rows at or after this instant. */
  since?: Date;
  principal?: string;
  outcome?: AuditOutcome;
  /** Newest first, at most this many (default 50). */
  limit?: number;
}

/** Longest command text kept: enough for any real command line, not for a pasted document. */
const MAX_COMMAND = 300;

// Credentials a user might paste into any text option (`region https://hooks.slack.com/...`).
const SECRETS: [RegExp, string][] = [
  [/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>'],
  [/\b(?:hooks\.slack\.com|(?:canary\.|ptb\.)?discord(?:app)?\.com\/api\/webhooks)\S*/gi, '<url>'],
  [/\bsc_[0-9a-f]{8}_\S+/gi, '<token>'],
  [/\bx(?:ox[a-z]|app)-\S+/gi, '<token>'],
  [/\bbearer\s+\S+/gi, 'Bearer <token>'],
];

/** Command text as the audit log keeps it: URLs and tokens replaced, clipped. */
export function redactCommand(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRETS) out = out.replace(pattern, replacement);
  return clip(out.replace(/\s+/g, ' ').trim(), MAX_COMMAND);
}

/**
 * The one principal key an audit row is filed under: the token, else the chat user (not their
 * Discord roles), else `cli` for the operator at the server's shell, else `anonymous` (the
 * web console without a session).
 */
export function auditPrincipal(who: Identity): string {
  return principalKeys(who).find((k) => !k.startsWith('discord-role:')) ?? (who.platform === 'cli' ? 'cli' : 'anonymous');
}

/** An HTTP status as an outcome: refusals of access are `denied`, other 4xx the caller's to fix. */
export function outcomeOfStatus(status: number): AuditOutcome {
  if (status >= 500) return 'internal';
  if (status === 401 || status === 403) return 'denied';
  return status >= 400 ? 'user-error' : 'ok';
}

const COLUMNS = 'at, principal, platform, workspace, channel, command, method, route, status, scope, outcome, latency_ms, ref, client';
const VALUES = 'COALESCE($1::timestamptz, now()), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14';

/**
 * Anonymous API calls are counted, not listed: anyone can make them, so one row per client,
 * minute, route and status stands for all of them (`hits`), and the log's growth from outside
 * is bounded by what the routes and statuses are. Internal errors keep a row each (their ref is
 * what a user quotes). Two replicas racing on a new minute may each start a row; still bounded.
 */
const COUNTED = `WITH hit AS (
  UPDATE audit_log SET hits = hits + 1, latency_ms = GREATEST(latency_ms, $12)
   WHERE id = (SELECT id FROM audit_log
                WHERE principal = $2 AND platform = $3 AND at >= date_trunc('minute', COALESCE($1::timestamptz, now()))
                  AND method IS NOT DISTINCT FROM $7 AND route IS NOT DISTINCT FROM $8 AND status IS NOT DISTINCT FROM $9
                  AND client IS NOT DISTINCT FROM $14
                ORDER BY id DESC LIMIT 1)
  RETURNING id)
INSERT INTO audit_log (${COLUMNS}) SELECT ${VALUES} WHERE NOT EXISTS (SELECT 1 FROM hit)`;

/** Whether `entry` is counted into a shared row rather than written as its own. */
export function isCounted(entry: Pick<AuditEntry, 'principal' | 'method' | 'outcome'>): boolean {
  return entry.principal === 'anonymous' && entry.method !== undefined && entry.outcome !== 'internal';
}

/** Writes one row (or counts into one: isCounted); one statement, no read before or after (it is on every command's path). */
export async function recordAudit(db: Pick<Database, 'query'>, entry: AuditEntry): Promise<void> {
  await db.query(isCounted(entry) ? COUNTED : `INSERT INTO audit_log (${COLUMNS}) VALUES (${VALUES})`, [
    entry.at?.toISOString() ?? null,
    clip(entry.principal, 200),
    entry.platform,
    entry.workspace ?? null,
    entry.channel ?? null,
    entry.command === undefined ? null : redactCommand(entry.command),
    entry.method ?? null,
    entry.route === undefined ? null : clip(entry.route, 200),
    entry.status ?? null,
    entry.scope ?? null,
    entry.outcome,
    Math.max(0, Math.round(entry.latencyMs)),
    entry.ref ?? null,
    // Only a valid IP: a header's text (`=HYPERLINK(...)`) is no address and is not kept.
    canonicalIp(entry.client) ?? null,
  ]);
}

interface Row {
  id: string | number;
  at: Date | string;
  principal: string;
  platform: string;
  workspace: string | null;
  channel: string | null;
  command: string | null;
  method: string | null;
  route: string | null;
  status: number | null;
  scope: string | null;
  outcome: AuditOutcome;
  latency_ms: number;
  ref: string | null;
  client: string | null;
  hits: number;
}

const orUndefined = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function toRecord(r: Row): AuditRecord {
  return {
    id: Number(r.id),
    at: new Date(r.at).toISOString(),
    principal: r.principal,
    platform: r.platform,
    workspace: orUndefined(r.workspace),
    channel: orUndefined(r.channel),
    command: orUndefined(r.command),
    method: orUndefined(r.method),
    route: orUndefined(r.route),
    status: orUndefined(r.status),
    scope: orUndefined(r.scope),
    outcome: r.outcome,
    latencyMs: r.latency_ms,
    ref: orUndefined(r.ref),
    client: orUndefined(r.client),
    hits: Number(r.hits ?? 1),
  };
}

export const DEFAULT_AUDIT_LIMIT = 50;
export const MAX_AUDIT_LIMIT = 1000;

/** The newest rows matching `filter`, newest first. */
export async function listAudit(db: Pick<Database, 'query'>, filter: AuditFilter = {}): Promise<AuditRecord[]> {
  const params: unknown[] = [];
  const where: string[] = [];
  if (filter.since) where.push(`at >= $${params.push(filter.since.toISOString())}::timestamptz`);
  if (filter.principal) where.push(`principal = $${params.push(filter.principal)}`);
  if (filter.outcome) where.push(`outcome = $${params.push(filter.outcome)}`);
  const limit = Math.min(MAX_AUDIT_LIMIT, Math.max(1, Math.floor(filter.limit ?? DEFAULT_AUDIT_LIMIT)));
  const rows = await db.query<Row>(
    `SELECT * FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT $${params.push(limit)}`,
    params,
  );
  return rows.map(toRecord);
}

/** Deletes rows older than `before`; returns how many. */
export async function pruneAudit(db: Pick<Database, 'query'>, before: Date): Promise<number> {
  const [row] = await db.query<{ n: number }>('WITH gone AS (DELETE FROM audit_log WHERE at < $1::timestamptz RETURNING 1) SELECT count(*)::int AS n FROM gone', [before.toISOString()]);
  return Number(row?.n ?? 0);
}

/**
 * A `--since` / `?since=` value: a date (`2026-11-01`, midnight UTC) or an ISO instant;
 * undefined when it is neither.
 */
export function parseSince(text: string): Date | undefined {
  const t = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) return undefined;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T00:00:00Z` : t);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** What a row did, in one phrase: the command, or `GET /api/v1/audit -> 200` (`(x12)` for a counted row). */
export function auditAction(r: Pick<AuditRecord, 'command' | 'method' | 'route' | 'status'> & { hits?: number }): string {
  const times = r.hits !== undefined && r.hits > 1 ? ` (x${r.hits})` : '';
  return (r.command ?? `${r.method ?? ''} ${r.route ?? ''}${r.status === undefined ? '' : ` -> ${r.status}`}`.trim()) + times;
}

/** How often one principal had a command answered: its normalised line and the count. */
export interface AskedCount {
  command: string;
  count: number;
}

/**
 * The command lines one principal had answered most often, most first (ties: the latest
 * first). Answered rows hold the normalised line (`/forecast store 5 horizon 8`), so the
 * same question typed, clicked or asked in plain words counts once per asking. Commands
 * named in `except` (`me`, `help`) are not questions and are left out.
 */
export async function mostAsked(db: Pick<Database, 'query'>, principal: string, options: { limit?: number; except?: readonly string[] } = {}): Promise<AskedCount[]> {
  const rows = await db.query<{ command: string; n: number }>(
    `SELECT command, count(*)::int AS n FROM audit_log
      WHERE principal = $1 AND outcome = 'ok' AND command IS NOT NULL AND method IS NULL
        AND split_part(command, ' ', 1) <> ALL($2::text[])
      GROUP BY command ORDER BY n DESC, max(at) DESC, command LIMIT $3`,
    [principal, (options.except ?? []).map((name) => `/${name}`), Math.max(1, Math.min(options.limit ?? 3, 50))],
  );
  return rows.map((r) => ({ command: r.command, count: Number(r.n) }));
}
