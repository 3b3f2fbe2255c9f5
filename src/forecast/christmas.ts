import { holidayWeek } from '../data/holidays.ts';
import { dayNumber, dayNumberOf, weeksBetween } from '../data/weeks.ts';
import type { TargetInfo } from './features.ts';
import { gridIndex, type Panel } from './panel.ts';

/**
 * The Christmas weekday shift (the Kaggle winner's post-processing), applied to every
 * statistical member's forecast after it is made. A Friday-ending week holds a different
 * number of pre-Christmas shopping days each year, so "last year's week 51" sold a different
 * share of the Christmas rush than this year's week 51 will. In departments with a Christmas
 * rush (weeks 49-51 above 1.1x weeks 48 and 52), each of the forecast weeks 49-52 takes
 * |d|/7 of its neighbour's forecast, d the calendar-day drift between the target week and
 * the same week a year before (1 day 2010->2011, 2 days 2011->2012: christmasDrift).
 *
 * The global network gets the same drift on its way in: its seasonal candidates interpolate the
 * source weeks by the same fraction (panel.ts `alignedFrom`), so the post-step leaves it alone.
 */

/** The rush test of the winner: weeks 49-51 over weeks 48 and 52, by more than this. */
export const RUSH_RATIO = 1.1;

/**
 * Departments with a Christmas rush in the latest December fully on or before `origin`, from
 * their weekly totals (`sums`: department -> grid-indexed sums, unknown = NaN). Week 52 is the
 * Christmas holiday week of the data (the week ending on the Friday after Dec 24).
 */
export function rushDepartments(panel: Panel, origin: number, sums: ReadonlyMap<number, ArrayLike<number>>): Set<number> {
  const out = new Set<number>();
  const year = Number((panel.weeks[Math.min(origin, panel.weeks.length - 1)] ?? '0').slice(0, 4));
  let xmas = -1;
  for (const y of [year, year - 1]) {
    const i = gridIndex(panel, holidayWeek('Christmas', y));
    if (i >= 4 && i <= origin) {
      xmas = i;
      break;
    }
  }
  if (xmas < 0) return out;
  for (const [dept, sum] of sums) {
    const w48 = sum[xmas - 4] as number;
    const w52 = sum[xmas] as number;
    const rush = ((sum[xmas - 3] as number) + (sum[xmas - 2] as number) + (sum[xmas - 1] as number)) / 3;
    const quiet = (w48 + w52) / 2;
    if (Number.isFinite(rush) && Number.isFinite(quiet) && quiet > 0 && rush > RUSH_RATIO * quiet) out.add(dept);
  }
  return out;
}

/**
 * The day drift of a target week in weeks 49-52 against the same week a year before: how
 * many days earlier in the season (relative to Dec 25) it ends; 0 outside weeks 49-52. From
 * 2010 to 2011 the weeks end 1 day earlier, from 2011 to 2012 2 days (leap day).
 */
export function christmasDrift(week: string): number {
  const year = Number(week.slice(0, 4));
  const xmas = holidayWeek('Christmas', year);
  const before = weeksBetween(week, xmas);
  if (before < 0 || before > 3) return 0;
  const pos = dayNumber(xmas) - dayNumberOf(year, 12, 25);
  const lastYear = holidayWeek('Christmas', year - 1);
  const lastPos = dayNumber(lastYear) - dayNumberOf(year - 1, 12, 25);
  return Math.max(-6, Math.min(6, lastPos - pos));
}

/**
 * Shifts one forecast in place: each of weeks 49-52 takes |d|/7 of the forecast of the week
 * before it (d > 0: the target week sits earlier in the season than last year's) or after it
 * (d < 0), d = christmasDrift. The neighbours are read before any week is changed.
 */
export function shiftChristmas(values: Float64Array, infos: readonly TargetInfo[]): void {
  const before = Float64Array.from(values);
  infos.forEach((t, h) => {
    const d = christmasDrift(t.week);
    if (d === 0) return;
    const nb = d > 0 ? h - 1 : h + 1;
    if (nb < 0 || nb >= before.length) return;
    const w = Math.abs(d) / 7;
    values[h] = (1 - w) * (before[h] as number) + w * (before[nb] as number);
  });
}
