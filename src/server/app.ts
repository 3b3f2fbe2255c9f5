import { readFileSync } from 'node:fs';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { busyReply, splitCommandLine } from '../chat/dispatch.ts';
import { usage } from '../chat/parse.ts';
import { contextLine, tableAsCsv } from '../chat/reply.ts';
import { dataStats } from '../data/stats.ts';
import type { Services } from '../services.ts';
import type { ChartStore } from '../../charts/store.ts';
import { discordRoutes, type DiscordAdapterOptions } from '../adapters/discord/index.ts';
import { slackRoutes, type SlackAdapterOptions } from '../adapters/slack/index.ts';
import { requireScope } from '../auth/middleware.ts';
import { webhookApiRoutes, type WebhookApiOptions } from '../webhooks/index.ts';
import { errorResponse, jsonErrorHandler } from './errors.ts';
import { sameOriginJson } from './same-origin.ts';
import type { AdapterStatus } from './supervisor.ts';

export interface AppState {
  /** Set once demo data (if any) is loaded and the server can answer from data. */
  phase: 'starting' | 'loading-data' | 'load-failed' | 'ready';
  /** The last failed demo-data load, while it waits for its retry. */
  error?: { message: string; retryAt: string; attempts: number };
  /** Connection-holding adapters and their states (Slack Socket Mode, Discord gateway). */
  adapters?: () => Record<string, AdapterStatus>;
}

/** Adapter settings tests tune (retry waits); production uses the defaults. */
export interface AppOptions {
  slack?: SlackAdapterOptions;
  discord?: DiscordAdapterOptions;
  webhooks?: WebhookApiOptions;
}

const consoleHtml = readFileSync(new URL('./console.html', import.meta.url), 'utf8');

const commandBody = z.union([
  z.object({ command: z.string().min(1).max(2000) }),
  z.object({ name: z.string().min(1).max(64), text: z.string().max(2000).optional(), options: z.record(z.string(), z.unknown()).optional() }),
]);

/**
 * The whole HTTP surface, composed once: health, metrics, the console and its API, the
 * webhook and ingest API, and the Slack and Discord endpoints when configured. Tests and the
 * server use this same app, so a route that shadows another shows up in tests.
 */
export function createApp(services: Services, state: AppState = { phase: 'ready' }, options: AppOptions = {}): { app: Hono } {
  const app = new Hono();
  const { metrics, logger, charts } = services;

  app.use('*', async (c, next) => {
    await next();
    metrics.httpRequests.inc({ route: c.req.routePath, method: c.req.method, status: String(c.res.status) });
  });

  app.onError(jsonErrorHandler(logger, metrics));

  // Up, whatever a platform is doing; each adapter's own state is shown beside.
  app.get('/healthz', (c) => c.json({ status: 'ok', ...(state.adapters ? { adapters: state.adapters() } : {}) }));

  app.get('/readyz', async (c) => {
    if (state.phase !== 'ready') return c.json({ status: state.phase, ...(state.error ? { error: state.error } : {}) }, 503);
    const stats = await dataStats(services.db);
    if (stats.storeWeekRows === 0) return c.json({ status: 'no-data', hint: 'import data with `storecast import FILE...`' }, 503);
    return c.json({ status: 'ready', data: { stores: stats.stores, salesRows: stats.salesRows, lastWeek: stats.lastWeek } });
  });

  // Metrics name commands, stores and error rates: not for whoever reaches the port.
  app.get('/metrics', requireScope(services.db, 'metrics'), async (c) => {
    c.header('Content-Type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });

  app.get('/', (c) => c.html(consoleHtml));

  const api = new Hono();
  api.get('/commands', (c) =>
    c.json({
      commands: [...services.registry.values()].map((cmd) => ({ name: cmd.name, description: cmd.description, usage: usage(cmd), examples: cmd.examples })),
    }),
  );

  api.post('/commands', sameOriginJson({ publicUrl: services.config.publicUrl }), bodyLimit({ maxSize: 16 * 1024, onError: (c) => errorResponse(c, 413, 'Request body too large (16 KB max).') }), async (c) => {
    const parsed = commandBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      return errorResponse(c, 400, 'Send JSON like {"command": "/forecast store 5 week 12"}.');
    }
    const input = 'command' in parsed.data ? splitCommandLine(parsed.data.command) : parsed.data;
    if (services.busy('web')) {
      c.header('Retry-After', '60');
      return errorResponse(c, 503, busyReply().summary, { code: 'busy' });
    }
    const outcome = await services.run(input, { platform: 'web', roles: [] });
    return respondWithOutcome(c, outcome, charts);
  });

  // The one chart route: console replies and weekly summaries posted by link.
  api.get('/charts/:file{[A-Za-z0-9_-]+\\.png}', async (c) => {
    const png = await charts.png(c.req.param('file').replace(/\.png$/, ''));
    if (!png) return errorResponse(c, 404, 'This chart has expired; run the command again.');
    return c.body(new Uint8Array(png), 200, { 'Content-Type': 'image/png', 'Cache-Control': 'private, max-age=86400, immutable' });
  });

  app.route('/api/v1', api);
  mountIntegrations(app, services, options);
  return { app };
}

/** Platform adapters and integration APIs; Slack only when configured for HTTP. */
function mountIntegrations(app: Hono, services: Services, options: AppOptions): void {
  const { config, logger } = services;
  app.route('/api/v1', webhookApiRoutes(services, options.webhooks));
  if (config.slack.signingSecret && config.slack.botToken && !config.slack.appToken) {
    app.route('/slack', slackRoutes(services, options.slack));
    logger.info('Slack: HTTP events on /slack/events');
  }
  if (config.discord.mode === 'http') {
    // Mounted even when unconfigured: it then answers 503 naming DISCORD_PUBLIC_KEY.
    app.route('/discord', discordRoutes(services, options.discord));
    if (config.discord.publicKey) logger.info('Discord: interactions on /discord/interactions');
  }
}

async function respondWithOutcome(c: Context, outcome: Awaited<ReturnType<Services['run']>>, charts: ChartStore) {
  const { reply } = outcome;
  const image = reply.chart ? `/api/v1/charts/${await charts.putSpec(reply.chart.spec)}.png` : undefined;
  const csv = reply.table ? tableAsCsv(reply.table) : undefined;
  const body = { kind: outcome.kind, reply, image, csv, footer: contextLine(reply), ...(outcome.kind === 'ok' ? {} : { error: outcome.error }) };
  const status = outcome.kind === 'ok' ? 200 : outcome.kind === 'user-error' ? 400 : 500;
  return c.json(body, status);
}
