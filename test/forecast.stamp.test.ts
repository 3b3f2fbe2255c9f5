import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importRows } from '../src/data/import.ts';
import { dataStamp } from '../src/forecast/dataset.ts';
import { createTestDatabase, DB_KINDS, importDemoStores, type TestDatabase } from './helpers/db.ts';

/*
 * The data stamp decides when every replica reloads its sales panel (40 s at 4,600 stores):
 * it must hold still while nothing is written and move with every import.
 */
describe.each(DB_KINDS)('the data stamp (%s)', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, [1, 2]);
  }, 60_000);
  afterAll(() => t.cleanup());

  it('is the same on every read while nothing is imported, and moves with a corrected value', async () => {
    const first = await dataStamp(t.db);
    for (let i = 0; i < 5; i++) expect(await dataStamp(t.db)).toBe(first);
    const [row] = await t.db.query<{ week: string; sales: number }>("SELECT week::text AS week, sales FROM weekly_sales WHERE store_id = 1 AND dept_id = 1 ORDER BY week DESC LIMIT 1");
    const report = await importRows(t.db, 'train', [{ store: 1, dept: 1, week: row!.week, sales: row!.sales + 1, isHoliday: false }], { source: 'test:fix' });
    expect(report.updated).toBe(1);
    const corrected = await dataStamp(t.db);
    expect(corrected).not.toBe(first);
    expect(await dataStamp(t.db)).toBe(corrected);
  });
});
