import { randomBytes, randomUUID } from 'node:crypto';
import { CHART_TTL, type ChartStore } from '../../../charts/store.ts';
import type { Database } from '../../db/client.ts';
import { localDate, nextRun } from './schedule.ts';
import type { SubscriptionRow } from './subscriptions.ts';

/**
 * The delivery log, and the claims that make delivery exactly-once per subscription-week
 * across replicas:
 *  - planning inserts (subscription, week) with ON CONFLICT DO NOTHING: the unique key lets one
 *    replica create the week's delivery, however many scheduled it at the same moment;
 *  - a worker claims a due row in one UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED),
 *    taking a lease (lease_token, lease_until); a replica that dies mid-delivery leaves an
 *    expired lease, and the row is claimed again after it;
 *  - results are written only while holding the lease (WHERE lease_token = $token), so a
 *    worker that outlived its lease cannot overwrite a newer attempt.
 * Receivers get `Idempotency-Key: <delivery id>` on every attempt (at-least-once on the wire).
 */
/** `paused`: recorded, not sent (the subscription may not be delivered there now; see src/access/delivery.ts). */
export type DeliveryStatus = 'pending' | 'in_progress' | 'retry' | 'succeeded' | 'dead' | 'paused';

export interface DeliveryRow {
  id: string;
  subscription_id: string;
  week: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date | string;
  lease_token: string | null;
  lease_until: Date | string | null;
  last_status: number | null;
  last_error: string | null;
  chart_token: string | null;
  created_at: Date | string;
  delivered_at: Date | string | null;
}

