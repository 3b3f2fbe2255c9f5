/**
 * Holiday weeks on a time axis: a dashed vertical rule per holiday week and its short name just
 * above the plot area. Labels that would overlap are stacked on a second (third, …) row, computed
 * here from the plot width, so names never collide with each other or with the data.
 */
import { CHART_WIDTH, COLORS, FONT, isoWeek, weekTime } from './theme.ts';

export interface HolidayMark {
  /** The holiday week's date, "YYYY-MM-DD". */
  week: string;
  /** A short label: "Thanksgiving", "Christmas", "Super Bowl", "Labor Day". */
  name: string;
}

export interface PlacedHoliday {
  week: string;
  name: string;
  /** 0 = the row nearest the plot. */
  row: number;
}

const LABEL_FONT_SIZE = 11;
/** Average advance of DejaVu Sans at 11 px is ~6.6 px; over-estimate a little. */
const CHAR_PX = 7;
const ROW_PX = 15;
const GAP_PX = 8;

/**
 * Holidays within [t0, t1] (UTC ms), de-duplicated, each with a label row. The label is centred
 * on the rule; a label that would run past the plot's edge is still kept (the canvas grows).
 */
export function pickHolidays(holidays: HolidayMark[], t0: number, t1: number, width = CHART_WIDTH): PlacedHoliday[] {
  const span = Math.max(t1 - t0, 1);
  const seen = new Set<string>();
  const inRange = holidays
    .map((h, i) => ({ t: weekTime(h.week, `holidays[${i}]`), name: String(h.name ?? '').trim() }))
    .filter((h) => h.t >= t0 && h.t <= t1 && h.name)
    .sort((a, b) => a.t - b.t)
    .filter((h) => {
      const key = `${h.t}|${h.name}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const rowEnds: number[] = []; // right edge (px) of the last label in each row
  return inRange.map((h) => {
    const cx = ((h.t - t0) / span) * width;
    const half = (h.name.length * CHAR_PX) / 2;
    let row = rowEnds.findIndex((end) => cx - half >= end + GAP_PX);
    if (row === -1) {
      row = rowEnds.length;
      rowEnds.push(0);
    }
    rowEnds[row] = cx + half;
    return { week: isoWeek(h.t), name: h.name, row };
  });
}

/** Legend offset (px) that clears the holiday label rows above the plot. */
export function legendOffsetAbove(holidays: PlacedHoliday[]): number {
  const rows = holidays.length ? Math.max(...holidays.map((h) => h.row)) + 1 : 0;
  return rows ? 10 + rows * ROW_PX + 4 : 10;
}

/** Vega-Lite layers for the placed holidays (empty if none). Shares the chart's x encoding by field. */
export function holidayLayers(holidays: PlacedHoliday[]): unknown[] {
  if (holidays.length === 0) return [];
  const values = holidays.map((h) => ({ ...h, labelY: -6 - h.row * ROW_PX }));
  return [
    {
      data: { values },
      mark: { type: 'rule', color: COLORS.holiday, strokeDash: [3, 3], strokeWidth: 1, opacity: 0.8 },
      encoding: {
        x: { field: 'week', type: 'temporal' },
        y: { value: 0 },
        y2: { value: { expr: 'height' } },
      },
    },
    {
      data: { values },
      mark: {
        type: 'rule',
        color: COLORS.holiday,
        strokeWidth: 1,
        opacity: 0.8,
      },
      encoding: {
        x: { field: 'week', type: 'temporal' },
        y: { field: 'labelY', type: 'quantitative', scale: null },
        y2: { value: 0 },
      },
    },
    {
      data: { values },
      mark: {
        type: 'text',
        font: FONT,
        fontSize: LABEL_FONT_SIZE,
        color: COLORS.holidayText,
        align: 'center',
        baseline: 'bottom',
        dy: -2,
      },
      encoding: {
        x: { field: 'week', type: 'temporal' },
        y: { field: 'labelY', type: 'quantitative', scale: null },
        text: { field: 'name' },
      },
    },
  ];
}
