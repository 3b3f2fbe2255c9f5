import type { Database } from '../db/client.ts';
import type { PostedMessage } from '../delivery/result.ts';
import { describePrincipal } from '../access/principal.ts';
import type { Reply } from '../chat/reply.ts';
import { createMailer, type Mailer } from '../email/transport.ts';
import type { Logger } from '../logger.ts';
import { pollLoop } from '../util/poll-loop.ts';
import { outboundPolicy, type Outbound } from '../net/outbound.ts';
import type { Services } from '../services.ts';
import { resolveSecretKey, targetSecrets } from '../delivery/crypto.ts';
import { decideAtSend } from '../delivery/paused.ts';
import { leasedQueue, queueSettings, settle, type Attempt, type LeasedQueue, type QueueOptions, type QueueSettings } from '../delivery/queue.ts';
import { send, type Outgoing, type SendOptions, type SendResult } from '../delivery/send.ts';
import { detectFormat } from '../delivery/targets.ts';
import { evaluateRules, type EvaluationRun } from './evaluate.ts';
import { episodeMessage, noticeReply, type NoticeKind } from './notice.ts';
import { CHAT_TARGETS, deliveryTarget, getRuleRow, pauseRule, resumeRule, ruleScope, type AlertRuleRow } from './rules.ts';

/**
 * Alert notices, delivered exactly once per rule x episode x kind across replicas with the
 * one leased queue of the weekly summaries (src/delivery/queue.ts: claim with a lease, results
 * written only while holding it, the same backoff and Retry-After cap, burial) and the same
 * senders (src/delivery/send.ts): the unique key lets one evaluation queue a notice. Every rule
 * is also evaluated on a schedule (STORECAST_ALERT_EVERY_MINUTES), claimed the same way.
 */
export type AlertDeps = Pick<Services, 'config' | 'db' | 'logger' | 'forecaster' | 'renderChart' | 'platforms'> & Partial<Pick<Services, 'outbound'>>;

/** The queue's settings (the weekly summaries' too: src/delivery/queue.ts), and a mailer. */
export interface AlertSchedulerOptions extends QueueOptions {
  mailer?: Mailer;
}

interface NotificationClaim {
  id: string;
  rule_id: string;
  episode: number;
  kind: NoticeKind;
  detail: Record<string, unknown>;
  attempts: number;
  lease_token: string;
}

/** Alert notices on the one leased queue (src/delivery/queue.ts). */
export function noticeQueue(db: Database, s: Pick<QueueSettings, 'leaseMs' | 'maxAttempts'>): LeasedQueue<NotificationClaim> {
  return leasedQueue<NotificationClaim>(db, { table: 'alert_notifications', returning: 'q.id, q.rule_id, q.episode, q.kind, q.detail, q.attempts, q.lease_token' }, s);
}

interface Ctx {
  deps: AlertDeps;
  log: Logger;
  key: Buffer | undefined;
  outbound: Pick<Outbound, 'request'>;
  mailer: Mailer | undefined;
  /** Slack and Discord posting (Discord DMs are opened through it first). */
  platforms: SendOptions['platforms'];
  settings: QueueSettings;
  queue: LeasedQueue<NotificationClaim>;
  now: () => Date;
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

/** The delivery decision at send time, as at creation (src/delivery/paused.ts): the notice, the one pause notice, or nothing. */
async function replyFor(ctx: Ctx, claim: NotificationClaim, rule: AlertRuleRow): Promise<(Reply & { pausedNow?: true }) | { held: string }> {
  const { db, config } = ctx.deps;
  const decision = await decideAtSend(db, config.access, {
    name: `Alert ${rule.id}`,
    remove: `/alert delete ${rule.id}`,
    createdBy: rule.created_by,
    createdByRoles: rule.created_by_roles,
    pausedAt: rule.paused_at,
    scope: ruleScope(rule),
    target: deliveryTarget(rule),
    pause: (reason) => pauseRule(db, rule.id, reason),
    resume: () => resumeRule(db, rule.id),
    data: { alert: rule.id },
  });
  if (decision.send === 'work') return noticeReply({ rule, kind: claim.kind, episode: claim.episode, detail: claim.detail });
  if (decision.send === 'notice') return { ...decision.reply, pausedNow: true };
  return { held: `paused, not sent: ${decision.why}` };
}

async function attempt(ctx: Ctx, claim: NotificationClaim, rule: AlertRuleRow): Promise<Attempt> {
  const reply = await replyFor(ctx, claim, rule);
  if ('held' in reply) return reply;
  const result = claim.kind === 'firing' || reply.pausedNow ? await sendNotice(ctx, claim, rule, reply) : await sendChange(ctx, claim, rule, reply);
  // Where the firing notice landed in chat: the episode's later notices edit it.
  if (result.ok && result.message && claim.kind === 'firing' && !reply.pausedNow) {
    await ctx.deps.db.query('UPDATE alert_notifications SET message_channel = $3, message_id = $4 WHERE id = $1 AND lease_token = $2', [claim.id, claim.lease_token, result.message.channel, result.message.id]);
  }
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
    const dm = await ctx.platforms.discord.openDm(rule.channel ?? '');
    if (!('channel' in dm)) return dm;
    target = { ...target, channel: dm.channel };
  }
  const outgoing: Outgoing = { deliveryId: claim.id, subscriptionId: rule.id, period: `${rule.id}#${claim.episode}`, ...target, reply, png, event: 'alert' };
  return send(outgoing, { outbound: ctx.outbound, timeoutMs: ctx.settings.timeoutMs, mailer: ctx.mailer, platforms: ctx.platforms });
}

