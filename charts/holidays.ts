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
  /** Label row above the plot, 0 = nearest the plot; -1 when the label is dropped for lack of room. */
  row: number;
  /** Whether the name is drawn (false: only the rule). */
  label: boolean;
}

const LABEL_FONT_SIZE = 11;
/** Average advance of DejaVu Sans at 11 px is ~6.6 px; over-estimate a little. */
const CHAR_PX = 7;
const ROW_PX = 15;
const GAP_PX = 8;
const MAX_ROWS = 2;

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
  const placed: { row: number; cx: number; left: number; right: number }[] = [];
  const fits = (row: number, cx: number, left: number, right: number) =>
    placed.every((p) => {
      if (p.row === row) return right + GAP_PX <= p.left || left >= p.right + GAP_PX;
      // A label must not sit on the connector of a label stacked above it, and vice versa.
      if (p.row < row) return cx < p.left - 3 || cx > p.right + 3;
      return p.cx < left - 3 || p.cx > right + 3;
    });
  const out: PlacedHoliday[] = [];
  for (const h of inRange) {
    const cx = ((h.t - t0) / span) * width;
    const half = (h.name.length * CHAR_PX) / 2;
    let row = -1;
    for (let r = 0; r < MAX_ROWS && row === -1; r++) if (fits(r, cx, cx - half, cx + half)) row = r;
    // No room in any row: keep the rule, drop the label (the same holiday is usually labelled nearby).
    if (row !== -1) placed.push({ row, cx, left: cx - half, right: cx + half });
    out.push({ week: isoWeek(h.t), name: h.name, row, label: row !== -1 });
  }
  return out;
}

/** Legend offset (px) that clears the holiday label rows above the plot. */
export function legendOffsetAbove(holidays: PlacedHoliday[]): number {
  const rows = Math.max(0, ...holidays.map((h) => h.row + 1));
  return rows ? 10 + rows * ROW_PX + 4 : 10;
}

/** Vega-Lite layers for the placed holidays (empty if none). Shares the chart's x encoding by field. */
export function holidayLayers(holidays: PlacedHoliday[]): unknown[] {
  if (holidays.length === 0) return [];
  const values = holidays.map((h) => ({ week: h.week, name: h.name, labelY: -6 - Math.max(h.row, 0) * ROW_PX }));
  const labelled = values.filter((_, i) => holidays[i]!.label);
  const layers: unknown[] = [
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
      data: { values: labelled },
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
      data: { values: labelled },
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
  return labelled.length ? layers : layers.slice(0, 1);
}
