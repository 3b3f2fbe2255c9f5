import type { Database } from '../db/client.ts';

/**
 * Answers that change only when data is imported (markdown impact, drivers of a region or the
 * chain: a regression over ~6,400 store-weeks), kept per database until the next import run.
 * Every write of sales or features goes through an import (files, demo, the ingest API), which
 * adds an import_runs row, so the newest run id is the data's version; each replica checks it
 * with one indexed query per answer.
 */
const MAX_ENTRIES = 64;
const memos = new WeakMap<object, Map<string, { version: string; value: Promise<unknown> }>>();

export async function dataVersion(db: Pick<Database, 'query'>): Promise<string> {
  const [row] = await db.query<{ v: string | null }>(`SELECT max(coalesce(finished_at, started_at))::text || '/' || max(id)::text AS v FROM import_runs`);
  return row?.v ?? 'none';
}

export async function memoByData<T>(db: Database, key: string, compute: () => Promise<T>): Promise<T> {
  const version = await dataVersion(db);
  let memo = memos.get(db);
  if (!memo) memos.set(db, (memo = new Map()));
  const hit = memo.get(key);
  if (hit && hit.version === version) return hit.value as Promise<T>;
  const value = compute();
  if (memo.size >= MAX_ENTRIES) memo.delete(memo.keys().next().value!);
  memo.set(key, { version, value });
  value.catch(() => memo.delete(key));
  return value;
}
