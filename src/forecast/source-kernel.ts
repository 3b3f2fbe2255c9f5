import { addWeeks } from '../data/weeks.ts';
import { isHolidayWeek } from '../data/holidays.ts';
import { easterSource, isEasterWeek } from './easter.ts';
import type { Panel } from './panel.ts';

/**
 * The seasonal source of a forecast week, blended with its neighbours: the members'
 * (members.ts) and the network's SVD candidates (features.ts) read last year's week through
 * this, the reference baselines do not (TargetInfo.refined).
 */

/**
 * Weight of the two neighbouring weeks in a seasonal source (0.3: 0.15 each, 0.7 the week
 * itself): a week's sales a year ago are one noisy draw of its season, and the weeks beside
 * it hold nearly the same season. Not across peaks (sharpWeeks). Inner windows at four
 * origins: 0.2-0.3 best, 0.5 too blurred.
 */
export const SOURCE_KERNEL = 0.3;

/** Per panel: grid weeks whose value must not be blurred with their neighbours' (peaks and the weeks next to them). */
const sharpCache = new WeakMap<Panel, Uint8Array>();
export function sharpWeeks(panel: Panel): Uint8Array {
  let m = sharpCache.get(panel);
  if (m) return m;
  const n = panel.weeks.length;
  m = new Uint8Array(n);
  const mark = (i: number) => {
    for (const j of [i - 1, i, i + 1]) if (j >= 0 && j < n) (m as Uint8Array)[j] = 1;
  };
  panel.weeks.forEach((w, i) => {
    const md = w.slice(5);
    // Holidays, Easter, and Thanksgiving to New Year (the drifting rush).
    if (panel.holidayWeeks.has(w) || isEasterWeek(w) || md >= '11-15' || md <= '01-07') mark(i);
  });
  sharpCache.set(panel, m);
  return m;
}

/** A holiday week or an Easter-window week (by the calendar). */
const isOwnPeak = (week: string) => isHolidayWeek(week) || isEasterWeek(week);
/** 15 November - 7 January: Thanksgiving to New Year, the drifting rush. */
const isOwnSeason = (week: string) => week.slice(5) >= '11-15' || week.slice(5) <= '01-07';
const nearOrAt = (week: string, is: (w: string) => boolean) => is(addWeeks(week, -1)) || is(week) || is(addWeeks(week, 1));

/** Number of week types (`weekType`). */
export const WEEK_TYPES = 3;

/**
 * The type of a week (a Friday, any date: past or future) from the calendar alone, for the
 * interval's calibration (combination.ts `calibrateCombination`): 2 = the Christmas season
 * (15 November - 7 January and the weeks next to it, its holidays included), 1 = a peak (a
 * holiday or Easter-window week or a week next to one, or a week whose seasonal source the
 * Easter alignment moves: 2012-04-27 reads 2011-05-06, not last year's Easter week), 0 = calm.
 * Types 1 and 2 are the weeks `sharpWeeks` marks, plus the weeks Easter moves.
 */
export function weekType(week: string): number {
  if (nearOrAt(week, isOwnSeason)) return 2;
  if (nearOrAt(week, isOwnPeak) || easterSource(week, 1) !== undefined || easterSource(week, 2) !== undefined) return 1;
  return 0;
}

/** A smoothed series' value at a seasonal source week, blended with its neighbours (SOURCE_KERNEL) off peaks. */
export function sourceValue(panel: Panel, sm: Float64Array, src: number, limit: number): number {
  if (src < 0 || src > limit) return NaN;
  const c = sm[src] as number;
  if (src < 1 || src + 1 > limit || sharpWeeks(panel)[src] === 1) return c;
  const a = sm[src - 1] as number;
  const b = sm[src + 1] as number;
  if (Number.isNaN(a) || Number.isNaN(b) || Number.isNaN(c)) return c;
  return (1 - SOURCE_KERNEL) * c + (SOURCE_KERNEL / 2) * (a + b);
}

