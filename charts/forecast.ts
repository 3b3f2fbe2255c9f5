/**
 * Forecast chart: the last year of actual weekly sales, the forecast continuing from the last
 * actual week (no gap), its 80% interval as a band, and holiday weeks marked.
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

export interface WeekValue {
  /** The week's date, "YYYY-MM-DD" (read as a UTC date). */
  week: string;
  value: number;
}

export interface ForecastPoint extends WeekValue {
  /** Lower and upper bound of the 80% prediction interval. */
  lower: number;
  upper: number;
}

export interface ForecastChartInput {
  title: string;
  /** Data freshness and model, e.g. "Store 5 · data through 2012-10-26 · model seasonal-naive". */
  subtitle: string;
  history: WeekValue[];
  forecast: ForecastPoint[];
  holidays: HolidayMark[];
  /** How many of the most recent history weeks to show (default 52). */
  historyWeeks?: number;
}

/** Legend labels, in legend order. */
export const FORECAST_SERIES = { actual: 'Actual', forecast: 'Forecast', interval: '80% interval' } as const;

/**
 * Builds the forecast chart's Vega-Lite spec. Throws ChartInputError when there is nothing to
 * plot (no history and no forecast) or a value is not a number / a week is not a date.
 * Either part may be empty on its own; holidays may be empty.
 */
export function forecastChart(input: ForecastChartInput): ChartSpec {
  // Longer than 80 lines on purpose: one Vega-Lite spec, built top to bottom, reads as one chart.
  const { title, subtitle, historyWeeks = 52 } = input;
  const history = [...(input.history ?? [])]
    .map((p, i) => ({ t: weekTime(p.week, `history[${i}]`), value: finite(p.value, `history[${i}].value`) }))
    .sort((a, b) => a.t - b.t)
    .slice(-Math.max(1, historyWeeks));
  const forecast = [...(input.forecast ?? [])]
    .map((p, i) => ({
      t: weekTime(p.week, `forecast[${i}]`),
      value: finite(p.value, `forecast[${i}].value`),
      lower: finite(p.lower, `forecast[${i}].lower`),
      upper: finite(p.upper, `forecast[${i}].upper`),
    }))
    .sort((a, b) => a.t - b.t);
  if (history.length === 0 && forecast.length === 0) {
    throw new ChartInputError('forecastChart: nothing to plot (no history and no forecast weeks)');
  }

  const last = history.at(-1);
  const actual = history.map((p) => ({ week: isoWeek(p.t), value: p.value, series: FORECAST_SERIES.actual }));
  // The forecast line and band start at the last actual week, so the two lines join without a gap
  // and the band opens from a point (zero width) at the last known value.
  const anchor = last && forecast.length && last.t < forecast[0]!.t ? [{ t: last.t, value: last.value, lower: last.value, upper: last.value }] : [];
  const ahead = [...anchor, ...forecast].map((p) => ({
    week: isoWeek(p.t),
    value: p.value,
    lower: Math.min(p.lower, p.upper),
    upper: Math.max(p.lower, p.upper),
    series: FORECAST_SERIES.forecast,
  }));

  const t0 = (history[0] ?? forecast[0])!.t;
  const t1 = (forecast.at(-1) ?? history.at(-1))!.t;
  const holidays = pickHolidays(input.holidays ?? [], t0, t1);
  const x = { field: 'week', type: 'temporal' as const, scale: { type: 'utc' as const, domain: [isoWeek(t0), isoWeek(t1)] }, axis: weekAxis(t0, t1) };
  const y = {
    field: 'value',
    type: 'quantitative' as const,
    title: null,
    scale: { zero: false, nice: true },
    axis: { labelExpr: moneyExpr('datum.value', 2), tickCount: 6 },
  };
  const lineDomain = [
    ...(history.length ? [FORECAST_SERIES.actual] : []),
    ...(forecast.length ? [FORECAST_SERIES.forecast] : []),
  ];
  const legendOffset = legendOffsetAbove(holidays);

  const layers: unknown[] = [];
  if (ahead.length) {
    layers.push({
      data: { values: ahead },
      mark: { type: 'area', opacity: 1 },
      encoding: {
        x,
        y: { ...y, field: 'lower' },
        y2: { field: 'upper' },
        fill: {
          datum: FORECAST_SERIES.interval,
          scale: { domain: [FORECAST_SERIES.interval], range: [COLORS.interval] },
          legend: { title: null, symbolType: 'square', symbolStrokeWidth: 0, offset: legendOffset },
        },
      },
    });
  }
  layers.push(...holidayLayers(holidays));
  const lines = [...actual, ...ahead.map(({ week, value, series }) => ({ week, value, series }))];
  const lineLayer = (values: unknown[]) => ({
    data: { values },
    mark: { type: 'line' },
    encoding: {
      x,
      y,
      color: {
        field: 'series',
        type: 'nominal',
        scale: { domain: lineDomain, range: lineDomain.map((d) => (d === FORECAST_SERIES.actual ? COLORS.actual : COLORS.forecast)) },
        legend: { title: null, symbolType: 'stroke', symbolStrokeWidth: 3, offset: legendOffset },
      },
      strokeDash: {
        field: 'series',
        type: 'nominal',
        scale: { domain: lineDomain, range: lineDomain.map((d) => (d === FORECAST_SERIES.actual ? [1, 0] : [6, 4])) },
        legend: { title: null, symbolType: 'stroke', symbolStrokeWidth: 3, offset: legendOffset },
      },
    },
  });
  // Legends are laid out in the order their channel first appears among the layers: this empty
  // copy of the line layer puts "Actual · Forecast" before "80% interval" without drawing the
  // lines under the band.
  layers.unshift(lineLayer([]));
  layers.push(lineLayer(lines));
  if (last && ahead.length) {
    // Marks where actuals end and the forecast begins.
    layers.push({
      data: { values: [{ week: isoWeek(last.t), value: last.value }] },
      mark: { type: 'point', filled: true, size: 40, color: COLORS.actual, stroke: COLORS.background, strokeWidth: 1.5 },
      encoding: { x, y },
    });
  }

  const spec = {
    ...frame({ title, subtitle }),
    height: CHART_HEIGHT,
    layer: layers,
  } as TopLevelSpec;
  return spec as unknown as ChartSpec;
}
