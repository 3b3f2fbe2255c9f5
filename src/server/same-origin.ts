import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';

/** Browser fetch metadata values that mean the request was started by this origin or by the user. */
const OWN_SITES = new Set(['same-origin', 'none']);

/** Throws 403 when a browser says another site started the request (Sec-Fetch-Site, Origin). */
function refuseOtherSites(c: Context, publicOrigin: string | undefined): void {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && !OWN_SITES.has(site)) {
    throw new HTTPException(403, { message: 'Cross-site requests are refused: open the console from this server\'s own address.' });
  }
  const origin = c.req.header('origin');
  if (origin !== undefined && origin !== new URL(c.req.url).origin && origin !== publicOrigin) {
    throw new HTTPException(403, { message: `Requests from ${origin.slice(0, 100)} are refused: open the console from this server's own address.` });
  }
}

/** Requests the console page makes that change state without a JSON body (sign out). */
export function sameOrigin(options: { publicUrl?: string } = {}): MiddlewareHandler {
  const publicOrigin = options.publicUrl ? new URL(options.publicUrl).origin : undefined;
  return async (c, next) => {
    refuseOtherSites(c, publicOrigin);
    await next();
  };
}

/**
 * For routes a browser page calls without a token (the console): JSON bodies only, and no
 * request started by another site. A form or `text/plain` POST from any page the operator
 * opens would otherwise run commands; JSON from another origin needs a CORS preflight we never
 * grant, and Origin / Sec-Fetch-Site refuse what a browser sends anyway. A GET has no body to
 * check; another site cannot read its answer (no CORS).
 */
export function sameOriginJson(options: { publicUrl?: string } = {}): MiddlewareHandler {
  const publicOrigin = options.publicUrl ? new URL(options.publicUrl).origin : undefined;
  return async (c, next) => {
    refuseOtherSites(c, publicOrigin);
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && type !== 'application/json') {
      throw new HTTPException(415, { message: 'Send Content-Type: application/json, e.g. {"command": "/forecast store 5"}.' });
    }
    await next();
  };
}
