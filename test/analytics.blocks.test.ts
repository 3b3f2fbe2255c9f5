import { describe, expect, it } from 'vitest';
import { DRIVERS, salesDrivers } from '../src/analytics/drivers.ts';
import { markdownImpact } from '../src/analytics/markdowns.ts';
import { baseDesign, blockDesign, designRow, weekIndexOf, type PanelRow } from '../src/analytics/panel.ts';
import { fitBlocks, fitOls, residualize, residualizeBlocks, type Errors, type Estimate } from '../src/analytics/regression.ts';
import { syntheticPanel } from './analytics-synthetic.ts';

/*
 * salesDrivers and markdownImpact fit each store's level, trend and era store by store
 * (fitBlocks), which scales to the chain; these check it against the full sparse design
 * (fitOls, residualize: X'X of every column, solved whole), the definition of the statistics,
 * on panels of several stores that open late, close early and miss driver weeks.
 */
const close = (a: number, b: number, what: string) => {
  const scale = Math.max(Math.abs(a), Math.abs(b), 1e-12);
  expect(Math.abs(a - b) / scale, `${what}: ${a} vs ${b}`).toBeLessThan(1e-9);
};
const sameEstimate = (a: Estimate, b: Estimate, what: string) => (['beta', 'se', 'lower', 'upper'] as const).forEach((f) => close(a[f], b[f], `${what}.${f}`));

const value = (r: PanelRow, k: number): number | null => [r.temperature, r.fuelPrice, r.cpi, r.unemployment, r.markdowns.reduce((a, x) => a + x, 0)][k]!;

/** salesDrivers as it was before fitBlocks: the full sparse design. */
function driversFull(all: readonly PanelRow[]) {
  const rows = all.filter((r) => DRIVERS.every((_, k) => value(r, k) !== null));
  const design = baseDesign(rows, { trend: true, era: true });
  const weekIndex = weekIndexOf(rows);
  const base = rows.map((r) => designRow(design, r, [], weekIndex));
  const [y, ...z] = residualize(base, design.extraStart, [base.map((r) => r.y), ...DRIVERS.map((_, k) => rows.map((r) => value(r, k)! / design.storeMean.get(r.store)!))]);
  const sd = (v: number[]) => Math.sqrt(v.reduce((a, x) => a + x * x, 0) / Math.max(v.length - 1, 1)) || 1;
  const ySd = sd(y!);
  const zSd = z.map(sd);
  const raw = DRIVERS.map((_, k) => rows.map((r) => value(r, k)! / design.storeMean.get(r.store)!));
  const sparse = rows.map((r, i) => {
    const row = designRow(design, r, raw.map((col, k) => col[i]! / zSd[k]!), weekIndex);
    return { ...row, y: row.y / ySd };
  });
  const errors: Errors = design.stores.length > 1 ? { kind: 'two-way' } : { kind: 'blocks', weeks: 13 };
  const fit = fitOls(sparse, design.extraStart + DRIVERS.length, DRIVERS.map((_, k) => design.extraStart + k), errors);
  const ssr = (v: readonly number[]) => v.reduce((a, e) => a + e * e, 0);
  const left = ssr(y!) / ySd ** 2;
  return { estimates: fit.estimates, explained: left > 0 ? 1 - ssr(fit.residuals) / left : 0 };
}

/** One markdown fit as it was before fitBlocks. */
function markdownFitFull(rows: readonly PanelRow[], extra: (r: PanelRow) => number[]) {
  const design = baseDesign(rows, { trend: true, era: true });
  const weekIndex = weekIndexOf(rows);
  const sparse = rows.map((r) => designRow(design, r, extra(r).map((v) => v / design.storeMean.get(r.store)!), weekIndex));
  const extras = extra(rows[0]!).length;
  return fitOls(sparse, design.extraStart + extras, Array.from({ length: extras }, (_, k) => design.extraStart + k), design.stores.length > 1 ? { kind: 'two-way' } : { kind: 'hac', lags: 4 });
}

const sum = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0);

