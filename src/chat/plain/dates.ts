import * as chrono from 'chrono-node';

/**
 * When a question is about: a past window ("last week", "the past 3 months", "in December
 * 2011", "since 2012-03-01") or weeks ahead ("next 8 weeks", "next quarter").
 *
 * Relative words count from `asOf`, the last week the data holds, not from today: a chain's
 * "last week" is its latest week of sales (the Walmart set ends in 2012), and a live import
 * makes the two the same. Absolute dates are chrono-node's (maintained, no data files, offline).
 */
export interface When {
  /** First and last day of a past window (YYYY-MM-DD); either may be open. */
  from?: string;
  to?: string;
  /** Length of a past window in weeks ("last 13 weeks"), for commands that take a window length. */
  pastWeeks?: number;
  /** Weeks ahead ("next 8 weeks", "next quarter"). */
  aheadWeeks?: number;
  /** A count of weeks said with neither past nor future ("over 12 weeks"). */
  weeks?: number;
  /** The words read as dates, so nothing else reads them again. */
  said: string[];
}

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const ms = (isoDate: string) => Date.parse(`${isoDate}T00:00:00Z`);
const UNIT_WEEKS: Record<string, number> = { day: 1 / 7, week: 1, wk: 1, month: 4, quarter: 13, year: 52 };

function unitWeeks(unit: string, n: number): number {
  const u = unit.replace(/s$/, '');
  // Months are 4.33 weeks: "3 months" is 13 weeks, "6 months" 26, "1 month" 4.
  const per = u === 'month' ? 52 / 12 : (UNIT_WEEKS[u] ?? 1);
  return Math.max(1, Math.round(n * per));
}

const UNIT = '(days?|weeks?|wks?|months?|quarters?|years?)';
const VS = /\b(?:vs\.?|versus|compared(?: to| with)?|than|against|beat|beats|over|above|below|same \w+(?: \w+)?)\s+$/;

