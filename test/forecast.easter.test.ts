import { describe, expect, it } from 'vitest';
import { addWeeks, isoOfDay } from '../src/data/weeks.ts';
import { easterSource, easterSunday, goodFridayWeek, isEasterWeek } from '../src/forecast/easter.ts';
import { targetInfo } from '../src/forecast/features.ts';
import { statForecasts } from '../src/forecast/members.ts';
import { buildPanel, gridIndex, type SalesRow } from '../src/forecast/panel.ts';
import { SOURCE_KERNEL, sourceValue } from '../src/forecast/source-kernel.ts';

/**
 * Easter alignment and the source kernel of the members' (and the network's) seasonal
 * sources: the calendar, the mapping, and what a member forecasts from them.
 */

describe('Easter calendar', () => {
  it('finds Easter Sunday (computus) and the week ending on Good Friday', () => {
    const known: Record<number, string> = { 2010: '2010-04-04', 2011: '2011-04-24', 2012: '2012-04-08', 2013: '2013-03-31', 2019: '2019-04-21', 2024: '2024-03-31', 2025: '2025-04-20' };
    for (const [year, date] of Object.entries(known)) expect(isoOfDay(easterSunday(Number(year)))).toBe(date);
    expect(goodFridayWeek(2012)).toBe('2012-04-06');
    expect(isEasterWeek('2012-03-16')).toBe(true); // 3 weeks before
    expect(isEasterWeek('2012-04-13')).toBe(true); // 1 after
    expect(isEasterWeek('2012-04-20')).toBe(false);
    expect(isEasterWeek('2012-03-09')).toBe(false);
  });

  it('maps the weeks around Easter to the same weeks around last year’s, and nothing else into that window', () => {
    expect(easterSource('2012-04-06', 1)).toBe('2011-04-22'); // Good Friday -> Good Friday (52 weeks back: 2011-04-08)
    expect(easterSource('2012-03-16', 1)).toBe('2011-04-01');
    expect(easterSource('2012-04-13', 1)).toBe('2011-04-29');
    expect(easterSource('2012-04-06', 2)).toBe('2010-04-02');
    // 2012-04-20 would read 2011-04-22 (last year's peak) 52 weeks back: it reads the first week after the window.
    expect(easterSource('2012-04-20', 1)).toBe('2011-05-06');
    // 2011-03-25 would read 2010-03-26 (inside 2010's window): the last week before it instead.
    expect(easterSource('2011-03-25', 1)).toBe('2010-03-05');
    // Far from Easter, or where the 52-week lag is already outside the window: no change.
    expect(easterSource('2012-07-06', 1)).toBeUndefined();
    expect(easterSource('2012-05-04', 1)).toBeUndefined();
    expect(easterSource('2012-02-24', 1)).toBeUndefined();
  });
});

/** One store x dept with a flat 100 a week, 1000 in the Good Friday week, 2010-02-05 .. 2012-01-27, plus a second store. */
function easterPanel() {
  const rows: SalesRow[] = [];
  for (let w = '2010-02-05'; w <= '2012-01-27'; w = addWeeks(w, 1)) {
    const peak = w === goodFridayWeek(Number(w.slice(0, 4)));
    rows.push({ store: 1, dept: 1, week: w, sales: peak ? 1000 : 100 });
    rows.push({ store: 2, dept: 1, week: w, sales: peak ? 500 : 50 });
  }
  return buildPanel(rows);
}

describe('members around Easter', () => {
  it('forecast the peak in this year’s Good Friday week, not where last year’s fell', () => {
    const panel = easterPanel();
    const origin = gridIndex(panel, '2012-01-27');
    const fc = statForecasts(panel, origin, [0], 20, 0).get('svd-naive')!.get(0)!;
    const at = (week: string) => fc[gridIndex(panel, week) - origin - 1] as number;
    expect(at('2012-04-06')).toBeGreaterThan(800);
    expect(at('2012-04-20')).toBeLessThan(150); // 52 weeks after 2011's Good Friday: an ordinary week
    expect(at('2012-04-13')).toBeLessThan(150);
    // The baselines' target weeks keep the plain lag (the peak lands 52 weeks after last year's).
    const plain = targetInfo(panel, origin, '2012-04-20', false);
    expect(panel.weeks[plain.a1.src]).toBe('2011-04-22');
    expect(targetInfo(panel, origin, '2012-04-20').a1.src).toBe(gridIndex(panel, '2011-05-06'));
  });
});

describe('source kernel', () => {
  it('blends a quiet week with its neighbours and leaves peaks, holidays and unknown neighbours alone', () => {
    const rows: SalesRow[] = [];
    for (let w = '2011-01-07'; w <= '2011-12-30'; w = addWeeks(w, 1)) rows.push({ store: 1, dept: 1, week: w, sales: 1, isHoliday: w === '2011-09-09' });
    const panel = buildPanel(rows);
    const v = Float64Array.from(panel.weeks, (_, i) => (i % 2 === 0 ? 100 : 200));
    const i = gridIndex(panel, '2011-06-17');
    const expected = (1 - SOURCE_KERNEL) * (v[i] as number) + (SOURCE_KERNEL / 2) * ((v[i - 1] as number) + (v[i + 1] as number));
    expect(sourceValue(panel, v, i, panel.weeks.length - 1)).toBeCloseTo(expected, 9);
    expect(expected).not.toBe(v[i]);
    for (const peak of ['2011-09-02', '2011-09-09', '2011-09-16', '2011-04-22', '2011-11-25', '2011-12-23']) {
      const k = gridIndex(panel, peak);
      expect(sourceValue(panel, v, k, panel.weeks.length - 1)).toBe(v[k]);
    }
    // The origin's own week has no known next week: unblended. After the origin: unknown.
    expect(sourceValue(panel, v, i, i)).toBe(v[i]);
    expect(sourceValue(panel, v, i + 1, i)).toBeNaN();
  });
});
