import { randomBytes } from 'node:crypto';
import { UserError } from '../chat/errors.ts';
import type { Database } from '../db/client.ts';
import type { Outbound } from '../net/outbound.ts';
import { describeScope, type Scope } from '../scope.ts';
import type { StockScope } from '../stock/positions.ts';
import { MISSING_KEY_MESSAGE } from '../webhooks/crypto.ts';
import { checkScope, checkTargetAddress, checkTargetUrl, sealTargetSecrets, urlHint } from '../webhooks/subscriptions.ts';
import { checkAddress, maskAddress } from '../email/address.ts';

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
  scope: StockScope;
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
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export function ruleScope(r: Pick<AlertRuleRow, 'scope_kind' | 'scope_value' | 'dept_id'>): StockScope {
  const dept = r.dept_id === null ? {} : { dept: r.dept_id };
  if (r.scope_kind === 'store') return { kind: 'store', store: Number(r.scope_value), ...dept };
  if (r.scope_kind === 'region') return { kind: 'region', region: r.scope_value, ...dept };
  return { kind: 'chain', ...dept };
}

/** The access scope of a rule (a department of one store is that store x dept). */
export function accessScope(scope: StockScope): Scope {
  if (scope.kind === 'store' && scope.dept !== undefined) return { kind: 'store-dept', store: scope.store, dept: scope.dept };
  if (scope.kind === 'store') return { kind: 'store', store: scope.store };
  if (scope.kind === 'region') return { kind: 'region', region: scope.region };
  return { kind: 'chain' };
}

export const describeStockScope = (scope: StockScope) => describeScope(accessScope(scope)) + (scope.dept !== undefined && scope.kind !== 'store' ? ` · Dept ${scope.dept}` : '');

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
  };
}

export function describeRule(r: AlertRule): string {
  return `${r.id}: ${describeStockScope(r.scope)}: ${describeCondition(r.kind, r.condition)} -> ${r.target.kind} ${r.target.hint} (${r.state}${r.snoozedUntil && new Date(r.snoozedUntil) > new Date() ? `, snoozed until ${r.snoozedUntil}` : ''})`;
}

export interface CreateRuleInput {
  kind: 'stock' | 'sales';
  scope: StockScope;
  condition: AlertCondition;
  target: AlertTargetInput;
  createdBy?: string;
  createdByRoles?: readonly string[];
}

interface TargetColumns {
  target_kind: AlertTargetKind;
  target_secret: string | null;
  target_hint: string;
  workspace: string | null;
  channel: string | null;
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
      const url = checkTargetUrl(target.url);
      await checkTargetAddress(outbound, url);
      if (!key) throw new UserError(MISSING_KEY_MESSAGE, { code: 'NO_SECRET_KEY' });
      return { target_kind: 'webhook', target_secret: sealTargetSecrets(key, id, { url: url.toString() }).target_secret, target_hint: urlHint(url), workspace: null, channel: null };
    }
    case 'email': {
      const address = checkAddress(target.address);
      return { target_kind: 'email', target_secret: null, target_hint: `email ${maskAddress(address)}`, workspace: null, channel: address };
    }
  }
}

export async function createRule(db: Database, key: Buffer | undefined, input: CreateRuleInput, outbound: Pick<Outbound, 'check'>): Promise<AlertRule> {
  const { scope } = input;
  // Here, not in one caller: chat, the API and the CLI all create rules, and the evaluation of a
  // department's sales reads one store's rows.
  if (input.kind === 'sales' && scope.dept !== undefined && (scope.kind !== 'store' || input.condition.type === 'drop-vs-last-year')) {
    throw new UserError('Sales alerts on one department are per store and against the forecast: "/alert sales store 5 dept 7 below forecast".');
  }
  await checkScope(db, scope.kind === 'store' ? { kind: 'store', store: scope.store } : scope.kind === 'region' ? { kind: 'region', region: scope.region } : { kind: 'chain' });
  const id = `alr_${randomBytes(6).toString('hex')}`;
  const t = await targetColumns(id, input.target, key, outbound);
  const [row] = await db.query<AlertRuleRow>(
    `INSERT INTO alert_rules (id, kind, scope_kind, scope_value, dept_id, condition, target_kind, target_secret, target_hint, workspace, channel, created_by, created_by_roles)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13::text[]) RETURNING *`,
    [
      id,
      input.kind,
      scope.kind,
      scope.kind === 'store' ? String(scope.store) : scope.kind === 'region' ? scope.region : '',
      scope.dept ?? null,
      JSON.stringify(input.condition),
      t.target_kind,
      t.target_secret,
      t.target_hint,
      t.workspace,
      t.channel,
      input.createdBy ?? null,
      input.createdByRoles ?? [],
    ],
  );
  return toRule(row!);
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

/** Soft delete; its queued notices are dropped. */
export async function deleteRule(db: Database, id: string): Promise<boolean> {
  const rows = await db.query('UPDATE alert_rules SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING id', [id]);
  if (rows.length) await db.query("UPDATE alert_notifications SET status = 'dead', last_error = 'alert deleted' WHERE rule_id = $1 AND status IN ('pending', 'retry')", [id]);
  return rows.length > 0;
}

export async function snoozeRule(db: Database, id: string, until: Date): Promise<boolean> {
  return (await db.query('UPDATE alert_rules SET snoozed_until = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING id', [id, until.toISOString()])).length > 0;
}

/** Records who handles the current episode; false when the rule is not firing. */
export async function acknowledgeRule(db: Database, id: string, by: string): Promise<boolean> {
  const rows = await db.query("UPDATE alert_rules SET acknowledged_episode = episode, acknowledged_by = $2 WHERE id = $1 AND deleted_at IS NULL AND state = 'firing' RETURNING id", [id, by]);
  return rows.length > 0;
}
