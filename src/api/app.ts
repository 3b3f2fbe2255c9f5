import { OpenAPIHono } from '@hono/zod-openapi';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createHash } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { createRateLimit } from '../access/rate-limit.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { SESSION_COOKIE } from '../server/console-session.ts';
import { outcomeOfStatus } from '../audit/log.ts';
import { newReference } from '../chat/dispatch.ts';
import { errorResponse, jsonErrorHandler } from '../server/errors.ts';
import type { Services } from '../services.ts';
import { clientAddress, type TrustProxy } from '../net/client-address.ts';
import { resolveSecretKey } from '../delivery/crypto.ts';
import type { ApiApp, RegisterRoutes } from './deps.ts';
import { registerAccessRoutes } from './routes/access.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { registerCampaignRoutes } from './routes/campaigns.ts';
import { registerChartRoutes } from './routes/charts.ts';
import { registerCommandRoutes } from './routes/commands.ts';
import { registerModelRoutes } from './routes/models.ts';
import { registerDocRoutes } from './routes/docs.ts';
import { registerSalesRoutes } from './routes/sales.ts';
import { registerStockRoutes } from './routes/stock.ts';
import { registerAlertRoutes } from './routes/alerts.ts';
import { registerSessionRoutes } from './routes/session.ts';
import { registerSubscriptionRoutes } from './routes/subscriptions.ts';
import { registerTokenRoutes } from './routes/tokens.ts';

export interface ApiOptions {
  /** Largest accepted request body of POST /sales, bytes (default 10 MiB). */
  maxIngestBytes?: number;
}

export const DEFAULT_MAX_INGEST_BYTES = 10 * 1024 * 1024;

/** The one route table of /api/v1: a route is in the API, its document and its tests only through this list. */
export const API_ROUTES: readonly RegisterRoutes[] = [registerCommandRoutes, registerSessionRoutes, registerChartRoutes, registerSalesRoutes, registerSubscriptionRoutes, registerAccessRoutes, registerAuditRoutes, registerDocRoutes, registerTokenRoutes, registerStockRoutes, registerAlertRoutes, registerCampaignRoutes, registerModelRoutes];

/**
 * /api/v1: one OpenAPIHono app, one validation hook, one error shape
 * `{ error: { code, message, ref? } }`, security declared with each route (api/access.ts).
 */
export function createApiApp(services: Services, options: ApiOptions = {}): ApiApp {
  const app: ApiApp = new OpenAPIHono({
    // zod messages never include input values, so a secret URL cannot leak through them.
    defaultHook: (result, c) => {
      if (result.success) return;
      const message = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      return errorResponse(c, 400, message, { code: 'invalid' });
    },
  });
  app.onError(jsonErrorHandler(services.logger, services.metrics, services.db.health));
  app.use('*', auditCalls(services));
  app.use('*', limitCalls(services.config, services.logger));
  const deps = { services, secretKey: resolveSecretKey(services.config, services.logger), maxIngestBytes: options.maxIngestBytes ?? DEFAULT_MAX_INGEST_BYTES };
  for (const register of API_ROUTES) register(app, deps);
  return app;
}

/**
 * The client's address, a valid IP or undefined: the socket's peer, or what the proxies
 * STORECAST_TRUST_PROXY trusts say in X-Forwarded-For (src/net/client-address.ts).
 */
export function requestClient(c: Context, trust: TrustProxy): string | undefined {
  let socket: string | undefined;
  try {
    socket = getConnInfo(c).remote.address;
  } catch {
    socket = undefined; // no socket: app.request() in tests, or another runtime
  }
  return clientAddress(socket, c.req.header('x-forwarded-for'), trust);
}

/**
 * Who a call counts against, before any route authenticates it: the presented token (so one
 * token is one budget, whoever holds it), the console session cookie, else the client address.
 * Hashed: the limiter's keys are not credentials.
 */
function callerKey(c: Context, client: string | undefined): { key: string; credential: boolean } {
  const digest = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 22);
  const bearer = c.req.header('authorization');
  if (bearer) return { key: `bearer:${digest(bearer)}`, credential: true };
  const session = getCookie(c, SESSION_COOKIE);
  if (session) return { key: `session:${digest(session)}`, credential: true };
  return { key: `client:${client ?? 'unknown'}`, credential: false };
}

/**
 * Every /api/v1 route under one per-principal limit (STORECAST_API_RATE_LIMIT requests a minute,
 * per replica), before authentication, validation or any query: the heavy routes (forecasts,
 * models' live accuracy) included. A credential that fails (401) also counts against its client
 * address, and a client past that limit is refused whatever it presents next, so guessing tokens
 * is as limited as anonymous calls are. Behind a proxy that needs STORECAST_TRUST_PROXY, or every
 * caller is the proxy's address: said once in the log, as express-rate-limit does.
 */
function limitCalls(config: Pick<Config, 'apiRateLimitPerMinute' | 'trustProxy'>, logger: Pick<Logger, 'warn'>): MiddlewareHandler {
  const limit = createRateLimit(config.apiRateLimitPerMinute);
  let warned = false;
  const refuse = (c: Context, wait: number) => {
    c.header('Retry-After', String(wait));
    return errorResponse(c, 429, `Rate limit: more than ${config.apiRateLimitPerMinute} requests a minute. Try again in ${wait} s.`);
  };
  return async (c, next) => {
    if (!warned && config.trustProxy.kind === 'none' && c.req.header('x-forwarded-for')) {
      warned = true;
      logger.warn('a request came through a proxy (X-Forwarded-For) but STORECAST_TRUST_PROXY is unset: every caller counts as the proxy\'s address in the audit log and the API rate limit. Set it to the proxies in front (a hop count or their networks).');
    }
    const client = requestClient(c, config.trustProxy);
    const { key, credential } = callerKey(c, client);
    const failures = `failed-auth:${client ?? 'unknown'}`;
    const verdict = credential ? await limit.check(failures) : { ok: true as const };
    const taken = verdict.ok ? await limit.take(key) : verdict;
    if (!taken.ok) return refuse(c, taken.retryAfterSeconds);
    await next();
    if (credential && c.res.status === 401) await limit.take(failures);
  };
}

/**
 * One audit row per /api/v1 call, after the response: method, route pattern and status, the
 * token's principal once authenticated, the client address. Never the query string (it may
 * carry a token) nor the body (webhook URLs). The reference is the one a 500 shows (errors.ts).
 */
function auditCalls(services: Pick<Services, 'audit' | 'config'>): MiddlewareHandler<{ Variables: { apiToken?: { id: string }; consoleSession?: { principal: string }; ref?: string } }> {
  return async (c, next) => {
    const started = performance.now();
    const ref = newReference();
    c.set('ref', ref);
    try {
      await next();
    } finally {
      const token = c.get('apiToken');
      const status = c.res.status;
      await services.audit({
        // A console route resolved its session (api/access.ts) before this runs on the way out.
        principal: token ? `token:${token.id}` : (c.get('consoleSession')?.principal ?? 'anonymous'),
        platform: 'api',
        method: c.req.method,
        route: c.req.routePath,
        status,
        outcome: outcomeOfStatus(status),
        latencyMs: performance.now() - started,
        ref,
        client: requestClient(c, services.config.trustProxy),
      });
    }
  };
}
