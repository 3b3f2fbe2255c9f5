import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateChain } from '../src/data/demo.ts';
import { holidayCalendar } from '../src/data/holidays.ts';
import { importRecords, importRows } from '../src/data/import.ts';
import { ensureAggregates, rebuildAggregates } from '../src/data/rollup.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { ingestJson } from '../src/data/ingest.ts';
import { openPostgres, type Database } from '../src/db/client.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';

// Two demo stores and two generated ones (past the demo's 45), all departments and weeks.
const KEEP = new Set(['3', '7', '46', '51']);

async function loadStores(db: Database, batchSize?: number): Promise<void> {
  const chain = generateChain(51);
  const keep = (chunks: Iterable<string[][]>) => [...chunks].map((c) => c.filter((r) => KEEP.has(r[0]!))).filter((c) => c.length);
  await importRecords(db, 'stores', 'test:stores', [chain.stores.filter((r) => KEEP.has(r[0]!))]);
  await importRecords(db, 'train', 'test:sales', keep(chain.sales), { batchSize });
}

/** dept_week_sales as GROUP BY over weekly_sales would give it, and as maintained. */
async function deptWeeks(db: Database) {
  const expected = await db.query<{ dept_id: number; week: string; sales: number; n: number; holiday: boolean }>(
    'SELECT dept_id, week::text AS week, sum(sales)::float8 AS sales, count(*)::int AS n, bool_or(is_holiday) AS holiday FROM weekly_sales GROUP BY 1, 2 ORDER BY 1, 2',
  );
  const actual = await db.query<{ dept_id: number; week: string; sales: number; n: number; holiday: boolean }>(
    'SELECT dept_id, week::text AS week, sales, store_count AS n, is_holiday AS holiday FROM dept_week_sales ORDER BY 1, 2',
  );
  return { expected, actual };
}

/** Holiday weeks recomputed here, in JS, from store_week_sales: an independent reading of the rule. */
async function expectedHolidayWeeks(db: Database) {
  const rows = await db.query<{ store_id: number; week: string; sales: number }>('SELECT store_id, week::text AS week, sales FROM store_week_sales');
  const byStore = new Map<number, Map<string, number>>();
  for (const r of rows) (byStore.get(r.store_id) ?? byStore.set(r.store_id, new Map()).get(r.store_id)!).set(r.week, r.sales);
  const calendar = holidayCalendar(2009, 2014);
  const holidayWeeks = new Set(calendar.map((h) => h.week));
  const out: { store_id: number; week: string; holiday: number; baseline: number; n: number }[] = [];
  for (const h of calendar) {
    const neighbours = [1, 2, 3].flatMap((k) => [addWeeks(h.week, -k), addWeeks(h.week, k)]).filter((w) => !holidayWeeks.has(w));
    for (const [store, series] of byStore) {
      const hv = series.get(h.week);
      const base = neighbours.map((w) => series.get(w)).filter((v): v is number => v !== undefined);
      if (hv === undefined || base.length < 2) continue;
      out.push({ store_id: store, week: h.week, holiday: hv, baseline: base.reduce((a, b) => a + b, 0) / base.length, n: base.length });
    }
  }
  return out.sort((a, b) => a.week.localeCompare(b.week) || a.store_id - b.store_id);
}

async function expectAggregatesMatch(db: Database): Promise<void> {
  const { expected, actual } = await deptWeeks(db);
  expect(actual.map((r) => [r.dept_id, r.week, r.n, r.holiday])).toEqual(expected.map((r) => [r.dept_id, r.week, r.n, r.holiday]));
  actual.forEach((r, i) => expect(r.sales).toBeCloseTo(expected[i]!.sales, 4));
  const holidays = await expectedHolidayWeeks(db);
  const stored = await db.query<{ store_id: number; week: string; holiday: number; baseline: number; n: number }>(
    'SELECT store_id, week::text AS week, holiday_sales AS holiday, baseline_sales AS baseline, baseline_weeks AS n FROM store_holiday_weeks ORDER BY week, store_id',
  );
  expect(stored.map((r) => [r.store_id, r.week, r.n])).toEqual(holidays.map((r) => [r.store_id, r.week, r.n]));
  stored.forEach((r, i) => {
    expect(r.holiday).toBeCloseTo(holidays[i]!.holiday, 6);
    expect(r.baseline).toBeCloseTo(holidays[i]!.baseline, 6);
  });
}

