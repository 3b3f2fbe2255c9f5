import type { RouteConfig } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { AccessDenied } from '../chat/access.ts';
import { requireScope } from '../auth/middleware.ts';
import type { TokenPermission } from '../auth/tokens.ts';
import type { Database } from '../db/client.ts';
import { resolveAccess, type Access, type AccessMode, type AccessSettings } from '../access/access.ts';
import type { Scope } from '../scope.ts';
import { consoleSession, requireConsoleSignIn } from '../server/console-session.ts';
import { sameOriginJson } from '../server/same-origin.ts';
import { ErrorSchema } from './schemas.ts';

/**
 * Who may call a route, declared with the route and enforced from the declaration, so the
 * OpenAPI document, the middleware and the route x principal test cannot disagree:
 *  - `token`: an API token with `scope` (admin passes every scope);
 *  - `console`: the web console — same-origin JSON only (no token; see same-origin.ts), and in
 *    restricted mode a signed-in console session (server/console-session.ts), else 401;
 *  - `console-or-token`: the console as above, or a request with an API token of `scope`
 *    (integrations run commands as the token, within the token's grants);
 *  - `public`: anyone; `why` says what keeps it safe (an unguessable link, no data).
 */
export type RouteAccess = { kind: 'token'; scope: TokenPermission } | { kind: 'console' } | { kind: 'console-or-token'; scope: TokenPermission } | { kind: 'public'; why: string };

/** The OpenAPI extension that carries the access of an operation (read by tests and docs). */
export const ACCESS_EXTENSION = 'x-storecast-access';

export function accessLabel(access: RouteAccess): string {
  return access.kind === 'token' ? `token:${access.scope}` : access.kind === 'console-or-token' ? `console|token:${access.scope}` : access.kind;
}

export interface AccessDeps {
  db: Database;
  publicUrl?: string;
  /** Whether console routes need a session: restricted unless told open. */
  mode?: AccessMode;
}

/** Console routes answer 401 without a session in restricted mode; documented on each. */
const SIGN_IN_RESPONSE = {
  description: 'Restricted mode and no console session: sign in with a link from /console in Slack or Discord.',
  content: { 'application/json': { schema: ErrorSchema } },
};

/**
 * A route with its access applied: `security` in the document, the enforcing middleware first
 * in the chain (before body limits and validation), the access named in an extension.
 */
function guardOf(deps: AccessDeps, access: RouteAccess): MiddlewareHandler[] {
  const token = (scope: TokenPermission) => requireScope(deps.db, scope) as unknown as MiddlewareHandler;
  const console = [sameOriginJson({ publicUrl: deps.publicUrl }), consoleSession(deps.db) as MiddlewareHandler, requireConsoleSignIn(deps.mode ?? 'restricted') as MiddlewareHandler];
  switch (access.kind) {
    case 'token':
      return [token(access.scope)];
    case 'console':
      return console;
    case 'console-or-token': {
      // A request that brings a token is judged as a token, never as the console.
      const byToken = token(access.scope);
      const chain = async (c: Parameters<MiddlewareHandler>[0], next: Parameters<MiddlewareHandler>[1], i: number): Promise<void> => {
        if (i === console.length) return next();
        await console[i]!(c, () => chain(c, next, i + 1));
      };
      return [async (c, next) => (c.req.header('authorization') ? byToken(c, next) : chain(c, next, 0))];
    }
    case 'public':
      return [];
  }
}

export function secured<R extends RouteConfig>(deps: AccessDeps, access: RouteAccess, route: R): R {
  const guard = guardOf(deps, access);
  const own = route.middleware === undefined ? [] : Array.isArray(route.middleware) ? route.middleware : [route.middleware];
  return {
    ...route,
    security: access.kind === 'token' ? [{ bearerToken: [] }] : access.kind === 'console-or-token' ? [{ bearerToken: [] }, {}] : [],
    [ACCESS_EXTENSION]: accessLabel(access),
    ...(access.kind === 'public' ? { description: [route.description, `Public: ${access.why}`].filter(Boolean).join('\n\n') } : {}),
    ...(access.kind === 'console' || access.kind === 'console-or-token' ? { responses: { 401: SIGN_IN_RESPONSE, ...route.responses } } : {}),
    middleware: [...guard, ...own],
  };
}

/** The access of an API token: its grants, resolved as the chat check resolves an asker's. */
export function tokenAccess(db: Database, settings: AccessSettings, tokenId: string): Promise<Access> {
  return resolveAccess(db, settings, { platform: 'api', roles: [], tokenId });
}

/**
 * Of `items`, those whose data `access` may see, for list routes (alerts, subscriptions): as in
 * chat, a token learns nothing about work set up on stores it may not see.
 */
export async function visibleTo<T>(access: Access, items: readonly T[], scopeOf: (item: T) => Scope): Promise<T[]> {
  const out: T[] = [];
  for (const item of items) if (await access.covers('viewer', scopeOf(item))) out.push(item);
  return out;
}

/** Runs a creation whose access refusal (the delivery decision) answers 403, not 400. */
export async function refusedAs403<T>(create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (err) {
    if (err instanceof AccessDenied) throw new HTTPException(403, { message: err.message });
    throw err;
  }
}
