import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mayDeliver, type Creator, type DeliveryTarget } from '../access/delivery.ts';
import type { AccessMode } from '../access/access.ts';
import { AccessDenied } from '../chat/access.ts';
import { UserError } from '../chat/errors.ts';
import type { Database } from '../db/client.ts';
import type { Outbound } from '../net/outbound.ts';
import { describeScope, scopeArea, scopeDept, withDept, type DeptAreaScope } from '../scope.ts';
import { decryptSecret, sealTargetSecrets } from '../delivery/crypto.ts';
import { checkScope } from '../delivery/summaries/subscriptions.ts';
import { forgetSecrets } from '../delivery/secret-key.ts';
import { checkEmailTarget, checkUrlTarget } from '../delivery/targets.ts';

/**
 * Alert rules: what is watched (stock cover or sales, over a store, region or the chain) and
 * where a notice goes. Evaluation (evaluate.ts) moves `state` and `episode`; this module only
 * creates, lists and removes rules.
 */
export type AlertCondition =
  | { type: 'cover-below'; weeks: number; basis: 'median' | 'p90' }
  /** Last week's actual under the 80% interval, or (pct) that many percent under the median. */
  | { type: 'below-forecast'; pct?: number }
  | { type: 'drop-vs-last-year'; pct: number };

export type AlertTargetKind = 'slack-channel' | 'discord-channel' | 'slack-dm' | 'discord-dm' | 'webhook' | 'email';

export type AlertTargetInput =
  | { kind: 'channel' | 'dm'; platform: 'slack' | 'discord'; workspace?: string; channel: string }
  | { kind: 'webhook'; url: string }
  | { kind: 'email'; address: string };

export interface AlertRule {
  id: string;
  kind: 'stock' | 'sales';
  scope: DeptAreaScope;
  condition: AlertCondition;
  target: { kind: AlertTargetKind; hint: string; workspace?: string; channel?: string };
  createdBy: string | null;
  createdAt: string;
  state: 'ok' | 'firing';
  episode: number;
  firingSince: string | null;
  snoozedUntil: string | null;
  acknowledgedBy: string | null;
  lastEvaluatedAt: string | null;
  /** When a send found it may no longer be delivered (src/access/delivery.ts); null while it may. */
  pausedAt: string | null;
}