/** The episode's firing notice: what it said, and where it landed in chat (none: not posted, or not in chat). */
async function firingNotice(db: Pick<Database, 'query'>, claim: NotificationClaim): Promise<{ detail: Record<string, unknown>; message?: PostedMessage } | undefined> {
  const [row] = await db.query<{ detail: Record<string, unknown>; message_channel: string | null; message_id: string | null }>(
    "SELECT detail, message_channel, message_id FROM alert_notifications WHERE rule_id = $1 AND episode = $2 AND kind = 'firing'",
    [claim.rule_id, claim.episode],
  );
  if (!row) return undefined;
  return { detail: row.detail, ...(row.message_channel && row.message_id ? { message: { channel: row.message_channel, id: row.message_id } } : {}) };
}

/**
 * A change to an episode (resolved, snoozed, acknowledged). In chat, the firing message is
 * edited to say where the episode stands and the change is posted in its thread, so a channel
 * shows one message per episode. Without one (a webhook, an email, a firing notice that was
 * never posted) a resolution is sent as a notice of its own, as before; a person's change is not.
 */
async function sendChange(ctx: Ctx, claim: NotificationClaim, rule: AlertRuleRow, reply: Reply): Promise<SendResult> {
  const firing = CHAT_TARGETS.includes(rule.target_kind) ? await firingNotice(ctx.deps.db, claim) : undefined;
  if (!firing?.message) return claim.kind === 'resolved' ? sendNotice(ctx, claim, rule, reply) : { ok: true, status: 200, warning: 'no chat message of this episode to edit' };
  const platform = rule.target_kind.startsWith('slack') ? ctx.platforms.slack : ctx.platforms.discord;
  const episode = episodeMessage(rule, claim.episode, firing.detail, ctx.now());
  const edited = await platform.update(firing.message, episode);
  if (!edited.ok) return edited;
  return platform.threadReply(firing.message, reply, { direct: rule.target_kind === 'discord-dm', name: `Updates: alert ${rule.id} #${claim.episode}` });
}

async function deliver(ctx: Ctx, claim: NotificationClaim): Promise<void> {
  const { db } = ctx.deps;
  const rule = await getRuleRow(db, claim.rule_id);
  if (!rule || rule.deleted_at) return void (await ctx.queue.finish(claim, { status: 'dead', code: null, error: 'alert deleted' }, ctx.now()));
  // A snoozed rule's notices are recorded, not sent (the snooze itself is shown on its message).
  if (rule.snoozed_until && new Date(rule.snoozed_until) > ctx.now() && (claim.kind === 'firing' || claim.kind === 'resolved')) {
    return void (await ctx.queue.finish(claim, { status: 'snoozed', code: null, error: `snoozed until ${new Date(rule.snoozed_until).toISOString()}` }, ctx.now()));
  }
  const fields = { notification: claim.id, alert: rule.id, episode: claim.episode, kind: claim.kind, attempt: claim.attempts };
  const { finish: f } = await settle(ctx.queue, claim, () => attempt(ctx, claim, rule), ctx.settings, ctx.now);
  if (f.status === 'paused') return void ctx.log.info({ ...fields, why: f.error }, 'alert notice held: rule paused');
  if (f.status === 'succeeded') return void ctx.log.info({ ...fields, status: f.code }, 'alert notice delivered');
  const dead = f.status !== 'retry';
  ctx.log.warn({ ...fields, status: f.code, error: f.error, dead }, dead ? 'alert notice dead' : 'alert notice failed; will retry');
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
  const settings = queueSettings(options);
  const ctx: Ctx = {
    deps,
    log: deps.logger.child({ component: 'alerts' }),
    key: options.key ?? resolveSecretKey(deps.config, deps.logger),
    outbound,
    mailer: options.mailer ?? createMailer(deps.config, outbound),
    platforms: deps.platforms(settings.timeoutMs),
    settings,
    queue: noticeQueue(deps.db, settings),
    now: options.now ?? (() => new Date()),
  };
  const { now } = ctx;
  const batch = settings.batchSize;
  async function tick() {
    const t = now();
    const due = await claimDueRules(deps.db, t, deps.config.alertEveryMs, 200);
    const evaluation = await evaluateRules(deps, due, t);
    // Per replica: the operator (and bench/replicas.ts) can see that each round ran once.
    if (due.length) ctx.log.info({ rules: due.length, fired: evaluation.fired.length, resolved: evaluation.resolved.length, failed: evaluation.failed.length, ms: evaluation.ms }, 'alert rules evaluated');
    await ctx.queue.buryExhausted(t);
    const claims = await ctx.queue.claim(t, batch);
    await Promise.all(claims.map((c) => deliver(ctx, c)));
    return { evaluation, delivered: claims.length };
  }
  const loop = pollLoop(tick, { pollMs: settings.pollMs, again: (r) => r.delivered >= batch, log: ctx.log, name: 'alert scheduler' });
  return {
    tick,
    start: loop.start,
    async stop() {
      await loop.stop();
      ctx.mailer?.close();
    },
  };
}
