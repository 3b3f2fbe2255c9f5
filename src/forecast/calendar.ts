/**
 * Week arithmetic and holiday alignment for weekly retail series.
 *
 * A week is the Friday that ends it, as 'YYYY-MM-DD'. Dates are handled as UTC day numbers
 * (days since 1970-01-01) so no time zone can shift a week.
 *
 * Holiday alignment: "the same week last year" is 52 weeks (364 days) earlier, except
 * around the holidays that move against that grid. Thanksgiving (4th Thursday of November)
 * and the Super Bowl / Labor Day weeks are weekday-anchored, so the matching week last year is
 * found through the holiday itself (2013-11-29 maps to 2012-11-23, 53 weeks back). Christmas
 * is date-anchored: the weeks around it map to the weeks around last year's Christmas week,
 * and because a Friday-ending week covers different calendar days each year (the 2011
 * Christmas week holds Dec 24, the 2010 one does not), the value can be interpolated by
 * the day shift between the two weeks (see `sourceFor`).
 */

const DAY_MS = 86_400_000;

export function dayNumber(iso: string): number {
  const t = Date.parse(`${iso}T00:00:00Z`);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}$/.test(iso)) throw new Error(`not a date (YYYY-MM-DD): ${iso}`);
  return Math.round(t / DAY_MS);
}

export function isoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(iso: string, days: number): string {
  return isoDate(dayNumber(iso) + days);
}

export function addWeeks(iso: string, weeks: number): string {
  return isoDate(dayNumber(iso) + 7 * weeks);
}

/** 0 = Sunday ... 5 = Friday. */
export function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

export function isFriday(iso: string): boolean {
  return weekday(dayNumber(iso)) === 5;
}

/** The Friday on or after `iso`. */
export function fridayOnOrAfter(iso: string): string {
  const d = dayNumber(iso);
  return isoDate(d + ((5 - weekday(d) + 7) % 7));
}

/** Whole weeks from `a` to `b` (both Fridays). */
export function weeksBetween(a: string, b: string): number {
  return Math.round((dayNumber(b) - dayNumber(a)) / 7);
}

/** `count` Fridays starting with the one after `lastWeek`. */
export function nextFridays(lastWeek: string, count: number): string[] {
  const start = dayNumber(fridayOnOrAfter(lastWeek));
  const first = start === dayNumber(lastWeek) ? start + 7 : start;
  return Array.from({ length: count }, (_, i) => isoDate(first + 7 * i));
}

export function yearOf(iso: string): number {
  return Number(iso.slice(0, 4));
}

function nthWeekdayOfMonth(year: number, month: number, wd: number, n: number): number {
  const first = Math.round(Date.UTC(year, month - 1, 1) / DAY_MS);
  return first + ((wd - weekday(first) + 7) % 7) + 7 * (n - 1);
}

export type HolidayName = 'Super Bowl' | 'Labor Day' | 'Thanksgiving' | 'Christmas';

/** The Friday ending each holiday week, as in the Walmart data's IsHoliday flags. */
export function holidayWeek(name: HolidayName, year: number): string {
  switch (name) {
    case 'Super Bowl': // first Sunday of February (second from 2022) -> the Friday after
      return isoDate(nthWeekdayOfMonth(year, 2, 0, year >= 2022 ? 2 : 1) + 5);
    case 'Labor Day': // first Monday of September -> the Friday after
      return isoDate(nthWeekdayOfMonth(year, 9, 1, 1) + 4);
    case 'Thanksgiving': // fourth Thursday of November -> Black Friday
      return isoDate(nthWeekdayOfMonth(year, 11, 4, 4) + 1);
    case 'Christmas': // the week (Saturday..Friday) holding December 25
      return fridayOnOrAfter(`${year}-12-25`);
  }
}

export const HOLIDAYS: readonly HolidayName[] = ['Super Bowl', 'Labor Day', 'Thanksgiving', 'Christmas'];

/** Which holiday week `week` is, if any. */
export function holidayOf(week: string): HolidayName | undefined {
  const y = yearOf(week);
  for (const h of HOLIDAYS) {
    if (holidayWeek(h, y) === week) return h;
  }
  // A Christmas week can end in January (Dec 25 on a Saturday -> ends Dec 31; never later).
  return undefined;
}

export function isHolidayWeek(week: string): boolean {
  return holidayOf(week) !== undefined;
}

/** How far (in weeks) each holiday pulls the alignment of the weeks around it. */
const WINDOWS: Record<HolidayName, { before: number; after: number }> = {
  'Super Bowl': { before: 1, after: 1 },
  'Labor Day': { before: 1, after: 1 },
  Thanksgiving: { before: 2, after: 2 },
  Christmas: { before: 4, after: 2 },
};

export interface SourceWeek {
  /** The week last year that plays the same role as the target week. */
  week: string;
  /**
   * Calendar-day shift for date-anchored seasons (Christmas): the target week covers days
   * `shift` days earlier in the season than `week` does (negative: later). A forecast may
   * blend (1 - |shift|/7) of `week` with |shift|/7 of the week before (shift > 0) or after.
   */
  shift: number;
}

/**
 * The holiday-aligned "same week last year" of `target` (a Friday). Deterministic and pure.
 */
export function sourceFor(target: string, yearsBack = 1): SourceWeek {
  const cacheKey = `${target}|${yearsBack}`;
  let hit = sourceCache.get(cacheKey);
  if (!hit) {
    hit = computeSource(target, yearsBack);
    if (sourceCache.size > 20_000) sourceCache.clear();
    sourceCache.set(cacheKey, hit);
  }
  return hit;
}

const sourceCache = new Map<string, SourceWeek>();

function computeSource(target: string, yearsBack: number): SourceWeek {
  const t = dayNumber(target);
  let best: { h: HolidayName; offset: number; year: number } | undefined;
  for (const year of [yearOf(target) - 1, yearOf(target)]) {
    for (const h of HOLIDAYS) {
      const a = dayNumber(holidayWeek(h, year));
      const offset = Math.round((t - a) / 7);
      const w = WINDOWS[h];
      if (offset < -w.before || offset > w.after) continue;
      // Nearest anchor wins; on a tie Christmas (date-anchored, bigger) wins.
      if (!best || Math.abs(offset) < Math.abs(best.offset) || (Math.abs(offset) === Math.abs(best.offset) && h === 'Christmas')) {
        best = { h, offset, year };
      }
    }
  }
  if (!best) return { week: isoDate(t - 364 * yearsBack), shift: 0 };
  const srcAnchor = dayNumber(holidayWeek(best.h, best.year - yearsBack));
  const s = srcAnchor + 7 * best.offset;
  let shift = 0;
  if (best.h === 'Christmas') {
    // Position of each week's Friday relative to its own Dec 25.
    const tPos = t - Math.round(Date.UTC(best.year, 11, 25) / DAY_MS);
    const sPos = s - Math.round(Date.UTC(best.year - yearsBack, 11, 25) / DAY_MS);
    shift = sPos - tPos; // both weeks share the offset; what differs is the calendar drift
  }
  return { week: isoDate(s), shift };
}

/** 1..53: the week of the year of the Friday, counted from the first Friday of January. */
export function weekOfYear(iso: string): number {
  const d = dayNumber(iso);
  const jan1 = Math.round(Date.UTC(yearOf(iso), 0, 1) / DAY_MS);
  return Math.floor((d - jan1) / 7) + 1;
}

/** Day of year 0..365 (fractional season position for Fourier features). */
export function dayOfYear(iso: string): number {
  return dayNumber(iso) - Math.round(Date.UTC(yearOf(iso), 0, 1) / DAY_MS);
}
