/**
 * Ranking chart: horizontal bars sorted by value, the value printed at each bar's end, negative
 * values in their own colour extending left of a zero line.
 */
import type { TopLevelSpec } from 'vega-lite';
import {
  CHART_WIDTH,
  COLORS,
  ChartInputError,
  type ChartSpec,
  finite,
  formatMoney,
  formatPercent,
  frame,
} from './theme.ts';

export interface RankingRow {
  label: string;
  /** Currency in dollars, or a fraction for 'percent' (0.123 is +12.3%). */
  value: number;
}

export interface RankingChartInput {
  title: string;
  subtitle: string;
  valueFormat: 'currency' | 'percent';
  rows: RankingRow[];
}

/** Bar row height (px at scale 1); the chart grows with the number of rows. */
const ROW_STEP = 26;
/** Longest label shown in full; longer ones are cut with "…". */
const LABEL_LIMIT = 180;
const VALUE_FONT_SIZE = 12;
/** ~advance of DejaVu Sans bold digits at 12 px, plus the gap between bar end and label. */
const VALUE_CHAR_PX = 8;
const VALUE_GAP_PX = 6;

/**
 * Builds the ranking chart's Vega-Lite spec: rows sorted by value, highest first. Throws
 * ChartInputError when there are no rows, a label is empty or a value is not a number.
 */
export function rankingChart(input: RankingChartInput): ChartSpec {
  // Longer than 80 lines on purpose: one Vega-Lite spec, built top to bottom, reads as one chart.
  if (input.valueFormat !== 'percent' && input.valueFormat !== 'currency') {
    throw new ChartInputError(`rankingChart: valueFormat must be 'currency' or 'percent', got ${JSON.stringify(input.valueFormat)}`);
  }
  const seen = new Map<string, number>();
  const rows = (input.rows ?? [])
    .map((r, i) => {
      let label = String(r.label ?? '').trim();
      if (!label) throw new ChartInputError(`rankingChart: rows[${i}].label is empty`);
      // Bars are keyed by label: keep duplicates apart rather than summing them silently.
      const n = (seen.get(label) ?? 0) + 1;
      seen.set(label, n);
      if (n > 1) label = `${label} (${n})`;
      const value = finite(r.value, `rows[${i}].value`);
      return { label, value, text: '', negative: value < 0 };
    })
    .sort((a, b) => b.value - a.value);
  if (rows.length === 0) throw new ChartInputError('rankingChart: nothing to plot (no rows)');
  // One decimal ("$2.1M", "+12.3%") unless that makes different values look equal in a ranking.
  for (const maxDecimals of [1, 2]) {
    const fmt = (v: number) => (input.valueFormat === 'percent' ? formatPercent(v, { maxDecimals }) : formatMoney(v, maxDecimals));
    for (const r of rows) r.text = fmt(r.value);
    const clash = rows.some((r, i) => i > 0 && r.text === rows[i - 1]!.text && r.value !== rows[i - 1]!.value);
    if (!clash) break;
  }

  // The value labels sit outside the bars, so widen the domain on each side that has labels,
  // by their estimated pixel width converted to data units.
  const lo = Math.min(0, ...rows.map((r) => r.value));
  const hi = Math.max(0, ...rows.map((r) => r.value));
  const px = (side: typeof rows) => (side.length ? Math.max(...side.map((r) => r.text.length)) * VALUE_CHAR_PX + VALUE_GAP_PX + 4 : 0);
  const leftPx = px(rows.filter((r) => r.value < 0));
  const rightPx = px(rows.filter((r) => r.value >= 0));
  const span = hi - lo || 1;
  const perPx = span / Math.max(CHART_WIDTH - leftPx - rightPx, CHART_WIDTH / 3);
  const domain = [lo - leftPx * perPx, hi + rightPx * perPx];

  const y = {
    field: 'label',
    type: 'nominal' as const,
    sort: null,
    title: null,
    scale: { paddingInner: 0.28, paddingOuter: 0.14 },
    axis: { labelFontSize: 13, labelColor: COLORS.text, labelLimit: LABEL_LIMIT, ticks: false, domain: false, labelPadding: 8 },
  };
  const x = {
    field: 'value',
    type: 'quantitative' as const,
    title: null,
    scale: { domain, nice: false, zero: true },
    axis: null,
  };

  const spec = {
    ...frame(input),
    height: { step: ROW_STEP },
    data: { values: rows },
    layer: [
      {
        mark: { type: 'bar', cornerRadiusEnd: 2 },
        encoding: {
          y,
          x,
          color: {
            field: 'negative',
            type: 'nominal',
            scale: { domain: [false, true], range: [COLORS.positive, COLORS.negative] },
            legend: null,
          },
        },
      },
      {
        transform: [{ filter: '!datum.negative' }],
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: VALUE_GAP_PX, fontSize: VALUE_FONT_SIZE, fontWeight: 'bold', color: COLORS.text },
        encoding: { y, x, text: { field: 'text' } },
      },
      {
        transform: [{ filter: 'datum.negative' }],
        mark: { type: 'text', align: 'right', baseline: 'middle', dx: -VALUE_GAP_PX, fontSize: VALUE_FONT_SIZE, fontWeight: 'bold', color: COLORS.text },
        encoding: { y, x, text: { field: 'text' } },
      },
      {
        data: { values: [{ zero: 0 }] },
        mark: { type: 'rule', color: COLORS.zero, strokeWidth: 1.25 },
        encoding: { x: { field: 'zero', type: 'quantitative' } },
      },
    ],
  } as unknown as TopLevelSpec;
  return spec as unknown as ChartSpec;
}
