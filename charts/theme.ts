/**
 * Shared look of every storecast chart: type, colours, number and date formats, sizes.
 *
 * Everything here is plain data or a Vega expression *string*: a spec built with this theme is
 * self-contained JSON (no custom format functions registered in a global vega instance), so the
 * same spec renders identically here, in a browser console (vega-embed) or in a webhook consumer.
 */
import type { Config } from 'vega-lite';

/** A Vega-Lite spec as carried in a Reply (`ReplyChart.spec`): plain JSON data. */
export type ChartSpec = Record<string, unknown>;

/** Thrown by a builder when its input cannot make a meaningful chart (nothing to plot, bad value). */
export class ChartInputError extends Error {
  override name = 'ChartInputError';
}

/**
 * Installed by `fonts-dejavu-core` on Debian/Ubuntu (CI and the Docker image) and registered
 * explicitly with node-canvas in render.ts, so glyphs never fall back to tofu boxes.
 */
export const FONT = 'DejaVu Sans';

/** Plot-area size at scale 1. At the default render scale 2 the PNG is ~1500 px wide. */
export const CHART_WIDTH = 680;
export const CHART_HEIGHT = 300;

/** Okabe–Ito: distinguishable with the common forms of colour blindness. */
export const OKABE_ITO = {
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  green: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  purple: '#CC79A7',
  black: '#000000',
} as const;

/** Categorical order used for series coloured by a field (years, stores, …). */
export const CATEGORY_PALETTE = [
  OKABE_ITO.blue,
  OKABE_ITO.orange,
  OKABE_ITO.green,
  OKABE_ITO.vermillion,
  OKABE_ITO.skyBlue,
  OKABE_ITO.purple,
  OKABE_ITO.yellow,
  OKABE_ITO.black,
];

/** Semantic colours: one meaning, one colour, across every chart. */
export const COLORS = {
  actual: OKABE_ITO.blue,
  forecast: OKABE_ITO.vermillion,
  /** The forecast colour at ~20% on white: opaque, so it reads the same over grid lines. */
  interval: '#F7D5C0',
  lastYear: '#8FA3B5',
  positive: OKABE_ITO.blue,
  negative: OKABE_ITO.vermillion,
  holiday: '#7A7A7A',
  holidayText: '#555555',
  text: '#222222',
  subtleText: '#555555',
  axisText: '#444444',
  grid: '#E6E6E6',
  domain: '#9A9A9A',
  zero: '#555555',
  background: '#FFFFFF',
} as const;

// ---------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------

/**
 * Compact money as a Vega expression over `value` (any Vega expression, e.g. `datum.value`):
 * 1234567 -> "$1.2M", 850000 -> "$850K", -12345 -> "-$12.3K", 2.5e9 -> "$2.5B", 640 -> "$640".
 *
 * Written out with `format(…, '.Nf')` instead of D3's SI `'$.3~s'`, which gives "k" for
 * thousands, "G" for billions and a Unicode minus before the "$". Mirrors `formatMoney`.
 */
export function moneyExpr(value: string, maxDecimals = 1): string {
  const v = `(${value})`;
  const a = `abs${v}`;
  const f = `'.${maxDecimals}~f'`;
  // Thresholds are where rounding to `maxDecimals` would show "1000": 999.96K is "$1M".
  const half = 0.5 * 10 ** -maxDecimals;
  const tK = 1000 - half;
  const sign = `(${v} < 0 && ${a} >= 0.5 ? '-' : '')`;
  const body =
    `${a} >= ${tK}e9 ? format(${a} / 1e12, ${f}) + 'T' : ` +
    `${a} >= ${tK}e6 ? format(${a} / 1e9, ${f}) + 'B' : ` +
    `${a} >= ${tK}e3 ? format(${a} / 1e6, ${f}) + 'M' : ` +
    `${a} >= 999.5 ? format(${a} / 1e3, ${f}) + 'K' : ` +
    `format(${a}, '.0f')`;
  return `${sign} + '$' + (${body})`;
}

/** The JS twin of `moneyExpr`, for text outside charts (summaries, alt text, tests). */
export function formatMoney(value: number, maxDecimals = 1): string {
  if (!Number.isFinite(value)) return String(value);
  const a = Math.abs(value);
  const tK = 1000 - 0.5 * 10 ** -maxDecimals;
  const trim = (x: number) => {
    const s = x.toFixed(maxDecimals);
    return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
  };
  let body: string;
  if (a >= tK * 1e9) body = trim(a / 1e12) + 'T';
  else if (a >= tK * 1e6) body = trim(a / 1e9) + 'B';
  else if (a >= tK * 1e3) body = trim(a / 1e6) + 'M';
  else if (a >= 999.5) body = trim(a / 1e3) + 'K';
  else body = a.toFixed(0);
  return (value < 0 && a >= 0.5 ? '-' : '') + '$' + body;
}

/**
 * A fraction as a percentage, as a Vega expression: 0.123 -> "+12.3%", -0.04 -> "-4%", 0 -> "0%".
 * `signed` adds "+" to positive values (lifts, growth). ASCII "-" like `moneyExpr`.
 */
export function percentExpr(value: string, { signed = true, maxDecimals = 1 } = {}): string {
  const v = `(${value})`;
  const r = `round(abs${v} * ${100 * 10 ** maxDecimals}) / ${10 ** maxDecimals}`;
  const plus = signed ? `'+'` : `''`;
  return `(${r} == 0 ? '' : ${v} < 0 ? '-' : ${plus}) + format(${r}, '.${maxDecimals}~f') + '%'`;
}

