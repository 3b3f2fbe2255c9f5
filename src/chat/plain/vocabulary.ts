import type { Database } from '../../db/client.ts';
import type { Vocabulary } from './read.ts';

/** Names change with imports, not per question: one read a minute per database is plenty. */
const TTL_MS = 60_000;
const cache = new WeakMap<Database, { at: number; vocabulary: Promise<Vocabulary> }>();

async function load(db: Database, now: Date): Promise<Vocabulary> {
  const [regions, departments, campaigns, last] = await Promise.all([
    db.query<{ region: string }>(`SELECT DISTINCT region FROM stores WHERE region IS NOT NULL AND region <> '' ORDER BY region`),
    db.query<{ id: number; name: string }>(`SELECT dept_id AS id, name FROM departments WHERE name IS NOT NULL AND name <> '' ORDER BY dept_id`),
    db.query<{ name: string }>(`SELECT name FROM campaigns ORDER BY name`),
    db.query<{ week: string | null }>(`SELECT max(week)::text AS week FROM store_week_sales`),
  ]);
  return {
    regions: regions.map((r) => r.region),
    departments: departments.map((d) => ({ id: Number(d.id), name: d.name })),
    campaigns: campaigns.map((c) => c.name),
    asOf: last[0]?.week ?? now.toISOString().slice(0, 10),
  };
}

/**
 * The chain's regions, department names, campaigns and last week, for reading questions.
 * The names help a reading, nothing depends on them: when the database cannot answer, the
 * question is read without them (and its command then meets the database's own refusal).
 */
export async function vocabularyOf(db: Database, now: Date = new Date()): Promise<Vocabulary> {
  const hit = cache.get(db);
  if (hit && now.getTime() - hit.at < TTL_MS) return hit.vocabulary;
  const vocabulary = load(db, now).catch(() => {
    cache.delete(db);
    return { regions: [], departments: [], campaigns: [], asOf: now.toISOString().slice(0, 10) };
  });
  cache.set(db, { at: now.getTime(), vocabulary });
  return vocabulary;
}

/** Forget the cached names (after an import or a new campaign in the same process). */
export function forgetVocabulary(db: Database): void {
  cache.delete(db);
}