export interface AlertRuleRow {
  id: string;
  kind: 'stock' | 'sales';
  scope_kind: 'store' | 'region' | 'chain';
  scope_value: string;
  dept_id: number | null;
  condition: AlertCondition;
  target_kind: AlertTargetKind;
  target_secret: string | null;
  target_hint: string;
  workspace: string | null;
  channel: string | null;
  created_by: string | null;
  created_by_roles: string[] | null;
  created_at: Date | string;
  deleted_at: Date | string | null;
  state: 'ok' | 'firing';
  episode: number;
  firing_since: Date | string | null;
  last_evaluated_at: Date | string | null;
  last_result: Record<string, unknown> | null;
  snoozed_until: Date | string | null;
  acknowledged_episode: number | null;
  acknowledged_by: string | null;
  paused_at: Date | string | null;
  paused_reason: string | null;
  dedupe_key: string | null;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** A rule row's scope: its area (scope_kind, scope_value) narrowed to dept_id when set. */
export function ruleScope(r: Pick<AlertRuleRow, 'scope_kind' | 'scope_value' | 'dept_id'>): DeptAreaScope {
  const area = r.scope_kind === 'store' ? { kind: 'store' as const, store: Number(r.scope_value) } : r.scope_kind === 'region' ? { kind: 'region' as const, region: r.scope_value } : { kind: 'chain' as const };
  return withDept(area, r.dept_id ?? undefined);
}

/** The row columns of a rule's scope: the inverse of ruleScope. */
export function ruleColumns(scope: DeptAreaScope): Pick<AlertRuleRow, 'scope_kind' | 'scope_value' | 'dept_id'> {
  const area = scopeArea(scope);
  return { scope_kind: area.kind, scope_value: area.kind === 'store' ? String(area.store) : area.kind === 'region' ? area.region : '', dept_id: scopeDept(scope) ?? null };
}

export function describeCondition(kind: 'stock' | 'sales', c: AlertCondition): string {
  switch (c.type) {
    case 'cover-below':
      return `stock cover below ${c.weeks} week${c.weeks === 1 ? '' : 's'} at ${c.basis === 'p90' ? 'p90' : 'median'} demand`;
    case 'below-forecast':
      return c.pct === undefined ? `${kind} last week below the forecast's 80% interval` : `${kind} last week more than ${c.pct}% under the forecast median`;
    case 'drop-vs-last-year':
      return `${kind} last week down ${c.pct}% or more vs the same week last year`;
  }
}

export function toRule(r: AlertRuleRow): AlertRule {
  return {
    id: r.id,
    kind: r.kind,
    scope: ruleScope(r),
    condition: r.condition,
    target: { kind: r.target_kind, hint: r.target_hint, ...(r.workspace ? { workspace: r.workspace } : {}), ...(r.channel && r.target_kind !== 'email' ? { channel: r.channel } : {}) },
    createdBy: r.created_by,
    createdAt: iso(r.created_at)!,
    state: r.state,
    episode: r.episode,
    firingSince: iso(r.firing_since),
    snoozedUntil: iso(r.snoozed_until),
    acknowledgedBy: r.acknowledged_episode === r.episode && r.state === 'firing' ? r.acknowledged_by : null,
    lastEvaluatedAt: iso(r.last_evaluated_at),
    pausedAt: iso(r.paused_at ?? null),
  };
}

export function describeRule(r: AlertRule): string {
  return `${r.id}: ${describeScope(r.scope)}: ${describeCondition(r.kind, r.condition)} -> ${r.target.kind} ${r.target.hint} (${r.state}${r.snoozedUntil && new Date(r.snoozedUntil) > new Date() ? `, snoozed until ${r.snoozedUntil}` : ''})`;
}

export interface CreateRuleInput {
  kind: 'stock' | 'sales';
  scope: DeptAreaScope;
  condition: AlertCondition;
  target: AlertTargetInput;
  createdBy?: string;
  createdByRoles?: readonly string[];
  /**
   * The creator as access sees them now, and the access mode: every surface (chat, API, CLI)
   * passes it, so a rule that could only ever send a pause notice is refused here, by the
   * decision that judges each of its notices (src/access/delivery.ts).
   */
  delivery: { mode: AccessMode; creator: Creator };
  /** Live rules one creator may have (STORECAST_ALERT_RULES_PER_PRINCIPAL); none for the operator. */
  perPrincipal?: number;
}

/** The access target of a rule's target: where its notices are read. */
export function deliveryTarget(r: Pick<AlertRuleRow, 'target_kind' | 'workspace' | 'channel'>): DeliveryTarget {
  switch (r.target_kind) {
    case 'slack-channel':
    case 'discord-channel':
      return { kind: 'channel', platform: r.target_kind === 'slack-channel' ? 'slack' : 'discord', workspace: r.workspace ?? undefined, channel: r.channel ?? '' };
    case 'slack-dm':
    case 'discord-dm':
      return { kind: 'dm', platform: r.target_kind === 'slack-dm' ? 'slack' : 'discord', workspace: r.workspace ?? undefined, user: r.channel ?? '' };
    case 'webhook':
      return { kind: 'webhook' };
    case 'email':
      return { kind: 'email' };
  }
}

/** Conditions with their fields in one order, so equal conditions hash alike. */
const canonical = (c: AlertCondition) => JSON.stringify(Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b))));

/**
 * What makes two rules the same: kind, scope, condition and target (a webhook by its URL). A
 * SHA-256, so the URL (a credential) is not kept in the clear beside its ciphertext.
 */
