import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFile, importFiles, importRows, ImportFileError } from '../src/data/import.ts';
import { dataStats } from '../src/data/stats.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe.each(DB_KINDS)('CSV import on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(() => t.cleanup());

  it('reads a CR-only stores.csv', async () => {
    const [report] = await importFiles(t.db, [fixture('stores-cr.csv')]);
    expect(report).toMatchObject({ format: 'stores', rowsRead: 3, accepted: 3, inserted: 3, rejectedCount: 0 });
    const rows = await t.db.query<{ store_id: number; type: string; size: number }>('SELECT store_id, type, size FROM stores ORDER BY store_id');
    expect(rows).toEqual([
      { store_id: 1, type: 'A', size: 151315 },
      { store_id: 2, type: 'B', size: 202307 },
      { store_id: 3, type: 'C', size: 37392 },
    ]);
  });

  it('keeps good rows and reports every bad row with its line and reason', async () => {
    const report = await importFile(t.db, fixture('train-mixed.csv'));
    expect(report.rejected).toEqual([
      { line: 6, reason: 'bad Date "2010-13-45" (expected YYYY-MM-DD)' },
      { line: 7, reason: 'Weekly_Sales is not a number: "abc"' },
      { line: 8, reason: 'missing Dept' },
      { line: 10, reason: 'Date 2010-02-06 is a Saturday; weeks end on Friday' },
      { line: 11, reason: 'unknown store 99 (import stores.csv first)' },
    ]);
    expect(report).toMatchObject({ rowsRead: 12, accepted: 7, inserted: 7, rejectedCount: 5 });
    const negative = await t.db.query<{ sales: number }>('SELECT sales FROM weekly_sales WHERE store_id = 1 AND dept_id = 2');
    expect(negative).toEqual([{ sales: -120.5 }]);
    const holiday = await t.db.query<{ is_holiday: boolean }>("SELECT is_holiday FROM weekly_sales WHERE store_id = 2 AND week = '2010-02-12'");
    expect(holiday).toEqual([{ is_holiday: true }]);
  });

  it('records the run with its rejected rows', async () => {
    const runs = await t.db.query<{ source: string; rows_rejected: number; status: string; rejected: { line: number }[] }>(
      "SELECT source, rows_rejected, status, rejected FROM import_runs WHERE source = 'train-mixed.csv'",
    );
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ rows_rejected: 5, status: 'succeeded' });
    expect(runs[0]!.rejected.map((r) => r.line)).toEqual([6, 7, 8, 10, 11]);
  });

  it('changes nothing when the same file is imported again', async () => {
    const before = await t.db.query('SELECT * FROM weekly_sales ORDER BY store_id, dept_id, week');
    const report = await importFile(t.db, fixture('train-mixed.csv'));
    expect(report).toMatchObject({ accepted: 7, inserted: 0, updated: 0, unchanged: 7 });
    expect(await t.db.query('SELECT * FROM weekly_sales ORDER BY store_id, dept_id, week')).toEqual(before);
  });

  it('keeps store-week totals in step with department rows', async () => {
    const rollup = await t.db.query<{ store_id: number; week: string; sales: number; dept_count: number }>(
      "SELECT store_id, week::text AS week, sales, dept_count FROM store_week_sales WHERE week = '2010-02-05' ORDER BY store_id",
    );
    expect(rollup).toEqual([
      { store_id: 1, week: '2010-02-05', sales: 24804, dept_count: 2 },
      { store_id: 2, week: '2010-02-05', sales: 5000, dept_count: 1 },
      { store_id: 3, week: '2010-02-05', sales: 700, dept_count: 1 },
    ]);
  });

  it('rejects features for unknown stores, reads CRLF and NA/empty as null', async () => {
    const report = await importFile(t.db, fixture('features-crlf.csv'));
    expect(report.rejected).toEqual([{ line: 4, reason: 'unknown store 7 (import stores.csv first)' }]);
    const [row] = await t.db.query<{ temperature: number | null; markdown1: number | null; cpi: number | null }>(
      "SELECT temperature, markdown1, cpi FROM store_features WHERE store_id = 2 AND week = '2010-02-05'",
    );
    expect(row).toEqual({ temperature: null, markdown1: 10.5, cpi: null });
  });

  it('refuses an unrecognised header, naming the accepted formats, before writing anything', async () => {
    const runsBefore = await t.db.query('SELECT id FROM import_runs');
    const attempt = importFiles(t.db, [fixture('test-weeks.csv'), fixture('unknown-header.csv')]);
    await expect(attempt).rejects.toBeInstanceOf(ImportFileError);
    await expect(attempt).rejects.toThrow(/unrecognised header "sku,qty,when"[\s\S]*Kaggle train.csv: Store,Dept,Date,Weekly_Sales,IsHoliday/);
    expect(await t.db.query('SELECT id FROM import_runs')).toEqual(runsBefore);
    expect((await dataStats(t.db)).forecastWeekRows).toBe(0);
  });

  it('validates without writing on a dry run', async () => {
    const before = await dataStats(t.db);
    const report = await importFile(t.db, fixture('test-weeks.csv'), { dryRun: true });
    expect(report).toMatchObject({ dryRun: true, accepted: 2, inserted: 0 });
    expect(await dataStats(t.db)).toEqual(before);
  });

  it('imports rows given as objects with the same validation (ingest API)', async () => {
    const rows = [
      { store: 1, dept: 3, week: '2010-02-05', sales: 10.25, isHoliday: false },
      { Store: '1', Dept: '3', Date: '2010-02-12', Weekly_Sales: '11', IsHoliday: 'TRUE' },
      { store: 1, dept: 3, week: 'yesterday', sales: 1 },
    ];
    const report = await importRows(t.db, 'train', rows, { source: 'api' });
    expect(report.rejected).toEqual([{ line: 3, reason: 'bad Date "yesterday" (expected YYYY-MM-DD)' }]);
    expect(report).toMatchObject({ inserted: 2 });
    const again = await importRows(t.db, 'train', rows.slice(0, 2), { source: 'api' });
    expect(again).toMatchObject({ inserted: 0, updated: 0, unchanged: 2 });
  });

  it('takes the last value when a key repeats inside one file', async () => {
    const rows = [
      { store: 3, dept: 9, week: '2010-03-05', sales: 1, isHoliday: false },
      { store: 3, dept: 9, week: '2010-03-05', sales: 2, isHoliday: false },
    ];
    const report = await importRows(t.db, 'train', rows, { source: 'api' });
    expect(report).toMatchObject({ accepted: 2, inserted: 1 });
    expect(await t.db.query("SELECT sales FROM weekly_sales WHERE store_id = 3 AND dept_id = 9")).toEqual([{ sales: 2 }]);
  });
});

describe.each(DB_KINDS)('store-level Walmart.csv on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(() => t.cleanup());

  it('imports dd/mm/yy store totals, creating the stores it names', async () => {
    const [report] = await importFiles(t.db, [fixture('walmart-small.csv')]);
    expect(report!.rejected).toEqual([{ line: 5, reason: 'bad Date "31/02/10" (expected dd/mm/yy)' }]);
    const stats = await dataStats(t.db);
    expect(stats).toMatchObject({ storeWeekRows: 3, salesRows: 0, stores: 2, firstWeek: '2010-02-05', lastWeek: '2010-02-12' });
    const again = await importFiles(t.db, [fixture('walmart-small.csv')]);
    expect(again[0]).toMatchObject({ inserted: 0, updated: 0, unchanged: 3 });
  });
});
