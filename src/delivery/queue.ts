import { randomBytes } from 'node:crypto';
import type { Database } from '../db/client.ts';
import { heartbeat } from '../util/heartbeat.ts';
import { backoffMs } from '../util/retry.ts';
import type { SendResult } from './result.ts';

/**
 * The one leased queue of everything that leaves the building (weekly summaries, alert
 * notices), exactly once per job across replicas:
 *  - a worker claims due jobs in one UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED),
 *    taking a lease (lease_token, lease_until) and counting an attempt; a replica that dies
 *    mid-delivery leaves an expired lease, and the job is claimed again after it;
 *  - while a job runs its lease is renewed (keepAlive), so a slow summary is not taken over;
 *  - results are written only while holding the lease (WHERE lease_token = $token), so a
 *    worker that outlived its lease cannot overwrite a newer attempt;
 *  - failures retry with backoff (Retry-After honoured, capped at the backoff maximum), then die;
 *    a job whose last allowed attempt killed its worker is buried (buryExhausted).
 * Each kind keeps its table (its own columns beside the queue's); the SQL is the same.
 */

/** The queue's settings, written once: summaries and alert notices mean the same by them. */
export const QUEUE_DEFAULTS = {
  /** How often to look for due work. */
  pollMs: 5_000,
  /** How long a claimed job is ours before another replica may take it over (renewed while it runs). */
  leaseMs: 120_000,
  /** Attempts before a job is dead. */
  maxAttempts: 8,
  /** Exponential backoff: base * 2^(attempt-1), jittered, capped; the cap also caps a Retry-After. */
  backoffBaseMs: 30_000,
  backoffMaxMs: 3_600_000,
  /** Per-request timeout of a send. */
  timeoutMs: 15_000,
  /** Jobs claimed (and sent in parallel) per tick. */
  batchSize: 5,
};

export type QueueSettings = typeof QUEUE_DEFAULTS;

export interface QueueOptions extends Partial<QueueSettings> {
  /** The clock (tests). */
  now?: () => Date;
  /** Overrides the encryption key of stored targets (default: resolveSecretKey(config)). */
  key?: Buffer;
}

export function queueSettings(options: QueueOptions): QueueSettings {
  const set = Object.fromEntries(Object.entries(options).filter(([k, v]) => k in QUEUE_DEFAULTS && v !== undefined));
  return { ...QUEUE_DEFAULTS, ...set };
}

/** The tables claimed with a lease and a count of attempts. */
export type QueueTable = 'webhook_deliveries' | 'alert_notifications';

export interface Leased {
  id: string;
  attempts: number;
  lease_token: string;
}

/** How a claimed job ends this time. `paused`/`snoozed`: recorded, not sent, never retried. */
export type Finish =
  | { status: 'succeeded'; code: number; warning?: string }
  | { status: 'retry'; code: number | null; error: string; retryAt: Date }
  | { status: 'dead' | 'paused' | 'snoozed'; code: number | null; error: string };

/** The wait before the next attempt: the target's Retry-After if it gave one, else backoff; never past the cap. */
export function retryDelay(attempt: number, retryAfterMs: number | undefined, s: Pick<QueueSettings, 'backoffBaseMs' | 'backoffMaxMs'>): number {
  return retryAfterMs !== undefined ? Math.min(s.backoffMaxMs, retryAfterMs) : backoffMs(attempt, s.backoffBaseMs, s.backoffMaxMs);
}

/** A send's result as the queue records it: done, retry later, or dead (permanent, or out of attempts). */
export function finishOf(result: SendResult, attempts: number, s: QueueSettings, now: Date): Finish {
  if (result.ok) return { status: 'succeeded', code: result.status, ...(result.warning ? { warning: result.warning } : {}) };
  if (result.permanent === true || attempts >= s.maxAttempts) return { status: 'dead', code: result.status, error: result.error };
  return { status: 'retry', code: result.status, error: result.error, retryAt: new Date(now.getTime() + retryDelay(attempts, result.retryAfterMs, s)) };
}

