import { randomBytes } from 'node:crypto';
import type { Database } from '../db/client.ts';
import { mayDeliver, resolveCreator } from '../access/delivery.ts';
import { describePrincipal } from '../access/principal.ts';
import type { Reply } from '../chat/reply.ts';
import { DiscordAPIError, HTTPError, RateLimitError, Routes, type REST } from '../adapters/discord/djs.ts';
import { createRest } from '../adapters/discord/rest.ts';
import { createMailer, type Mailer } from '../email/transport.ts';
import type { Logger } from '../logger.ts';
import { pollLoop } from '../util/poll-loop.ts';
import { outboundPolicy, type Outbound } from '../net/outbound.ts';
import type { Services } from '../services.ts';
import { backoffMs, DEFAULT_RETRY } from '../util/retry.ts';
import { resolveSecretKey } from '../delivery/crypto.ts';
import { send, type Outgoing, type SendResult } from '../delivery/send.ts';
import type { SchedulerOptions } from '../delivery/summaries/scheduler.ts';
import { buryExhausted } from '../delivery/summaries/deliveries.ts';
import { detectFormat, targetSecrets } from '../delivery/summaries/subscriptions.ts';
import { evaluateRules, type EvaluationRun } from './evaluate.ts';
import { noticeReply } from './notice.ts';
import { accessScope, deliveryTarget, getRuleRow, pauseRule, resumeRule, ruleScope, type AlertRuleRow } from './rules.ts';

/**
 * Alert notices, delivered exactly once per rule x episode x kind across replicas with the
 * design of the weekly summaries (webhooks/deliveries.ts): the unique key lets one evaluation
 * queue a notice; a worker claims it (FOR UPDATE SKIP LOCKED) with a lease and writes the
 * result only while holding it; failures retry with backoff (util/retry.ts), then die, as does
 * a notice whose last attempt's worker died (buryExhausted). Every rule is also evaluated on a
 * schedule (STORECAST_ALERT_EVERY_MINUTES), claimed the same way.
 */
export type AlertDeps = Pick<Services, 'config' | 'db' | 'logger' | 'forecaster' | 'renderChart'> & Partial<Pick<Services, 'outbound'>>;

/** The weekly summaries' settings, meaning the same here (notices are claimed, retried and timed as deliveries are), and a mailer. */
export interface AlertSchedulerOptions extends Pick<SchedulerOptions, 'pollMs' | 'leaseMs' | 'maxAttempts' | 'backoffBaseMs' | 'backoffMaxMs' | 'timeoutMs' | 'batchSize' | 'now' | 'key'> {
  mailer?: Mailer;
}

interface NotificationClaim {
  id: string;
  rule_id: string;
  episode: number;
  kind: 'firing' | 'resolved';
  detail: Record<string, unknown>;
  attempts: number;
  lease_token: string;
}

export async function claimNotifications(db: Database, now: Date, leaseMs: number, limit: number): Promise<NotificationClaim[]> {
  return db.query<NotificationClaim>(
    `UPDATE alert_notifications n SET status = 'in_progress', attempts = n.attempts + 1, lease_token = $2, lease_until = $3
     WHERE n.id IN (
       SELECT x.id FROM alert_notifications x
       WHERE (x.status IN ('pending', 'retry') AND x.next_attempt_at <= $1) OR (x.status = 'in_progress' AND x.lease_until <= $1)
       ORDER BY x.next_attempt_at LIMIT $4 FOR UPDATE OF x SKIP LOCKED)
     RETURNING n.id, n.rule_id, n.episode, n.kind, n.detail, n.attempts, n.lease_token`,
    [now.toISOString(), randomBytes(12).toString('hex'), new Date(now.getTime() + leaseMs).toISOString(), limit],
  );
}

