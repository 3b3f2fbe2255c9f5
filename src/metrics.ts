import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics served on /metrics. One registry per app, so tests stay isolated. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
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