/** The JS twin of `percentExpr`. */
export function formatPercent(value: number, { signed = true, maxDecimals = 1 } = {}): string {
  if (!Number.isFinite(value)) return String(value);
  const p = 10 ** maxDecimals;
  const r = Math.round(Math.abs(value) * 100 * p) / p;
  const sign = r === 0 ? '' : value < 0 ? '-' : signed ? '+' : '';
  const s = r.toFixed(maxDecimals);
  return sign + (s.includes('.') ? s.replace(/\.?0+$/, '') : s) + '%';
}

// ---------------------------------------------------------------------------------------------
// Week dates
// ---------------------------------------------------------------------------------------------

const DAY = 86_400_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Parses a week's date ("2012-11-23", or a full ISO timestamp) to UTC ms; throws a clear error. */
export function weekTime(week: string, where: string): number {
  const t = typeof week !== 'string' ? Number.NaN : ISO_DATE.test(week) ? Date.parse(`${week}T00:00:00Z`) : Date.parse(week);
  if (Number.isNaN(t)) {
    throw new ChartInputError(`${where}: week ${JSON.stringify(week)} is not a date (expected YYYY-MM-DD)`);
  }
  return t;
}

/** "2012-11-23" for a UTC ms time; how builders write week values into specs. */
export function isoWeek(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

/**
 * A time x axis for weekly data spanning [t0, t1] (UTC ms): month ticks labelled "Nov" with
 * the year on January and on the first tick ("Nov 2012"), or, for spans up to 20 weeks, ticks
 * on the data's weeks labelled "Nov 25" (the first with its year). Week strings are read as UTC dates, so labels do not shift with the
 * server's time zone.
 */
export function weekAxis(t0: number, t1: number): Record<string, unknown> {
  const weeks = (t1 - t0) / (7 * DAY);
  if (weeks <= 20) {
    // Ticks on the data's own weeks (e.g. Fridays), not on calendar (Sunday) week starts.
    const step = weeks <= 10 ? 1 : 2;
    const values: number[] = [];
    for (let t = t0; t <= t1 + DAY; t += step * 7 * DAY) values.push(t);
    return {
      title: null,
      values,
      labelExpr: `datum.index == 0 || utcmonth(datum.value) == 0 && utcdate(datum.value) <= 7 ? utcFormat(datum.value, '%b %-d, %Y') : utcFormat(datum.value, '%b %-d')`,
      labelOverlap: true,
    };
  }
  const months = weeks / 4.35;
  const step = months <= 9 ? 1 : months <= 18 ? 2 : months <= 36 ? 3 : 6;
  return {
    title: null,
    tickCount: { interval: 'month', step },
    labelExpr: `datum.index == 0 || utcmonth(datum.value) == 0 ? utcFormat(datum.value, '%b %Y') : utcFormat(datum.value, '%b')`,
    labelOverlap: true,
  };
}

// ---------------------------------------------------------------------------------------------
// Config and the common top level
// ---------------------------------------------------------------------------------------------

export const THEME_CONFIG: Config = {
  font: FONT,
  background: COLORS.background,
  padding: 16,
  view: { stroke: null },
  title: {
    font: FONT,
    fontSize: 19,
    fontWeight: 'bold',
    color: COLORS.text,
    anchor: 'start',
    subtitleFont: FONT,
    subtitleFontSize: 13,
    subtitleColor: COLORS.subtleText,
    subtitlePadding: 6,
    offset: 14,
  },
  axis: {
    labelFont: FONT,
    labelFontSize: 12,
    labelColor: COLORS.axisText,
    titleFont: FONT,
    titleFontSize: 12,
    titleFontWeight: 'normal',
    titleColor: COLORS.subtleText,
    gridColor: COLORS.grid,
    domainColor: COLORS.domain,
    tickColor: COLORS.domain,
    labelPadding: 6,
  },
  axisY: { domain: false, ticks: false, labelPadding: 8 },
  axisX: { grid: false, tickSize: 5 },
  legend: {
    labelFont: FONT,
    labelFontSize: 12,
    labelColor: COLORS.text,
    titleFont: FONT,
    titleFontSize: 12,
    titleColor: COLORS.subtleText,
    titleFontWeight: 'normal',
    orient: 'top',
    direction: 'horizontal',
    columnPadding: 18,
    symbolSize: 160,
    padding: 0,
    offset: 10,
    // Vega (not Vega-Lite) config, passed through: space between side-by-side legends equals the
    // space between entries of one legend ("Actual  Forecast  80% interval" reads as one legend).
    ...({ layout: { top: { anchor: 'start', margin: 18 } } } as object),
  },
  text: { font: FONT, fontSize: 12, color: COLORS.text },
  range: { category: CATEGORY_PALETTE },
  line: { strokeWidth: 2.25, strokeCap: 'round', strokeJoin: 'round' },
  bar: { cornerRadiusEnd: 2 },
};

export interface TitleInput {
  title: string;
  subtitle?: string;
}

/** The shared top-level fields of every chart: schema, title + subtitle, size, config. */
export function frame({ title, subtitle }: TitleInput) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: subtitle ? { text: title, subtitle } : { text: title },
    description: subtitle ? `${title}. ${subtitle}` : title,
    width: CHART_WIDTH,
    autosize: { type: 'pad' as const },
    config: THEME_CONFIG,
  };
}

/** Throws a ChartInputError unless `v` is a finite number. */
export function finite(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ChartInputError(`${where} is not a finite number (${String(v)})`);
  }
  return v;
}
