import { pruneAudit } from '../../audit/log.ts';
import { UserError } from '../../chat/errors.ts';
import type { Reply } from '../../chat/reply.ts';
import { createChartStore, type ChartStore } from '../../../charts/store.ts';
import { mayDeliver, resolveCreator } from '../../access/delivery.ts';
import { describePrincipal } from '../../access/principal.ts';
import type { Logger } from '../../logger.ts';
import { pollLoop } from '../../util/poll-loop.ts';
import { backoffMs } from '../../util/retry.ts';
import { outboundPolicy, type Outbound } from '../../net/outbound.ts';
import type { Services } from '../../services.ts';
import { resolveSecretKey } from '../crypto.ts';
import { buryExhausted, claimDue, markFailed, markPaused, markSucceeded, planDue, saveChart, type Claim } from './deliveries.ts';
import { send, type SendResult } from '../send.ts';
import { createMailer, type Mailer } from '../../email/transport.ts';
import { getSubscriptionRow, pauseSubscription, resumeSubscription, rowScope, subscriptionTarget, targetSecrets, type SubscriptionRow } from './subscriptions.ts';
import { buildWeeklySummary } from './summary.ts';

/** Expired charts and audit rows past retention are pruned this often (hourly). */
const PRUNE_EVERY_MS = 3600_000;
const DAY_MS = 86_400_000;

export type WebhookDeps = Pick<Services, 'config' | 'db' | 'logger' | 'forecaster' | 'renderChart'> & Partial<Pick<Services, 'metrics' | 'outbound' | 'charts'>>;

export interface SchedulerOptions {
  /** How often to look for due work (default 5 s). */
  pollMs?: number;
  /** How long a claimed delivery is ours before another replica may take it over (default 2 min). */
  leaseMs?: number;
  /** Attempts before a delivery is dead (default 8). */
  maxAttempts?: number;
  /** Exponential backoff: base * 2^(attempt-1), jittered, capped (defaults 30 s and 1 h). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Per-request timeout (default 15 s). */
  timeoutMs?: number;
  /** Deliveries claimed (and sent in parallel) per tick (default 5). */
  batchSize?: number;
  /** Where charts are served for Slack incoming webhooks; default `${PUBLIC_URL}/api/v1/charts`. */
  chartBaseUrl?: string;
  /** The clock (tests). */
  now?: () => Date;
  /** Overrides the encryption key (default: resolveSecretKey(config)). */
  key?: Buffer;
}

