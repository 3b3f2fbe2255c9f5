import { MARKDOWN_TYPES, baseDesign, designRow, weekIndexOf, type PanelRow } from './panel.ts';
import { fitOls, type Errors, type Estimate, type OlsFit } from './regression.ts';

/**
 * What markdowns did to sales, against a counterfactual that keeps each store's level and
 * trend and the season (a slot per week of the year, holidays their own slot so Thanksgiving
 * meets Thanksgiving): sales / store mean = level + trend + season + b . markdowns / store mean.
 * Dividing both sides by the store's mean keeps b in dollars of sales per markdown dollar while
 * large and small stores weigh alike. Markdowns exist only from November 2011 (NA before: none),
 * so the season is learnt mostly from the two years without them.
 */
export interface MarkdownImpact {
  /** Incremental sales per markdown dollar, all types together. */
  perDollar: Estimate;
  perType: { type: (typeof MARKDOWN_TYPES)[number]; dollars: number; estimate: Estimate }[];
  /** Per markdown dollar in holiday weeks and in the other weeks. */
  holidayWeeks: Estimate;
  otherWeeks: Estimate;
  markdownDollars: number;
  /** perDollar times the markdown dollars: the sales they added over the data. */
  incremental: Estimate;
  weeks: { week: string; actual: number; baseline: number; markdowns: number }[];
  stores: number;
  storeWeeks: number;
  markdownWeeks: number;
  r2: number;
}

const errorsFor = (stores: number): Errors => (stores > 1 ? { kind: 'two-way' } : { kind: 'hac', lags: 4 });

/** One fit of the shared design with `extra(r)` columns (already in dollars). */
function fit(rows: readonly PanelRow[], extras: number, extra: (r: PanelRow) => number[]): { fit: OlsFit; design: ReturnType<typeof baseDesign> } {
  const design = baseDesign(rows, { trend: true, era: true });
  const weekIndex = weekIndexOf(rows);
  const sparse = rows.map((r) => designRow(design, r, extra(r).map((v) => v / design.storeMean.get(r.store)!), weekIndex));
  const report = Array.from({ length: extras }, (_, k) => design.extraStart + k);
  return { fit: fitOls(sparse, design.extraStart + extras, report, errorsFor(design.stores.length)), design };
}

const sum = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0);

/** Markdown impact of a panel (one store or many); undefined when no week had a markdown. */
export function markdownImpact(rows: readonly PanelRow[]): MarkdownImpact | undefined {
  const markdownWeeks = new Set(rows.filter((r) => sum(r.markdowns) !== 0).map((r) => r.week));
  if (markdownWeeks.size === 0) return undefined;
  const total = fit(rows, 1, (r) => [sum(r.markdowns)]);
  const byType = fit(rows, 5, (r) => [...r.markdowns]);
  const split = fit(rows, 2, (r) => (r.isHoliday ? [0, sum(r.markdowns)] : [sum(r.markdowns), 0]));
  const perDollar = total.fit.estimates[0]!;
  const markdownDollars = sum(rows.map((r) => sum(r.markdowns)));
  const scale = (e: Estimate, k: number): Estimate => ({ beta: e.beta * k, se: e.se * Math.abs(k), lower: Math.min(e.lower * k, e.upper * k), upper: Math.max(e.lower * k, e.upper * k) });

  // The counterfactual week by week: the fitted sales with the markdown term taken out.
  const { design } = total;
  const b = total.fit.coef[design.extraStart]!;
  const byWeek = new Map<string, { actual: number; baseline: number; markdowns: number }>();
  rows.forEach((r, i) => {
    const mean = design.storeMean.get(r.store)!;
    const md = sum(r.markdowns);
    const fitted = (r.sales / mean - total.fit.residuals[i]!) * mean;
    const w = byWeek.get(r.week) ?? { actual: 0, baseline: 0, markdowns: 0 };
    w.actual += r.sales;
    w.baseline += fitted - b * md;
    w.markdowns += md;
    byWeek.set(r.week, w);
  });
  return {
    perDollar,
    perType: MARKDOWN_TYPES.map((type, k) => ({ type, dollars: sum(rows.map((r) => r.markdowns[k]!)), estimate: byType.fit.estimates[k]! })),
    holidayWeeks: split.fit.estimates[1]!,
    otherWeeks: split.fit.estimates[0]!,
    markdownDollars,
    incremental: scale(perDollar, markdownDollars),
    weeks: [...byWeek].sort((a, c) => a[0].localeCompare(c[0])).map(([week, w]) => ({ week, ...w })),
    stores: design.stores.length,
    storeWeeks: rows.length,
    markdownWeeks: markdownWeeks.size,
    r2: total.fit.r2,
  };
}

/** Whether an interval excludes zero: the plain-language test every answer uses. */
export const distinguishable = (e: Pick<Estimate, 'lower' | 'upper'>) => e.lower > 0 || e.upper < 0;
