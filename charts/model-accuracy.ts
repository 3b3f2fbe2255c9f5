/**
 * Live accuracy of a model: the weekly error (WMAE) of its logged forecasts next to seasonal
 * naive's on the same rows, and below it the share of actuals inside the 80% interval, with
 * the 80% target as a dashed rule.
 */
import type { TopLevelSpec } from 'vega-lite';
import { CHART_WIDTH, COLORS, ChartInputError, type ChartSpec, finite, frame, isoWeek, moneyExpr, percentExpr, weekAxis, weekTime } from './theme.ts';

export interface AccuracyWeek {
  week: string;
  wmae: number;
  naiveWmae: number | null;
  coverage: number;
}

export interface ModelAccuracyChartInput {
  title: string;
  subtitle: string;
  weeks: AccuracyWeek[];
}

export const ACCURACY_SERIES = { model: 'Model WMAE', naive: 'Seasonal naive WMAE' } as const;

export function modelAccuracyChart(input: ModelAccuracyChartInput): ChartSpec {
  const weeks = (input.weeks ?? [])
    .map((p, i) => ({ t: weekTime(p.week, `weeks[${i}]`), wmae: finite(p.wmae, `weeks[${i}].wmae`), naive: p.naiveWmae, coverage: finite(p.coverage, `weeks[${i}].coverage`) }))
    .sort((a, b) => a.t - b.t);
  if (weeks.length === 0) throw new ChartInputError('modelAccuracyChart: no scored weeks to plot');
  const t0 = weeks[0]!.t;
  const t1 = weeks.at(-1)!.t;
  // Half a week of room each side: the first and last bars stay whole, one week alone has an axis.
  const pad = 3.5 * 86_400_000;
  const domain0 = [isoWeek(t0 - pad), isoWeek(t1 + pad)];
  const x = { field: 'week', type: 'temporal' as const, title: null, scale: { type: 'utc' as const, domain: domain0 }, axis: weekAxis(t0, t1) };
  // The two panels share the weeks: labels under the lower one only.
  const xTop = { ...x, axis: { ...weekAxis(t0, t1), labels: false } };
  const barWidth = Math.max(4, Math.min(28, (CHART_WIDTH / (weeks.length + 1)) * 0.5));
  const errors = weeks.flatMap((w) => [
    { week: isoWeek(w.t), value: w.wmae, series: ACCURACY_SERIES.model },
    ...(w.naive === null || !Number.isFinite(w.naive) ? [] : [{ week: isoWeek(w.t), value: w.naive, series: ACCURACY_SERIES.naive }]),
  ]);
  const domain = [ACCURACY_SERIES.model, ACCURACY_SERIES.naive];
  const legend = { title: null, orient: 'top', symbolType: 'stroke', symbolStrokeWidth: 3 } as const;
  const errorPanel = {
    height: 200,
    data: { values: errors },
    mark: { type: 'line', point: { size: 40 }, strokeWidth: 2.5 },
    encoding: {
      x: xTop,
      y: { field: 'value', type: 'quantitative', title: 'Weekly WMAE', scale: { zero: true, nice: true }, axis: { labelExpr: moneyExpr('datum.value', 1), tickCount: 5 } },
      // One legend for both channels (vega-lite merges them by field): its symbols show each
      // series' colour and dash, as the lines are drawn.
      color: { field: 'series', type: 'nominal', scale: { domain, range: [COLORS.forecast, COLORS.lastYear] }, legend },
      strokeDash: { field: 'series', type: 'nominal', scale: { domain, range: [[1, 0], [5, 4]] }, legend },
    },
  };
  const coveragePanel = {
    height: 110,
    layer: [
      {
        data: { values: weeks.map((w) => ({ week: isoWeek(w.t), coverage: w.coverage })) },
        mark: { type: 'bar', color: COLORS.actual, width: barWidth, opacity: 0.85 },
        encoding: {
          x: { ...x, type: 'temporal' as const },
          y: { field: 'coverage', type: 'quantitative', title: '80% interval coverage', scale: { domain: [0, 1] }, axis: { labelExpr: percentExpr('datum.value', { signed: false, maxDecimals: 0 }), values: [0, 0.4, 0.8] } },
        },
      },
      { data: { values: [{ target: 0.8 }] }, mark: { type: 'rule', strokeDash: [5, 4], color: COLORS.zero, strokeWidth: 1.5 }, encoding: { y: { field: 'target', type: 'quantitative' } } },
    ],
  };
  const { width, ...top } = frame(input);
  const spec = { ...top, vconcat: [{ width, ...errorPanel }, { width, ...coveragePanel }], spacing: 18 } as TopLevelSpec;
  return spec as unknown as ChartSpec;
}
