import { randomUUID } from 'node:crypto';
import { renderPng } from '../charts/index.ts';
import { createRegistry } from '../commands/index.ts';
import { webhookCommands } from './webhooks/commands.ts';
import type { CommandContext } from './chat/command.ts';
import { dispatch, type CommandInput, type CommandRegistry, type DispatchOutcome } from './chat/dispatch.ts';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import type { Forecaster } from './forecast/forecaster.ts';
import type { Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createOutbound, type Outbound } from './net/outbound.ts';

/** Who asks: what an adapter knows about the request, before the shared services are added. */
export type Asker = Pick<CommandContext, 'platform' | 'workspace' | 'channel' | 'user' | 'roles'>;

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
  /** Runs a command for someone; records its latency and outcome. */
  run(input: CommandInput, asker: Asker, requestId?: string): Promise<DispatchOutcome>;
  /** Renders a reply's chart to PNG, timed. */
  renderChart(spec: Record<string, unknown>): Promise<Buffer>;
  /** Work that must finish before a graceful shutdown completes (replies after an ack). */
  track<T>(work: Promise<T>): Promise<T>;
  /**
   * Runs the slow part of an answer (query, model, render, upload) after the ack, tracked for
   * graceful shutdown. `run` and `renderChart` share a lane of bounded concurrency that starts
   * work only after pending I/O: under a burst, acks stay fast and answers queue (Slack's
   * response_url lasts 30 min, Discord's token 15) instead of everything slowing down together.
   */
  defer<T>(work: () => Promise<T>): Promise<T>;
  drain(): Promise<void>;
}

/** Every command the product offers: the chat commands and the webhook subscriptions. */
export const defaultRegistry = (): CommandRegistry => createRegistry(webhookCommands);

/**
 * Commands and renders prepared at once. They are CPU-bound (PGlite runs in-process, a render
 * is ~50 ms of canvas work); more in parallel only slows acks and every answer together.
 */
const CPU_LANE_CONCURRENCY = 2;
/** Answers being delivered at once (compute in the CPU lane, then uploads and posts). */
const ANSWER_LANE_CONCURRENCY = 4;

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
  return <T>(work: () => Promise<T>): Promise<T> => {
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
}

export function createServices(deps: { config: Config; db: Database; logger: Logger; forecaster: Forecaster; registry?: CommandRegistry; metrics?: Metrics; outbound?: Outbound }): Services {
  const metrics = deps.metrics ?? createMetrics();
  const outbound = deps.outbound ?? createOutbound({ allow: deps.config.outboundAllow });
  const registry = deps.registry ?? defaultRegistry();
  const inFlight = new Set<Promise<unknown>>();
  const cpuLane = lane(CPU_LANE_CONCURRENCY);
  const answerLane = lane(ANSWER_LANE_CONCURRENCY);
  function track<T>(work: Promise<T>): Promise<T> {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work)).catch(() => {});
    return work;
  }
  return {
    ...deps,
    metrics,
    registry,
    outbound,
    async run(input, asker, requestId = randomUUID().replace(/-/g, '')) {
      const ctx: CommandContext = { ...asker, db: deps.db, forecaster: deps.forecaster, now: () => new Date(), requestId };
      const stop = metrics.commandDuration.startTimer({ command: input.name, platform: asker.platform });
      const outcome = await cpuLane(() => dispatch(registry, input, ctx, deps.logger));
      stop({ outcome: outcome.kind });
      if (outcome.kind !== 'ok') metrics.errors.inc({ kind: outcome.kind === 'user-error' ? 'user' : 'internal' });
      return outcome;
    },
    async renderChart(spec) {
      return cpuLane(async () => {
        const stop = metrics.renderDuration.startTimer();
        try {
          return await renderPng(spec);
        } finally {
          stop();
        }
      });
    },
    track,
    defer: (work) => track(answerLane(work)),
    async drain() {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
