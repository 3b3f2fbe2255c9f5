import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Database } from '../db/client.ts';
import { hasScope, verifyToken, type ApiToken, type TokenPermission } from './tokens.ts';

export type AuthVariables = { apiToken: ApiToken };

/**
 * Requires `Authorization: Bearer <token>` with one of `scopes` (admin always passes).
 * Missing or unknown token: 401 with WWW-Authenticate; known token without the scope: 403.
 * Refusals are thrown, so the app's one error handler gives them the one error shape.
 */
export function requireScope(db: Database, ...scopes: TokenPermission[]): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const token = m ? await verifyToken(db, m[1]!) : undefined;
    if (!token) {
      throw new HTTPException(401, {
        message: m ? 'Unknown or revoked API token.' : 'Send an API token: Authorization: Bearer <token> (create one with `storecast tokens create`).',
        res: new Response(null, { headers: { 'WWW-Authenticate': 'Bearer realm="storecast"' } }),
      });
    }
    // Known before the scope check, so the audit row of a refused call names who was refused.
    c.set('apiToken', token);
    if (!scopes.some((s) => hasScope(token.scopes, s))) {
      throw new HTTPException(403, { message: `This token's scopes (${token.scopes.join(', ')}) do not include ${scopes.join(' or ')}.` });
    }
    await next();
  };
}
