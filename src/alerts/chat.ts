import { principalKeys, describePrincipal } from '../access/principal.ts';
import type { CommandContext, OptionsOf } from '../chat/command.ts';
import { UserError } from '../chat/errors.ts';
import type { Reply } from '../chat/reply.ts';
import { describeScope, withDept, type DeptAreaScope, type Scope } from '../scope.ts';
import { alertLine, ALERTS_LINE, type alertOptions } from './options.ts';
import { acceptedTarget } from './targets.ts';
import { deliveryCheck } from '../delivery/targets.ts';
import {
  acknowledgeRule,
  CHAT_TARGETS,
  createRule,
  deleteRule,
  describeCondition,
  getRuleRow,
  listRules,
  ruleScope,
  snoozeRule,
  type AlertCondition,
} from './rules.ts';

type AlertOptions = OptionsOf<typeof alertOptions>;

const USAGE_EXAMPLES = '/alert stock store 5 below 2 weeks · /alert sales store 5 below forecast · /alert sales region West drop 10% vs last year';

/** The scope a new rule watches (and its access reach); undefined for delete/snooze/ack. */
export function alertScope(o: AlertOptions): DeptAreaScope | undefined {
  if (o.what !== 'stock' && o.what !== 'sales') return undefined;
  const given = [o.store !== undefined, o.region !== undefined, o.scope === 'chain'].filter(Boolean).length;
  if (given > 1) throw new UserError('Give one of: store N, region NAME, or chain.');
  if (o.store !== undefined) return withDept({ kind: 'store', store: o.store }, o.dept);
  if (o.region !== undefined) return withDept({ kind: 'region', region: o.region }, o.dept);
  if (o.scope === 'chain') return withDept({ kind: 'chain' }, o.dept);
  throw new UserError('Say what to watch: store N, region NAME, or chain.', { example: USAGE_EXAMPLES });
}

export function alertReach(o: AlertOptions): Scope | undefined {
  return alertScope(o);
}

const percentOf = (text: string | undefined, what: string): number => {
  const n = Number((text ?? '').replace(/%$/, ''));
  if (!text || !Number.isFinite(n) || n <= 0 || n >= 100) throw new UserError(`${what} must be a percentage between 0 and 100, like 10%.`);
  return n;
};

/**
 * The condition from the words: "below 2 weeks", "below forecast [10%]", "drop 10%". The CLI's
 * flags come through here too (src/cli/alerts.ts): messages say what is wrong, and leave the
 * example to `details` so that each surface can give its own.
 */
export function conditionOf(o: AlertOptions): AlertCondition {
  if (o.what === 'stock') {
    const weeks = Number(o.below);
    if (o.below === undefined || !Number.isFinite(weeks) || weeks <= 0 || weeks > 26) throw new UserError('A stock alert needs a threshold in weeks of cover, more than 0 and at most 26.', { example: '/alert stock store 5 below 2 weeks' });
    return { type: 'cover-below', weeks, basis: o.basis ?? 'p90' };
  }
  if (o.drop !== undefined) return { type: 'drop-vs-last-year', pct: percentOf(o.drop, 'drop') };
  if (o.below?.toLowerCase() === 'forecast') return o.pct === undefined ? { type: 'below-forecast' } : { type: 'below-forecast', pct: percentOf(o.pct, 'pct') };
  throw new UserError('A sales alert is "below forecast" (under the 80% interval), "below forecast 10%" (under the median), or "drop 10% vs last year".');
}

async function createHandler(o: AlertOptions, ctx: CommandContext): Promise<Reply> {
  const scope = alertScope(o)!;
  const condition = conditionOf(o);
  const target = await acceptedTarget(o.to, ctx, scope);
  const rule = await createRule(
    ctx.db,
    undefined,
    { kind: o.what as 'stock' | 'sales', scope, condition, target, createdBy: principalKeys(ctx)[0], createdByRoles: ctx.roles, delivery: deliveryCheck(ctx), perPrincipal: ctx.alertRulesPerPrincipal },
    ctx.outbound,
  );
  if (rule.duplicate) {
    return {
      title: `Alert exists already: ${rule.id}`,
      summary: `${rule.target.hint} already hears when ${describeCondition(rule.kind, condition)} on ${describeScope(scope)}: alert ${rule.id}. Nothing new was set.`,
      facts: [{ label: 'Id', value: rule.id }],
      actions: [{ label: 'Delete', command: alertLine({ what: 'delete', id: rule.id }) }, { label: 'All alerts', command: ALERTS_LINE }],
      visibility: 'channel',
      context: {},
      data: { alert: rule, duplicate: true },
    };
  }
  return {
    title: `Alert set: ${describeScope(scope)}`,
    summary: `${rule.target.hint} will hear when ${describeCondition(rule.kind, condition)} (once when it starts, and once when it is back to normal). Checked after every import and every hour.`,
    facts: [
      { label: 'Id', value: rule.id },
      { label: 'Watches', value: describeCondition(rule.kind, condition) },
      { label: 'Notifies', value: rule.target.hint },
    ],
    actions: [{ label: 'Delete', command: alertLine({ what: 'delete', id: rule.id }) }, { label: 'All alerts', command: ALERTS_LINE }],
    visibility: 'channel',
    context: {},
    data: { alert: rule },
  };
}

