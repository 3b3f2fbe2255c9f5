import { pruneAudit } from '../audit/log.ts';
import { UserError } from '../chat/errors.ts';
import type { Reply } from '../chat/reply.ts';
import { createChartStore } from '../../charts/store.ts';
import { backoffMs } from '../util/retry.ts';
import { createOutbound } from '../net/outbound.ts';
import type { Services } from '../services.ts';
import { resolveSecretKey } from './crypto.ts';
import { buryExhausted, claimDue, markFailed, markSucceeded, planDue, saveChart, type Claim } from './deliveries.ts';
import { send, type SendResult } from './send.ts';
import { getSubscriptionRow, rowScope, targetSecrets } from './subscriptions.ts';
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

/**
 * The weekly-summary scheduler. Every replica may run one: the database decides who delivers
 * what (see deliveries.ts), so nothing is posted twice for a subscription-week.
 */
export function createScheduler(deps: WebhookDeps, options: SchedulerOptions = {}): Scheduler {
  const { db, logger } = deps;
  const pollMs = options.pollMs ?? 5_000;
  const leaseMs = options.leaseMs ?? 120_000;
  const maxAttempts = options.maxAttempts ?? 8;
  const base = options.backoffBaseMs ?? 30_000;
  const cap = options.backoffMaxMs ?? 3_600_000;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const batchSize = options.batchSize ?? 5;
  const now = options.now ?? (() => new Date());
  const key = options.key ?? resolveSecretKey(deps.config, logger);
  const chartBase = options.chartBaseUrl ?? (deps.config.publicUrl ? `${deps.config.publicUrl}/api/v1/charts` : undefined);
  const log = logger.child({ component: 'webhooks' });
  const charts = deps.charts ?? createChartStore(db, deps.renderChart);
  const outbound = deps.outbound ?? createOutbound({ allow: deps.config.outboundAllow });

  async function attempt(claim: Claim): Promise<SendResult> {
    const row = await getSubscriptionRow(db, claim.subscription_id);
    if (!row || row.deleted_at) return { ok: false, status: null, error: 'subscription deleted', permanent: true };
    let reply: Reply;
    try {
      reply = await buildWeeklySummary(db, deps.forecaster, rowScope(row));
    } catch (err) {
      // No data (yet) is worth a retry: an import may be on its way.
      return { ok: false, status: null, error: err instanceof UserError ? `summary: ${err.message}` : `summary failed: ${(err as Error).message}` };
    }
    let png: Buffer | undefined;
    if (reply.chart) {
      try {
        png = await deps.renderChart(reply.chart.spec);
      } catch (err) {
        log.warn({ err, delivery: claim.id }, 'chart render failed; sending the summary without it');
      }
    }
    let chartUrl: string | undefined;
    if (png && chartBase) chartUrl = `${chartBase}/${await saveChart(db, charts, claim, png)}.png`;
    let secrets: { url?: string; signingSecret?: string };
    try {
      secrets = targetSecrets(key, row);
    } catch (err) {
      return { ok: false, status: null, error: `cannot decrypt the target: ${(err as Error).message} (is STORECAST_SECRET_KEY the key it was created with?)` };
    }
    return send(
      {
        deliveryId: claim.id,
        subscriptionId: row.id,
        period: claim.week,
        targetKind: row.target_kind,
        ...secrets,
        workspace: row.workspace ?? undefined,
        channel: row.channel ?? undefined,
        reply,
        png,
        chartUrl,
      },
      { config: deps.config, outbound, timeoutMs, now },
    );
  }

  async function deliver(claim: Claim): Promise<void> {
    const ctx = { delivery: claim.id, subscription: claim.subscription_id, week: claim.week, attempt: claim.attempts };
    let result: SendResult;
    try {
      result = await attempt(claim);
    } catch (err) {
      result = { ok: false, status: null, error: `internal: ${(err as Error).message}` };
    }
    const at = now();
    if (result.ok) {
      const kept = await markSucceeded(db, claim, result.status, at, result.warning);
      log.info({ ...ctx, status: result.status, lostLease: !kept, ...(result.warning ? { warning: result.warning } : {}) }, 'webhook delivered');
      return;
    }
    deps.metrics?.errors.inc({ kind: 'delivery' });
    const dead = result.permanent === true || claim.attempts >= maxAttempts;
    const wait = result.retryAfterMs !== undefined ? Math.min(cap, result.retryAfterMs) : backoffMs(claim.attempts, base, cap);
    await markFailed(db, claim, { status: result.status, error: result.error, retryAt: dead ? null : new Date(at.getTime() + wait) });
    log.warn({ ...ctx, status: result.status, error: result.error, dead, retryInMs: dead ? undefined : wait }, dead ? 'webhook delivery dead' : 'webhook delivery failed; will retry');
  }

  // Expired chart links and old audit rows are pruned here, the one loop every replica runs
  // (a DELETE is idempotent).
  let prunedAt = 0;
  async function prune(t: Date): Promise<void> {
    if (t.getTime() - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = t.getTime();
    const n = await charts.prune(t);
    if (n) log.info({ charts: n }, 'expired charts pruned');
    const audit = await pruneAudit(db, new Date(t.getTime() - deps.config.auditRetentionDays * DAY_MS));
    if (audit) log.info({ auditRows: audit, retentionDays: deps.config.auditRetentionDays }, 'audit rows past retention pruned');
  }

  async function tick(): Promise<number> {
    const t = now();
    await prune(t);
    await planDue(db, t);
    await buryExhausted(db, t, maxAttempts);
    const claims = await claimDue(db, t, leaseMs, batchSize);
    await Promise.all(claims.map(deliver));
    return claims.length;
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;

  function loop() {
    if (stopped) return;
    running = tick()
      .catch((err) => log.error({ err }, 'webhook scheduler tick failed'))
      .then((n) => {
        if (stopped) return;
        timer = setTimeout(loop, typeof n === 'number' && n >= batchSize ? 0 : pollMs);
      });
  }

  return {
    tick,
    start() {
      if (!stopped) return;
      stopped = false;
      loop();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

/** Started by `storecast serve`: polls until stopped; stop() waits for deliveries in flight. */
export async function startScheduler(services: WebhookDeps, options: SchedulerOptions = {}): Promise<{ stop(): Promise<void> }> {
  const scheduler = createScheduler(services, options);
  scheduler.start();
  return { stop: () => scheduler.stop() };
}
