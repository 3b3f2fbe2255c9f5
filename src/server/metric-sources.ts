import type { Database } from '../db/client.ts';
import { liveAccuracy } from '../forecast/forecast-log.ts';
import type { MetricSources, StoredFigures } from '../metrics.ts';
import { STALE_TRAINING_MINUTES } from '../forecast/registry.ts';

/** Database figures are read at most this often, whatever the scrape interval or replica count. */
const STORED_TTL_MS = 15_000;
/** Live accuracy scans the forecast log: read less often. */
const ACCURACY_TTL_MS = 300_000;
/** A scrape never waits longer than this on the database. */
const STORED_BOUND_MS = 1_000;

const DELIVERIES = (table: string, queue: string) => `
  SELECT '${queue}' AS queue,
    count(*) FILTER (WHERE status IN ('pending', 'retry', 'in_progress') AND next_attempt_at <= now())::int AS backlog,
    coalesce(extract(epoch FROM now() - min(next_attempt_at) FILTER (WHERE status IN ('pending', 'retry', 'in_progress') AND next_attempt_at <= now())), 0)::float8 AS oldest,
    count(*) FILTER (WHERE status = 'dead' AND created_at > now() - interval '7 days')::int AS dead
  FROM ${table}`;

const TRAINING = `
  SELECT
    coalesce(extract(epoch FROM now() - least(
      (SELECT min(created_at) FROM model_registry WHERE status = 'training' AND coalesce(heartbeat_at, created_at) > now() - interval '${STALE_TRAINING_MINUTES} minutes'),
      (SELECT min(started_at) FROM model_retrains WHERE status = 'running' AND lease_until > now()))), 0)::float8 AS running,
    coalesce(extract(epoch FROM greatest(
      (SELECT max(finished_at) FROM model_registry WHERE status = 'ready'),
      (SELECT max(finished_at) FROM model_retrains WHERE status IN ('promoted', 'kept')))), 0)::float8 AS last_success,
    coalesce(extract(epoch FROM greatest(
      (SELECT max(coalesce(finished_at, created_at)) FROM model_registry WHERE status = 'failed'),
      (SELECT max(finished_at) FROM model_retrains WHERE status = 'failed'))), 0)::float8 AS last_failure`;

async function readAccuracy(db: Database): Promise<StoredFigures['accuracy']> {
  const [active] = await db.query<{ version: number; holiday_weight: string | null }>("SELECT version, hyperparameters->>'holidayWeight' AS holiday_weight FROM model_registry WHERE active");
  if (!active) return undefined;
  const { overall } = await liveAccuracy(db, active.version, { holidayWeight: Number(active.holiday_weight ?? 5) });
  return overall?.naive ? { active: overall.wmae, naive: overall.naive.wmae } : undefined;
}

async function readStored(db: Database, accuracy: () => Promise<StoredFigures['accuracy']>): Promise<StoredFigures> {
  const deliveries = await db.query<{ queue: 'webhook' | 'alert'; backlog: number; oldest: number; dead: number }>(`${DELIVERIES('webhook_deliveries', 'webhook')} UNION ALL ${DELIVERIES('alert_notifications', 'alert')}`);
  const [t] = await db.query<{ running: number; last_success: number; last_failure: number }>(TRAINING);
  return {
    deliveries: deliveries.map((d) => ({ queue: d.queue, backlog: d.backlog, oldestDueSeconds: d.oldest, dead: d.dead })),
    training: { runningSeconds: t!.running, lastSuccess: t!.last_success, lastFailure: t!.last_failure },
    accuracy: await accuracy(),
  };
}

/** Caches `read` for `ttlMs`; a failed or late read gives undefined (the scrape goes on without it). */
function cached<T>(read: () => Promise<T>, ttlMs: number, boundMs: number, health?: Database['health']): () => Promise<T | undefined> {
  let value: { at: number; promise: Promise<T | undefined> } | undefined;
  return () => {
    if (health && !health.up) return Promise.resolve(undefined);
    if (!value || Date.now() - value.at > ttlMs) {
      const promise = read().catch(() => undefined);
      value = { at: Date.now(), promise };
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), boundMs)));
    return Promise.race([value.promise, late]).finally(() => clearTimeout(timer));
  };
}

/** What /metrics reads at scrape time: this replica's state, and the database's shared figures. */
export function metricSources(db: Database, phase: () => string): MetricSources {
  const accuracy = cached(() => readAccuracy(db), ACCURACY_TTL_MS, STORED_BOUND_MS);
  return {
    ready: () => (phase() === 'ready' && db.health.up ? 1 : 0),
    databaseUp: () => (db.health.up ? 1 : 0),
    pool: () => (db.health.pool ? { ...db.health.pool, max: db.poolMax } : undefined),
    stored: cached(() => readStored(db, accuracy), STORED_TTL_MS, STORED_BOUND_MS, db.health),
  };
}
