import type { Database } from '../db/client.ts';

/**
 * Answers that change only when data is imported (markdown impact, drivers of a region or the
 * chain: a regression over up to 680k store-weeks at 4,600 stores), kept until the next import
 * run. Every write of sales or features goes through an import (files, demo, the ingest API),
 * which adds an import_runs row, so the newest run is the data's version; each replica checks it
 * with one indexed query per answer.
 *
 * Two levels: this process's map, then the analytics_results table, which every replica reads,
 * so an answer computed once (by a replica asked first, or by the refresh after an import:
 * analytics/area-answers.ts) serves them all. A value must survive JSON (plain records, numbers,
 * strings, arrays; `undefined` for "no answer").
 */
const MAX_ENTRIES = 64;
const memos = new WeakMap<object, Map<string, { version: string; value: Promise<unknown> }>>();

export async function dataVersion(db: Pick<Database, 'query'>): Promise<string> {
  const [row] = await db.query<{ v: string | null }>(`SELECT max(coalesce(finished_at, started_at))::text || '/' || max(id)::text AS v FROM import_runs`);
  return row?.v ?? 'none';
}

/** The stored answer for `key` if it was computed on `version`; `{}` holds an undefined answer. */
export async function storedAnswer<T>(db: Pick<Database, 'query'>, key: string, version: string): Promise<{ value?: T } | undefined> {
  const [row] = await db.query<{ value: { value?: T } }>('SELECT value FROM analytics_results WHERE key = $1 AND data_version = $2', [key, version]);
  return row?.value;
}

/** Computes and stores the answer for `key` at `version` (replacing an older one); returns it. */
export async function computeAndStore<T>(db: Pick<Database, 'query'>, key: string, version: string, compute: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const value = await compute();
  const ms = Math.round(performance.now() - started);
  // The last writer wins: a replica finishing an older version's answer after a newer one was
  // stored only costs the next asker a recompute (answers are served on an exact version match).
  // Storing is a saving, not the answer: a read-only or failing write still answers.
  await db
    .query(
      `INSERT INTO analytics_results (key, data_version, value, compute_ms) VALUES ($1, $2, $3::jsonb, $4)
       ON CONFLICT (key) DO UPDATE SET data_version = excluded.data_version, value = excluded.value, compute_ms = excluded.compute_ms, computed_at = now()`,
      [key, version, JSON.stringify({ value }), ms],
    )
    .catch(() => {});
  return value;
}

export async function memoByData<T>(db: Database, key: string, compute: () => Promise<T>): Promise<T> {
  const version = await dataVersion(db);
  let memo = memos.get(db);
  if (!memo) memos.set(db, (memo = new Map()));
  const hit = memo.get(key);
  if (hit && hit.version === version) return hit.value as Promise<T>;
  const value = (async () => {
    const stored = await storedAnswer<T>(db, key, version);
    return stored ? (stored.value as T) : computeAndStore(db, key, version, compute);
  })();
  if (memo.size >= MAX_ENTRIES) memo.delete(memo.keys().next().value!);
  memo.set(key, { version, value });
  value.catch(() => memo.delete(key));
  return value;
}