export interface Delivery {
  id: string;
  subscriptionId: string;
  week: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
  target?: string;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export function toDelivery(r: DeliveryRow & { target_hint?: string; target_kind?: string }): Delivery {
  return {
    id: r.id,
    subscriptionId: r.subscription_id,
    week: typeof r.week === 'string' ? r.week.slice(0, 10) : iso(r.week)!.slice(0, 10),
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: iso(r.next_attempt_at)!,
    lastStatus: r.last_status,
    lastError: r.last_error,
    createdAt: iso(r.created_at)!,
    deliveredAt: iso(r.delivered_at),
    ...(r.target_kind ? { target: `${r.target_kind} ${r.target_hint}` } : {}),
  };
}

const COLUMNS = 'id, subscription_id, week::text AS week, status, attempts, next_attempt_at, lease_token, lease_until, last_status, last_error, chart_token, created_at, delivered_at';

/**
 * Turns due subscriptions into deliveries and moves their next run on. A server that was down
 * for several weeks posts only the latest missed week, not a backlog.
 * Returns how many deliveries this call created.
 */
export async function planDue(db: Database, now: Date, limit = 100): Promise<number> {
  return db.transaction(async (tx) => {
    const due = await tx.query<SubscriptionRow>(
      `SELECT * FROM webhook_subscriptions WHERE deleted_at IS NULL AND next_run_at <= $1
       ORDER BY next_run_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now.toISOString(), limit],
    );
    let created = 0;
    for (const s of due) {
      const schedule = { weekday: s.weekday, time: s.time, timezone: s.timezone };
      let occurrence = new Date(s.next_run_at);
      for (let next = nextRun(schedule, occurrence); next <= now; next = nextRun(schedule, occurrence)) occurrence = next;
      const week = localDate(occurrence, s.timezone);
      const rows = await tx.query(
        `INSERT INTO webhook_deliveries (id, subscription_id, week, status, next_attempt_at)
         VALUES ($1, $2, $3::date, 'pending', $4) ON CONFLICT (subscription_id, week) DO NOTHING RETURNING id`,
        [randomUUID(), s.id, week, now.toISOString()],
      );
      created += rows.length;
      await tx.query('UPDATE webhook_subscriptions SET next_run_at = $2 WHERE id = $1', [s.id, nextRun(schedule, occurrence).toISOString()]);
    }
    return created;
  });
}

export interface Claim extends DeliveryRow {
  lease_token: string;
}

/**
 * Claims up to `limit` deliveries that are due (pending, retry) or whose lease expired (the
 * worker died), for `leaseMs`. Each claim counts as an attempt.
 */
export async function claimDue(db: Database, now: Date, leaseMs: number, limit: number): Promise<Claim[]> {
  const token = randomBytes(12).toString('hex');
  const rows = await db.query<DeliveryRow>(
    `UPDATE webhook_deliveries d SET status = 'in_progress', attempts = d.attempts + 1, lease_token = $2, lease_until = $3
     WHERE d.id IN (
       SELECT x.id FROM webhook_deliveries x JOIN webhook_subscriptions s ON s.id = x.subscription_id AND s.deleted_at IS NULL
       WHERE (x.status IN ('pending', 'retry') AND x.next_attempt_at <= $1) OR (x.status = 'in_progress' AND x.lease_until <= $1)
       ORDER BY x.next_attempt_at LIMIT $4 FOR UPDATE OF x SKIP LOCKED)
     RETURNING ${COLUMNS.replace(/(^|, )(\w+)/g, '$1d.$2')}`,
    [now.toISOString(), token, new Date(now.getTime() + leaseMs).toISOString(), limit],
  );
  return rows as Claim[];
}

/**
 * Keeps this delivery's chart in the shared chart store (served to Slack incoming webhooks);
 * a retry reuses the id, so a link posted by an attempt that timed out still works.
 */
export async function saveChart(db: Database, charts: ChartStore, claim: Claim, png: Buffer): Promise<string> {
  const id = await charts.putPng(png, CHART_TTL.delivery, claim.chart_token ?? undefined);
  await db.query('UPDATE webhook_deliveries SET chart_token = $2 WHERE id = $1 AND lease_token = $3', [claim.id, id, claim.lease_token]);
  return id;
}

/** Records success; false if the lease was lost meanwhile (another worker owns the row). */
/** A delivery of a paused subscription: recorded with why, nothing sent, never retried. */
export async function markPaused(db: Database, claim: Claim, why: string): Promise<boolean> {
  const rows = await db.query(
    "UPDATE webhook_deliveries SET status = 'paused', last_error = $3, lease_token = NULL, lease_until = NULL WHERE id = $1 AND lease_token = $2 RETURNING id",
    [claim.id, claim.lease_token, why.slice(0, 1000)],
  );
  return rows.length > 0;
}

export async function markSucceeded(db: Database, claim: Claim, status: number, now: Date, warning?: string): Promise<boolean> {
  const rows = await db.query(
    `UPDATE webhook_deliveries SET status = 'succeeded', last_status = $3, last_error = $5, delivered_at = $4, lease_token = NULL, lease_until = NULL
     WHERE id = $1 AND lease_token = $2 RETURNING id`,
    [claim.id, claim.lease_token, status, now.toISOString(), warning ?? null],
  );
  return rows.length > 0;
}

/** Records a failed attempt: retry at `retryAt`, or dead. */
export async function markFailed(
  db: Database,
  claim: Claim,
  result: { status: number | null; error: string; retryAt: Date | null },
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE webhook_deliveries SET status = $3, last_status = $4, last_error = $5, next_attempt_at = coalesce($6::timestamptz, next_attempt_at),
       lease_token = NULL, lease_until = NULL
     WHERE id = $1 AND lease_token = $2 RETURNING id`,
    [claim.id, claim.lease_token, result.retryAt ? 'retry' : 'dead', result.status, result.error.slice(0, 1000), result.retryAt?.toISOString() ?? null],
  );
  return rows.length > 0;
}

/** The queues claimed with a lease and a count of attempts: weekly summaries and alert notices. */
export type LeasedQueue = 'webhook_deliveries' | 'alert_notifications';

/**
 * Expired leases that already used every attempt (a job that keeps crashing its worker) become
 * dead; the claim would otherwise take them again, forever.
 */
export async function buryExhausted(db: Database, queue: LeasedQueue, now: Date, maxAttempts: number): Promise<number> {
  const rows = await db.query(
    `UPDATE ${queue} SET status = 'dead', last_error = coalesce(last_error, 'worker stopped during the last attempt'), lease_token = NULL, lease_until = NULL
     WHERE status = 'in_progress' AND lease_until <= $1 AND attempts >= $2 RETURNING id`,
    [now.toISOString(), maxAttempts],
  );
  return rows.length;
}

export async function listDeliveries(db: Database, filter: { status?: string; subscriptionId?: string; limit?: number } = {}): Promise<Delivery[]> {
  const rows = await db.query<DeliveryRow & { target_hint: string; target_kind: string }>(
    `SELECT ${COLUMNS.replace(/(^|, )(\w+)/g, '$1d.$2')}, s.target_hint, s.target_kind
     FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
     WHERE ($1::text IS NULL OR d.status = $1) AND ($2::text IS NULL OR d.subscription_id = $2)
     ORDER BY d.created_at DESC, d.id LIMIT $3`,
    [filter.status ?? null, filter.subscriptionId ?? null, filter.limit ?? 100],
  );
  return rows.map(toDelivery);
}

/** Puts a dead (or failed) delivery back in the queue, with fresh attempts. */
export async function retryDelivery(db: Database, id: string, now = new Date()): Promise<boolean> {
  const rows = await db.query(
    `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $2, last_error = NULL
     WHERE id = $1 AND status IN ('dead', 'retry') RETURNING id`,
    [id, now.toISOString()],
  );
  return rows.length > 0;
}