async function finish(db: Database, claim: NotificationClaim, status: 'succeeded' | 'retry' | 'dead' | 'snoozed' | 'paused', result: { status: number | null; error?: string; retryAt?: Date }, now: Date): Promise<boolean> {
  const rows = await db.query(
    `UPDATE alert_notifications SET status = $3, last_status = $4, last_error = $5, next_attempt_at = coalesce($6::timestamptz, next_attempt_at),
       delivered_at = CASE WHEN $3 = 'succeeded' THEN $7::timestamptz ELSE delivered_at END, lease_token = NULL, lease_until = NULL
     WHERE id = $1 AND lease_token = $2 RETURNING id`,
    [claim.id, claim.lease_token, status, result.status, result.error?.slice(0, 1000) ?? null, result.retryAt?.toISOString() ?? null, now.toISOString()],
  );
  return rows.length > 0;
}

interface Ctx {
  deps: AlertDeps;
  log: Logger;
  key: Buffer | undefined;
  outbound: Pick<Outbound, 'request'>;
  mailer: Mailer | undefined;
  /** The Discord adapter's REST client (bot token set), for what the webhook sender cannot do: opening a DM. */
  discord: REST | undefined;
  timeoutMs: number;
}

/** Where the notice goes, as the webhook sender knows targets. */
function outgoingTarget(ctx: Ctx, rule: AlertRuleRow): Pick<Outgoing, 'targetKind' | 'url' | 'channel' | 'workspace' | 'email'> {
  switch (rule.target_kind) {
    case 'slack-channel':
    case 'slack-dm': // chat.postMessage to a user id posts in the app's DM with them
      return { targetKind: 'slack-channel', channel: rule.channel ?? undefined, workspace: rule.workspace ?? undefined };
    case 'discord-channel':
    case 'discord-dm':
      return { targetKind: 'discord-channel', channel: rule.channel ?? undefined };
    case 'webhook': {
      const { url } = targetSecrets(ctx.key, { id: rule.id, target_secret: rule.target_secret, signing_secret: null });
      const format = detectFormat(new URL(url!));
      return { targetKind: format === 'slack' ? 'slack-webhook' : format === 'discord' ? 'discord-webhook' : 'generic', url };
    }
    case 'email':
      return {
        targetKind: 'email',
        email: {
          to: rule.channel ?? '',
          why: `You get this because alert ${rule.id}, set up by ${describePrincipal(rule.created_by ?? 'an admin')}, notifies this address.`,
          stop: `To stop it: /alert delete ${rule.id} in Slack or Discord, or storecast alerts delete ${rule.id}.`,
        },
      };
  }
}

/**
 * A Discord DM goes to the DM channel with the user, opened (or found) first. Through the
 * adapter's REST client, as every other bot call: its DISCORD_API_URL base, its User-Agent,
 * and its 429 handling (Retry-After waited out, or handed to the notice's retry when long).
 */
async function discordDmChannel(ctx: Ctx, user: string): Promise<{ channel: string } | SendResult> {
  const failed = 'Discord: could not open the direct message';
  if (!ctx.discord) return { ok: false, status: null, error: `${failed}: DISCORD_BOT_TOKEN is not set`, permanent: true };
  try {
    const dm = (await ctx.discord.post(Routes.userChannels(), { body: { recipient_id: user } })) as { id: string };
    return { channel: dm.id };
  } catch (err) {
    if (err instanceof RateLimitError) return { ok: false, status: 429, error: `${failed}: rate limited`, retryAfterMs: err.retryAfter };
    if (err instanceof DiscordAPIError || err instanceof HTTPError) return { ok: false, status: err.status, error: `${failed}: HTTP ${err.status}` };
    return { ok: false, status: null, error: `${failed}: ${(err as Error).name === 'AbortError' ? 'timed out' : (err as Error).message}` };
  }
}

/** The one notice a paused rule sends: it names no data, only why and what to do. */
function pausedReply(rule: AlertRuleRow, why: string): Reply {
  return {
    title: `Alert ${rule.id} paused`,
    summary: `Alert ${rule.id} is paused: ${why} Its notices are held until it may be delivered here again. An admin can grant the access again (/access grant) or remove it (/alert delete ${rule.id}).`,
    facts: [],
    actions: [],
    visibility: 'channel',
    context: {},
    data: { paused: true, alert: rule.id },
  };
}

