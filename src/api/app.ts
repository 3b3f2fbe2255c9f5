import { OpenAPIHono } from '@hono/zod-openapi';
import { errorResponse, jsonErrorHandler } from '../server/errors.ts';
import type { Services } from '../services.ts';
import { resolveSecretKey } from '../webhooks/crypto.ts';
import type { ApiApp, RegisterRoutes } from './deps.ts';
import { registerChartRoutes } from './routes/charts.ts';
import { registerCommandRoutes } from './routes/commands.ts';
import { registerDocRoutes } from './routes/docs.ts';
import { registerSalesRoutes } from './routes/sales.ts';
import { registerSessionRoutes } from './routes/session.ts';
import { registerSubscriptionRoutes } from './routes/subscriptions.ts';

export interface ApiOptions {
  /** Largest accepted request body of POST /sales, bytes (default 10 MiB). */
  maxIngestBytes?: number;
}

export const DEFAULT_MAX_INGEST_BYTES = 10 * 1024 * 1024;

/** The one route table of /api/v1: a route is in the API, its document and its tests only through this list. */
export const API_ROUTES: readonly RegisterRoutes[] = [registerCommandRoutes, registerSessionRoutes, registerChartRoutes, registerSalesRoutes, registerSubscriptionRoutes, registerDocRoutes];

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
  app.onError(jsonErrorHandler(services.logger, services.metrics));
  const deps = { services, secretKey: resolveSecretKey(services.config, services.logger), maxIngestBytes: options.maxIngestBytes ?? DEFAULT_MAX_INGEST_BYTES };
  for (const register of API_ROUTES) register(app, deps);
  return app;
}
