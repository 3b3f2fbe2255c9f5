import { ALL_DRIVERS_KNOWN, baseDesign, blockDesign, isPanelColumns, panelColumns, rowMeans, selectRows, weekIndexOf, type PanelColumns, type PanelRow } from './panel.ts';
import { fitBlocks, residualSquares, type Errors, type Estimate } from './regression.ts';

export const DRIVERS = ['Temperature', 'Fuel price', 'CPI', 'Unemployment', 'Markdowns'] as const;
export type DriverName = (typeof DRIVERS)[number];

export interface DriverEffect {
  driver: DriverName;
  /** Standard deviations of de-seasonalised sales per standard deviation of the driver. */
  estimate: Estimate;
  strength: 'weak' | 'moderate' | 'strong';
  /** Whether the 95% interval excludes zero. */
  clear: boolean;
}

export interface Drivers {
  effects: DriverEffect[];
  stores: number;
  storeWeeks: number;
  /** Share of the de-seasonalised variation the drivers explain together. */
  explained: number;
}

/** Driver k of row i (Markdowns: the five summed in order, as a row's reduce). */
const value = (p: PanelColumns, k: number, i: number): number => {
  if (k < 4) return p.drivers[k]![i]!;
  const m = p.markdowns;
  return 0 + m[0][i]! + m[1][i]! + m[2][i]! + m[3][i]! + m[4][i]!;
};

const strengthOf = (e: Estimate): DriverEffect['strength'] => {
  const size = Math.abs(e.beta);
  if (size < 0.1 || (e.lower <= 0 && e.upper >= 0)) return 'weak';
  return size < 0.3 ? 'moderate' : 'strong';
};

/**
 * Temperature, fuel price, CPI, unemployment and markdowns against de-seasonalised sales:
 * one regression with each store's level, trend and seasonal slots (as markdown impact).
 * The trend matters: CPI and fuel price rise with time almost everywhere, and without it they
 * would take the credit for every store's growth; with it, they are judged on their moves
 * around the trend, and a driver that is little more than a trend gets a wide interval.
 * Weeks with a missing driver are left out.
 */
export function salesDrivers(input: readonly PanelRow[] | PanelColumns): Drivers | undefined {
  const all = isPanelColumns(input) ? input : panelColumns(input);
  const rows = selectRows(all, (i) => all.present[i] === ALL_DRIVERS_KNOWN);
  if (rows.n < 30) return undefined;
  const design = baseDesign(rows, { trend: true, era: true });
  const weekIndex = weekIndexOf(rows);
  // Each store's level, trend and era are its own columns, partialled out store by store
  // (fitBlocks): the same fit as the full sparse design, linear in store-weeks.
  const base = blockDesign(design, rows, [], weekIndex);
  const means = rowMeans(base, design);
  const raw = DRIVERS.map((_, k) => {
    const col = new Float64Array(rows.n);
    for (let i = 0; i < rows.n; i++) col[i] = value(rows, k, i) / means[i]!;
    return col;
  });
  // Frisch-Waugh: sales and each driver with levels, trends and seasons partialled out; each
  // then scaled to its own spread, so a coefficient reads "SDs of sales per SD of the driver's
  // own moves" (a driver that is nearly a trend has small moves and says so by a wide interval).
  // Only the residuals' sums of squares are needed (their spreads and what is left to explain).
  const [yy, ...zz] = residualSquares(base, [base.y, ...raw]);
  const sd = (squares: number) => Math.sqrt(squares / Math.max(rows.n - 1, 1)) || 1;
  const ySd = sd(yy!);
  const zSd = zz.map(sd);
  // The final fit keeps the base columns (same coefficients as on the residuals, Frisch-Waugh)
  // so that its errors count the degrees of freedom and leverage they take. (Scaled in place:
  // a chain's columns are 5 MB each.)
  raw.forEach((col, k) => col.forEach((v, i) => (col[i] = v / zSd[k]!)));
  base.y.forEach((v, i) => (base.y[i] = v / ySd));
  const full = { ...base, extras: raw };
  // Single stores: quarters as clusters, as CPI, fuel price and unemployment move slowly.
  const errors: Errors = design.stores.length > 1 ? { kind: 'two-way' } : { kind: 'blocks', weeks: 13 };
  const fit = fitBlocks(full, DRIVERS.map((_, k) => design.extraStart + k), errors);
  const effects = fit.estimates.map((estimate, k) => ({ driver: DRIVERS[k]!, estimate, strength: strengthOf(estimate), clear: estimate.lower > 0 || estimate.upper < 0 }));
  const ssr = (v: readonly number[]) => v.reduce((a, e) => a + e * e, 0);
  const left = yy! / ySd ** 2;
  return { effects, stores: design.stores.length, storeWeeks: rows.n, explained: left > 0 ? 1 - ssr(fit.residuals) / left : 0 };
}
