import { loadDemoData } from '../data/demo.ts';
import { loadDemoStock } from '../data/demo-stock.ts';
import { dataStats } from '../data/stats.ts';
import { changeOfReports, dataChanged, type DataChangedDeps } from '../data/changed.ts';
import type { Logger } from '../logger.ts';
import { backoffMs } from '../util/retry.ts';
import type { AppState } from './app.ts';

export interface DemoLoaderOptions {
  /** First wait after a failed load, doubling up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  /** A generated chain of this many stores instead of the demo's 45 (tests load a small one). */
  stores?: number;
}

/**
 * Loads the demo data into an empty database, once across replicas: the emptiness check and
 * the load run under one database lock, so a replica that waited finds the data in and skips.
 * It ends in the data-changed pipeline, like every write. A failed load is reported by /readyz
 * (phase `load-failed`) and retried with backoff.
 */
export async function loadDemoDataOnce(deps: DataChangedDeps & { logger: Logger }, state: AppState, options: DemoLoaderOptions = {}): Promise<void> {
  const { db, logger } = deps;
  const { baseDelayMs = 15_000, maxDelayMs = 600_000, signal, stores } = options;
  for (let attempt = 1; !signal?.aborted; attempt++) {
    try {
      await db.withLock('storecast:demo-data', async () => {
        if ((await dataStats(db)).storeWeekRows > 0) return;
        state.phase = 'loading-data';
        logger.info('database is empty: loading demo data (import real data with `storecast import train.csv ...`)');
        const started = performance.now();
        const reports = await loadDemoData(db, undefined, { stores });
        // Stock counts made from the sales just loaded (a few departments low).
        reports.push(await loadDemoStock(db));
        // Under the lock: the replica that loaded runs what follows new data, once.
        await dataChanged(deps, changeOfReports('demo', 'demo', reports));
        logger.info({ rows: reports.reduce((a, r) => a + r.accepted, 0), ms: Math.round(performance.now() - started) }, 'demo data loaded');
      });
      state.error = undefined;
      return;
    } catch (err) {
      const wait = backoffMs(attempt, baseDelayMs, maxDelayMs);
      state.phase = 'load-failed';
      state.error = { message: (err instanceof Error ? err.message : String(err)).slice(0, 300), retryAt: new Date(Date.now() + wait).toISOString(), attempts: attempt };
      logger.error({ err, attempt, retryInMs: wait }, 'demo data load failed; will retry');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  }
}