export function ruleKey(kind: string, scope: DeptAreaScope, condition: AlertCondition, target: { target_kind: string; workspace: string | null; channel: string | null; url?: string }): string {
  // The row's columns, as keys were made before rules carried the one Scope: existing keys still match.
  const c = ruleColumns(scope);
  const where = [c.scope_kind, c.scope_kind === 'region' ? c.scope_value.toLowerCase() : c.scope_value, c.dept_id ?? ''];
  const to = [target.target_kind, target.workspace ?? '', target.target_kind === 'email' ? (target.channel ?? '').toLowerCase() : (target.channel ?? ''), target.url ?? ''];
  return createHash('sha256').update(JSON.stringify([kind, where, canonical(condition), to])).digest('hex');
}

/**
 * Rules from before dedupe keys, on the same scope as a new one, get theirs now (the oldest
 * first; a later duplicate of one keeps none and stays as it was), so a duplicate of an old rule
 * is found as well. Webhook rules need the key to read their URL; without it they are skipped.
 */
async function keyOlderRules(db: Database, key: Buffer | undefined, kind: string, scope: DeptAreaScope): Promise<void> {
  const c = ruleColumns(scope);
  const rows = await db.query<AlertRuleRow>(
    `SELECT * FROM alert_rules WHERE dedupe_key IS NULL AND deleted_at IS NULL AND kind = $1 AND scope_kind = $2 AND lower(scope_value) = lower($3) ORDER BY created_at, id`,
    [kind, c.scope_kind, c.scope_value],
  );
  for (const r of rows) {
    let url: string | undefined;
    if (r.target_kind === 'webhook') {
      if (!key || !r.target_secret) continue;
      try {
        url = decryptSecret(key, r.target_secret, r.id);
      } catch {
        continue;
      }
    }
    const k = ruleKey(r.kind, ruleScope(r), r.condition, { ...r, url });
    await db.query('UPDATE alert_rules SET dedupe_key = $2 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM alert_rules WHERE dedupe_key = $2 AND deleted_at IS NULL)', [r.id, k]);
  }
}

interface TargetColumns {
  target_kind: AlertTargetKind;
  target_secret: string | null;
  target_hint: string;
  workspace: string | null;
  channel: string | null;
  /** The webhook URL in the clear, for the rule's key only (never stored as is). */
  url?: string;
}

/** Webhook URLs are credentials (encrypted, refused when internal); an email address is not, and is kept as is. */
async function targetColumns(id: string, target: AlertTargetInput, key: Buffer | undefined, outbound: Pick<Outbound, 'check'>): Promise<TargetColumns> {
  switch (target.kind) {
    case 'channel':
    case 'dm':
      return {
        target_kind: `${target.platform}-${target.kind}` as AlertTargetKind,
        target_secret: null,
        target_hint: `${target.platform} ${target.kind === 'dm' ? 'direct message to' : 'channel'} ${target.channel}`,
        workspace: target.workspace ?? null,
        channel: target.channel,
      };
    case 'webhook': {
      const checked = await checkUrlTarget(target.url, outbound, key);
      const url = checked.url.toString();
      return { target_kind: 'webhook', target_secret: sealTargetSecrets(checked.key, id, { url }).target_secret, target_hint: checked.hint, workspace: null, channel: null, url };
    }
    case 'email': {
      const { address, hint } = checkEmailTarget(target.address);
      return { target_kind: 'email', target_secret: null, target_hint: hint, workspace: null, channel: address };
    }
  }
}

/**
 * Creates a rule, or finds the live one that watches the same scope and condition for the same
 * target (returned with `duplicate: true`, nothing created). Refused when the creator's delivery
 * would be refused at every send, or at their cap of live rules.
 */
