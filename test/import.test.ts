import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe.each(DB_KINDS)('import bounds and input limits on %s', (kind) => {
  let t: TestDatabase;
  const dir = mkdtempSync(join(tmpdir(), 'storecast-limits-'));
  /** Writes a CSV file (header + lines) and returns its path. */
  const csvFile = (name: string, header: string, lines: string[]) => {
    const path = join(dir, name);
    writeFileSync(path, `${header}\n${lines.join('\n')}\n`);
    return path;
  };
  const count = async (sql: string) => (await t.db.query<{ n: number }>(sql))[0]!.n;

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await t.db.exec("INSERT INTO stores (store_id, type, size) VALUES (1, 'A', 150000), (2, 'B', 90000)");
  });
  afterAll(async () => {
    await t.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  // One case per format: every numeric column out of range once, each with its line.
  const cases = [
    {
      file: 'stores.csv',
      header: 'Store,Type,Size',
      lines: ['0,A,100', '100000,A,100', '7,A,0', '8,B,100000001', '9,C,5000'],
      rejected: [
        [2, 'Store 0 is out of range 1..99,999'],
        [3, 'Store 100000 is out of range 1..99,999'],
        [4, 'Size 0 is out of range 1..100,000,000'],
        [5, 'Size 100000001 is out of range 1..100,000,000'],
      ],
    },
    {
      file: 'walmart.csv',
      header: 'Store,Date,Weekly_Sales,Holiday_Flag,Temperature,Fuel_Price,CPI,Unemployment',
      lines: [
        '3,05-02-2010,1.7e308,0,40,2.5,211,8',
        '3,12-02-2010,100,1,1000,2.5,211,8',
        '3,19-02-2010,100,0,40,-1,211,8',
        '3,26-02-2010,100,0,40,2.5,1e5,8',
        '3,05-03-2010,100,0,40,2.5,211,101',
        '3,12-03-2010,-2500.5,0,-7.3,2.5,211,8',
      ],
      rejected: [
        [2, 'Weekly_Sales 1.7e308 is out of range -100,000,000,000..100,000,000,000'],
        [3, 'Temperature 1000 is out of range -100..150'],
        [4, 'Fuel_Price -1 is out of range 0..100'],
        [5, 'CPI 1e5 is out of range 0..10,000'],
        [6, 'Unemployment 101 is out of range 0..100'],
      ],
    },
    {
      file: 'features.csv',
      header: 'Store,Date,Temperature,Fuel_Price,MarkDown1,MarkDown2,MarkDown3,MarkDown4,MarkDown5,CPI,Unemployment,IsHoliday',
      lines: ['1,2010-02-05,40,2.5,NA,NA,1e300,NA,NA,211,8,FALSE', '1,2010-02-12,40,2.5,-29.1,NA,NA,NA,NA,211,8,TRUE'],
      rejected: [[2, 'MarkDown3 1e300 is out of range -1,000,000,000..1,000,000,000']],
    },
    {
      file: 'train.csv',
      header: 'Store,Dept,Date,Weekly_Sales,IsHoliday',
      lines: ['1,10000,2010-02-05,1,FALSE', '1,1,2010-02-05,-1000000000.01,FALSE', '1,1,2010-02-12,1e9,TRUE', '1,2,2010-02-12,-1e9,TRUE', '1,3,2010-02-12,1e400,TRUE'],
      rejected: [
        [2, 'Dept 10000 is out of range 1..9,999'],
        [3, 'Weekly_Sales -1000000000.01 is out of range -1,000,000,000..1,000,000,000'],
        [6, 'Weekly_Sales is not a number: "1e400"'],
      ],
    },
    {
      file: 'test.csv',
      header: 'Store,Dept,Date,IsHoliday',
      lines: ['1,0,2013-02-08,TRUE', '1,1,2013-02-08,TRUE'],
      rejected: [[2, 'Dept 0 is out of range 1..9,999']],
    },
  ];

  it.each(cases)('range-checks every numeric field of $file, naming the line, keeping the good rows', async ({ file, header, lines, rejected }) => {
    const report = await importFile(t.db, csvFile(file, header, lines));
    expect(report.rejected).toEqual(rejected.map(([line, reason]) => ({ line, reason })));
    expect(report).toMatchObject({ rowsRead: lines.length, rejectedCount: rejected.length, accepted: lines.length - rejected.length });
  });

  it('keeps negative weeks within the bounds and sums them into store-week totals', async () => {
    const rows = await t.db.query<{ sales: number; dept_count: number }>("SELECT sales, dept_count FROM store_week_sales WHERE store_id = 1 AND week = '2010-02-12'");
    expect(rows).toEqual([{ sales: 0, dept_count: 2 }]);
  });

  it('lists the first 100 rejections and counts them all (report and import run)', async () => {
    const bad = Array.from({ length: 5000 }, (_, i) => `1,${(i % 99) + 1},2010-02-0${(i % 3) + 1},5,FALSE`);
    const report = await importFile(t.db, csvFile('bad.csv', 'Store,Dept,Date,Weekly_Sales,IsHoliday', bad));
    expect(report).toMatchObject({ rowsRead: 5000, accepted: 0, rejectedCount: 5000 });
    expect(report.rejected).toHaveLength(100);
    expect(report.rejected.at(-1)).toEqual({ line: 101, reason: expect.stringMatching(/weeks end on Friday/) });
    const [run] = await t.db.query<{ rows_rejected: number; rejected: unknown[] }>('SELECT rows_rejected, rejected FROM import_runs WHERE id = $1', [report.runId]);
    expect(run!.rows_rejected).toBe(5000);
    expect(run!.rejected).toHaveLength(100);
  });

  it('never quotes a huge field back: reasons stay short', async () => {
    const huge = '9'.repeat(1_000_000);
    const report = await importRows(t.db, 'train', [{ store: 1, dept: 5, week: huge, sales: 1 }, { store: huge, dept: 5, week: '2010-02-05', sales: huge }, { store: 1, dept: 5, week: '2010-02-05', sales: huge }], { source: 'api' });
    expect(report.rejectedCount).toBe(3);
    for (const r of report.rejected) expect(r.reason.length).toBeLessThanOrEqual(200);
    expect(report.rejected[0]!.reason).toMatch(/^bad Date "9{39}…" \(expected YYYY-MM-DD\)$/);
    expect(report.rejected[1]!.reason).toMatch(/^Store 9{39}… is out of range 1\.\.99,999$/);
    expect(report.rejected[2]!.reason).toMatch(/^Weekly_Sales is not a number: "9{39}…"$/);
  });

  it('stops at a line over the length limit, keeps the rows before it, and says so briefly', async () => {
    const path = csvFile('long.csv', 'Store,Dept,Date,Weekly_Sales,IsHoliday', ['1,20,2010-02-05,5,FALSE', `1,21,${'x'.repeat(10_000_000)},5,FALSE`, '1,22,2010-02-05,5,FALSE']);
    const report = await importFile(t.db, path);
    expect(report).toMatchObject({ rowsRead: 2, accepted: 1, inserted: 1, rejectedCount: 1, stoppedAtLine: 3 });
    expect(report.rejected).toEqual([{ line: 3, reason: 'line is longer than 65536 bytes; this line and the rest of the file were not read' }]);
    expect(await count('SELECT count(*)::int AS n FROM weekly_sales WHERE dept_id IN (20, 21, 22)')).toBe(1);
  });

  it('refuses a row with too many fields on its own, and stops briefly at broken quoting instead of failing', async () => {
    const wide = `1,23,2010-02-05,5,FALSE${',0'.repeat(100)}`;
    const path = csvFile('quotes.csv', 'Store,Dept,Date,Weekly_Sales,IsHoliday', [wide, '1,24,2010-02-05,5,FALSE', '1,25,"2010-02-05,5,FALSE', '1,26,2010-02-05,5,FALSE']);
    const report = await importFile(t.db, path);
    expect(report).toMatchObject({ accepted: 1, rejectedCount: 2, stoppedAtLine: 4 });
    expect(report.rejected[0]).toEqual({ line: 2, reason: '105 fields; a row has at most 64' });
    expect(report.rejected[1]).toEqual({ line: 4, reason: expect.stringMatching(/^a quote is not closed.*; this line and the rest of the file were not read$/) });
  });

  it('refuses a huge header quickly, quoting only its start', async () => {
    const path = join(dir, 'wide.csv');
    writeFileSync(path, `${Array.from({ length: 1_000_000 }, (_, i) => `c${i}`).join(',')}\n1,2\n`);
    const started = performance.now();
    const error = await importFile(t.db, path).catch((err: unknown) => err);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(error).toBeInstanceOf(ImportFileError);
    expect((error as Error).message).toMatch(/unrecognised header: the header line is longer than 65536 bytes/);
    expect((error as Error).message.length).toBeLessThan(1000);
    writeFileSync(path, `${Array.from({ length: 5000 }, (_, i) => `c${i}`).join(',')}\n1,2\n`);
    const wide = (await importFile(t.db, path).catch((err: unknown) => err)) as Error;
    expect(wide.message).toMatch(/unrecognised header "c0,c1,c2,.{150,200}…" \(5000 columns\)/);
    expect(wide.message.length).toBeLessThan(1000);
  });

  it('commits department rows and their store-week totals together', async () => {
    // A store-week total that cannot take one more department (its count is at the smallint
    // limit): the aggregate step fails, and the batch's rows must not stay without their totals.
    await t.db.exec("INSERT INTO store_week_sales (store_id, week, sales, is_holiday, dept_count, source) VALUES (2, '2010-04-02', 0, false, 32767, 'departments')");
    const before = await count('SELECT count(*)::int AS n FROM weekly_sales');
    const rows = [
      { store: 2, dept: 1, week: '2010-03-26', sales: 10, isHoliday: false },
      { store: 2, dept: 1, week: '2010-04-02', sales: 10, isHoliday: false },
    ];
    await expect(importRows(t.db, 'train', rows, { source: 'api' })).rejects.toThrow(/out of range/);
    expect(await count('SELECT count(*)::int AS n FROM weekly_sales')).toBe(before);
    expect(await count('SELECT count(*)::int AS n FROM store_week_sales WHERE store_id = 2')).toBe(1);
    expect(await count('SELECT count(*)::int AS n FROM dept_week_sales WHERE dept_id = 1 AND week = \'2010-03-26\'')).toBe(0);
    const [run] = await t.db.query<{ status: string }>('SELECT status FROM import_runs ORDER BY id DESC LIMIT 1');
    expect(run!.status).toBe('failed');
  });
});
