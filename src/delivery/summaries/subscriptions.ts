import { randomBytes } from 'node:crypto';
import { UserError } from '../../chat/errors.ts';
import type { Database } from '../../db/client.ts';
import type { Outbound } from '../../net/outbound.ts';
import { sealTargetSecrets } from '../crypto.ts';
import { checkEmailTarget, checkUrlTarget, type TargetKind, type WebhookFormat } from '../targets.ts';
import { forgetSecrets } from '../secret-key.ts';
import { DEFAULT_SCHEDULE, describeSchedule, isTimeZone, nextRun, parseEvery, type WeeklySchedule } from './schedule.ts';
import { describeScope, type AreaScope } from '../../scope.ts';
import { mayDeliver, type Creator, type DeliveryTarget } from '../../access/delivery.ts';
import type { AccessMode } from '../../access/access.ts';
import { AccessDenied } from '../../chat/access.ts';

export type { TargetKind, WebhookFormat } from '../targets.ts';

/** Who gets their own copy of a per-recipient subscription: every principal holding this role (or more) on a store of it. */
export type RecipientRole = 'manager' | 'viewer';

/** Where a subscription sends: one target, or (`recipients`) a direct message to each recipient. */
export type SubscriptionTargetKind = TargetKind | 'recipients';

export interface Subscription {
  id: string;
  kind: 'weekly-summary';
  scope: AreaScope;
  target: { kind: SubscriptionTargetKind; hint: string; workspace?: string; channel?: string };
  /** Per-recipient: who gets their own copy (see RecipientRole). */
  recipients?: RecipientRole;
  schedule: WeeklySchedule;
  nextRunAt: string;
  createdBy: string | null;
  createdAt: string;
  /** When a send found it may no longer be delivered (src/access/delivery.ts); null while it may. */
  pausedAt: string | null;
}

export interface SubscriptionRow {
  id: string;
  kind: 'weekly-summary';
  scope_kind: 'store' | 'region' | 'chain';
  scope_value: string | null;
  target_kind: SubscriptionTargetKind;
  target_secret: string | null;
  target_hint: string;
  signing_secret: string | null;
  workspace: string | null;
  channel: string | null;
  weekday: number;
  time: string;
  timezone: string;
  next_run_at: Date | string;
  created_by: string | null;
  created_by_roles: string[] | null;
  created_at: Date | string;
  deleted_at: Date | string | null;
  paused_at: Date | string | null;
  paused_reason: string | null;
  recipients: RecipientRole | null;
}

export function rowScope(r: Pick<SubscriptionRow, 'scope_kind' | 'scope_value'>): AreaScope {
  if (r.scope_kind === 'store') return { kind: 'store', store: Number(r.scope_value) };
  if (r.scope_kind === 'region') return { kind: 'region', region: r.scope_value ?? '' };
  return { kind: 'chain' };
}

export function toSubscription(r: SubscriptionRow): Subscription {
  return {
    id: r.id,
    kind: r.kind,
    scope: rowScope(r),
    target: { kind: r.target_kind, hint: r.target_hint, ...(r.workspace ? { workspace: r.workspace } : {}), ...(r.channel && r.target_kind !== 'email' ? { channel: r.channel } : {}) },
    ...(r.recipients ? { recipients: r.recipients } : {}),
    schedule: { weekday: r.weekday, time: r.time, timezone: r.timezone },
    nextRunAt: new Date(r.next_run_at).toISOString(),
    createdBy: r.created_by,
    createdAt: new Date(r.created_at).toISOString(),
    pausedAt: r.paused_at ? new Date(r.paused_at).toISOString() : null,
  };
}

export function describeSubscription(s: Subscription): string {
  return `${s.id}: weekly summary of ${describeScope(s.scope)} ${describeSchedule(s.schedule)} -> ${s.target.kind} ${s.target.hint} (next ${s.nextRunAt})`;
}

