import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * What gauges read when Prometheus scrapes: set once the server is composed (src/server/
 * metric-sources.ts). Each returns the labelled values, or nothing when unknown right now.
 */
export interface MetricSources {
  ready(): number;
  databaseUp(): number;
  pool(): { open: number; busy: number; max: number } | undefined;
  /** Figures read from the database, shared by every replica (cached, bounded). */
  stored(): Promise<StoredFigures | undefined>;
}

export interface StoredFigures {
  deliveries: { queue: 'webhook' | 'alert'; backlog: number; oldestDueSeconds: number; dead: number }[];
  training: { runningSeconds: number; lastSuccess: number; lastFailure: number };
  /** Live WMAE of the active model and of seasonal naive on the same weeks; absent before scoring. */
  accuracy?: { active: number; naive: number };
}

/** A gauge whose value is read at scrape time. */
function readGauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], read: (g: Gauge<L>) => void | Promise<void>) {
  return new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      this.reset();
      await read(this);
    },
  });
}

/** Prometheus metrics served on /metrics. One registry per app, so tests stay isolated. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let sources: MetricSources | undefined;
  const stored = () => sources?.stored() ?? Promise.resolve(undefined);
  return {
    registry,
    /** Called once the server is composed: the gauges below read from these. */
    observe(s: MetricSources) {
      sources = s;
    },
    ready: readGauge(registry, 'storecast_ready', 'Whether this replica answers /readyz 200 (1) or 503 (0): started, data loaded, database reachable, not stopping', [], (g) => void (sources && g.set(sources.ready()))),
    databaseUp: readGauge(registry, 'storecast_database_up', 'Whether the database answered the last health probe (1) or not (0); probed on a connection of its own every 2 s, every 0.5 s while down', [], (g) => void (sources && g.set(sources.databaseUp()))),
    dbPool: readGauge(registry, 'storecast_db_pool_connections', "This replica's database connections as the server sees them: open, and busy running a statement", ['state'] as const, (g) => {
      const p = sources?.pool();
      if (p) for (const state of ['open', 'busy'] as const) g.set({ state }, p[state]);
    }),
    dbPoolMax: readGauge(registry, 'storecast_db_pool_max', 'Most connections this replica opens (DATABASE_POOL_SIZE)', [], (g) => {
      const p = sources?.pool();
      if (p) g.set(p.max);
    }),
    httpDuration: new Histogram({
      name: 'storecast_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route: for /slack/events and /discord/interactions this is the acknowledgement the platform waits for (3 s limit)',
      labelNames: ['route', 'method'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10],
      registers: [registry],
    }),
    deliveryBacklog: readGauge(registry, 'storecast_deliveries_backlog', 'Deliveries due and not yet delivered (pending, retrying or being sent), by queue: weekly summaries (webhook) and alert notices (alert)', ['queue'] as const, async (g) => {
      for (const d of (await stored())?.deliveries ?? []) g.set({ queue: d.queue }, d.backlog);
    }),
    deliveryOldestDue: readGauge(registry, 'storecast_deliveries_oldest_due_seconds', 'Age of the oldest delivery due and not yet delivered, by queue (0: none waiting)', ['queue'] as const, async (g) => {
      for (const d of (await stored())?.deliveries ?? []) g.set({ queue: d.queue }, d.oldestDueSeconds);
    }),
    deliveryDead: readGauge(registry, 'storecast_deliveries_dead', 'Deliveries that gave up (dead) in the last 7 days, by queue', ['queue'] as const, async (g) => {
      for (const d of (await stored())?.deliveries ?? []) g.set({ queue: d.queue }, d.dead);
    }),
    trainingRunning: readGauge(registry, 'storecast_training_running_seconds', 'How long the oldest model training or retraining still running has run (0: none)', [], async (g) => {
      const t = (await stored())?.training;
      if (t) g.set(t.runningSeconds);
    }),
    trainingLastSuccess: readGauge(registry, 'storecast_training_last_success_timestamp_seconds', 'When a model training or retraining last finished well (Unix time; 0: never)', [], async (g) => {
      const t = (await stored())?.training;
      if (t) g.set(t.lastSuccess);
    }),
    trainingLastFailure: readGauge(registry, 'storecast_training_last_failure_timestamp_seconds', 'When a model training or retraining last failed (Unix time; 0: never)', [], async (g) => {
      const t = (await stored())?.training;
      if (t) g.set(t.lastFailure);
    }),
    liveWmae: readGauge(registry, 'storecast_model_live_wmae', "Live accuracy (WMAE over scored weeks) of the active model and of seasonal naive on the same rows; lower is better", ['model'] as const, async (g) => {
      const a = (await stored())?.accuracy;
      if (a) {
        g.set({ model: 'active' }, a.active);
        g.set({ model: 'seasonal_naive' }, a.naive);
      }
    }),
    httpRequests: new Counter({
      name: 'storecast_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'method', 'status'] as const,
      registers: [registry],
    }),
    commandDuration: new Histogram({
      name: 'storecast_command_duration_seconds',
      help: 'Time to answer a command (query + forecast), by command and outcome',
      labelNames: ['command', 'platform', 'outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    renderDuration: new Histogram({
      name: 'storecast_chart_render_seconds',
      help: 'Time to render a chart to PNG',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    adapterUp: new Gauge({
      name: 'storecast_adapter_up',
      help: 'Whether a connection-holding adapter (Slack Socket Mode, Discord gateway) is connected (1) or not (0)',
      labelNames: ['adapter'] as const,
      registers: [registry],
    }),
    busy: new Counter({
      name: 'storecast_busy_total',
      help: 'Commands refused with "busy, try again" because the answer queue was full',
      labelNames: ['platform'] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'storecast_errors_total',
      help: 'Errors by kind (user, internal, delivery, platform)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
