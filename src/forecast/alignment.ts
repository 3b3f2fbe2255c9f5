import { HOLIDAY_NAMES, holidayWeek, type HolidayName } from '../data/holidays.ts';
import { dayNumber, dayNumberOf, isoOfDay, yearOf } from '../data/weeks.ts';

/**
 * Holiday alignment of weekly retail series (weeks and holidays: src/data/weeks.ts, holidays.ts).
 *
 * "the same week last year" is 52 weeks (364 days) earlier, except
 * around the holidays that move against that grid. Thanksgiving (4th Thursday of November)
 * and the Super Bowl / Labor Day weeks are weekday-anchored, so the matching week last year is
 * found through the holiday itself (2013-11-29 maps to 2012-11-23, 53 weeks back). Christmas
 * is date-anchored: the weeks around it map to the weeks around last year's Christmas week,
 * and because a Friday-ending week covers different calendar days each year (the 2011
 * Christmas week holds Dec 24, the 2010 one does not), the value can be interpolated by
 * the day shift between the two weeks (see `sourceFor`).
 */

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
    for (const h of HOLIDAY_NAMES) {
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
  if (!best) return { week: isoOfDay(t - 364 * yearsBack), shift: 0 };
  const srcAnchor = dayNumber(holidayWeek(best.h, best.year - yearsBack));
  const s = srcAnchor + 7 * best.offset;
  let shift = 0;
  if (best.h === 'Christmas') {
    // Position of each week's Friday relative to its own Dec 25.
    const tPos = t - dayNumberOf(best.year, 12, 25);
    const sPos = s - dayNumberOf(best.year - yearsBack, 12, 25);
    shift = sPos - tPos; // both weeks share the offset; what differs is the calendar drift
  }
  return { week: isoOfDay(s), shift };
}