const formatKind: Record<WebhookFormat, TargetKind> = { slack: 'slack-webhook', discord: 'discord-webhook', json: 'generic' };

export interface ScheduleInput {
  every?: string;
  weekday?: number;
  time?: string;
  tz?: string;
}

export function resolveSchedule(input: ScheduleInput): WeeklySchedule {
  let { weekday, time } = input;
  if (input.every) {
    try {
      ({ weekday, time } = { ...parseEvery(input.every), ...(time ? { time } : {}) });
    } catch (err) {
      throw new UserError(`every: ${(err as Error).message}.`, { code: 'BAD_SCHEDULE' });
    }
  }
  const timezone = input.tz ?? DEFAULT_SCHEDULE.timezone;
  if (!isTimeZone(timezone)) throw new UserError(`tz "${timezone}" is not a time zone; use an IANA name such as America/Chicago or Europe/Berlin.`, { code: 'BAD_TZ' });
  return { weekday: weekday ?? DEFAULT_SCHEDULE.weekday, time: time ?? DEFAULT_SCHEDULE.time, timezone };
}

/** Refuses a scope with no data so a typo does not schedule a year of empty summaries. */
export async function checkScope(db: Database, scope: AreaScope): Promise<void> {
  if (scope.kind === 'chain') {
    const [r] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT 1 FROM store_week_sales LIMIT 1) x');
    if (!r?.n) throw new UserError('No sales data is loaded yet: import some first (storecast import, or POST /api/v1/sales).', { code: 'NO_DATA' });
    return;
  }
  if (scope.kind === 'store') {
    const [r] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM store_week_sales WHERE store_id = $1', [scope.store]);
    if (!r?.n) throw new UserError(`Store ${scope.store} has no sales data.`, { code: 'UNKNOWN_STORE' });
    return;
  }
  const [r] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM stores WHERE lower(region) = lower($1)', [scope.region]);
  if (!r?.n) {
    const regions = await db.query<{ region: string }>('SELECT DISTINCT region FROM stores WHERE region IS NOT NULL ORDER BY 1');
    throw new UserError(`No stores in region "${scope.region}".${regions.length ? ` Regions: ${regions.map((x) => x.region).join(', ')}.` : ''}`, { code: 'UNKNOWN_REGION' });
  }
}

export type TargetInput =
  | { kind: 'url'; url: string; format?: WebhookFormat }
  /** An email address: not a credential like a webhook URL, so kept as is (in `channel`). */
  | { kind: 'email'; address: string }
  | { kind: 'channel'; platform: 'slack' | 'discord'; workspace?: string; channel: string }
  /** A direct message to each holder of `role` on a store of the scope; `channel`: where it was asked for (listed and stopped there). */
  | { kind: 'recipients'; role: RecipientRole; workspace?: string; channel?: string };

export interface CreateSubscriptionInput {
  scope: AreaScope;
  target: TargetInput;
  schedule: WeeklySchedule;
  createdBy?: string;
  /** The creator's Discord role ids (their role grants count when access is re-checked). */
  createdByRoles?: readonly string[];
  now?: Date;
  /**
   * The creator as access sees them now, and the access mode: every surface (chat, API, CLI)
   * passes it, so a subscription that could only ever send a pause notice is refused here, by
   * the decision that judges each of its deliveries (src/access/delivery.ts).
   */
  delivery: { mode: AccessMode; creator: Creator };
}

/**
 * Creates a subscription. URL targets need the secret key (they are stored encrypted) and
 * must not point at internal addresses (`outbound`: the process's one policy, needed for URL targets); a
 * generic JSON target also gets a signing secret, returned here once.
 */
