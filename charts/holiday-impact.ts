/**
 * Holiday impact chart: sales lift of each holiday week vs normal weeks, one bar per year grouped
 * by holiday, with the confidence interval as error bars and a zero line.
 */
import type { TopLevelSpec } from 'vega-lite';
import { CATEGORY_PALETTE, CHART_HEIGHT, CHART_WIDTH, COLORS, ChartInputError, type ChartSpec, finite, formatPercent, frame, percentExpr } from './theme.ts';

export interface HolidayLiftRow {
  holiday: string;
  year: number;
  /** Lift as a fraction: 0.123 is +12.3% vs normal weeks. */
  lift: number;
  /** Confidence interval of the lift, fractions like `lift`. */
  lower: number;
  upper: number;
}

export interface HolidayImpactChartInput {
  title: string;
  subtitle: string;
  rows: HolidayLiftRow[];
}

const BAR_STEP = 56;
const MAX_BAR = 72;

/**
 * Builds the holiday impact chart's Vega-Lite spec. Holidays keep the order of their first row;
 * years are sorted. Throws ChartInputError when there are no rows or a value is not a number.
 */
export function holidayImpactChart(input: HolidayImpactChartInput): ChartSpec {
  // Longer than 80 lines on purpose: one Vega-Lite spec, built top to bottom, reads as one chart.
  const rows = (input.rows ?? []).map((r, i) => {
    const holiday = String(r.holiday ?? '').trim();
    if (!holiday) throw new ChartInputError(`holidayImpactChart: rows[${i}].holiday is empty`);
    const year = finite(r.year, `rows[${i}].year`);
    const lift = finite(r.lift, `rows[${i}].lift`);
    const lower = finite(r.lower, `rows[${i}].lower`);
    const upper = finite(r.upper, `rows[${i}].upper`);
    return {
      holiday,
      year: String(Math.trunc(year)),
      lift,
      lower: Math.min(lower, upper),
      upper: Math.max(lower, upper),
    };
  });
  if (rows.length === 0) throw new ChartInputError('holidayImpactChart: nothing to plot (no rows)');

  // Bars are ~45 px wide: labels of 10% and more drop the decimal ("+38%") so neighbours never touch.
  const labelled = rows.map((r) => ({ ...r, label: formatPercent(r.lift, { maxDecimals: Math.abs(r.lift) >= 0.0995 ? 0 : 1 }) }));
  const holidays = [...new Set(rows.map((r) => r.holiday))];
  const years = [...new Set(rows.map((r) => r.year))].sort();
  const lo = Math.min(0, ...rows.map((r) => r.lower));
  const hi = Math.max(0, ...rows.map((r) => r.upper));
  // Room above/below the whiskers for the value labels.
  const pad = (hi - lo) * 0.12;
  const yDomain = [lo < 0 ? lo - pad : 0, hi > 0 ? hi + pad : 0];

  const x = {
    field: 'holiday',
    type: 'nominal' as const,
    sort: holidays,
    title: null,
    scale: { paddingInner: 0.2, paddingOuter: 0.1 },
    axis: { labelAngle: 0, labelFontSize: 13, labelColor: COLORS.text, ticks: false, domain: false, labelPadding: 10 },
  };
  const xOffset = { field: 'year', type: 'nominal' as const, sort: years, scale: { paddingInner: 0.1 } };
  const y = {
    field: 'lift',
    type: 'quantitative' as const,
    title: 'Lift vs normal weeks',
    scale: { domain: yDomain, nice: true },
    axis: { labelExpr: percentExpr('datum.value', { maxDecimals: 0 }), tickCount: 6 },
  };
  // Cap bars at MAX_BAR px (a single holiday x year would otherwise fill the plot), centred in their slot.
  const width = Math.max(CHART_WIDTH, holidays.length * years.length * BAR_STEP);
  const groupStep = width / (holidays.length - 0.2 + 2 * 0.1);
  const barSlot = (groupStep * 0.8) / (years.length - 0.1);
  const barBand = Math.min(1, MAX_BAR / (barSlot * 0.9));
  const color = {
    field: 'year',
    type: 'nominal' as const,
    sort: years,
    scale: { domain: years, range: CATEGORY_PALETTE.slice(0, Math.max(years.length, 1)) },
    legend: { title: null, symbolType: 'square' },
  };

  const spec = {
    ...frame(input),
    // At least BAR_STEP px per bar, so value labels fit over their bar.
    width,
    height: CHART_HEIGHT,
    data: { values: labelled },
    layer: [
      { mark: { type: 'bar', cornerRadiusEnd: 2, width: { band: barBand } }, encoding: { x, xOffset, y, color } },
      {
        mark: { type: 'rule', color: COLORS.text, strokeWidth: 1.25 },
        encoding: { x, xOffset, y: { field: 'lower', type: 'quantitative' }, y2: { field: 'upper' } },
      },
      {
        mark: { type: 'tick', color: COLORS.text, thickness: 1.25, size: 9 },
        encoding: { x, xOffset, y: { field: 'lower', type: 'quantitative' } },
      },
      {
        mark: { type: 'tick', color: COLORS.text, thickness: 1.25, size: 9 },
        encoding: { x, xOffset, y: { field: 'upper', type: 'quantitative' } },
      },
      {
        data: { values: [{ zero: 0 }] },
        mark: { type: 'rule', color: COLORS.zero, strokeWidth: 1.25 },
        encoding: { y: { field: 'zero', type: 'quantitative' } },
      },
      // Value labels just past the whisker: above for a lift, below for a drop.
      {
        transform: [{ filter: 'datum.lift >= 0' }],
        mark: { type: 'text', fontSize: 11, fontWeight: 'bold', color: COLORS.text, baseline: 'bottom', dy: -4 },
        encoding: { x, xOffset, y: { field: 'upper', type: 'quantitative' }, text: { field: 'label' } },
      },
      {
        transform: [{ filter: 'datum.lift < 0' }],
        mark: { type: 'text', fontSize: 11, fontWeight: 'bold', color: COLORS.text, baseline: 'top', dy: 4 },
        encoding: { x, xOffset, y: { field: 'lower', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  } as unknown as TopLevelSpec;
  return spec as unknown as ChartSpec;
}