export async function createRule(db: Database, key: Buffer | undefined, input: CreateRuleInput, outbound: Pick<Outbound, 'check'>): Promise<AlertRule & { duplicate?: true }> {
  const { scope } = input;
  // Here, not in one caller: chat, the API and the CLI all create rules, and the evaluation of a
  // department's sales reads one store's rows.
  if (input.kind === 'sales' && scopeDept(scope) !== undefined && (scope.kind !== 'store-dept' || input.condition.type === 'drop-vs-last-year')) {
    throw new UserError('Sales alerts on one department are per store and against the forecast: "/alert sales store 5 dept 7 below forecast".');
  }
  await checkScope(db, scopeArea(scope));
  const id = `alr_${randomBytes(6).toString('hex')}`;
  const t = await targetColumns(id, input.target, key, outbound);
  const verdict = await mayDeliver(db, input.delivery.mode, input.delivery.creator, scope, deliveryTarget(t));
  if (!verdict.ok) throw new AccessDenied(`No alert set: ${verdict.message}`, scope);
  const dedupe = ruleKey(input.kind, scope, input.condition, t);
  await keyOlderRules(db, key, input.kind, scope);
  const same = await liveRuleByKey(db, dedupe);
  if (same) return { ...toRule(same), duplicate: true };
  await checkCap(db, input);
  const [row] = await db.query<AlertRuleRow>(
    `INSERT INTO alert_rules (id, kind, scope_kind, scope_value, dept_id, condition, target_kind, target_secret, target_hint, workspace, channel, created_by, created_by_roles, dedupe_key)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13::text[], $14)
     ON CONFLICT (dedupe_key) WHERE deleted_at IS NULL DO NOTHING RETURNING *`,
    [
      id,
      input.kind,
      ruleColumns(scope).scope_kind,
      ruleColumns(scope).scope_value,
      ruleColumns(scope).dept_id,
      JSON.stringify(input.condition),
      t.target_kind,
      t.target_secret,
      t.target_hint,
      t.workspace,
      t.channel,
      input.createdBy ?? null,
      input.createdByRoles ?? [],
      dedupe,
    ],
  );
  if (row) return toRule(row);
  // Another request created the same rule between the look-up and the insert.
  const raced = await liveRuleByKey(db, dedupe);
  if (!raced) throw new Error('alert rule insert conflicted, and no rule holds its key');
  return { ...toRule(raced), duplicate: true };
}

async function liveRuleByKey(db: Database, dedupe: string): Promise<AlertRuleRow | undefined> {
  const [row] = await db.query<AlertRuleRow>('SELECT * FROM alert_rules WHERE dedupe_key = $1 AND deleted_at IS NULL', [dedupe]);
  return row;
}

/** Every live rule costs an evaluation each round: one creator may hold `perPrincipal` of them. */
async function checkCap(db: Database, input: CreateRuleInput): Promise<void> {
  if (!input.createdBy || input.perPrincipal === undefined) return;
  const [r] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM alert_rules WHERE created_by = $1 AND deleted_at IS NULL', [input.createdBy]);
  if ((r?.n ?? 0) >= input.perPrincipal) {
    throw new UserError(
      `You have ${r!.n} alert rules, the most one person or token may have (STORECAST_ALERT_RULES_PER_PRINCIPAL=${input.perPrincipal}): delete some you no longer need (/alerts lists them; /alert delete ID) before adding another.`,
      { code: 'TOO_MANY_RULES' },
    );
  }
}

export async function listRules(db: Database, filter: { workspace?: string; channel?: string; createdBy?: string } = {}): Promise<AlertRule[]> {
  const rows = await db.query<AlertRuleRow>(
    `SELECT * FROM alert_rules WHERE deleted_at IS NULL
       AND ($1::text IS NULL OR (workspace IS NOT DISTINCT FROM $1 AND channel = $2) OR created_by = $3)
     ORDER BY created_at, id`,
    [filter.channel === undefined ? null : (filter.workspace ?? ''), filter.channel ?? null, filter.createdBy ?? null],
  );
  return rows.map(toRule);
}

