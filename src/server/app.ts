import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { createApiApp, type ApiOptions } from '../api/app.ts';
import { jsonErrorHandler } from './errors.ts';
import { signInPage } from './console-pages.ts';
import { consoleSession, consoleSessionRoutes } from './console-session.ts';
import type { Services } from '../services.ts';
import { discordRoutes, type DiscordAdapterOptions } from '../adapters/discord/index.ts';
import { slackRoutes, type SlackAdapterOptions } from '../adapters/slack/index.ts';
import { requireScope } from '../auth/middleware.ts';
import type { AdapterStatus } from './supervisor.ts';
import { databaseGate } from './database-gate.ts';
import { readyStats } from './readiness.ts';
import { metricSources } from './metric-sources.ts';
import { RETRY_AFTER_SECONDS } from '../db/health.ts';

export interface AppState {
  /** Set once demo data (if any) is loaded and the server can answer from data. */
  /** `stopping`: SIGTERM came; still answering while load balancers route away (STORECAST_DRAIN_SECONDS). */
  phase: 'starting' | 'loading-data' | 'load-failed' | 'ready' | 'stopping';
  /** The last failed demo-data load, while it waits for its retry. */
  error?: { message: string; retryAt: string; attempts: number };
  /** Connection-holding adapters and their states (Slack Socket Mode, Discord gateway). */
  adapters?: () => Record<string, AdapterStatus>;
}

/** Adapter settings tests tune (retry waits); production uses the defaults. */
export interface AppOptions {
  slack?: SlackAdapterOptions;
  discord?: DiscordAdapterOptions;
  api?: ApiOptions;
}

/** Answered whatever the database does (database-gate.ts). */
const UNGATED = /^\/(healthz|readyz|metrics|slack|discord)(\/|$)/;

const consoleHtml = readFileSync(new URL('./console.html', import.meta.url), 'utf8');

/** The console's inline script, allowed by its hash: no other inline script runs on any page. */
const CONSOLE_SCRIPTS = [...consoleHtml.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);

/**
 * Security headers on every answer (the HTML ones are what they are for: the console, its
 * sign-in pages, the API reference). Scripts come from this origin (Swagger UI, docs/init.js)
 * or are the console's own inline script by hash; styles may be inline (the pages' <style>
 * blocks and Swagger UI's style attributes; no script can ride on them); images from here or
 * data: (charts); nothing may frame a page. No HSTS (TLS is the proxy's to declare) and no
 * Cross-Origin-Resource-Policy (chat clients show chart links from another origin).
 */
export const SECURITY_HEADERS = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'", ...CONSOLE_SCRIPTS],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    fontSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  referrerPolicy: 'no-referrer',
  xFrameOptions: 'DENY',
  strictTransportSecurity: false,
  crossOriginResourcePolicy: false,
});

/**
 * The whole HTTP surface, composed once: health, metrics, the console and its API, the
 * webhook and ingest API, and the Slack and Discord endpoints when configured. Tests and the
 * server use this same app, so a route that shadows another shows up in tests.
 */
export function createApp(services: Services, state: AppState = { phase: 'ready' }, options: AppOptions = {}): { app: Hono } {
  const app = new Hono();
  const { metrics, logger } = services;

  metrics.observe(metricSources(services.db, () => state.phase));
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    metrics.httpRequests.inc({ route: c.req.routePath, method: c.req.method, status: String(c.res.status) });
    metrics.httpDuration.observe({ route: c.req.routePath, method: c.req.method }, (performance.now() - started) / 1000);
  });

  app.onError(jsonErrorHandler(logger, metrics, services.db.health));
  app.use('*', SECURITY_HEADERS);
  app.use('*', databaseGate(services.db.health, (path) => UNGATED.test(path)));

  // Up, whatever a platform is doing; each adapter's own state is shown beside.
  app.get('/healthz', (c) => c.json({ status: 'ok', ...(state.adapters ? { adapters: state.adapters() } : {}) }));

  // Answers within a second either way: a load balancer's probe reads "not ready", never a timeout.
  app.get('/readyz', async (c) => {
    if (state.phase !== 'ready') return c.json({ status: state.phase, ...(state.error ? { error: state.error } : {}) }, 503);
    const stats = await readyStats(services.db);
    if (!stats) return c.json({ status: 'database-unavailable', since: services.db.health.since.toISOString() }, 503, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
    if (stats.storeWeekRows === 0) return c.json({ status: 'no-data', hint: 'import data with `storecast import FILE...`' }, 503);
    return c.json({ status: 'ready', data: { stores: stats.stores, salesRows: stats.salesRows, lastWeek: stats.lastWeek } });
  });

  // Metrics name commands, stores and error rates: not for whoever reaches the port.
  app.get('/metrics', requireScope(services.db, 'metrics'), async (c) => {
    c.header('Content-Type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });

  // The console, or in restricted mode without a session the page that says how to sign in.
  app.get('/', consoleSession(services.db), (c) => {
    c.header('Cache-Control', 'no-store');
    if (services.config.access.mode === 'restricted' && !c.get('consoleSession')) return c.html(signInPage());
    return c.html(consoleHtml);
  });
  app.route('/console', consoleSessionRoutes(services));

  app.route('/api/v1', createApiApp(services, options.api));
  mountIntegrations(app, services, options);
  return { app };
}

/** Platform adapters; Slack only when configured for HTTP. */
function mountIntegrations(app: Hono, services: Services, options: AppOptions): void {
  const { config, logger } = services;
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
