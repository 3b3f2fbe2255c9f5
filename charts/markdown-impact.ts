/**
 * Markdown impact chart: weekly sales against the counterfactual without markdowns (the
 * baseline), with the markdown dollars of each week as bars in a panel beneath, on one time axis.
 */
import type { TopLevelSpec } from 'vega-lite';
import { CHART_WIDTH, COLORS, ChartInputError, type ChartSpec, OKABE_ITO, finite, frame, isoWeek, moneyExpr, weekAxis, weekTime } from './theme.ts';

export interface MarkdownWeek {
  week: string;
  actual: number;
  baseline: number;
  markdowns: number;
}

export interface MarkdownImpactChartInput {
  title: string;
  subtitle: string;
  weeks: MarkdownWeek[];
}

export const MARKDOWN_SERIES = { actual: 'Actual sales', baseline: 'Baseline without markdowns' } as const;

/** Builds the spec; throws ChartInputError when there are no weeks or a value is not a number. */
export function markdownImpactChart(input: MarkdownImpactChartInput): ChartSpec {
  const weeks = (input.weeks ?? [])
    .map((w, i) => ({
      t: weekTime(w.week, `weeks[${i}]`),
      actual: finite(w.actual, `weeks[${i}].actual`),
      baseline: finite(w.baseline, `weeks[${i}].baseline`),
      markdowns: finite(w.markdowns, `weeks[${i}].markdowns`),
    }))
    .sort((a, b) => a.t - b.t);
  if (weeks.length === 0) throw new ChartInputError('markdownImpactChart: nothing to plot (no weeks)');
  const t0 = weeks[0]!.t;
  const t1 = weeks.at(-1)!.t;
  // Half a week of room at each end, in both panels, so the first and last bars are whole and
  // line points sit over the middle of their bars.
  const half = 3.5 * 86_400_000;
  const x = { field: 'week', type: 'temporal' as const, scale: { type: 'utc' as const, domain: [isoWeek(t0 - half), isoWeek(t1 + half)] }, axis: weekAxis(t0, t1) };
  const barWidth = Math.max(1, Math.min(18, (0.7 * CHART_WIDTH) / (weeks.length + 1)));
  const lines = weeks.flatMap((w) => [
    { week: isoWeek(w.t), value: w.actual, series: MARKDOWN_SERIES.actual },
    { week: isoWeek(w.t), value: w.baseline, series: MARKDOWN_SERIES.baseline },
  ]);
  const domain = [MARKDOWN_SERIES.actual, MARKDOWN_SERIES.baseline];
  const legend = { title: null, symbolType: 'stroke', symbolStrokeWidth: 3, labelLimit: 320 };
  const { width: _width, ...top } = frame(input);
  const spec = {
    ...top,
    spacing: 12,
    vconcat: [
      {
        width: CHART_WIDTH,
        height: 240,
        data: { values: lines },
        mark: { type: 'line' },
        encoding: {
          x: { ...x, axis: { ...weekAxis(t0, t1), labels: false, ticks: false } },
          y: { field: 'value', type: 'quantitative', title: 'Weekly sales', scale: { zero: false, nice: true }, axis: { labelExpr: moneyExpr('datum.value', 2), tickCount: 5 } },
          color: { field: 'series', type: 'nominal', scale: { domain, range: [COLORS.actual, OKABE_ITO.orange] }, legend },
          strokeDash: { field: 'series', type: 'nominal', scale: { domain, range: [[1, 0], [6, 4]] }, legend },
        },
      },
      {
        width: CHART_WIDTH,
        height: 90,
        data: { values: weeks.map((w) => ({ week: isoWeek(w.t), markdowns: w.markdowns })) },
        mark: { type: 'bar', color: COLORS.lastYear, width: barWidth, cornerRadiusEnd: 1 },
        encoding: {
          x,
          y: { field: 'markdowns', type: 'quantitative', title: 'Markdowns', axis: { labelExpr: moneyExpr('datum.value', 1), tickCount: 3 } },
        },
      },
    ],
  } as unknown as TopLevelSpec;
  return spec as unknown as ChartSpec;
}
