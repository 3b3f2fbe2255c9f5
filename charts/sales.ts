/**
 * Sales history chart: weekly sales with the same week a year earlier as a lighter dashed line,
 * holiday weeks marked.
 */
import type { TopLevelSpec } from 'vega-lite';
import {
  CHART_HEIGHT,
  COLORS,
  ChartInputError,
  type ChartSpec,
  finite,
  frame,
  isoWeek,
  moneyExpr,
  weekAxis,
  weekTime,
} from './theme.ts';
import { holidayLayers, legendOffsetAbove, pickHolidays, type HolidayMark } from './holidays.ts';
import type { WeekValue } from './forecast.ts';

export interface SalesChartInput {
  title: string;
  subtitle: string;
  series: WeekValue[];
  /** Last year's values, already aligned by the caller to this year's weeks (`week` = this year's week). */
  lastYear: WeekValue[];
  holidays: HolidayMark[];
}

export const SALES_SERIES = { current: 'Weekly sales', lastYear: 'Same week last year' } as const;

/**
 * Builds the sales chart's Vega-Lite spec. Throws ChartInputError when `series` is empty or holds
 * a non-number / non-date; `lastYear` and `holidays` may be empty. Last-year weeks outside the
 * series' range are dropped (the overlay never stretches the axis).
 */
export function salesChart(input: SalesChartInput): ChartSpec {
  const series = (input.series ?? [])
    .map((p, i) => ({ t: weekTime(p.week, `series[${i}]`), value: finite(p.value, `series[${i}].value`) }))
    .sort((a, b) => a.t - b.t);
  if (series.length === 0) throw new ChartInputError('salesChart: nothing to plot (the series has no weeks)');
  const t0 = series[0]!.t;
  const t1 = series.at(-1)!.t;
  const lastYear = (input.lastYear ?? [])
    .map((p, i) => ({ t: weekTime(p.week, `lastYear[${i}]`), value: finite(p.value, `lastYear[${i}].value`) }))
    .filter((p) => p.t >= t0 && p.t <= t1)
    .sort((a, b) => a.t - b.t);

  const lastYearValues = lastYear.map((p) => ({ week: isoWeek(p.t), value: p.value, series: SALES_SERIES.lastYear }));
  const currentValues = series.map((p) => ({ week: isoWeek(p.t), value: p.value, series: SALES_SERIES.current }));
  const domain = lastYear.length ? [SALES_SERIES.current, SALES_SERIES.lastYear] : [SALES_SERIES.current];
  const x = {
    field: 'week',
    type: 'temporal' as const,
    scale: { type: 'utc' as const, domain: [isoWeek(t0), isoWeek(t1)] },
    axis: weekAxis(t0, t1),
  };
  const y = {
    field: 'value',
    type: 'quantitative' as const,
    title: null,
    scale: { zero: false, nice: true },
    axis: { labelExpr: moneyExpr('datum.value', 2), tickCount: 6 },
  };

  const holidays = pickHolidays(input.holidays ?? [], t0, t1);
  const legend = { title: null, symbolType: 'stroke', symbolStrokeWidth: 3, offset: legendOffsetAbove(holidays) };
  const line = (values: unknown[], strokeWidth: number) => ({
    data: { values },
    mark: { type: 'line', strokeWidth },
    encoding: {
      x,
      y,
      color: { field: 'series', type: 'nominal', scale: { domain, range: [COLORS.actual, COLORS.lastYear] }, legend },
      strokeDash: { field: 'series', type: 'nominal', scale: { domain, range: [[1, 0], [5, 4]] }, legend },
    },
  });
  const spec = {
    ...frame(input),
    height: CHART_HEIGHT,
    layer: [
      ...holidayLayers(holidays),
      // Last year first (underneath), thinner; both layers share the colour and dash scales.
      ...(lastYearValues.length ? [line(lastYearValues, 1.75)] : []),
      line(currentValues, 2.5),
    ],
  } as TopLevelSpec;
  return spec as unknown as ChartSpec;
}
