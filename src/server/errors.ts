import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { newReference } from '../chat/dispatch.ts';
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
export function errorResponse(c: Context, status: ContentfulStatusCode, message: string, extra: { code?: string; ref?: string } = {}) {
  return c.json({ error: { code: extra.code ?? CODES[status] ?? 'error', message, ...(extra.ref ? { ref: extra.ref } : {}) } }, status);
}

/**
 * Refusals thrown as HTTPException (middleware) answer with their status and message;
 * anything else is an internal error: a reference for the user, the details in the log.
 */
export function jsonErrorHandler(logger: Logger, metrics?: Pick<Metrics, 'errors'>): ErrorHandler {
  return (err, c) => {
    if (err instanceof HTTPException) {
      const res = err.getResponse();
      for (const [k, v] of res.headers) if (k.toLowerCase() !== 'content-type' && k.toLowerCase() !== 'content-length') c.header(k, v);
      return errorResponse(c, err.status as ContentfulStatusCode, err.message || res.statusText);
    }
    const ref = newReference();
    logger.error({ err, ref, path: c.req.path }, 'request failed');
    metrics?.errors.inc({ kind: 'internal' });
    return errorResponse(c, 500, `Something went wrong (ref ${ref}).`, { code: 'internal', ref });
  };
}
