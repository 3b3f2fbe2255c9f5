/**
 * Drivers chart: one row per driver, its standardised coefficient as a dot and its 95% interval
 * as a line, a zero line; weak effects in grey so the clear ones stand out.
 */
import type { TopLevelSpec } from 'vega-lite';
import { COLORS, ChartInputError, type ChartSpec, finite, frame } from './theme.ts';

export interface DriverRow {
  driver: string;
  estimate: number;
  lower: number;
  upper: number;
  strength: 'weak' | 'moderate' | 'strong';
}

export interface DriversChartInput {
  title: string;
  subtitle: string;
  rows: DriverRow[];
}

const ROW_STEP = 44;
const STRENGTHS = ['weak', 'moderate', 'strong'] as const;

/** Builds the spec; throws ChartInputError when there are no rows or a value is not a number. */
export function driversChart(input: DriversChartInput): ChartSpec {
  const rows = (input.rows ?? []).map((r, i) => {
    const driver = String(r.driver ?? '').trim();
    if (!driver) throw new ChartInputError(`driversChart: rows[${i}].driver is empty`);
    const lower = finite(r.lower, `rows[${i}].lower`);
    const upper = finite(r.upper, `rows[${i}].upper`);
    const estimate = finite(r.estimate, `rows[${i}].estimate`);
    return { driver, estimate, lower: Math.min(lower, upper), upper: Math.max(lower, upper), strength: r.strength, label: `${estimate >= 0 ? '+' : '-'}${Math.abs(estimate).toFixed(2)}` };
  });
  if (rows.length === 0) throw new ChartInputError('driversChart: nothing to plot (no rows)');
  const reach = Math.max(0.25, ...rows.map((r) => Math.max(Math.abs(r.lower), Math.abs(r.upper)))) * 1.1;
  const y = { field: 'driver', type: 'nominal' as const, sort: rows.map((r) => r.driver), title: null, axis: { labelFontSize: 13, labelColor: COLORS.text, ticks: false, domain: false } };
  const x = { type: 'quantitative' as const, scale: { domain: [-reach, reach] }, title: 'Standardised effect on de-seasonalised sales (SD per SD)' };
  const color = { field: 'strength', type: 'nominal' as const, scale: { domain: [...STRENGTHS], range: ['#9A9A9A', COLORS.actual, '#003F66'] }, legend: { title: null, symbolType: 'circle' } };
  const spec = {
    ...frame(input),
    height: rows.length * ROW_STEP,
    data: { values: rows },
    layer: [
      { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: COLORS.zero, strokeWidth: 1.25 }, encoding: { x: { field: 'zero', ...x } } },
      { mark: { type: 'rule', strokeWidth: 2.5 }, encoding: { y, x: { field: 'lower', ...x }, x2: { field: 'upper' }, color } },
      { mark: { type: 'point', filled: true, size: 110, opacity: 1 }, encoding: { y, x: { field: 'estimate', ...x }, color } },
      { mark: { type: 'text', dy: -13, fontSize: 11, color: COLORS.text }, encoding: { y, x: { field: 'estimate', ...x }, text: { field: 'label' } } },
    ],
  } as unknown as TopLevelSpec;
  return spec as unknown as ChartSpec;
}
