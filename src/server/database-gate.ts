import type { MiddlewareHandler } from 'hono';
import { DatabaseUnavailableError, type DatabaseHealth } from '../db/health.ts';

/**
 * While the database is known to be away, requests are refused at once (503 + Retry-After, by
 * the error handler) instead of queueing behind a pool that cannot connect; a request in flight
 * when it goes away is answered the same way then, not when its query gives up. Paths in
 * `exempt` answer on their own: the probes, metrics, and the chat platforms, whose acks say
 * "database unavailable" in their own words.
 */
export function databaseGate(health: DatabaseHealth, exempt: (path: string) => boolean): MiddlewareHandler {
  return async (c, next) => {
    if (exempt(c.req.path)) return next();
    if (!health.up) throw new DatabaseUnavailableError();
    let cancel = () => {};
    const down = new Promise<'down'>((resolve) => {
      const off = health.onceDown(() => resolve('down'));
      cancel = () => void off();
    });
    try {
      // The abandoned handler runs on; its answer is dropped (ingest rows are idempotent).
      if ((await Promise.race([next().then(() => 'done' as const), down])) === 'down') throw new DatabaseUnavailableError();
    } finally {
      cancel();
    }
    // Hono's onError answered a thrown error: a connection error makes the health probe look now.
    if (c.error) health.report(c.error);
  };
}