/** An existing rule the asker may manage (manager role for its scope). */
async function managedRule(o: AlertOptions, ctx: CommandContext) {
  if (!o.id) throw new UserError(`Say which alert: "/alert ${o.what} alr_1a2b3c4d5e6f" (ids are in /alerts).`);
  const row = await getRuleRow(ctx.db, o.id.toLowerCase());
  if (!row || row.deleted_at) throw new UserError(`No alert ${o.id}. See /alerts.`, { code: 'NOT_FOUND' });
  const scope = ruleScope(row);
  if (!(await ctx.access.covers('manager', scope))) throw new UserError(`Changing alert ${row.id} needs the manager role for ${describeScope(scope)}.`, { code: 'DENIED' });
  return row;
}

const brief = (title: string, summary: string, data: Record<string, unknown>): Reply => ({ title, summary, facts: [], actions: [], visibility: 'channel', context: {}, data });

export async function alertHandler(o: AlertOptions, ctx: CommandContext): Promise<Reply> {
  if (o.what === 'stock' || o.what === 'sales') return createHandler(o, ctx);
  const row = await managedRule(o, ctx);
  const who = principalKeys(ctx)[0] ?? ctx.platform;
  if (o.what === 'delete') {
    await deleteRule(ctx.db, row.id);
    return brief('Alert deleted', `Alert ${row.id} (${describeScope(ruleScope(row))}: ${describeCondition(row.kind, row.condition)}) is deleted; nothing more will be sent for it.`, { removed: row.id });
  }
  // A change to a firing episode posted in chat is told there, in the notice's thread (the
  // notice queue edits the notice and replies under it): the clicker alone gets this answer.
  const told = (r: Reply): Reply => (row.state === 'firing' && CHAT_TARGETS.includes(row.target_kind) ? { ...r, visibility: 'ephemeral' } : r);
  if (o.what === 'snooze') {
    const days = o.for === 'week' ? 7 : 1;
    const until = new Date(ctx.now().getTime() + days * 86_400_000);
    await snoozeRule(ctx.db, row.id, until, who);
    return told(brief(`Alert snoozed for a ${o.for ?? 'day'}`, `${describePrincipal(who)} snoozed alert ${row.id} until ${until.toISOString().slice(0, 16).replace('T', ' ')} UTC: notices until then are recorded, not sent.`, { alert: row.id, snoozedUntil: until.toISOString() }));
  }
  if (!(await acknowledgeRule(ctx.db, row.id, who))) throw new UserError(`Alert ${row.id} is not firing: there is nothing to acknowledge.`, { code: 'NOT_FIRING' });
  return told(brief('Alert acknowledged', `${describePrincipal(who)} is on alert ${row.id} (${describeScope(ruleScope(row))}). The "resolved" notice will still come when it is back to normal.`, { alert: row.id, acknowledgedBy: who }));
}

export async function alertsListHandler(_o: OptionsOf<[]>, ctx: CommandContext): Promise<Reply> {
  const inChannel = (ctx.platform === 'slack' || ctx.platform === 'discord') && ctx.channel !== undefined;
  const all = await listRules(ctx.db, inChannel ? { workspace: ctx.workspace, channel: ctx.channel, createdBy: principalKeys(ctx)[0] } : {});
  const visible = [];
  for (const r of all) if (await ctx.access.covers('viewer', r.scope)) visible.push(r);
  const where = inChannel ? 'this channel and yours' : 'all';
  return {
    title: `Alerts (${where})`,
    summary: visible.length ? `${visible.length} alert${visible.length === 1 ? '' : 's'}, ${visible.filter((r) => r.state === 'firing').length} firing.` : `No alerts. Try ${USAGE_EXAMPLES}.`,
    facts: [],
    table: visible.length
      ? {
          columns: ['id', 'scope', 'condition', 'target', 'state', 'since', 'acknowledged_by', 'snoozed_until'],
          rows: visible.map((r) => [r.id, describeScope(r.scope), describeCondition(r.kind, r.condition), r.target.hint, r.state, r.firingSince, r.acknowledgedBy ? describePrincipal(r.acknowledgedBy) : null, r.snoozedUntil]),
          filename: 'alerts.csv',
        }
      : undefined,
    actions: visible.filter((r) => r.state === 'firing').slice(0, 3).map((r) => ({ label: `Acknowledge ${r.id}`, command: alertLine({ what: 'ack', id: r.id }) })),
    visibility: 'ephemeral',
    context: {},
    data: { alerts: visible.map((r) => ({ ...r })) },
  };
}

