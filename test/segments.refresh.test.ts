import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSegments, refreshSegments } from '../src/analytics/segments.ts';
import { openPostgres } from '../src/db/client.ts';
import { importRows } from '../src/data/import.ts';
import { createTestDatabase, DB_KINDS, importDemoStores, type TestDatabase } from './helpers/db.ts';

/*
 * Segments are recomputed on the first read after an import changed their inputs, not by
 * every ingest call (4,600 stores cost each call seconds), and once across replicas.
 */
const refreshedAt = async (t: TestDatabase) => (await t.db.query<{ at: string | null }>('SELECT max(refreshed_at)::text AS at FROM store_segments'))[0]?.at;

describe.each(DB_KINDS)('segment refresh (%s)', (kind) => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, [1, 2, 3, 4, 5, 6]);
  }, 120_000);
  afterAll(() => t.cleanup());

  it('clusters on the first read, then keeps the result until an import changes sales or stores', async () => {
    expect(await refreshedAt(t)).toBeNull();
    expect((await loadSegments(t.db)).map((s) => s.store).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    const first = await refreshedAt(t);
    expect(first).not.toBeNull();
    expect(await refreshSegments(t.db)).toBe(0);
    await loadSegments(t.db);
    expect(await refreshedAt(t)).toBe(first);

    // An ingest call writes sales and leaves the clustering to the next read.
    const report = await importRows(t.db, 'train', [{ store: 2, dept: 1, week: '2012-11-02', sales: 12345, isHoliday: false }], { source: 'api' });
    expect(report.inserted).toBe(1);
    expect(await refreshedAt(t)).toBe(first);
    await importDemoStores(t.db, [7, 8, 9]);
    expect((await loadSegments(t.db)).map((s) => s.store).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await refreshedAt(t)).not.toBe(first);
  });

  it('a feature file (not an input of the clustering) leaves segments as they are', async () => {
    await loadSegments(t.db);
    const before = await refreshedAt(t);
    await importRows(t.db, 'features', [{ Store: 1, Date: '2012-11-02', Temperature: 50, Fuel_Price: 3.5, CPI: 220, Unemployment: 7, IsHoliday: false }], { source: 'api' });
    await loadSegments(t.db);
    expect(await refreshedAt(t)).toBe(before);
  });
});

describe('segment refresh across replicas (postgres)', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    await importDemoStores(t.db, [1, 2, 3, 4, 5, 6]);
  }, 120_000);
  afterAll(() => t.cleanup());

  it('two replicas reading stale segments together cluster once', async () => {
    await importRows(t.db, 'train', [{ store: 3, dept: 1, week: '2012-11-02', sales: 999, isHoliday: false }], { source: 'api' });
    const a = await openPostgres(t.url!);
    const b = await openPostgres(t.url!);
    try {
      const counts = await Promise.all([refreshSegments(a), refreshSegments(b), refreshSegments(a), refreshSegments(b)]);
      expect(counts.filter((n) => n > 0)).toEqual([6]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
