/**
 * The one week calendar. A week is the Friday that ends it (Saturday..Friday, as in the
 * Walmart data), as 'YYYY-MM-DD'. Dates are handled in UTC, as day numbers (days since
 * 1970-01-01) where arithmetic is needed, so no local time zone can shift a week.
 */
const DAY_MS = 86_400_000;

export const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

/** A calendar date, or undefined for anything else (2012-02-30 included). */
export function parseIsoDate(s: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return undefined;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]) ? d : undefined;
}

export function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function dayNumber(iso: string): number {
  const d = parseIsoDate(iso);
  if (!d) throw new Error(`not a date (YYYY-MM-DD): ${iso}`);
  return Math.round(d.getTime() / DAY_MS);
}

/** The date of a day number. */
export function isoOfDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function dayNumberOf(year: number, month: number, day: number): number {
  return Math.round(Date.UTC(year, month - 1, day) / DAY_MS);
}

export function addDays(iso: string, days: number): string {
  return isoOfDay(dayNumber(iso) + days);
}

export function addWeeks(iso: string, weeks: number): string {
  return isoOfDay(dayNumber(iso) + 7 * weeks);
}

/** Whole weeks from `a` to `b` (both Fridays). */
export function weeksBetween(a: string, b: string): number {
  return Math.round((dayNumber(b) - dayNumber(a)) / 7);
}

/** 0 = Sunday ... 5 = Friday. */
export function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

export function isFriday(iso: string): boolean {
  return weekday(dayNumber(iso)) === 5;
}

/** The Friday on or after `iso`: the end of the sales week that holds it. */
export function fridayOnOrAfter(iso: string): string {
  const d = dayNumber(iso);
  return isoOfDay(d + ((5 - weekday(d) + 7) % 7));
}

/** The Friday that ends the Saturday..Friday sales week containing `d`. */
export function weekEnding(d: Date): string {
  return fridayOnOrAfter(isoDate(d));
}

/** `count` Fridays starting with the one after `lastWeek`. */
export function nextFridays(lastWeek: string, count: number): string[] {
  const start = dayNumber(fridayOnOrAfter(lastWeek));
  const first = start === dayNumber(lastWeek) ? start + 7 : start;
  return Array.from({ length: count }, (_, i) => isoOfDay(first + 7 * i));
}

export function yearOf(iso: string): number {
  return Number(iso.slice(0, 4));
}

/** 1..53: the week of the year of the Friday, counted from the first Friday of January. */
export function weekOfYear(iso: string): number {
  return Math.floor(dayOfYear(iso) / 7) + 1;
}

/** Day of year 0..365 (fractional season position for Fourier features). */
export function dayOfYear(iso: string): number {
  return dayNumber(iso) - dayNumberOf(yearOf(iso), 1, 1);
}
