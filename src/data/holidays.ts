import { dayNumberOf, fridayOnOrAfter, isoOfDay, weekday, yearOf } from './weeks.ts';

export const HOLIDAY_NAMES = ['Super Bowl', 'Labor Day', 'Thanksgiving', 'Christmas'] as const;
export type HolidayName = (typeof HOLIDAY_NAMES)[number];

export interface HolidayWeek {
  name: HolidayName;
  /** Friday ending the Saturday..Friday week that contains the holiday. */
  week: string;
  year: number;
}

function nthWeekdayOfMonth(year: number, month: number, wd: number, n: number): number {
  const first = dayNumberOf(year, month, 1);
  return first + ((wd - weekday(first) + 7) % 7) + 7 * (n - 1);
}

/**
 * The Friday ending each holiday week, by rule so any year works, exactly as the Walmart data
 * flags them (2010-02-12, 2010-09-10, 2010-11-26, 2010-12-31): the Super Bowl is the first
 * Sunday of February until 2021, the second since; Labor Day the first Monday of September;
 * Thanksgiving the fourth Thursday of November; Christmas the week holding December 25.
 */
export function holidayWeek(name: HolidayName, year: number): string {
  switch (name) {
    case 'Super Bowl':
      return isoOfDay(nthWeekdayOfMonth(year, 2, 0, year >= 2022 ? 2 : 1) + 5);
    case 'Labor Day':
      return isoOfDay(nthWeekdayOfMonth(year, 9, 1, 1) + 4);
    case 'Thanksgiving': // -> Black Friday
      return isoOfDay(nthWeekdayOfMonth(year, 11, 4, 4) + 1);
    case 'Christmas':
      return fridayOnOrAfter(`${year}-12-25`);
  }
}

export function holidaysOfYear(year: number): HolidayWeek[] {
  return HOLIDAY_NAMES.map((name) => ({ name, week: holidayWeek(name, year), year }));
}

export function holidayCalendar(fromYear: number, toYear: number): HolidayWeek[] {
  const out: HolidayWeek[] = [];
  for (let y = fromYear; y <= toYear; y++) out.push(...holidaysOfYear(y));
  return out;
}

/** Which holiday week `week` (a Friday) is, if any. A Christmas week never ends in January. */
export function holidayOf(week: string): HolidayName | undefined {
  const year = yearOf(week);
  return HOLIDAY_NAMES.find((h) => holidayWeek(h, year) === week);
}

export function isHolidayWeek(week: string): boolean {
  return holidayOf(week) !== undefined;
}

/** Case- and punctuation-insensitive holiday lookup for command arguments ("labor-day", "xmas"). */
export function findHoliday(input: string): HolidayName | undefined {
  const key = input.toLowerCase().replace(/[^a-z]/g, '');
  const aliases: Record<string, HolidayName> = { xmas: 'Christmas', superbowl: 'Super Bowl', laborday: 'Labor Day', labourday: 'Labor Day' };
  return aliases[key] ?? HOLIDAY_NAMES.find((h) => h.toLowerCase().replace(/[^a-z]/g, '') === key);
}