/** Reads the when of a question; `text` is lower-case, numbers already in digits. */
export function readWhen(text: string, asOf: string): When {
  const when: When = { said: [] };
  let rest = text;
  const take = (re: RegExp, fn: (m: RegExpExecArray) => boolean | void) => {
    const m = re.exec(rest);
    if (!m) return;
    if (fn(m) === false) return;
    when.said.push(m[0]);
    rest = rest.slice(0, m.index) + ' '.repeat(m[0].length) + rest.slice(m.index + m[0].length);
  };
  const end = ms(asOf);
  const y = Number(asOf.slice(0, 4));
  const mo = Number(asOf.slice(5, 7));

  take(new RegExp(`\\b(?:next|coming|upcoming|following)\\s+(\\d+)\\s*${UNIT}`), (m) => void (when.aheadWeeks = unitWeeks(m[2]!, Number(m[1]))));
  take(new RegExp(`\\b(\\d+)\\s*${UNIT}\\s+(?:ahead|out|from now|forward|in advance|into the future)`), (m) => void (when.aheadWeeks = unitWeeks(m[2]!, Number(m[1]))));
  take(/\b(?:next|coming|upcoming|following)\s+(week|month|quarter|year|half year|half)\b/, (m) => void (when.aheadWeeks = m[1]!.startsWith('half') ? 26 : unitWeeks(m[1]!, 1)));
  take(/\brest of the year\b/, () => void (when.aheadWeeks = Math.max(1, Math.round((ms(`${y}-12-31`) - end) / (7 * DAY)))));

  take(new RegExp(`\\b(?:last|past|previous|prior|recent|latest|final)\\s+(\\d+)\\s*${UNIT}`), (m) => {
    const weeks = unitWeeks(m[2]!, Number(m[1]));
    Object.assign(when, { from: iso(end - (weeks - 1) * 7 * DAY), pastWeeks: weeks });
  });
  take(/\b(?:the )?week before last\b|\bprevious week\b|\bweek before\b/, () => void Object.assign(when, { from: iso(end - 7 * DAY), to: iso(end - 7 * DAY) }));
  take(/\b(?:last|this|past|latest|most recent|current|recent)\s+weeks?\b/, (m) => {
    if (VS.test(rest.slice(0, m.index))) return false;
    Object.assign(when, { from: asOf, pastWeeks: 1 });
  });
  take(/\b(?:last|previous|past)\s+month\b/, (m) => {
    if (VS.test(rest.slice(0, m.index))) return false;
    const first = Date.UTC(y, mo - 2, 1);
    Object.assign(when, { from: iso(first), to: iso(Date.UTC(y, mo - 1, 1) - DAY) });
  });
  take(/\b(?:this|current)\s+month\b|\bmonth to date\b|\bmtd\b/, () => void (when.from = iso(Date.UTC(y, mo - 1, 1))));
  take(/\b(?:last|previous|past)\s+quarter\b/, (m) => {
    if (VS.test(rest.slice(0, m.index))) return false;
    const q = Math.floor((mo - 1) / 3);
    Object.assign(when, { from: iso(Date.UTC(y, 3 * q - 3, 1)), to: iso(Date.UTC(y, 3 * q, 1) - DAY) });
  });
  take(/\bq([1-4])(?:\s+((?:19|20)\d\d))?\b/, (m) => {
    // "Q3" alone is the latest Q3 that has begun.
    const q = Number(m[1]);
    const year = m[2] ? Number(m[2]) : Date.UTC(y, 3 * q - 3, 1) > end ? y - 1 : y;
    Object.assign(when, { from: iso(Date.UTC(year, 3 * q - 3, 1)), to: iso(Math.min(Date.UTC(year, 3 * q, 1) - DAY, end)) });
  });
  take(/\b(?:this|current)\s+quarter\b|\bquarter to date\b|\bqtd\b/, () => void (when.from = iso(Date.UTC(y, 3 * Math.floor((mo - 1) / 3), 1))));
  take(/\b(?:so far )?this year(?: so far)?\b|\byear to date\b|\bytd\b|\b(?:since )?(?:the )?(?:start|beginning) of (?:the|this) year\b/, (m) => {
    if (VS.test(rest.slice(0, m.index))) return false;
    when.from = `${y}-01-01`;
  });
  take(/\b(?:last|previous|past)\s+year\b/, (m) => {
    if (VS.test(rest.slice(0, m.index))) return false;
    Object.assign(when, { from: `${y - 1}-01-01`, to: `${y - 1}-12-31` });
  });
  take(/\b(?:in|during|for|of|over|across|throughout)\s+((?:19|20)\d\d)\b(?!-)/, (m) => void Object.assign(when, { from: `${m[1]}-01-01`, to: `${m[1]}-12-31` }));
  take(new RegExp(`\\b(?:for|over|across|in|within)\\s+(?:the\\s+)?(\\d+)\\s*${UNIT}`), (m) => void (when.weeks = unitWeeks(m[2]!, Number(m[1]))));
  take(new RegExp(`\\b(\\d+)\\s*${UNIT}\\b`), (m) => void (when.weeks = unitWeeks(m[2]!, Number(m[1]))));
  if (when.from === undefined && when.to === undefined) absolute(rest, asOf, when);
  // A window's length in weeks, for commands that rank over the latest N weeks ("top stores this year").
  if (when.from !== undefined && when.pastWeeks === undefined) when.pastWeeks = Math.max(1, Math.round((ms(when.to ?? asOf) - ms(when.from) + DAY) / (7 * DAY)));
  return when;
}

const MONTHS = /\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}\/\d{1,2}\/\d{2,4}\b/;

/** Calendar dates ("in December 2011", "from Nov 1 2011 to Jan 31 2012", "since 2012-03-01"). */
function absolute(text: string, asOf: string, when: When): void {
  if (!MONTHS.test(text)) return;
  const results = chrono.en.parse(text, new Date(`${asOf}T12:00:00Z`), { forwardDate: false });
  if (!results.length) return;
  const span = (r: chrono.ParsedComponents, edge: 'start' | 'end'): string => {
    const month = r.get('month') ?? 1;
    // "since March" in October 2012 is March 2012: a month without a year is the latest one past.
    const said = r.get('year') ?? Number(asOf.slice(0, 4));
    const year = !r.isCertain('year') && iso(Date.UTC(said, month - 1, 1)) > asOf ? said - 1 : said;
    if (r.isCertain('day')) return iso(Date.UTC(year, month - 1, r.get('day') ?? 1));
    // A month alone is the whole month: its first day, or its last.
    return edge === 'start' ? iso(Date.UTC(year, month - 1, 1)) : iso(Date.UTC(year, month, 1) - DAY);
  };
  const [first, second] = results;
  const before = text.slice(0, first!.index);
  if (first!.end) {
    when.from = span(first!.start, 'start');
    when.to = span(first!.end, 'end');
  } else if (second) {
    when.from = span(first!.start, 'start');
    when.to = span(second.start, 'end');
  } else if (/\b(?:since|after|from|starting)\s*$/.test(before)) {
    when.from = span(first!.start, 'start');
  } else if (/\b(?:until|till|up to|through|thru|before|to)\s*$/.test(before)) {
    when.to = span(first!.start, 'end');
  } else {
    when.from = span(first!.start, 'start');
    when.to = span(first!.start, 'end');
  }
  when.said.push(...results.map((r) => r.text));
}
