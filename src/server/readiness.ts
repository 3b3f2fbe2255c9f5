import { dataStats, type DataStats } from '../data/stats.ts';
import type { Database } from '../db/client.ts';

/** Longest /readyz waits on the database: a probe that times out reads as "down", not "not ready". */
export const READY_BOUND_MS = 1_000;

/**
 * What /readyz needs from the database, or undefined when it is away or does not answer within
 * READY_BOUND_MS (the health probe is told, so it looks again now).
 */
export async function readyStats(db: Database): Promise<DataStats | undefined> {
  if (!db.health.up) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), READY_BOUND_MS)));
  const stats = dataStats(db).catch((err: unknown) => {
    db.health.report(err);
    return undefined;
  });
  try {
    return await Promise.race([stats, late]);
  } finally {
    clearTimeout(timer);
  }
}
