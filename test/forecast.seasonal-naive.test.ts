import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/db/client.ts';
import { UserError } from '../src/chat/errors.ts';
import { addWeeks, isFriday } from '../src/data/weeks.ts';
import { holidayWeek } from '../src/data/holidays.ts';
import { sourceFor } from '../src/forecast/alignment.ts';
import { SeasonalNaiveForecaster, seasonalNaive } from '../src/forecast/seasonal-naive.ts';

/** `n` Fridays from `start` with values f(i). */
function makeSeries(start: string, n: number, f: (i: number, week: string) => number) {
  const weeks = Array.from({ length: n }, (_, i) => addWeeks(start, i));
  return { weeks, values: weeks.map((w, i) => f(i, w)) };
}

// A yearly pattern by position in the year plus a spike on holiday weeks.
const pattern = (i: number, week: string) => 1000 + 300 * Math.sin((2 * Math.PI * (i % 52)) / 52) + (isHolidayLike(week) ? 800 : 0);
const isHolidayLike = (week: string) =>
  ['Thanksgiving', 'Christmas'].some((h) => holidayWeek(h as 'Thanksgiving' | 'Christmas', Number(week.slice(0, 4))) === week);

describe('holiday alignment', () => {
  it('maps Thanksgiving and Christmas weeks to last year’s, even across a 53-week year', () => {
    expect(holidayWeek('Thanksgiving', 2010)).toBe('2010-11-26');
    expect(holidayWeek('Thanksgiving', 2013)).toBe('2013-11-29');
    expect(holidayWeek('Christmas', 2010)).toBe('2010-12-31');
    expect(holidayWeek('Christmas', 2011)).toBe('2011-12-30');
    expect(holidayWeek('Super Bowl', 2012)).toBe('2012-02-10');
    expect(holidayWeek('Labor Day', 2012)).toBe('2012-09-07');
    expect(sourceFor('2011-11-25').week).toBe('2010-11-26');
    // 2013's Thanksgiving is 53 weeks after 2012's: a plain 52-week lag would miss it.
    expect(sourceFor('2013-11-29').week).toBe('2012-11-23');
    expect(addWeeks('2013-11-29', -52)).not.toBe('2012-11-23');
    // Christmas week to Christmas week; the 2011 week holds Dec 24, the 2010 one does not.
    expect(sourceFor('2011-12-30')).toEqual({ week: '2010-12-31', shift: 1 });
    expect(sourceFor('2012-12-28')).toEqual({ week: '2011-12-30', shift: 2 });
    expect(sourceFor('2011-12-23').week).toBe('2010-12-24');
    // An ordinary week is 52 weeks back.
    expect(sourceFor('2012-06-01')).toEqual({ week: '2011-06-03', shift: 0 });
  });

  it('interpolates the Christmas weeks by the day drift', () => {
    const s = makeSeries('2010-02-05', 60, () => 100);
    const i24 = s.weeks.indexOf('2010-12-24');
    s.values[i24] = 800; // the big pre-Christmas week
    const out = seasonalNaive(s, 60, { origin: '2011-03-25', levelAdjust: false });
    const xmas = out.points.find((p) => p.week === '2011-12-30');
    // 6/7 of last year's Christmas week + 1/7 of the pre-Christmas week before it.
    expect(xmas?.value).toBeCloseTo((6 / 7) * 100 + (1 / 7) * 800, 6);
    const plain = seasonalNaive(s, 60, { origin: '2011-03-25', levelAdjust: false, christmasShift: false });
    expect(plain.points.find((p) => p.week === '2011-12-30')?.value).toBe(100);
  });
});