export async function getRuleRow(db: Pick<Database, 'query'>, id: string): Promise<AlertRuleRow | undefined> {
  const [row] = await db.query<AlertRuleRow>('SELECT * FROM alert_rules WHERE id = $1', [id]);
  return row;
}

/** Soft delete; its queued notices are dropped and its encrypted target forgotten (ENCRYPTED_COLUMNS). */
export async function deleteRule(db: Database, id: string): Promise<boolean> {
  const rows = await db.query('UPDATE alert_rules SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING id', [id]);
  if (rows.length) {
    await db.query("UPDATE alert_notifications SET status = 'dead', last_error = 'alert deleted' WHERE rule_id = $1 AND status IN ('pending', 'retry')", [id]);
    await forgetSecrets(db, 'alert_rules', id);
  }
  return rows.length > 0;
}

/** Chat targets, whose firing notice is one message edited as the episode moves on. */
export const CHAT_TARGETS: readonly AlertTargetKind[] = ['slack-channel', 'discord-channel', 'slack-dm', 'discord-dm'];

/**
 * A person's change to a firing episode (snooze, acknowledge), queued for the notice queue to
 * edit the episode's chat message and say so in its thread. One per rule x episode x kind: a
 * second snooze of the episode queues it again with what it says now (unless it is being sent).
 */
async function queueChange(db: Pick<Database, 'query'>, id: string, kind: 'snoozed' | 'acknowledged', detail: Record<string, unknown>): Promise<void> {
  await db.query(
    `INSERT INTO alert_notifications (id, rule_id, episode, kind, detail, next_attempt_at)
     SELECT $1, r.id, r.episode, $3, $4::jsonb, now() FROM alert_rules r
     WHERE r.id = $2 AND r.state = 'firing' AND r.deleted_at IS NULL AND r.target_kind = ANY($5::text[])
     ON CONFLICT (rule_id, episode, kind) DO UPDATE SET detail = EXCLUDED.detail, status = 'pending', attempts = 0, next_attempt_at = EXCLUDED.next_attempt_at, last_error = NULL
       WHERE alert_notifications.status <> 'in_progress'`,
    [randomUUID(), id, kind, JSON.stringify(detail), CHAT_TARGETS],
  );
}

export async function snoozeRule(db: Database, id: string, until: Date, by?: string): Promise<boolean> {
  const done = (await db.query('UPDATE alert_rules SET snoozed_until = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING id', [id, until.toISOString()])).length > 0;
  if (done) await queueChange(db, id, 'snoozed', { by: by ?? null, until: until.toISOString() });
  return done;
}

/** Records who handles the current episode; false when the rule is not firing. */
export async function acknowledgeRule(db: Database, id: string, by: string): Promise<boolean> {
  const rows = await db.query("UPDATE alert_rules SET acknowledged_episode = episode, acknowledged_by = $2 WHERE id = $1 AND deleted_at IS NULL AND state = 'firing' RETURNING id", [id, by]);
  if (rows.length) await queueChange(db, id, 'acknowledged', { by });
  return rows.length > 0;
}

/**
 * Marks a rule paused (its notices held); true only for the call that paused it, so one pause
 * notice goes however many notices and replicas find it refused.
 */
export async function pauseRule(db: Pick<Database, 'query'>, id: string, reason: string): Promise<boolean> {
  return (await db.query('UPDATE alert_rules SET paused_at = now(), paused_reason = $2 WHERE id = $1 AND paused_at IS NULL RETURNING id', [id, reason.slice(0, 500)])).length > 0;
}

/** Ends a pause once the rule may deliver again (an admin granted the access back). */
export async function resumeRule(db: Pick<Database, 'query'>, id: string): Promise<void> {
  await db.query('UPDATE alert_rules SET paused_at = NULL, paused_reason = NULL WHERE id = $1 AND paused_at IS NOT NULL', [id]);
}
