import type { MiddlewareHandler } from 'hono';
import type { Database } from '../db/client.ts';
import { hasScope, verifyToken, type ApiToken, type Scope } from './tokens.ts';

export type AuthVariables = { apiToken: ApiToken };

/**
 * Requires `Authorization: Bearer <token>` with one of `scopes` (admin always passes).
 * Missing or unknown token: 401 with WWW-Authenticate; known token without the scope: 403.
 */
export function requireScope(db: Database, ...scopes: Scope[]): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const token = m ? await verifyToken(db, m[1]!) : undefined;
    if (!token) {
      c.header('WWW-Authenticate', 'Bearer realm="storecast"');
      return c.json(
        { error: 'unauthorized', message: m ? 'Unknown or revoked API token.' : 'Send an API token: Authorization: Bearer <token> (create one with `storecast tokens create`).' },
        401,
      );
    }
    if (!scopes.some((s) => hasScope(token.scopes, s))) {
      return c.json({ error: 'forbidden', message: `This token's scopes (${token.scopes.join(', ')}) do not include ${scopes.join(' or ')}.` }, 403);
    }
    c.set('apiToken', token);
    await next();
  };
}
