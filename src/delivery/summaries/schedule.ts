import { WEEKDAYS } from '../../data/weeks.ts';

/**
 * Weekly schedules in a time zone: "every monday 08:00 tz America/Chicago". Computed with
 * Intl (the platform's tz database), so DST changes move the UTC instant, not the local time.
 */
export interface WeeklySchedule {
  /** 0 = Sunday .. 6 = Saturday. */
  weekday: number;
  /** 'HH:MM', 24-hour. */
  time: string;
  timezone: string;
}

export const DEFAULT_SCHEDULE: WeeklySchedule = { weekday: 1, time: '08:00', timezone: 'UTC' };

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function parseWeekday(s: string): number | undefined {
  const v = s.trim().toLowerCase();
  if (v.length < 2) return undefined;
  const i = WEEKDAYS.findIndex((d) => d.toLowerCase().startsWith(v.replace(/s$/, '')) || d.toLowerCase() === v);
  return i >= 0 ? i : undefined;
}

export function parseTime(s: string): string | undefined {
  const m = /^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$/i.exec(s.trim());
  if (!m) return undefined;
  let h = Number(m[1]);
  const min = Number(m[2] ?? 0);
  const ampm = m[3]?.toLowerCase();
  if (ampm) {
    if (h < 1 || h > 12) return undefined;
    h = (h % 12) + (ampm === 'pm' ? 12 : 0);
  }
  if (h > 23 || min > 59) return undefined;
  return `${String(h).padStart(2, '0')}:${String(min).padStart(2, '0')}`;
}

/**
 * Parses "every monday 08:00" / "monday 8am" / "mon 08:00" (the `every` is optional).
 * Throws an Error with a readable message.
 */
export function parseEvery(text: string): { weekday: number; time: string } {
  const words = text.trim().toLowerCase().split(/\s+/).filter((w) => w && w !== 'every' && w !== 'at');
  let weekday: number | undefined;
  let time: string | undefined;
  for (const w of words) {
    const t = parseTime(w);
    if (t !== undefined && time === undefined) {
      time = t;
      continue;
    }
    const d = parseWeekday(w);
    if (d !== undefined && weekday === undefined) {
      weekday = d;
      continue;
    }
    throw new Error(`"${w}" is neither a weekday nor a time (e.g. every monday 08:00)`);
  }
  if (weekday === undefined) throw new Error('name a weekday, e.g. every monday 08:00');
  return { weekday, time: time ?? DEFAULT_SCHEDULE.time };
}

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function partsIn(tz: string, instant: number): Parts {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
  return { year: +p.year!, month: +p.month!, day: +p.day!, hour: +p.hour!, minute: +p.minute!, second: +p.second! };
}

function offsetMs(tz: string, instant: number): number {
  const p = partsIn(tz, instant);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(instant / 1000) * 1000;
}

/** The UTC instant of a local wall-clock time in `tz` (the later reading of a DST gap). */
export function zonedTimeToUtc(date: string, time: string, tz: string): Date {
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  const [h, mi] = time.split(':').map(Number) as [number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  let t = wall - offsetMs(tz, wall);
  t = wall - offsetMs(tz, t);
  return new Date(t);
}

/** The calendar date 'YYYY-MM-DD' of `instant` in `tz`. */
export function localDate(instant: Date, tz: string): string {
  const p = partsIn(tz, instant.getTime());
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

function addDays(date: string, n: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** The first run strictly after `after`. */
export function nextRun(schedule: WeeklySchedule, after: Date): Date {
  const today = localDate(after, schedule.timezone);
  for (let i = -1; i <= 8; i++) {
    const date = addDays(today, i);
    if (new Date(`${date}T00:00:00Z`).getUTCDay() !== schedule.weekday) continue;
    const t = zonedTimeToUtc(date, schedule.time, schedule.timezone);
    if (t.getTime() > after.getTime()) return t;
  }
  throw new Error('unreachable: no weekly run within 8 days');
}

export function describeSchedule(s: WeeklySchedule): string {
  return `every ${WEEKDAYS[s.weekday]} ${s.time} ${s.timezone}`;
}