/**
 * The delivery decision at send time (src/access/delivery.ts), as at creation: the notice when
 * it may be delivered here (ending a pause), else the one pause notice, else nothing.
 */
async function replyFor(ctx: Ctx, claim: NotificationClaim, rule: AlertRuleRow): Promise<(Reply & { pausedNow?: true }) | { held: string }> {
  const { db, config } = ctx.deps;
  const creator = await resolveCreator(db, config.access, { key: rule.created_by, roles: rule.created_by_roles });
  const verdict = await mayDeliver(db, config.access.mode, creator, accessScope(ruleScope(rule)), deliveryTarget(rule));
  if (verdict.ok) {
    if (rule.paused_at) await resumeRule(db, rule.id);
    return noticeReply({ rule, kind: claim.kind, episode: claim.episode, detail: claim.detail });
  }
  if (await pauseRule(db, rule.id, verdict.message)) return { ...pausedReply(rule, verdict.notice), pausedNow: true };
  return { held: `paused, not sent: ${verdict.notice}` };
}

async function attempt(ctx: Ctx, claim: NotificationClaim, rule: AlertRuleRow): Promise<SendResult | { held: string }> {
  const reply = await replyFor(ctx, claim, rule);
  if ('held' in reply) return reply;
  const result = await sendNotice(ctx, claim, rule, reply);
  // A pause notice that did not get through gives its claim back, so the retry sends it (as weekly summaries do).
  if (reply.pausedNow && !result.ok) await resumeRule(ctx.deps.db, rule.id);
  return result;
}

async function sendNotice(ctx: Ctx, claim: NotificationClaim, rule: AlertRuleRow, reply: Reply): Promise<SendResult> {
  const png = reply.chart ? await ctx.deps.renderChart(reply.chart.spec).catch(() => undefined) : undefined;
  let target: ReturnType<typeof outgoingTarget>;
  try {
    target = outgoingTarget(ctx, rule);
  } catch (err) {
    return { ok: false, status: null, error: `cannot decrypt the target: ${(err as Error).message}` };
  }
  if (rule.target_kind === 'discord-dm') {
    const dm = await discordDmChannel(ctx, rule.channel ?? '');
    if (!('channel' in dm)) return dm;
    target = { ...target, channel: dm.channel };
  }
  const outgoing: Outgoing = { deliveryId: claim.id, subscriptionId: rule.id, period: `${rule.id}#${claim.episode}`, ...target, reply, png, event: 'alert' };
  return send(outgoing, { config: ctx.deps.config, outbound: ctx.outbound, timeoutMs: ctx.timeoutMs, mailer: ctx.mailer });
}

async function deliver(ctx: Ctx, claim: NotificationClaim, options: Required<Pick<AlertSchedulerOptions, 'maxAttempts' | 'backoffBaseMs' | 'backoffMaxMs'>>, now: () => Date): Promise<void> {
  const { db } = ctx.deps;
  const rule = await getRuleRow(db, claim.rule_id);
  if (!rule || rule.deleted_at) return void (await finish(db, claim, 'dead', { status: null, error: 'alert deleted' }, now()));
  // A snoozed rule's notices are recorded, not sent.
  if (rule.snoozed_until && new Date(rule.snoozed_until) > now()) return void (await finish(db, claim, 'snoozed', { status: null, error: `snoozed until ${new Date(rule.snoozed_until).toISOString()}` }, now()));
  let result: SendResult | { held: string };
  try {
    result = await attempt(ctx, claim, rule);
  } catch (err) {
    result = { ok: false, status: null, error: `internal: ${(err as Error).message}` };
  }
  const fields = { notification: claim.id, alert: rule.id, episode: claim.episode, kind: claim.kind, attempt: claim.attempts };
  if ('held' in result) {
    await finish(db, claim, 'paused', { status: null, error: result.held }, now());
    ctx.log.info({ ...fields, why: result.held }, 'alert notice held: rule paused');
    return;
  }
  if (result.ok) {
    await finish(db, claim, 'succeeded', { status: result.status, error: result.warning }, now());
    ctx.log.info({ ...fields, status: result.status }, 'alert notice delivered');
    return;
  }
  const dead = result.permanent === true || claim.attempts >= options.maxAttempts;
  const wait = result.retryAfterMs ?? backoffMs(claim.attempts, options.backoffBaseMs, options.backoffMaxMs);
  await finish(db, claim, dead ? 'dead' : 'retry', { status: result.status, error: result.error, ...(dead ? {} : { retryAt: new Date(now().getTime() + wait) }) }, now());
  ctx.log.warn({ ...fields, status: result.status, error: result.error, dead }, dead ? 'alert notice dead' : 'alert notice failed; will retry');
}

