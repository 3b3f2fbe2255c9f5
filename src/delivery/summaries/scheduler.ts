import { pruneAudit } from '../../audit/log.ts';
import { UserError } from '../../chat/errors.ts';
import type { Reply } from '../../chat/reply.ts';
import { createChartStore, type ChartStore } from '../../../charts/store.ts';
import { describePrincipal } from '../../access/principal.ts';
import type { Logger } from '../../logger.ts';
import { pollLoop } from '../../util/poll-loop.ts';
import { outboundPolicy, type Outbound } from '../../net/outbound.ts';
import type { Services } from '../../services.ts';
import { resolveSecretKey, targetSecrets } from '../crypto.ts';
import { decideAtSend, type SendDecision } from '../paused.ts';
import { queueSettings, settle, type Attempt, type LeasedQueue, type QueueOptions, type QueueSettings } from '../queue.ts';
import { planDue, saveChart, summaryQueue, type Claim } from './deliveries.ts';
import { send, type SendOptions, type SendResult } from '../send.ts';
import { createMailer, type Mailer } from '../../email/transport.ts';
import { getSubscriptionRow, pauseSubscription, resumeSubscription, rowScope, subscriptionTarget, type SubscriptionRow } from './subscriptions.ts';
import { buildWeeklySummary } from './summary.ts';
import { fanOut, sendToRecipient } from './recipients.ts';
import type { TargetKind } from '../targets.ts';

/** Expired charts and audit rows past retention are pruned this often (hourly). */
const PRUNE_EVERY_MS = 3600_000;
const DAY_MS = 86_400_000;

export type WebhookDeps = Pick<Services, 'config' | 'db' | 'logger' | 'forecaster' | 'renderChart' | 'platforms'> & Partial<Pick<Services, 'metrics' | 'outbound' | 'charts'>>;

/** The queue's settings (src/delivery/queue.ts: defaults written there once), and where charts are linked from. */
export interface SchedulerOptions extends QueueOptions {
  /** Where charts are served for Slack incoming webhooks; default `${PUBLIC_URL}/api/v1/charts`. */
  chartBaseUrl?: string;
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
  settings: QueueSettings;
  queue: LeasedQueue<Claim>;
  now: () => Date;
  mailer: Mailer | undefined;
  platforms: SendOptions['platforms'];
}

/** The delivery decision at send time, as at creation (src/delivery/paused.ts). */
function decide(ctx: DeliveryContext, row: SubscriptionRow): Promise<SendDecision> {
  const { db, config } = ctx.deps;
  return decideAtSend(db, config.access, {
    name: `Weekly summary ${row.id}`,
    remove: `/unsubscribe id ${row.id}`,
    createdBy: row.created_by,
    createdByRoles: row.created_by_roles,
    pausedAt: row.paused_at,
    scope: rowScope(row),
    target: subscriptionTarget(row),
    pause: (reason) => pauseSubscription(db, row.id, reason),
    resume: () => resumeSubscription(db, row.id),
    data: { subscription: row.id },
  });
}

/** The decision, then the summary or the pause notice (whose claim a failed send gives back, so its retry sends it). */
async function attemptDelivery(ctx: DeliveryContext, claim: Claim): Promise<Attempt> {
  const row = await getSubscriptionRow(ctx.deps.db, claim.subscription_id);
  if (!row || row.deleted_at) return { ok: false, status: null, error: 'subscription deleted', permanent: true };
  const decision = await decide(ctx, row);
  if (decision.send === 'nothing') return { held: `paused, not sent: ${decision.why}` };
  if (row.target_kind === 'recipients') {
    // No channel of its own to hold a pause notice: the pause is recorded (storecast deliveries --status paused).
    if (decision.send === 'notice') return { held: `paused, not sent: ${decision.reply.summary}` };
    const deps = { db: ctx.deps.db, access: ctx.deps.config.access, forecaster: ctx.deps.forecaster, renderChart: ctx.deps.renderChart, platforms: ctx.platforms, now: ctx.now };
    return claim.recipient ? sendToRecipient(deps, claim, row) : fanOut(deps, claim, row);
  }
  const result = await deliverReply(ctx, claim, { ...row, target_kind: row.target_kind }, decision.send === 'notice' ? decision.reply : undefined);
  if (decision.send !== 'notice') return result;
  if (!result.ok) await resumeSubscription(ctx.deps.db, row.id);
  return result.ok ? { ...result, warning: 'paused: sent the pause notice in place of the summary' } : result;
}

/** The summary (or `notice` in its place), its chart saved for a link, then the send. */
async function deliverReply(ctx: DeliveryContext, claim: Claim, row: SubscriptionRow & { target_kind: TargetKind }, notice: Reply | undefined): Promise<SendResult> {
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
  return send(outgoing, { outbound: ctx.outbound, timeoutMs: ctx.settings.timeoutMs, now: ctx.now, mailer: ctx.mailer, platforms: ctx.platforms });
}

/** One claimed delivery: attempt, then record success, or a retry with backoff, or death (the queue's rules). */
async function deliverClaim(ctx: DeliveryContext, claim: Claim): Promise<void> {
  const fields = { delivery: claim.id, subscription: claim.subscription_id, week: claim.week, attempt: claim.attempts };
  const { finish: f, kept } = await settle(ctx.queue, claim, () => attemptDelivery(ctx, claim), ctx.settings, ctx.now);
  if (f.status === 'paused') return void ctx.log.info({ ...fields, why: f.error }, 'webhook delivery held: subscription paused');
  if (f.status === 'succeeded') return void ctx.log.info({ ...fields, status: f.code, lostLease: !kept, ...(f.warning ? { warning: f.warning } : {}) }, 'webhook delivered');
  ctx.deps.metrics?.errors.inc({ kind: 'delivery' });
  const dead = f.status !== 'retry';
  ctx.log.warn({ ...fields, status: f.code, error: f.error, dead, retryInMs: dead ? undefined : f.retryAt.getTime() - ctx.now().getTime() }, dead ? 'webhook delivery dead' : 'webhook delivery failed; will retry');
}

function deliveryContext(deps: WebhookDeps, options: SchedulerOptions): DeliveryContext {
  const outbound = deps.outbound ?? outboundPolicy(deps.config);
  const settings = queueSettings(options);
  return {
    mailer: createMailer(deps.config, outbound),
    deps,
    log: deps.logger.child({ component: 'webhooks' }),
    key: options.key ?? resolveSecretKey(deps.config, deps.logger),
    charts: deps.charts ?? createChartStore(deps.db, deps.renderChart),
    outbound,
    chartBase: options.chartBaseUrl ?? (deps.config.publicUrl ? `${deps.config.publicUrl}/api/v1/charts` : undefined),
    settings,
    queue: summaryQueue(deps.db, settings),
    now: options.now ?? (() => new Date()),
    platforms: deps.platforms(settings.timeoutMs),
  };
}

/**
 * The weekly-summary scheduler. Every replica may run one: the database decides who delivers
 * what (see deliveries.ts), so nothing is posted twice for a subscription-week.
 */
export function createScheduler(deps: WebhookDeps, options: SchedulerOptions = {}): Scheduler {
  const ctx = deliveryContext(deps, options);
  const { db } = deps;
  const { pollMs, batchSize } = ctx.settings;

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
    await ctx.queue.buryExhausted(t);
    const claims = await ctx.queue.claim(t, batchSize);
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