export async function createSubscription(
  db: Database,
  key: Buffer | undefined,
  input: CreateSubscriptionInput,
  // No default: a strict policy here would be a second answer for the same URL (services builds the one).
  outbound?: Pick<Outbound, 'check'>,
): Promise<{ subscription: Subscription; signingSecret?: string }> {
  await checkScope(db, input.scope);
  const id = `sub_${randomBytes(6).toString('hex')}`;
  let targetKind: SubscriptionTargetKind;
  let targetSecret: string | null = null;
  let hint: string;
  let signingPlain: string | undefined;
  let signing: string | null = null;
  let workspace: string | null = null;
  let channel: string | null = null;
  if (input.target.kind === 'url') {
    if (!outbound) throw new Error('createSubscription: a URL target needs the outbound policy (services.outbound)');
    const checked = await checkUrlTarget(input.target.url, outbound, key);
    targetKind = formatKind[input.target.format ?? checked.format];
    hint = checked.hint;
    if (targetKind === 'generic') signingPlain = `whsec_${randomBytes(24).toString('base64url')}`;
    ({ target_secret: targetSecret, signing_secret: signing } = sealTargetSecrets(checked.key, id, { url: checked.url.toString(), signingSecret: signingPlain }));
  } else if (input.target.kind === 'email') {
    targetKind = 'email';
    ({ address: channel, hint } = checkEmailTarget(input.target.address));
  } else if (input.target.kind === 'recipients') {
    targetKind = 'recipients';
    workspace = input.target.workspace ?? null;
    channel = input.target.channel ?? null;
    hint = `each ${input.target.role} (direct messages)`;
  } else {
    targetKind = input.target.platform === 'slack' ? 'slack-channel' : 'discord-channel';
    workspace = input.target.workspace ?? null;
    channel = input.target.channel;
    hint = `${input.target.platform} channel ${channel}`;
  }
  const scope = input.scope;
  const verdict = await mayDeliver(db, input.delivery.mode, input.delivery.creator, scope, subscriptionTarget({ target_kind: targetKind, workspace, channel }));
  if (!verdict.ok) throw new AccessDenied(`Not subscribed: ${verdict.message}`, scope);
  const nextRunAt = nextRun(input.schedule, input.now ?? new Date());
  const [row] = await db.query<SubscriptionRow>(
    `INSERT INTO webhook_subscriptions (id, scope_kind, scope_value, target_kind, target_secret, target_hint, signing_secret,
       workspace, channel, weekday, time, timezone, next_run_at, created_by, created_by_roles, recipients)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::text[], $16) RETURNING *`,
    [
      id,
      scope.kind,
      scope.kind === 'store' ? String(scope.store) : scope.kind === 'region' ? scope.region : null,
      targetKind,
      targetSecret,
      hint,
      signing,
      workspace,
      channel,
      input.schedule.weekday,
      input.schedule.time,
      input.schedule.timezone,
      nextRunAt.toISOString(),
      input.createdBy ?? null,
      input.createdByRoles ?? [],
      input.target.kind === 'recipients' ? input.target.role : null,
    ],
  );
  return { subscription: toSubscription(row!), ...(signingPlain ? { signingSecret: signingPlain } : {}) };
}

export async function listSubscriptions(db: Database, filter: { workspace?: string; channel?: string } = {}): Promise<Subscription[]> {
  const rows = await db.query<SubscriptionRow>(
    `SELECT * FROM webhook_subscriptions WHERE deleted_at IS NULL
       AND ($1::text IS NULL OR workspace IS NOT DISTINCT FROM $1) AND ($2::text IS NULL OR channel = $2)
     ORDER BY created_at, id`,
    [filter.workspace ?? null, filter.channel ?? null],
  );
  return rows.map(toSubscription);
}

export async function getSubscriptionRow(db: Database, id: string): Promise<SubscriptionRow | undefined> {
  const [row] = await db.query<SubscriptionRow>('SELECT * FROM webhook_subscriptions WHERE id = $1', [id]);
  return row;
}

/**
 * Soft delete: the delivery log stays readable, but the row keeps no secret (its target URL and
 * signing secret are nulled in the same transaction). Returns false if there was nothing to delete.
 */
