import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { newReference } from '../chat/dispatch.ts';
import { UserError } from '../chat/errors.ts';
import { DatabaseUnavailableError, isDatabaseUnavailable, RETRY_AFTER_SECONDS, type DatabaseHealth } from '../db/health.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';

/** Machine-readable codes of refusals, by status, for refusals that carry no code of their own. */
const CODES: Partial<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'unavailable',
};

/** The one JSON error shape of the HTTP API: `{ error: { code, message, ref? } }`. */
export function errorResponse<S extends ContentfulStatusCode>(c: Context, status: S, message: string, extra: { code?: string; ref?: string } = {}) {
  return c.json({ error: { code: extra.code ?? CODES[status] ?? 'error', message, ...(extra.ref ? { ref: extra.ref } : {}) } }, status);
}

/**
 * Refusals thrown as HTTPException (middleware) answer with their status and message;
 * anything else is an internal error: a reference for the user, the details in the log.
 */
export function jsonErrorHandler(logger: Logger, metrics?: Pick<Metrics, 'errors'>, health?: Pick<DatabaseHealth, 'report'>): ErrorHandler {
  return (err, c) => {
    // A problem the caller can fix, found below the route (an internal webhook address).
    if (err instanceof UserError) return errorResponse(c, 400, err.message, { code: err.details.code?.toLowerCase() ?? 'bad_request' });
    if (err instanceof HTTPException) {
      const res = err.getResponse();
      for (const [k, v] of res.headers) if (k.toLowerCase() !== 'content-type' && k.toLowerCase() !== 'content-length') c.header(k, v);
      // Hono's JSON validator says this of a body that does not parse.
      const code = err.status === 400 && /Malformed JSON/i.test(err.message) ? 'bad_json' : undefined;
      return errorResponse(c, err.status as ContentfulStatusCode, err.message || res.statusText, { code });
    }
    // The audit middleware of /api/v1 names the request first, so its row carries this reference.
    const ref = (c.var as { ref?: string }).ref ?? newReference();
    // Nothing is wrong with the request: the database is away (restart, failover) and comes back.
    if (isDatabaseUnavailable(err)) {
      // The probe looks now, so requests still waiting on the pool are answered 503 too (database-gate.ts).
      health?.report(err);
      // Refusals while the outage is known are not logged one by one: server.ts logs the outage.
      if (!(err instanceof DatabaseUnavailableError)) logger.warn({ err: String(err), ref, path: c.req.path }, 'request failed: database unavailable');
      metrics?.errors.inc({ kind: 'database' });
      c.header('Retry-After', String(RETRY_AFTER_SECONDS));
      return errorResponse(c, 503, 'The database is unavailable; try again shortly.', { code: 'database_unavailable', ref });
    }
    logger.error({ err, ref, path: c.req.path }, 'request failed');
    metrics?.errors.inc({ kind: 'internal' });
    return errorResponse(c, 500, `Something went wrong (ref ${ref}).`, { code: 'internal', ref });
  };
}
