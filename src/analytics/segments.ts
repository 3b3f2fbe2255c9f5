import { kmeans } from 'ml-kmeans';
import type { Database } from '../db/client.ts';
import { UserError } from '../chat/errors.ts';
import { addWeeks } from '../data/weeks.ts';

/**
 * Stores clustered (k-means) on their seasonal profile, size, type and growth into named
 * segments. Recomputed on the first read after an import changed sales or stores and kept in
 * store_segments: control matching and `/top stores in segment 2` read the table.
 */
export interface StoreProfile {
  store: number;
  type: string | null;
  size: number | null;
  /** Mean weekly sales over the data. */
  weekly: number;
  /** Sales of the last 52 weeks vs the 52 before; null with less than two years. */
  growth: number | null;
  /** November-December weeks over the store's mean week. */
  holidayShare: number;
  /** Mean sales of each month over the store's mean week (12 values). */
  months: number[];
}

export interface SegmentRow {
  store: number;
  segment: number;
  name: string;
  profile: StoreProfile;
}

const SEGMENTS = 4;

async function storeProfiles(db: Pick<Database, 'query'>): Promise<StoreProfile[]> {
  const [last] = await db.query<{ last: string | null }>('SELECT max(week)::text AS last FROM store_week_sales');
  if (!last?.last) return [];
  const yearAgo = addWeeks(last.last, -52);
  const twoYearsAgo = addWeeks(last.last, -104);
  const rows = await db.query<{ store: number; type: string | null; size: number | null; weekly: number; cur: number | null; prev: number | null; months: number[] }>(
    `WITH m AS (
       SELECT store_id, extract(month FROM week)::int AS month, avg(sales)::float8 AS sales FROM store_week_sales GROUP BY 1, 2),
     s AS (
       SELECT store_id, avg(sales)::float8 AS weekly,
              sum(sales) FILTER (WHERE week > $1::date)::float8 AS cur,
              CASE WHEN min(week) <= $2::date + 7 THEN sum(sales) FILTER (WHERE week > $2::date AND week <= $1::date)::float8 END AS prev
       FROM store_week_sales GROUP BY store_id)
     SELECT s.store_id AS store, st.type, st.size, s.weekly, s.cur, s.prev,
            array(SELECT coalesce(m.sales, s.weekly) / nullif(s.weekly, 0) FROM generate_series(1, 12) g
                  LEFT JOIN m ON m.store_id = s.store_id AND m.month = g ORDER BY g) AS months
     FROM s LEFT JOIN stores st ON st.store_id = s.store_id ORDER BY s.store_id`,
    [yearAgo, twoYearsAgo],
  );
  return rows.map((r) => {
    const months = r.months.map((v) => Number(v ?? 1));
    return {
      store: r.store,
      type: r.type,
      size: r.size,
      weekly: r.weekly,
      growth: r.cur !== null && r.prev ? r.cur / r.prev - 1 : null,
      holidayShare: (months[10]! + months[11]!) / 2,
      months,
    };
  });
}

/** Standardised columns, each group weighted so that 12 months count as much as one size. */
function featureMatrix(profiles: readonly StoreProfile[]): number[][] {
  const types = [...new Set(profiles.map((p) => p.type ?? '?'))].sort();
  const groups: { values: number[][]; weight: number }[] = [
    { values: profiles.map((p) => p.months), weight: 1 / Math.sqrt(12) },
    { values: profiles.map((p) => [Math.log(p.size ?? p.weekly / 8)]), weight: 1 },
    { values: profiles.map((p) => [p.growth ?? 0]), weight: 1 },
    { values: profiles.map((p) => types.map((t) => ((p.type ?? '?') === t ? 1 : 0))), weight: types.length > 1 ? 1 / Math.sqrt(types.length) : 0 },
  ];
  const columns = groups.flatMap((g) => g.values[0]!.map((_, k) => ({ col: g.values.map((v) => v[k]!), weight: g.weight })));
  const scaled = columns.map(({ col, weight }) => {
    const mean = col.reduce((a, x) => a + x, 0) / col.length;
    const sd = Math.sqrt(col.reduce((a, x) => a + (x - mean) ** 2, 0) / col.length) || 1;
    return col.map((x) => ((x - mean) / sd) * weight);
  });
  return profiles.map((_, i) => scaled.map((c) => c[i]!));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
};
const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(xs.length, 1);

/** "Large, holiday-heavy, growing": each segment against the chain's medians. */
function segmentName(members: readonly StoreProfile[], all: readonly StoreProfile[]): string {
  const size = (p: StoreProfile) => p.size ?? p.weekly / 8;
  const sizes = all.map(size).sort((a, b) => a - b);
  const third = (q: number) => sizes[Math.min(sizes.length - 1, Math.floor(q * sizes.length))]!;
  const s = median(members.map(size));
  const sizeWord = s >= third(2 / 3) ? 'Large' : s <= third(1 / 3) ? 'Small' : 'Mid-size';
  const holiday = mean(members.map((p) => p.holidayShare)) - median(all.map((p) => p.holidayShare));
  const seasonWord = holiday > 0.02 ? 'holiday-heavy' : holiday < -0.02 ? 'low-season' : 'steady';
  const growth = mean(members.map((p) => p.growth ?? 0));
  const growthWord = growth > 0.02 ? 'growing' : growth < -0.02 ? 'shrinking' : 'flat';
  return `${sizeWord}, ${seasonWord}, ${growthWord}`;
}