export async function deleteSubscription(db: Database, id: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows = await tx.query('UPDATE webhook_subscriptions SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING id', [id]);
    if (!rows.length) return false;
    await forgetSecrets(tx, 'webhook_subscriptions', id);
    // Queued deliveries will not be sent; say so in the log instead of leaving them pending.
    await tx.query(
      "UPDATE webhook_deliveries SET status = 'dead', last_error = 'subscription deleted' WHERE subscription_id = $1 AND status IN ('pending', 'retry')",
      [id],
    );
    return true;
  });
}

/** As pauseRule (src/alerts/rules.ts): true only for the call that paused it, which sends the one notice. */
export async function pauseSubscription(db: Pick<Database, 'query'>, id: string, reason: string): Promise<boolean> {
  return (await db.query('UPDATE webhook_subscriptions SET paused_at = now(), paused_reason = $2 WHERE id = $1 AND paused_at IS NULL RETURNING id', [id, reason.slice(0, 500)])).length > 0;
}

export async function resumeSubscription(db: Pick<Database, 'query'>, id: string): Promise<void> {
  await db.query('UPDATE webhook_subscriptions SET paused_at = NULL, paused_reason = NULL WHERE id = $1 AND paused_at IS NOT NULL', [id]);
}

/** Where a subscription's deliveries are read, for the delivery decision (src/access/delivery.ts). */
export function subscriptionTarget(r: Pick<SubscriptionRow, 'target_kind' | 'workspace' | 'channel'>): DeliveryTarget {
  if (r.target_kind === 'slack-channel' || r.target_kind === 'discord-channel') {
    return { kind: 'channel', platform: r.target_kind === 'slack-channel' ? 'slack' : 'discord', workspace: r.workspace ?? undefined, channel: r.channel ?? '' };
  }
  if (r.target_kind === 'recipients') return { kind: 'recipients' };
  return r.target_kind === 'email' ? { kind: 'email' } : { kind: 'webhook' };
}

/**
 * How a recipient's own stop is kept: platform and user id, not the workspace (a Discord DM's
 * button click carries no server, and a user id is one person wherever it is seen).
 */
export function optOutKey(key: string): string {
  const m = /^(slack|discord):[^/]*\/(.+)$/.exec(key);
  return m ? `${m[1]}:${m[2]}` : key;
}

/** The recipients (optOutKey) who stopped their copy of a per-recipient subscription. */
export async function optedOut(db: Pick<Database, 'query'>, id: string): Promise<Set<string>> {
  const rows = await db.query<{ recipient: string }>('SELECT recipient FROM subscription_optouts WHERE subscription_id = $1', [id]);
  return new Set(rows.map((r) => r.recipient));
}

/**
 * Stops one recipient's copy (the "Stop my copy" button of their DM); the others' go on. A copy
 * already queued is held at its send (recipients.ts). False when they had stopped it already.
 */
export async function optOut(db: Database, id: string, recipientKey: string): Promise<boolean> {
  const rows = await db.query('INSERT INTO subscription_optouts (subscription_id, recipient) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING recipient', [id, optOutKey(recipientKey)]);
  return rows.length > 0;
}

/** The per-recipient subscriptions a person gets a copy of (one was queued for them) and has not stopped: their home lists them. */
export async function copiesOf(db: Pick<Database, 'query'>, recipientKey: string): Promise<Subscription[]> {
  const rows = await db.query<SubscriptionRow>(
    `SELECT s.* FROM webhook_subscriptions s WHERE s.deleted_at IS NULL AND s.target_kind = 'recipients'
       AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.subscription_id = s.id AND d.recipient <> ''
                   AND regexp_replace(d.recipient, '^(slack|discord):[^/]*/', '\\1:') = $1)
       AND NOT EXISTS (SELECT 1 FROM subscription_optouts o WHERE o.subscription_id = s.id AND o.recipient = $1)
     ORDER BY s.created_at, s.id`,
    [optOutKey(recipientKey)],
  );
  return rows.map(toSubscription);
}
