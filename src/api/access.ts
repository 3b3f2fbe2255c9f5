import type { RouteConfig } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { requireScope } from '../auth/middleware.ts';
import type { Scope } from '../auth/tokens.ts';
import type { Database } from '../db/client.ts';
import { sameOriginJson } from '../server/same-origin.ts';

/**
 * Who may call a route, declared with the route and enforced from the declaration, so the
 * OpenAPI document, the middleware and the route x principal test cannot disagree:
 *  - `token`: an API token with `scope` (admin passes every scope);
 *  - `console`: the local web console — same-origin JSON only (no token; see same-origin.ts);
 *  - `public`: anyone; `why` says what keeps it safe (an unguessable link, no data).
 */
export type RouteAccess = { kind: 'token'; scope: Scope } | { kind: 'console' } | { kind: 'public'; why: string };

/** The OpenAPI extension that carries the access of an operation (read by tests and docs). */
export const ACCESS_EXTENSION = 'x-storecast-access';

export function accessLabel(access: RouteAccess): string {
  return access.kind === 'token' ? `token:${access.scope}` : access.kind;
}

export interface AccessDeps {
  db: Database;
  publicUrl?: string;
}

/**
 * A route with its access applied: `security` in the document, the enforcing middleware first
 * in the chain (before body limits and validation), the access named in an extension.
 */
export function secured<R extends RouteConfig>(deps: AccessDeps, access: RouteAccess, route: R): R {
  const guard: MiddlewareHandler[] =
    access.kind === 'token' ? [requireScope(deps.db, access.scope) as unknown as MiddlewareHandler] : access.kind === 'console' ? [sameOriginJson({ publicUrl: deps.publicUrl })] : [];
  const own = route.middleware === undefined ? [] : Array.isArray(route.middleware) ? route.middleware : [route.middleware];
  return {
    ...route,
    security: access.kind === 'token' ? [{ bearerToken: [] }] : [],
    [ACCESS_EXTENSION]: accessLabel(access),
    ...(access.kind === 'public' ? { description: [route.description, `Public: ${access.why}`].filter(Boolean).join('\n\n') } : {}),
    middleware: [...guard, ...own],
  };
}
