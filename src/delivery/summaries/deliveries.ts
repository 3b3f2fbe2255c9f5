import { randomUUID } from 'node:crypto';
import { CHART_TTL, type ChartStore } from '../../../charts/store.ts';
import type { Database } from '../../db/client.ts';
import { leasedQueue, type LeasedQueue, type QueueSettings } from '../queue.ts';
import { localDate, nextRun } from './schedule.ts';
import type { SubscriptionRow } from './subscriptions.ts';

/**
 * The delivery log of weekly summaries, exactly-once per subscription-week (and recipient) across replicas:
 *  - planning inserts (subscription, week, '') with ON CONFLICT DO NOTHING: the unique key lets one
 *    replica create the week's delivery, however many scheduled it at the same moment; a
 *    per-recipient subscription's row fans out into one row per recipient the same way (recipients.ts);
 *  - claims, leases, results, retries and burial are the one leased queue's (src/delivery/queue.ts).
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
  /** '' for the subscription's own row; a recipient's principal key on a per-recipient copy. */
  recipient: string;
  recipient_roles: string[] | null;
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
  /** A per-recipient copy: whose (their principal key). */
  recipient?: string;
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
    ...(r.recipient ? { recipient: r.recipient } : {}),
  };
}

const COLUMNS = 'id, subscription_id, week::text AS week, status, attempts, next_attempt_at, lease_token, lease_until, last_status, last_error, chart_token, created_at, delivered_at, recipient, recipient_roles';

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
         VALUES ($1, $2, $3::date, 'pending', $4) ON CONFLICT (subscription_id, week, recipient) DO NOTHING RETURNING id`,
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

/** Weekly summaries on the one leased queue (src/delivery/queue.ts); a deleted subscription's deliveries are not claimed. */
export function summaryQueue(db: Database, s: Pick<QueueSettings, 'leaseMs' | 'maxAttempts'>): LeasedQueue<Claim> {
  return leasedQueue<Claim>(db, { table: 'webhook_deliveries', returning: COLUMNS.replace(/(^|, )(\w+)/g, '$1q.$2'), join: 'JOIN webhook_subscriptions s ON s.id = x.subscription_id AND s.deleted_at IS NULL' }, s);
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

/**
 * One delivery per recipient for a claimed week (a per-recipient subscription's fan-out): the
 * unique key (subscription, week, recipient) keeps a fan-out that runs twice (a lease taken
 * over) from queuing anyone twice. Returns how many were new.
 */
export async function queueRecipients(db: Database, claim: Claim, recipients: readonly { key: string; roles: readonly string[] }[], now: Date): Promise<number> {
  if (!recipients.length) return 0;
  const rows = await db.query(
    `INSERT INTO webhook_deliveries (id, subscription_id, week, recipient, recipient_roles, status, next_attempt_at)
     SELECT x.id, $1, $2::date, x.recipient, ARRAY(SELECT jsonb_array_elements_text(x.roles)), 'pending', $3
     FROM jsonb_to_recordset($4::jsonb) AS x(id text, recipient text, roles jsonb)
     ON CONFLICT (subscription_id, week, recipient) DO NOTHING RETURNING id`,
    [claim.subscription_id, claim.week, now.toISOString(), JSON.stringify(recipients.map((r) => ({ id: randomUUID(), recipient: r.key, roles: r.roles })))],
  );
  return rows.length;
}
