/**
 * Stock charts. Per store: weeks of cover per department as bars (median demand), the p90
 * cover as a darker inner bar, and each department's lead time as a black tick: a bar that
 * ends before its tick runs out before a new order could arrive. Per department: the stock
 * line week by week at median demand, inside the band between p10 and p90 demand, and zero.
 */
import type { TopLevelSpec } from 'vega-lite';
import { CHART_HEIGHT, COLORS, ChartInputError, type ChartSpec, finite, frame, isoWeek, moneyExpr, weekAxis, weekTime } from './theme.ts';

export interface CoverRow {
  label: string;
  /** Weeks of cover at median and p90 demand; null: lasts past the forecast horizon. */
  median: number | null;
  p90: number | null;
  leadTime: number;
}

export interface StockCoverChartInput {
  title: string;
  subtitle: string;
  rows: CoverRow[];
  /** Weeks the forecast reaches: cover past it is drawn to it (and labelled "> N wk"). */
  horizon: number;
}

export const COVER_SERIES = { median: 'Cover at median demand', p90: 'Cover at p90 demand', lead: 'Lead time' } as const;

const ROW_STEP = 24;

export function stockCoverChart(input: StockCoverChartInput): ChartSpec {
  if (!input.rows?.length) throw new ChartInputError('stockCoverChart: nothing to plot (no departments)');
  const cap = (v: number | null, where: string) => (v === null ? input.horizon : Math.min(input.horizon, Math.max(0, finite(v, where))));
  const rows = input.rows.map((r, i) => {
    const median = cap(r.median, `rows[${i}].median`);
    const p90 = cap(r.p90, `rows[${i}].p90`);
    return {
      label: r.label,
      median,
      p90,
      lead: finite(r.leadTime, `rows[${i}].leadTime`),
      text: r.median === null ? `> ${input.horizon} wk` : `${median.toFixed(1)} wk`,
      // The label sits past the bar or the lead-time tick, whichever is further right.
      textAt: Math.max(median, r.leadTime),
      risk: p90 < r.leadTime ? 'at risk' : 'ok',
    };
  });
  const y = { field: 'label', type: 'nominal' as const, sort: null, title: null, axis: { labelFontSize: 12, labelColor: COLORS.text, ticks: false, domain: false, labelPadding: 6 } };
  // Only as wide as the longest bar needs (a few weeks when everything is short), plus its label.
  const widest = Math.max(...rows.map((r) => r.textAt));
  const x = { type: 'quantitative' as const, title: 'weeks of cover', scale: { domain: [0, Math.ceil(widest * 1.2 + 1.5)], nice: false }, axis: { tickCount: 8, grid: true } };
  const legend = { title: null, orient: 'top' as const, direction: 'horizontal' as const };
  const spec = {
    ...frame(input),
    height: { step: ROW_STEP },
    data: { values: rows },
    layer: [
      {
        mark: { type: 'bar', cornerRadiusEnd: 2, height: { band: 0.8 } },
        encoding: {
          y,
          x: { ...x, field: 'median' },
          color: { datum: COVER_SERIES.median, scale: { domain: Object.values(COVER_SERIES), range: ['#A9C8E0', COLORS.actual, COLORS.text] }, legend },
        },
      },
      {
        mark: { type: 'bar', cornerRadiusEnd: 2, height: { band: 0.4 } },
        encoding: { y, x: { ...x, field: 'p90' }, color: { datum: COVER_SERIES.p90 } },
      },
      {
        transform: [{ filter: "datum.risk == 'at risk'" }],
        mark: { type: 'bar', cornerRadiusEnd: 2, height: { band: 0.4 }, color: COLORS.negative },
        encoding: { y, x: { ...x, field: 'p90' } },
      },
      {
        mark: { type: 'tick', thickness: 3, bandSize: 20 },
        encoding: { y, x: { ...x, field: 'lead' }, color: { datum: COVER_SERIES.lead } },
      },
      {
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 8, fontSize: 11, fontWeight: 'bold', color: COLORS.text },
        encoding: { y, x: { ...x, field: 'textAt' }, text: { field: 'text' } },
      },
    ],
  } as unknown as TopLevelSpec;
  return spec as unknown as ChartSpec;
}

export interface StockWeek {
  week: string;
  /** Stock left at the end of the week at median, p10 (slow) and p90 (fast) demand; may go below zero. */
  median: number;
  slow: number;
  fast: number;
}

export interface StockLineChartInput {
  title: string;
  subtitle: string;
  weeks: StockWeek[];
}

export const STOCK_SERIES = { median: 'Stock at median demand', band: 'Between p10 and p90 demand' } as const;

export function stockLineChart(input: StockLineChartInput): ChartSpec {
  if (!input.weeks?.length) throw new ChartInputError('stockLineChart: nothing to plot (no weeks)');
  const values = input.weeks.map((w, i) => ({
    week: isoWeek(weekTime(w.week, `weeks[${i}]`)),
    median: finite(w.median, `weeks[${i}].median`),
    lower: Math.min(finite(w.fast, `weeks[${i}].fast`), w.slow),
    upper: Math.max(w.fast, finite(w.slow, `weeks[${i}].slow`)),
  }));
  const t0 = weekTime(values[0]!.week, 'first week');
  const t1 = weekTime(values.at(-1)!.week, 'last week');
  const x = { field: 'week', type: 'temporal' as const, scale: { type: 'utc' as const, domain: [values[0]!.week, values.at(-1)!.week] }, axis: weekAxis(t0, t1) };
  const y = { type: 'quantitative' as const, title: null, axis: { labelExpr: moneyExpr('datum.value', 1), tickCount: 6 } };
  const legend = { title: null, orient: 'top' as const, direction: 'horizontal' as const, symbolType: 'square', labelLimit: 320 };
  const spec = {
    ...frame(input),
    height: CHART_HEIGHT,
    data: { values },
    layer: [
      {
        mark: { type: 'area', opacity: 1 },
        encoding: { x, y: { ...y, field: 'lower' }, y2: { field: 'upper' }, fill: { datum: STOCK_SERIES.band, scale: { domain: [STOCK_SERIES.band, STOCK_SERIES.median], range: [COLORS.interval, COLORS.actual] }, legend } },
      },
      { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: COLORS.negative, strokeWidth: 1.5 }, encoding: { y: { field: 'zero', type: 'quantitative' } } },
      // Below the line is demand the stock cannot meet: say so where the eye lands, not in a legend.
      {
        data: { values: [{ zero: 0, label: 'out of stock: below this, demand goes unmet' }] },
        mark: { type: 'text', align: 'right', baseline: 'bottom', dy: -4, x: 'width', color: COLORS.negative, fontSize: 13 },
        encoding: { y: { field: 'zero', type: 'quantitative' }, text: { field: 'label' } },
      },
      { mark: { type: 'line', strokeWidth: 2.5, color: COLORS.actual, point: true }, encoding: { x, y: { ...y, field: 'median' } } },
    ],
  } as unknown as TopLevelSpec;
  return spec as unknown as ChartSpec;
}