/** Clusters the stores; segment 1 has the largest stores. Deterministic (seeded k-means++). */
export function clusterStores(profiles: readonly StoreProfile[]): SegmentRow[] {
  if (profiles.length === 0) return [];
  const k = Math.max(1, Math.min(SEGMENTS, Math.floor(profiles.length / 3)));
  const clusters = k === 1 ? profiles.map(() => 0) : kmeans(featureMatrix(profiles), k, { seed: 42, initialization: 'kmeans++' }).clusters;
  const groups = [...new Set(clusters)].map((c) => profiles.filter((_, i) => clusters[i] === c));
  groups.sort((a, b) => median(b.map((p) => p.size ?? p.weekly)) - median(a.map((p) => p.size ?? p.weekly)));
  const used = new Map<string, number>();
  return groups.flatMap((members, i) => {
    let name = segmentName(members, profiles);
    used.set(name, (used.get(name) ?? 0) + 1);
    if (used.get(name)! > 1) name = `${name} (${used.get(name)})`;
    return members.map((profile) => ({ store: profile.store, segment: i + 1, name, profile }));
  });
}

/** The formats whose rows change what stores are clustered on. */
export const SEGMENT_INPUTS = ['stores', 'walmart', 'train'] as const;

/**
 * Whether store_segments predates the data: no segments while stores have sales, or an import
 * of a segment input finished after the segments were computed. One indexed look at
 * import_runs, so every replica can ask on every read.
 */
async function segmentsStale(db: Pick<Database, 'query'>): Promise<boolean> {
  const [row] = await db.query<{ stale: boolean }>(
    `SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM store_segments) THEN EXISTS (SELECT 1 FROM store_week_sales)
            ELSE EXISTS (SELECT 1 FROM import_runs WHERE status = 'succeeded' AND format = ANY($1::text[]) AND rows_accepted > 0
                           AND finished_at > (SELECT min(refreshed_at) FROM store_segments)) END AS stale`,
    [SEGMENT_INPUTS],
  );
  return row?.stale === true;
}

/**
 * Recomputes store_segments from the store-week totals when they are stale, once across
 * replicas and processes: the check runs again under the lock, so whoever waited finds them
 * fresh. Stamped with the time before the profiles were read: an import finishing meanwhile
 * leaves them stale for the next read. Returns the stores clustered, 0 when nothing was due.
 */
export async function refreshSegments(db: Database, options: { force?: boolean } = {}): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('store_segments'))`);
    if (!options.force && !(await segmentsStale(tx))) return 0;
    const [{ stamp } = { stamp: new Date().toISOString() }] = await tx.query<{ stamp: string }>('SELECT clock_timestamp()::text AS stamp');
    const rows = clusterStores(await storeProfiles(tx));
    await tx.exec('DELETE FROM store_segments');
    if (rows.length === 0) return 0;
    await tx.query(
      `INSERT INTO store_segments (store_id, segment, name, profile, refreshed_at)
       SELECT (e->>'store')::int, (e->>'segment')::smallint, e->>'name', e->'profile', $2::timestamptz FROM jsonb_array_elements($1::jsonb) e`,
      [JSON.stringify(rows), stamp],
    );
    return rows.length;
  });
}

/**
 * The stored segments, recomputed first when an import changed their inputs (ingest calls
 * and imports only mark them stale by their import run: clustering 4,600 stores after every
 * ingest call would cost each call seconds).
 */
export async function loadSegments(db: Database): Promise<SegmentRow[]> {
  if (await segmentsStale(db)) await refreshSegments(db);
  const rows = await db.query<{ store_id: number; segment: number; name: string; profile: StoreProfile }>(
    'SELECT store_id, segment, name, profile FROM store_segments ORDER BY segment, store_id',
  );
  return rows.map((r) => ({ store: r.store_id, segment: r.segment, name: r.name, profile: typeof r.profile === 'string' ? JSON.parse(r.profile) : r.profile }));
}

/**
 * The stores of one segment, for every use of a segment as a scope (the access check, /top). A
 * segment that does not exist is a UserError for everyone, naming the ones that do; given the
 * stores an asker may see, only the segments holding one of them (the ones they may use).
 */
export async function segmentStores(db: Database, segment: number, visible: 'all' | ReadonlySet<number> = 'all'): Promise<number[]> {
  const segments = await loadSegments(db);
  const stores = segments.filter((s) => s.segment === segment).map((s) => s.store);
  if (stores.length) return stores;
  if (segments.length === 0) throw new UserError('No segments yet: they are computed once sales are imported.');
  const usable = [...new Set(segments.filter((s) => visible === 'all' || visible.has(s.store)).map((s) => s.segment))];
  const which = visible === 'all' ? 'Segments' : 'Segments you may use';
  throw new UserError(`There is no segment ${segment}. ${usable.length ? `${which}: ${usable.join(', ')}` : 'You may see no store of any segment yet'} (see /segments).`, {
    example: `/top stores in segment ${usable[0] ?? 1}`,
  });
}
