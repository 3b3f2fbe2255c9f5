import type { SqlSession } from '../db/client.ts';
import { STALE_TRAINING_MINUTES } from './registry.ts';

/**
 * What is training right now, since when, and roughly how long is left: what /model and the
 * forecasts answered meanwhile say instead of "no model". The estimate is the median duration
 * of the last ready trainings on this database; none yet: no estimate.
 */

export interface TrainingStatus {
  version: number;
  /** 'YYYY-MM-DD HH:MM' UTC. */
  since: string;
  minutesSoFar: number;
  /** Median minutes of the last ready trainings; undefined when none has finished on this database yet. */
  typicalMinutes?: number;
}

export async function trainingStatus(db: Pick<SqlSession, 'query'>): Promise<TrainingStatus | undefined> {
  const [row] = await db.query<{ version: number; since: string; elapsed: number | string; typical: number | string | null }>(
    `SELECT version, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS since, extract(epoch FROM now() - created_at) AS elapsed,
            (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at))
               FROM (SELECT finished_at, created_at FROM model_registry WHERE status = 'ready' AND finished_at IS NOT NULL ORDER BY version DESC LIMIT 5) r) AS typical
       FROM model_registry WHERE status = 'training' AND coalesce(heartbeat_at, created_at) > now() - make_interval(mins => $1)
      ORDER BY version DESC LIMIT 1`,
    [STALE_TRAINING_MINUTES],
  );
  if (!row) return undefined;
  const elapsed = Number(row.elapsed) / 60;
  const typical = row.typical === null ? undefined : Number(row.typical) / 60;
  return {
    version: Number(row.version),
    since: row.since,
    minutesSoFar: Math.floor(elapsed),
    ...(typical === undefined ? {} : { typicalMinutes: Math.max(1, Math.round(typical)) }),
  };
}

/** "model v3 has been training since 2026-12-06 14:02 UTC (4 min); about 3 min left" */
export function describeTraining(t: TrainingStatus): string {
  const left =
    t.typicalMinutes === undefined
      ? 'no earlier training here to estimate how long it takes'
      : t.minutesSoFar >= t.typicalMinutes
        ? `taking longer than the usual ${t.typicalMinutes} min`
        : `about ${t.typicalMinutes - t.minutesSoFar} min left`;
  return `model v${t.version} has been training since ${t.since} UTC (${t.minutesSoFar} min); ${left}`;
}
