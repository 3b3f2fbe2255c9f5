import { weekEnding } from './weeks.ts';

export const HOLIDAY_NAMES = ['Super Bowl', 'Labor Day', 'Thanksgiving', 'Christmas'] as const;
export type HolidayName = (typeof HOLIDAY_NAMES)[number];

export interface HolidayWeek {
  name: HolidayName;
  /** Friday ending the Saturday..Friday week that contains the holiday. */
  week: string;
  year: number;
}

function nthWeekday(year: number, month: number, weekday: number, n: number): Date {
  const first = new Date(Date.UTC(year, month, 1));
  const offset = (weekday - first.getUTCDay() + 7) % 7;
  return new Date(Date.UTC(year, month, 1 + offset + (n - 1) * 7));
}

/**
 * The four holidays the Walmart data flags, computed by rule so any year works: Super Bowl
 * (first Sunday of February until 2021, second since), Labor Day (first Monday of
 * September), Thanksgiving (fourth Thursday of November), Christmas (December 25). These
 * give exactly the data set's flagged weeks, e.g. 2010-02-12, 2010-09-10, 2010-11-26, 2010-12-31.
 */
export function holidaysOfYear(year: number): HolidayWeek[] {
  const superBowl = nthWeekday(year, 1, 0, year >= 2022 ? 2 : 1);
  return [
    { name: 'Super Bowl', week: weekEnding(superBowl), year },
    { name: 'Labor Day', week: weekEnding(nthWeekday(year, 8, 1, 1)), year },
    { name: 'Thanksgiving', week: weekEnding(nthWeekday(year, 10, 4, 4)), year },
    { name: 'Christmas', week: weekEnding(new Date(Date.UTC(year, 11, 25))), year },
  ];
}

export function holidayCalendar(fromYear: number, toYear: number): HolidayWeek[] {
  const out: HolidayWeek[] = [];
  for (let y = fromYear; y <= toYear; y++) out.push(...holidaysOfYear(y));
  return out;
}

/** Case- and punctuation-insensitive holiday lookup for command arguments ("labor-day", "xmas"). */
export function findHoliday(input: string): HolidayName | undefined {
  const key = input.toLowerCase().replace(/[^a-z]/g, '');
  const aliases: Record<string, HolidayName> = { xmas: 'Christmas', superbowl: 'Super Bowl', laborday: 'Labor Day', labourday: 'Labor Day' };
  return aliases[key] ?? HOLIDAY_NAMES.find((h) => h.toLowerCase().replace(/[^a-z]/g, '') === key);
}
