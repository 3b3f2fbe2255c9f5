/** Week arithmetic on 'YYYY-MM-DD' strings in UTC, so no local time zone can move a week. */
const DAY = 86_400_000;

export function parseIsoDate(s: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return undefined;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]) ? d : undefined;
}

export function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function addWeeks(week: string, n: number): string {
  const d = parseIsoDate(week);
  if (!d) throw new Error(`not a date: ${week}`);
  return isoDate(new Date(d.getTime() + n * 7 * DAY));
}

export function weeksBetween(from: string, to: string): number {
  return Math.round((parseIsoDate(to)!.getTime() - parseIsoDate(from)!.getTime()) / (7 * DAY));
}

export const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

/** The Friday that ends the Saturday..Friday sales week containing `d`. */
export function weekEnding(d: Date): string {
  const offset = (5 - d.getUTCDay() + 7) % 7;
  return isoDate(new Date(d.getTime() + offset * DAY));
}