export interface LeasedQueue<C extends Leased> {
  /** Claims up to `limit` jobs that are due (pending, retry) or whose lease expired; each claim counts as an attempt. */
  claim(now: Date, limit: number): Promise<C[]>;
  /** Renews the claim's lease every third of it until the returned function is called. */
  keepAlive(claim: C, now: () => Date): () => void;
  /** Records how the attempt ended; false if the lease was lost meanwhile (another worker owns the job). */
  finish(claim: C, f: Finish, now: Date): Promise<boolean>;
  /**
   * Expired leases that already used every attempt (a job that keeps crashing its worker)
   * become dead; the claim would otherwise take them again, forever.
   */
  buryExhausted(now: Date): Promise<number>;
}

export interface QueueSpec {
  table: QueueTable;
  /** The columns a claim returns, of the table aliased `q`. */
  returning: string;
  /** Joins that must hold for a job to be claimed (the table is aliased `x`), e.g. its subscription not deleted. */
  join?: string;
}

export function leasedQueue<C extends Leased>(db: Database, spec: QueueSpec, s: Pick<QueueSettings, 'leaseMs' | 'maxAttempts'>): LeasedQueue<C> {
  const { table } = spec;
  const leaseUntil = (now: Date) => new Date(now.getTime() + s.leaseMs).toISOString();
  return {
    claim: (now, limit) =>
      db.query<C>(
        `UPDATE ${table} q SET status = 'in_progress', attempts = q.attempts + 1, lease_token = $2, lease_until = $3
         WHERE q.id IN (
           SELECT x.id FROM ${table} x ${spec.join ?? ''}
           WHERE (x.status IN ('pending', 'retry') AND x.next_attempt_at <= $1) OR (x.status = 'in_progress' AND x.lease_until <= $1)
           ORDER BY x.next_attempt_at LIMIT $4 FOR UPDATE OF x SKIP LOCKED)
         RETURNING ${spec.returning}`,
        [now.toISOString(), randomBytes(12).toString('hex'), leaseUntil(now), limit],
      ),
    keepAlive: (claim, now) =>
      heartbeat(() => db.query(`UPDATE ${table} SET lease_until = $3 WHERE id = $1 AND lease_token = $2`, [claim.id, claim.lease_token, leaseUntil(now())]), Math.max(50, Math.floor(s.leaseMs / 3))),
    async finish(claim, f, now) {
      const error = f.status === 'succeeded' ? (f.warning ?? null) : f.error.slice(0, 1000);
      const rows = await db.query(
        `UPDATE ${table} SET status = $3, last_status = $4, last_error = $5, next_attempt_at = coalesce($6::timestamptz, next_attempt_at),
           delivered_at = CASE WHEN $3 = 'succeeded' THEN $7::timestamptz ELSE delivered_at END, lease_token = NULL, lease_until = NULL
         WHERE id = $1 AND lease_token = $2 RETURNING id`,
        [claim.id, claim.lease_token, f.status, f.code, error, f.status === 'retry' ? f.retryAt.toISOString() : null, now.toISOString()],
      );
      return rows.length > 0;
    },
    async buryExhausted(now) {
      const rows = await db.query(
        `UPDATE ${table} SET status = 'dead', last_error = coalesce(last_error, 'worker stopped during the last attempt'), lease_token = NULL, lease_until = NULL
         WHERE status = 'in_progress' AND lease_until <= $1 AND attempts >= $2 RETURNING id`,
        [now.toISOString(), s.maxAttempts],
      );
      return rows.length;
    },
  };
}

/** What an attempt came to: a send's result, or held (paused work: recorded, nothing sent). */
export type Attempt = SendResult | { held: string };

/**
 * Runs one claimed job under its lease (kept alive meanwhile) and records the end: held,
 * succeeded, retry at backoff or the target's Retry-After (capped), or dead. Never throws for
 * the attempt: a failing one is a failed attempt, retried like any other.
 */
export async function settle<C extends Leased>(queue: LeasedQueue<C>, claim: C, attempt: () => Promise<Attempt>, s: QueueSettings, now: () => Date): Promise<{ finish: Finish; kept: boolean }> {
  const stop = queue.keepAlive(claim, now);
  let result: Attempt;
  try {
    result = await attempt();
  } catch (err) {
    result = { ok: false, status: null, error: `internal: ${(err as Error).message}` };
  } finally {
    stop();
  }
  const at = now();
  const finish: Finish = 'held' in result ? { status: 'paused', code: null, error: result.held } : finishOf(result, claim.attempts, s, at);
  return { finish, kept: await queue.finish(claim, finish, at) };
}