describe('seasonalNaive (pure)', () => {
  const s = makeSeries('2010-02-05', 120, pattern);

  it('repeats last year’s aligned week, Fridays after the origin', () => {
    const out = seasonalNaive(s, 52, { levelAdjust: false });
    expect(out.method).toBe('seasonal-naive');
    expect(out.points).toHaveLength(52);
    expect(out.points[0]?.week).toBe(addWeeks(s.weeks.at(-1) as string, 1));
    for (const p of out.points) {
      expect(isFriday(p.week)).toBe(true);
      const src = sourceFor(p.week).week;
      const i = s.weeks.indexOf(src);
      expect(i).toBeGreaterThanOrEqual(0);
      if (sourceFor(p.week).shift === 0) expect(p.value).toBeCloseTo(s.values[i] as number, 9);
    }
    const origin = '2011-06-03';
    const early = seasonalNaive(s, 3, { origin, levelAdjust: false });
    expect(early.points.map((p) => p.week)).toEqual(['2011-06-10', '2011-06-17', '2011-06-24']);
    expect(early.points[0]?.value).toBeCloseTo(s.values[s.weeks.indexOf('2010-06-11')] as number, 9);
  });

  it('scales by recent growth when level adjustment is on, and intervals hold the value', () => {
    const growing = makeSeries('2010-02-05', 120, (i, w) => pattern(i, w) * Math.pow(1.21, i / 52));
    const adj = seasonalNaive(growing, 26);
    expect(adj.level).toBeGreaterThan(1.05);
    expect(adj.level).toBeLessThan(1.15); // shrunk towards 1 from ~1.21
    const flat = seasonalNaive(s, 26);
    expect(flat.level).toBeCloseTo(1, 6);
    for (const p of [...adj.points, ...flat.points]) {
      expect(p.lower).toBeLessThanOrEqual(p.value);
      expect(p.upper).toBeGreaterThanOrEqual(p.value);
    }
  });

  it('gives an empirical interval from past errors', () => {
    // Pattern plus a 3-week cycle of -50, 0, +50: last year's week is off by -100 or +50.
    const noisy = makeSeries('2010-02-05', 110, (i, w) => pattern(i, w) + ((i % 3) - 1) * 50);
    const out = seasonalNaive(noisy, 10, { levelAdjust: false });
    for (const p of out.points) {
      expect(p.upper - p.lower).toBeGreaterThan(100);
      expect(p.upper - p.lower).toBeLessThanOrEqual(200 + 1e-9);
      expect(p.lower).toBeLessThanOrEqual(p.value);
      expect(p.upper).toBeGreaterThanOrEqual(p.value);
    }
  });

  it('falls back to the recent mean for a series shorter than a year, and says so', () => {
    const short = makeSeries('2012-01-06', 20, (i) => (i < 12 ? 10 : 50));
    const out = seasonalNaive(short, 4);
    expect(out.method).toBe('recent-mean');
    expect(out.note).toMatch(/20 weeks of history/);
    expect(out.points).toHaveLength(4);
    for (const p of out.points) {
      expect(p.value).toBeCloseTo(50, 9);
      expect(p.lower).toBeLessThanOrEqual(p.value);
      expect(p.upper).toBeGreaterThanOrEqual(p.value);
    }
    const one = seasonalNaive({ weeks: ['2012-01-06'], values: [42] }, 2);
    expect(one.points.map((p) => p.value)).toEqual([42, 42]);
    expect(one.note).toMatch(/1 week of history/);
  });

  it('rejects a bad horizon and an empty history', () => {
    expect(() => seasonalNaive(s, 0)).toThrow(RangeError);
    expect(() => seasonalNaive(s, 4, { origin: '2009-01-02' })).toThrow(/no history/);
  });
});

describe('SeasonalNaiveForecaster on PGlite', () => {
  let db: Database;
  const series = makeSeries('2010-02-05', 110, pattern);

  beforeAll(async () => {
    db = await openDatabase({ database: { kind: 'pglite', dataDir: 'memory://' } });
    const values: string[] = [];
    const params: unknown[] = [];
    series.weeks.forEach((w, i) => {
      params.push(w, series.values[i], w, 2 * (series.values[i] as number));
      const b = params.length;
      values.push(`($${b - 3}::date, $${b - 2}::float8, $${b - 1}::date, $${b}::float8)`);
    });
    await db.query(
      `WITH v(week, dept_sales, week2, store_sales) AS (VALUES ${values.join(',')}),
       a AS (INSERT INTO weekly_sales (store_id, dept_id, week, sales) SELECT 3, 7, week, dept_sales FROM v)
       INSERT INTO store_week_sales (store_id, week, sales, source) SELECT 3, week2, store_sales, 'departments' FROM v`,
      params,
    );
  }, 60_000);

  afterAll(async () => {
    await db?.close();
  });

  it('reads weekly_sales for a department and store_week_sales for a store', async () => {
    const f = new SeasonalNaiveForecaster({ levelAdjust: false });
    const dept = await f.forecast(db, { store: 3, dept: 7 }, 8);
    const store = await f.forecast(db, { store: 3 }, 8);
    expect(dept.model).toBe('seasonal-naive');
    expect(dept.points).toHaveLength(8);
    expect(dept.points[0]?.week).toBe(addWeeks(series.weeks.at(-1) as string, 1));
    const pure = seasonalNaive(series, 8, { levelAdjust: false });
    dept.points.forEach((p, i) => {
      expect(p.value).toBeCloseTo(pure.points[i]?.value as number, 9);
      expect(store.points[i]?.value).toBeCloseTo(2 * p.value, 6);
    });
  });

  it('honours origin and refuses an unknown series with a clear message', async () => {
    const f = new SeasonalNaiveForecaster();
    const r = await f.forecast(db, { store: 3, dept: 7 }, 2, { origin: '2011-06-03' });
    expect(r.points.map((p) => p.week)).toEqual(['2011-06-10', '2011-06-17']);
    await expect(f.forecast(db, { store: 99, dept: 1 }, 4)).rejects.toBeInstanceOf(UserError);
    await expect(f.forecast(db, { store: 99 }, 4)).rejects.toThrow(/No sales recorded for Store 99/);
  });
});