export interface Scheduler {
  /** One round: plan due subscriptions, claim due deliveries, send them. Returns deliveries attempted. */
  tick(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

/** What one delivery needs: the scheduler's dependencies and settings, resolved once. */
interface DeliveryContext {
  deps: WebhookDeps;
  log: Logger;
  key: Buffer | undefined;
  charts: ChartStore;
  outbound: Pick<Outbound, 'request'>;
  chartBase: string | undefined;
  timeoutMs: number;
  maxAttempts: number;
  backoff: { base: number; cap: number };
  now: () => Date;
  mailer: Mailer | undefined;
}

/** The one notice a paused subscription sends: it names no data, only why and what to do. */
function pausedNotice(row: SubscriptionRow, why: string): Reply {
  return {
    title: `Weekly summary ${row.id} paused`,
    summary: `This weekly summary (${row.id}) is paused: ${why} Nothing more is sent until it may be delivered here again. An admin can grant the access again (/access grant) or remove it (/unsubscribe id ${row.id}).`,
    facts: [],
    actions: [],
    visibility: 'channel',
    context: {},
    data: { paused: true, subscription: row.id },
  };
}

/**
 * The delivery decision at send time (src/access/delivery.ts), as at creation: the summary when
 * it may be delivered here (ending a pause), else the one pause notice, else nothing at all.
 */
async function decide(ctx: DeliveryContext, row: SubscriptionRow): Promise<{ send: 'summary' } | { send: 'notice'; reply: Reply } | { send: 'nothing'; why: string }> {
  const { db, config } = ctx.deps;
  const creator = await resolveCreator(db, config.access, { key: row.created_by, roles: row.created_by_roles });
  const verdict = await mayDeliver(db, config.access.mode, creator, rowScope(row), subscriptionTarget(row));
  if (verdict.ok) {
    if (row.paused_at) await resumeSubscription(db, row.id);
    return { send: 'summary' };
  }
  if (await pauseSubscription(db, row.id, verdict.message)) return { send: 'notice', reply: pausedNotice(row, verdict.notice) };
  return { send: 'nothing', why: verdict.notice };
}

/** The decision, then the summary or the pause notice (whose claim a failed send gives back, so its retry sends it). */
async function attemptDelivery(ctx: DeliveryContext, claim: Claim): Promise<SendResult | { paused: string }> {
  const row = await getSubscriptionRow(ctx.deps.db, claim.subscription_id);
  if (!row || row.deleted_at) return { ok: false, status: null, error: 'subscription deleted', permanent: true };
  const decision = await decide(ctx, row);
  if (decision.send === 'nothing') return { paused: `paused, not sent: ${decision.why}` };
  const result = await deliverReply(ctx, claim, row, decision.send === 'notice' ? decision.reply : undefined);
  if (decision.send !== 'notice') return result;
  if (!result.ok) await resumeSubscription(ctx.deps.db, row.id);
  return result.ok ? { ...result, warning: 'paused: sent the pause notice in place of the summary' } : result;
}

/** The summary (or `notice` in its place), its chart saved for a link, then the send. */
async function deliverReply(ctx: DeliveryContext, claim: Claim, row: SubscriptionRow, notice: Reply | undefined): Promise<SendResult> {
  const { db, forecaster } = ctx.deps;
  let reply: Reply;
  try {
    reply = notice ?? (await buildWeeklySummary(db, forecaster, rowScope(row)));
  } catch (err) {
    // No data (yet) is worth a retry: an import may be on its way.
    return { ok: false, status: null, error: err instanceof UserError ? `summary: ${err.message}` : `summary failed: ${(err as Error).message}` };
  }
  const png = reply.chart ? await ctx.deps.renderChart(reply.chart.spec).catch((err: unknown) => void ctx.log.warn({ err, delivery: claim.id }, 'chart render failed; sending the summary without it')) : undefined;
  const chartUrl = png && ctx.chartBase ? `${ctx.chartBase}/${await saveChart(db, ctx.charts, claim, png)}.png` : undefined;
  let secrets: { url?: string; signingSecret?: string };
  try {
    secrets = targetSecrets(ctx.key, row);
  } catch (err) {
    return { ok: false, status: null, error: `cannot decrypt the target: ${(err as Error).message} (is STORECAST_SECRET_KEY the key it was created with?)` };
  }
  const email = row.target_kind === 'email' && row.channel ? { to: row.channel, why: `You get this weekly summary (${row.id}) because ${describePrincipal(row.created_by ?? 'an admin')} subscribed this address.`, stop: `To stop it: /unsubscribe id ${row.id} in Slack or Discord, or storecast subscriptions delete ${row.id}.` } : undefined;
  const outgoing = { deliveryId: claim.id, subscriptionId: row.id, period: claim.week, targetKind: row.target_kind, ...secrets, workspace: row.workspace ?? undefined, channel: row.channel ?? undefined, reply, png: png ?? undefined, chartUrl, email };
  return send(outgoing, { config: ctx.deps.config, outbound: ctx.outbound, timeoutMs: ctx.timeoutMs, now: ctx.now, mailer: ctx.mailer });
}

/** One claimed delivery: attempt, then record success, or a retry with backoff, or death. */
async function deliverClaim(ctx: DeliveryContext, claim: Claim): Promise<void> {
  const { db, metrics } = ctx.deps;
  const fields = { delivery: claim.id, subscription: claim.subscription_id, week: claim.week, attempt: claim.attempts };
  let result: SendResult | { paused: string };
  try {
    result = await attemptDelivery(ctx, claim);
  } catch (err) {
    result = { ok: false, status: null, error: `internal: ${(err as Error).message}` };
  }
  const at = ctx.now();
  if ('paused' in result) {
    await markPaused(db, claim, result.paused);
    ctx.log.info({ ...fields, why: result.paused }, 'webhook delivery held: subscription paused');
    return;
  }
  if (result.ok) {
    const kept = await markSucceeded(db, claim, result.status, at, result.warning);
    ctx.log.info({ ...fields, status: result.status, lostLease: !kept, ...(result.warning ? { warning: result.warning } : {}) }, 'webhook delivered');
    return;
  }
  metrics?.errors.inc({ kind: 'delivery' });
  const dead = result.permanent === true || claim.attempts >= ctx.maxAttempts;
  const { base, cap } = ctx.backoff;
  const wait = result.retryAfterMs !== undefined ? Math.min(cap, result.retryAfterMs) : backoffMs(claim.attempts, base, cap);
  await markFailed(db, claim, { status: result.status, error: result.error, retryAt: dead ? null : new Date(at.getTime() + wait) });
  ctx.log.warn({ ...fields, status: result.status, error: result.error, dead, retryInMs: dead ? undefined : wait }, dead ? 'webhook delivery dead' : 'webhook delivery failed; will retry');
}

function deliveryContext(deps: WebhookDeps, options: SchedulerOptions): DeliveryContext {
  const outbound = deps.outbound ?? outboundPolicy(deps.config);
  return {
    mailer: createMailer(deps.config, outbound),
    deps,
    log: deps.logger.child({ component: 'webhooks' }),
    key: options.key ?? resolveSecretKey(deps.config, deps.logger),
    charts: deps.charts ?? createChartStore(deps.db, deps.renderChart),
    outbound,
    chartBase: options.chartBaseUrl ?? (deps.config.publicUrl ? `${deps.config.publicUrl}/api/v1/charts` : undefined),
    timeoutMs: options.timeoutMs ?? 15_000,
    maxAttempts: options.maxAttempts ?? 8,
    backoff: { base: options.backoffBaseMs ?? 30_000, cap: options.backoffMaxMs ?? 3_600_000 },
    now: options.now ?? (() => new Date()),
  };
}

/**
 * The weekly-summary scheduler. Every replica may run one: the database decides who delivers
 * what (see deliveries.ts), so nothing is posted twice for a subscription-week.
 */
export function createScheduler(deps: WebhookDeps, options: SchedulerOptions = {}): Scheduler {
  const ctx = deliveryContext(deps, options);
  const { db } = deps;
  const pollMs = options.pollMs ?? 5_000;
  const leaseMs = options.leaseMs ?? 120_000;
  const batchSize = options.batchSize ?? 5;

  // Expired chart links and old audit rows are pruned here, the one loop every replica runs
  // (a DELETE is idempotent).
  let prunedAt = 0;
  async function prune(t: Date): Promise<void> {
    if (t.getTime() - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = t.getTime();
    const n = await ctx.charts.prune(t);
    if (n) ctx.log.info({ charts: n }, 'expired charts pruned');
    const audit = await pruneAudit(db, new Date(t.getTime() - deps.config.auditRetentionDays * DAY_MS));
    if (audit) ctx.log.info({ auditRows: audit, retentionDays: deps.config.auditRetentionDays }, 'audit rows past retention pruned');
  }

  async function tick(): Promise<number> {
    const t = ctx.now();
    await prune(t);
    await planDue(db, t);
    await buryExhausted(db, 'webhook_deliveries', t, ctx.maxAttempts);
    const claims = await claimDue(db, t, leaseMs, batchSize);
    await Promise.all(claims.map((claim) => deliverClaim(ctx, claim)));
    return claims.length;
  }

  const loop = pollLoop(tick, { pollMs, again: (n) => n >= batchSize, log: ctx.log, name: 'webhook scheduler' });
  return { tick, start: loop.start, stop: loop.stop };
}

/** Started by `storecast serve`: polls until stopped; stop() waits for deliveries in flight. */
export async function startScheduler(services: WebhookDeps, options: SchedulerOptions = {}): Promise<{ stop(): Promise<void> }> {
  const scheduler = createScheduler(services, options);
  scheduler.start();
  return { stop: () => scheduler.stop() };
}
