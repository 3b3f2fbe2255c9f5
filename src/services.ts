import { randomUUID } from 'node:crypto';
import { registerFonts, renderPng } from '../charts/index.ts';
import { createChartStore, type ChartStore } from '../charts/store.ts';
import { createRegistry } from '../commands/index.ts';
import type { CommandContext } from './chat/command.ts';
import { dispatch, limitedReply, typedCommandLine, type Asker, type CommandInput, type CommandRegistry, type DispatchOutcome } from './chat/dispatch.ts';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import type { Forecaster } from './forecast/forecaster.ts';
import type { Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { resolveAccess, useSegmentStores } from './access/access.ts';
import { segmentStores } from './analytics/segments.ts';
import { principalKeys } from './access/principal.ts';
import { createRateLimit } from './access/rate-limit.ts';
import { outboundPolicy, type Outbound } from './net/outbound.ts';
import { deliveryPlatforms } from './adapters/platforms.ts';
import type { Platforms } from './delivery/result.ts';
import { auditPrincipal, recordAudit, type AuditEntry, type AuditOutcome } from './audit/log.ts';
import { commandLine } from './chat/parse.ts';
import { describeScope } from './scope.ts';
import { startRetrain, type RetrainTrigger } from './forecast/retrain.ts';
import { adminChannelPoster } from './delivery/admin-channel.ts';
import type { RetrainStart } from './chat/command.ts';

/** Who asks: what an adapter knows about the request, before the shared services are added. */
export type { Asker };

/**
 * Every outside dependency the server and adapters use, wired in one place (createServices).
 * Adapters receive this and nothing else.
 */
export interface Services {
  config: Config;
  db: Database;
  logger: Logger;
  metrics: Metrics;
  registry: CommandRegistry;
  forecaster: Forecaster;
  /** Requests to user-given URLs (webhook targets): refuses internal addresses (STORECAST_OUTBOUND_ALLOW). */
  outbound: Outbound;
  /** Slack and Discord posting for deliveries (the adapters' own, src/adapters/platforms.ts). */
  platforms: Platforms;
  /** Runs a command for someone; records its latency and outcome, and its audit row. */
  run(input: CommandInput, asker: Asker, requestId?: string): Promise<DispatchOutcome>;
  /**
   * Writes an audit row (src/audit/log.ts). Never rejects: a failed write is logged and
   * counted (storecast_errors_total{kind="audit"}), and the request it records goes on.
   */
  audit(entry: AuditEntry): Promise<void>;
  /** Renders a reply's chart to PNG, timed. */
  renderChart(spec: Record<string, unknown>): Promise<Buffer>;
  /** Chart images behind links, shared by every replica through the database. */
  charts: ChartStore;
  /** Work that must finish before a graceful shutdown completes (replies after an ack). */
  track<T>(work: Promise<T>): Promise<T>;
  /**
   * Runs the slow part of an answer (query, model, render, upload) after the ack, tracked for
   * graceful shutdown. `run` and `renderChart` share a lane of bounded concurrency that starts
   * work only after pending I/O: under a burst, acks stay fast and answers queue (Slack's
   * response_url lasts 30 min, Discord's token 15) instead of everything slowing down together.
   */
  defer<T>(work: () => Promise<T>): Promise<T>;
  /**
   * True when answers already waiting reach the bound: the adapter then says "busy, try again"
   * in its ack instead of queueing without limit (counted in storecast_busy_total).
   */
  busy(platform: string): boolean;
  drain(): Promise<void>;
  /** Starts a model retrain in the background (one across replicas); `stopRetrains` ends it at shutdown. */
  startRetrain(trigger: RetrainTrigger, requestedBy?: string): Promise<RetrainStart>;
  /** Stops a retrain started here (its worker ends; the run is recorded as failed) and waits for it. */
  stopRetrains(): Promise<void>;
}

/**
 * Commands and renders prepared at once. They are CPU-bound (PGlite runs in-process, a render
 * is ~50 ms of canvas work); more in parallel only slows acks and every answer together.
 */
const CPU_LANE_CONCURRENCY = 2;
/** Answers being delivered at once (compute in the CPU lane, then uploads and posts). */
const ANSWER_LANE_CONCURRENCY = 4;
/**
 * Answers allowed to wait. At ~50-150 ms each on two cores this is about a minute of work:
 * past it, an answer would arrive after the asker gave up, so we say so at once.
 */
export const MAX_WAITING_ANSWERS = 400;

/**
 * A queue running at most `concurrency` tasks, each started after the event loop has polled
 * I/O (setImmediate), so requests waiting for an ack are served before queued work.
 */
function lane(concurrency: number) {
  const waiting: (() => void)[] = [];
  let active = 0;
  const startNext = () => {
    if (active >= concurrency) return;
    const next = waiting.shift();
    if (!next) return;
    active++;
    setImmediate(next);
  };
  const run = <T>(work: () => Promise<T>): Promise<T> => {
    const done = new Promise<T>((resolve, reject) => {
      waiting.push(() => {
        work()
          .then(resolve, reject)
          .finally(() => {
            active--;
            startNext();
          });
      });
    });
    startNext();
    return done;
  };
  return Object.assign(run, { waiting: () => waiting.length });
}

export function createServices(deps: { config: Config; db: Database; logger: Logger; forecaster: Forecaster; registry?: CommandRegistry; metrics?: Metrics; outbound?: Outbound; maxWaiting?: number }): Services {
  // The access check expands a segment with analytics' own reading of it (clustered when stale).
  useSegmentStores(segmentStores);
  const metrics = deps.metrics ?? createMetrics();
  const platforms = deliveryPlatforms(deps.config);
  const outbound = deps.outbound ?? outboundPolicy(deps.config);
  const registry = deps.registry ?? createRegistry();
  const inFlight = new Set<Promise<unknown>>();
  const cpuLane = lane(CPU_LANE_CONCURRENCY);
  const answerLane = lane(ANSWER_LANE_CONCURRENCY);
  // Before the first render: node-canvas keeps the fonts it was first given.
  registerFonts(deps.config.fontDir);
  function track<T>(work: Promise<T>): Promise<T> {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work)).catch(() => {});
    return work;
  }
  const audit = async (entry: AuditEntry) => {
    try {
      await recordAudit(deps.db, entry);
    } catch (err) {
      metrics.errors.inc({ kind: 'audit' });
      deps.logger.error({ err, ref: entry.ref, outcome: entry.outcome }, 'audit row not written');
    }
  };
  const renderChart = async (spec: Record<string, unknown>) =>
    cpuLane(async () => {
      const stop = metrics.renderDuration.startTimer();
      try {
        return await renderPng(spec);
      } finally {
        stop();
      }
    });
  const retrainDeps = { db: deps.db, config: deps.config, logger: deps.logger, announce: adminChannelPoster(deps.config, platforms, outbound), forecaster: 'invalidate' in deps.forecaster ? (deps.forecaster as { invalidate(): void }) : undefined };
  // Not tracked for drain: a retrain takes minutes; shutdown stops it instead (stopRetrains).
  const retrains = new Set<Promise<unknown>>();
  const stopping = new AbortController();
  const startModelRetrain = async (trigger: RetrainTrigger, requestedBy?: string): Promise<RetrainStart> => {
    const started = await startRetrain(retrainDeps, { trigger, requestedBy, signal: stopping.signal });
    if (!('done' in started)) return started.decision === 'queued' && started.id !== undefined ? { started: true, id: started.id, queued: true } : { started: false, reason: started.reason };
    retrains.add(started.done);
    void started.done.finally(() => retrains.delete(started.done));
    return { started: true, id: started.id };
  };
  const rateLimit = createRateLimit(deps.config.rateLimitPerMinute);
  // The operator's own shell is not limited; everyone else is, by principal (or surface when anonymous).
  const limited = async (asker: Asker): Promise<DispatchOutcome | undefined> => {
    if (asker.platform === 'cli') return undefined;
    const verdict = await rateLimit.take(principalKeys(asker)[0] ?? `${asker.platform}:anonymous`);
    if (verdict.ok) return undefined;
    const message = `Rate limit: more than ${deps.config.rateLimitPerMinute} commands a minute.`;
    return { kind: 'limited', reply: limitedReply(verdict.retryAfterSeconds, deps.config.rateLimitPerMinute), error: { message, retryAfterSeconds: verdict.retryAfterSeconds } };
  };
  return {
    ...deps,
    metrics,
    registry,
    outbound,
    platforms,
    async run(input, asker, requestId = randomUUID().replace(/-/g, '')) {
      const started = performance.now();
      // Label values come from the registry, never from what was typed: labels stay bounded.
      const name = input.name.replace(/^\//, '').toLowerCase();
      const stop = metrics.commandDuration.startTimer({ command: registry.has(name) ? name : 'unknown', platform: asker.platform });
      // Past the rate limit nothing runs, not even the grants lookup.
      const outcome =
        (await limited(asker)) ??
        (await (async () => {
          const access = await resolveAccess(deps.db, deps.config.access, asker);
          const ctx: CommandContext = {
            ...asker,
            db: deps.db,
            forecaster: deps.forecaster,
            now: () => new Date(),
            requestId,
            access,
            baseUrl: deps.config.baseUrl,
            alertRulesPerPrincipal: deps.config.alertRulesPerPrincipal,
            outbound,
            accessSettings: deps.config.access,
            retrain: () => startModelRetrain(asker.platform === 'api' ? 'api' : 'chat', principalKeys(asker)[0] ?? asker.platform),
          };
          return cpuLane(() => dispatch(registry, input, ctx, deps.logger));
        })());
      stop({ outcome: outcome.kind });
      if (outcome.kind !== 'ok') metrics.errors.inc({ kind: outcome.kind === 'user-error' ? 'user' : outcome.kind === 'denied' || outcome.kind === 'limited' ? outcome.kind : 'internal' });
      await audit(commandAudit(input, asker, outcome, { latencyMs: performance.now() - started, ref: requestId.slice(0, 8) }));
      return outcome;
    },
    audit,
    renderChart,
    charts: createChartStore(deps.db, renderChart),
    track,
    defer: (work) => track(answerLane(work)),
    busy(platform) {
      if (answerLane.waiting() + cpuLane.waiting() < (deps.maxWaiting ?? MAX_WAITING_ANSWERS)) return false;
      metrics.busy.inc({ platform });
      return true;
    },
    async drain() {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
    startRetrain: startModelRetrain,
    async stopRetrains() {
      stopping.abort();
      await Promise.allSettled([...retrains]);
    },
  };
}

const AUDIT_OUTCOME: Record<DispatchOutcome['kind'], AuditOutcome> = { ok: 'ok', 'user-error': 'user-error', denied: 'denied', limited: 'denied', 'internal-error': 'internal' };

/**
 * The audit row of a command: an answered one normalized from its parsed options (the same
 * text whatever the surface or spelling), the data it reached; others as typed (redacted and
 * clipped by recordAudit), with the scope the refusal was about when there was one.
 */
function commandAudit(input: CommandInput, asker: Asker, outcome: DispatchOutcome, timing: { latencyMs: number; ref: string }): AuditEntry {
  const base = { principal: auditPrincipal(asker), platform: asker.platform, workspace: asker.workspace, channel: asker.channel, outcome: AUDIT_OUTCOME[outcome.kind], ...timing };
  if (outcome.kind !== 'ok') return { ...base, command: typedCommandLine(input), scope: outcome.kind === 'denied' && outcome.scope ? describeScope(outcome.scope) : undefined };
  return { ...base, command: commandLine(outcome.command, outcome.options), scope: outcome.reach ? describeScope(outcome.reach) : undefined };
}