describe.each(DB_KINDS)('maintained sales aggregates on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
    // Small batches: a store's rows span several transactions.
    await loadStores(t.db, 7_000);
  }, 120_000);
  afterAll(() => t.cleanup());

  it('equal the sums recomputed from weekly_sales after an import', async () => {
    const [n] = await t.db.query<{ n: number }>('SELECT count(DISTINCT store_id)::int AS n FROM store_holiday_weeks');
    expect(n!.n).toBe(4);
    await expectAggregatesMatch(t.db);
  });

  it('stay equal after a re-import that changes nothing, and after one that changes values', async () => {
    await loadStores(t.db);
    await expectAggregatesMatch(t.db);
    // Corrections: new values, a flipped holiday flag, a duplicate key whose last row wins.
    const report = await importRecords(t.db, 'train', 'test:fix', [
      [
        ['3', '1', '2010-11-26', '99999.99', 'TRUE'],
        ['46', '5', '2011-02-11', '-120.50', 'FALSE'],
        ['46', '5', '2011-02-11', '777.00', 'FALSE'],
        ['7', '2', '2010-12-31', '0', 'FALSE'],
      ],
    ]);
    expect(report).toMatchObject({ updated: 3, inserted: 0 });
    await expectAggregatesMatch(t.db);
  });

  it('stay equal after ingest adds weeks, departments and stores', async () => {
    await importRecords(t.db, 'stores', 'test:stores', [[['99', 'B', '100000']]]);
    const report = await ingestJson(t.db, [
      { store: 3, dept: 98, week: '2012-11-23', sales: 5000, isHoliday: true },
      { store: 99, dept: 1, week: '2010-11-19', sales: 100, isHoliday: false },
      { store: 99, dept: 1, week: '2010-11-26', sales: 300, isHoliday: true },
      { store: 99, dept: 1, week: '2010-12-03', sales: 120, isHoliday: false },
      { store: 51, dept: 1, week: '2010-11-26', sales: 1.25, isHoliday: true },
    ], 'test:ingest');
    expect(report.rejected).toEqual([]);
    await expectAggregatesMatch(t.db);
    const [row] = await t.db.query<{ holiday_sales: number; baseline_sales: number }>("SELECT holiday_sales, baseline_sales FROM store_holiday_weeks WHERE store_id = 99 AND week = '2010-11-26'");
    expect(row).toEqual({ holiday_sales: 300, baseline_sales: 110 });
    // A correction clears the flag of the only row of department 98's week: the department-week and store-week follow.
    expect((await ingestJson(t.db, [{ store: 3, dept: 98, week: '2012-11-23', sales: 5000, isHoliday: false }], 'test:fix')).updated).toBe(1);
    await expectAggregatesMatch(t.db);
    const [dept] = await t.db.query<{ is_holiday: boolean }>("SELECT is_holiday FROM dept_week_sales WHERE dept_id = 98 AND week = '2012-11-23'");
    expect(dept?.is_holiday).toBe(false);
  });

  it('cover store-level files (Walmart.csv) in the holiday weeks', async () => {
    await importRows(t.db, 'walmart', [
      { Store: 120, Date: '19-11-2010', Weekly_Sales: 1000, Holiday_Flag: 0 },
      { Store: 120, Date: '26-11-2010', Weekly_Sales: 1500, Holiday_Flag: 1 },
      { Store: 120, Date: '03-12-2010', Weekly_Sales: 1100, Holiday_Flag: 0 },
    ], { source: 'test:walmart' });
    await expectAggregatesMatch(t.db);
  });

  it('are rebuilt from scratch to the same values, and built once when missing', async () => {
    const before = await deptWeeks(t.db);
    await rebuildAggregates(t.db);
    await expectAggregatesMatch(t.db);
    expect((await deptWeeks(t.db)).actual.length).toBe(before.actual.length);
    expect(await ensureAggregates(t.db)).toBe(false);
    await t.db.exec('DELETE FROM dept_week_sales; DELETE FROM store_holiday_weeks');
    expect(await ensureAggregates(t.db)).toBe(true);
    await expectAggregatesMatch(t.db);
  });
});

describe.each(DB_KINDS)('a short history without holiday weeks on %s', (kind) => {
  it('has no holiday aggregates to build, and is not rebuilt at every start', async () => {
    const t = await createTestDatabase(kind);
    try {
      await importRecords(t.db, 'stores', 'test:stores', [[['1', 'A', '150000']]]);
      await importRecords(t.db, 'train', 'test:sales', [[['1', '1', '2012-03-02', '100', 'FALSE'], ['1', '1', '2012-03-09', '120', 'FALSE']]]);
      expect((await t.db.query('SELECT 1 FROM store_holiday_weeks')).length).toBe(0);
      expect(await ensureAggregates(t.db)).toBe(false);
    } finally {
      await t.cleanup();
    }
  });
});

describe('maintained sales aggregates with two writers on one Postgres (two replicas)', () => {
  let t: TestDatabase;
  let other: Database;
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    other = await openPostgres(t.url!);
    await importRecords(t.db, 'stores', 'test:stores', [[['1', 'A', '150000'], ['2', 'B', '90000']]]);
  });
  afterAll(async () => {
    await other.close();
    await t.cleanup();
  });

  it('add up when both ingest the same store-weeks and departments at once', async () => {
    const weeks = Array.from({ length: 20 }, (_, i) => addWeeks('2010-10-01', i));
    const rows = (store: number, dept: number) => weeks.map((week, i) => ({ store, dept, week, sales: 100 * dept + i, isHoliday: false }));
    // Every writer touches both stores' weeks and department 1's weeks: without the lock the
    // insert-or-update split and the holiday recount would race.
    await Promise.all([
      ...[1, 2, 3].map((dept) => importRows(t.db, 'train', [...rows(1, dept), ...rows(2, dept)], { source: `a${dept}` })),
      ...[4, 5, 1].map((dept) => importRows(other, 'train', [...rows(1, dept), ...rows(2, dept)].map((r) => ({ ...r, sales: r.sales + 1 })), { source: `b${dept}` })),
    ]);
    await expectAggregatesMatch(t.db);
    const [n] = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM weekly_sales');
    expect(n!.n).toBe(2 * 5 * weeks.length);
  });
});