/** Rules due for their scheduled evaluation, claimed so that one replica evaluates each. */
async function claimDueRules(db: Database, now: Date, everyMs: number, limit: number): Promise<AlertRuleRow[]> {
  return db.query<AlertRuleRow>(
    `UPDATE alert_rules r SET last_evaluated_at = $1 WHERE r.id IN (
       SELECT id FROM alert_rules WHERE deleted_at IS NULL AND (last_evaluated_at IS NULL OR last_evaluated_at <= $2)
       ORDER BY last_evaluated_at NULLS FIRST LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING r.*`,
    [now.toISOString(), new Date(now.getTime() - everyMs).toISOString(), limit],
  );
}

export interface AlertScheduler {
  /** One round: evaluate the rules due, deliver the notices due. */
  tick(): Promise<{ evaluation: EvaluationRun; delivered: number }>;
  start(): void;
  stop(): Promise<void>;
}

export function createAlertScheduler(deps: AlertDeps, options: AlertSchedulerOptions = {}): AlertScheduler {
  const outbound = deps.outbound ?? outboundPolicy(deps.config);
  const timeoutMs = options.timeoutMs ?? 15_000;
  const { apiUrl, botToken } = deps.config.discord;
  const ctx: Ctx = {
    deps,
    log: deps.logger.child({ component: 'alerts' }),
    key: options.key ?? resolveSecretKey(deps.config, deps.logger),
    outbound,
    mailer: options.mailer ?? createMailer(deps.config, outbound),
    discord: botToken ? createRest(apiUrl, botToken, DEFAULT_RETRY, timeoutMs) : undefined,
    timeoutMs,
  };
  const now = options.now ?? (() => new Date());
  const retry = { maxAttempts: options.maxAttempts ?? 8, backoffBaseMs: options.backoffBaseMs ?? 30_000, backoffMaxMs: options.backoffMaxMs ?? 3_600_000 };
  const batch = options.batchSize ?? 5;
  async function tick() {
    const t = now();
    const due = await claimDueRules(deps.db, t, deps.config.alertEveryMs, 200);
    const evaluation = await evaluateRules(deps, due, t);
    // Per replica: the operator (and bench/replicas.ts) can see that each round ran once.
    if (due.length) ctx.log.info({ rules: due.length, fired: evaluation.fired.length, resolved: evaluation.resolved.length, failed: evaluation.failed.length, ms: evaluation.ms }, 'alert rules evaluated');
    await buryExhausted(deps.db, 'alert_notifications', t, retry.maxAttempts);
    const claims = await claimNotifications(deps.db, t, options.leaseMs ?? 120_000, batch);
    await Promise.all(claims.map((c) => deliver(ctx, c, retry, now)));
    return { evaluation, delivered: claims.length };
  }
  const loop = pollLoop(tick, { pollMs: options.pollMs ?? 5_000, again: (r) => r.delivered >= batch, log: ctx.log, name: 'alert scheduler' });
  return {
    tick,
    start: loop.start,
    async stop() {
      await loop.stop();
      ctx.mailer?.close();
    },
  };
}