describe('analytics at chain scale: store-by-store fits equal the full design', () => {
  const panels: [string, PanelRow[]][] = [
    ['8 stores of different lengths, missing driver weeks', syntheticPanel(8, { seed: 7, ragged: true })],
    ['3 stores', syntheticPanel(3, { seed: 11, ragged: true })],
    ['6 stores, every week complete', syntheticPanel(6, { seed: 17 })],
    ['1 store (block and HAC errors, with leverage)', syntheticPanel(1, { seed: 5, ragged: true })],
  ];

  it.each(panels)('salesDrivers: %s', (_, rows) => {
    const full = driversFull(rows);
    const blocks = salesDrivers(rows)!;
    expect(blocks.effects.map((e) => e.driver)).toEqual([...DRIVERS]);
    blocks.effects.forEach((e, k) => sameEstimate(e.estimate, full.estimates[k]!, e.driver));
    close(blocks.explained, full.explained, 'explained');
  });

  it.each(panels)('markdownImpact: %s', (_, rows) => {
    const m = markdownImpact(rows)!;
    const total = markdownFitFull(rows, (r) => [sum(r.markdowns)]);
    const byType = markdownFitFull(rows, (r) => [...r.markdowns]);
    const split = markdownFitFull(rows, (r) => (r.isHoliday ? [0, sum(r.markdowns)] : [sum(r.markdowns), 0]));
    sameEstimate(m.perDollar, total.estimates[0]!, 'perDollar');
    m.perType.forEach((t, k) => sameEstimate(t.estimate, byType.estimates[k]!, t.type));
    sameEstimate(m.otherWeeks, split.estimates[0]!, 'otherWeeks');
    sameEstimate(m.holidayWeeks, split.estimates[1]!, 'holidayWeeks');
    close(m.r2, total.r2, 'r2');
    // The weekly baseline rests on every coefficient and residual, not only the reported ones.
    const design = baseDesign(rows, { trend: true, era: true });
    const b = total.coef[design.extraStart]!;
    const baseline = new Map<string, number>();
    rows.forEach((r, i) => {
      const mean = design.storeMean.get(r.store)!;
      baseline.set(r.week, (baseline.get(r.week) ?? 0) + (r.sales / mean - total.residuals[i]!) * mean - b * sum(r.markdowns));
    });
    for (const w of m.weeks) close(w.baseline, baseline.get(w.week)!, `baseline ${w.week}`);
  });

  it('fitBlocks and residualizeBlocks: coefficients, residuals, df and every error kind', () => {
    const rows = syntheticPanel(5, { seed: 13, ragged: true });
    const design = baseDesign(rows, { trend: true, era: true });
    const weekIndex = weekIndexOf(rows);
    const extra = (r: PanelRow) => [r.markdowns[1] / design.storeMean.get(r.store)!, (r.temperature ?? 0) / design.storeMean.get(r.store)!];
    const sparse = rows.map((r) => designRow(design, r, extra(r), weekIndex));
    const blocks = blockDesign(design, rows, [0, 1].map((k) => rows.map((r) => extra(r)[k]!)), weekIndex);
    const report = [design.extraStart, design.extraStart + 1, design.extraStart - 1];
    for (const errors of [{ kind: 'two-way' }, { kind: 'hac', lags: 4 }, { kind: 'blocks', weeks: 13 }] as Errors[]) {
      const a = fitOls(sparse, design.extraStart + 2, report, errors);
      const b = fitBlocks(blocks, report, errors);
      expect(b.df).toBe(a.df);
      expect(b.n).toBe(a.n);
      a.estimates.forEach((e, k) => sameEstimate(b.estimates[k]!, e, `${errors.kind} column ${report[k]}`));
      close(b.r2, a.r2, 'r2');
      a.coef.forEach((c, j) => expect(Math.abs(c - b.coef[j]!)).toBeLessThan(1e-8 * Math.max(1, Math.abs(c))));
      a.residuals.forEach((e, i) => expect(Math.abs(e - b.residuals[i]!)).toBeLessThan(1e-10));
    }
    const ys = [sparse.map((r) => r.y), rows.map((r) => r.fuelPrice! / design.storeMean.get(r.store)!)];
    const a = residualize(sparse, design.extraStart + 2, ys);
    const b = residualizeBlocks(blocks, ys);
    a.forEach((col, k) => col.forEach((v, i) => expect(Math.abs(v - b[k]![i]!)).toBeLessThan(1e-10)));
    expect(() => fitBlocks(blocks, [0], { kind: 'two-way' })).toThrow(/not a shared column/);
  });
});
