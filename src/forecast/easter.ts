import { addDays, dayNumberOf, isoOfDay, weeksBetween, yearOf } from '../data/weeks.ts';
import { gridIndex, type Alignment, type Panel } from './panel.ts';

/**
 * Easter alignment of the members' "same week last year". Easter moves by up to five weeks
 * between years (2010-04-04, 2011-04-24, 2012-04-08), and in the Walmart data the week ending
 * on Good Friday sells 3x a normal week in department 1 and 10x in department 18, the weeks
 * around it more. The 52-week lag of the seasonal forecasts puts last year's Easter peak on
 * an ordinary week and an ordinary week on this year's peak: both errors land in every
 * store. Here the weeks from 3 before to 1 after the Good Friday week map to the same
 * weeks around last year's Good Friday, and a week outside that window never takes its value
 * from inside last year's window (it takes the nearest week outside it on its own side).
 *
 * Used for the forecast's own seasonal sources (features.ts `targetInfo`: the members and the
 * network's candidates). In-sample quantities (the 13-week level, growth) keep the four
 * holidays: aligning them too scored worse (docs/forecasting.md). The reference baselines
 * (seasonal naive, SVD seasonal naive) stay aligned on the data's four holidays only.
 */

/** Weeks around the Good Friday week that are aligned on it (offsets, inclusive). */
export const EASTER_WINDOW = { before: 3, after: 1 } as const;

/** Easter Sunday of a Gregorian year (the anonymous Gregorian computus), as a day number. */
export function easterSunday(year: number): number {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return dayNumberOf(year, month, day);
}

/** The week (a Friday) ending on Good Friday of `year`. */
export function goodFridayWeek(year: number): string {
  return isoOfDay(easterSunday(year) - 2);
}

/**
 * The Easter-aligned source `yearsBack` years before the Friday `target`, or undefined when
 * the 52-week lag already is right (far from Easter in both years).
 */
export function easterSource(target: string, yearsBack: number): string | undefined {
  const year = yearOf(target);
  const gf = goodFridayWeek(year);
  const srcGf = goodFridayWeek(year - yearsBack);
  const k = weeksBetween(gf, target);
  if (Math.abs(k) > 10) return undefined;
  if (k >= -EASTER_WINDOW.before && k <= EASTER_WINDOW.after) return addDays(srcGf, 7 * k);
  const plain = addDays(target, -364 * yearsBack);
  const kSrc = weeksBetween(srcGf, plain);
  if (k > EASTER_WINDOW.after && kSrc <= EASTER_WINDOW.after) return addDays(srcGf, 7 * (EASTER_WINDOW.after + 1));
  if (k < -EASTER_WINDOW.before && kSrc >= -EASTER_WINDOW.before) return addDays(srcGf, -7 * (EASTER_WINDOW.before + 1));
  return undefined;
}

/** `a` (an alignment of `target`) with its source moved by the Easter alignment, if any applies. */
export function withEaster(panel: Panel, target: string, yearsBack: number, a: Alignment): Alignment {
  // Christmas' day-drift alignments (w != 0) never meet the spring window.
  if (a.w !== 0) return a;
  const src = easterSource(target, yearsBack);
  if (src === undefined) return a;
  const i = gridIndex(panel, src);
  return { src: i, nb: i, w: 0 };
}

/** Whether a week lies in its year's Easter window (the weeks `easterSource` aligns). */
export function isEasterWeek(week: string): boolean {
  const k = weeksBetween(goodFridayWeek(yearOf(week)), week);
  return k >= -EASTER_WINDOW.before && k <= EASTER_WINDOW.after;
}
