import { MARKDOWN_TYPES, baseDesign, blockDesign, column, rowMeans, weekIndexOf, type PanelRow } from './panel.ts';
import { fitBlocks, type Errors, type Estimate } from './regression.ts';

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

const sum = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0);

/** Markdown impact of a panel (one store or many); undefined when no week had a markdown. */
export function markdownImpact(rows: readonly PanelRow[]): MarkdownImpact | undefined {
  const dollars = column(rows, (r) => sum(r.markdowns));
  const markdownWeeks = new Set(rows.filter((_, i) => dollars[i] !== 0).map((r) => r.week));
  if (markdownWeeks.size === 0) return undefined;
  // The three fits share the design: each store's level, trend and era, partialled out store by
  // store (fitBlocks: the fit of the full sparse design, at a cost linear in store-weeks), the
  // seasonal slots, and their extra columns (in dollars, divided by the store's mean).
  const design = baseDesign(rows, { trend: true, era: true });
  const base = blockDesign(design, rows, [], weekIndexOf(rows));
  const means = rowMeans(base, design);
  const errors = errorsFor(design.stores.length);
  const fit = (columns: ((r: PanelRow, i: number) => number)[]) => {
    const extras = columns.map((f) => column(rows, (r, i) => f(r, i) / means[i]!));
    return fitBlocks({ ...base, extras }, extras.map((_, k) => design.extraStart + k), errors);
  };
  const total = fit([(_, i) => dollars[i]!]);
  const byType = fit(MARKDOWN_TYPES.map((_, k) => (r: PanelRow) => r.markdowns[k]!));
  const split = fit([(r, i) => (r.isHoliday ? 0 : dollars[i]!), (r, i) => (r.isHoliday ? dollars[i]! : 0)]);
  const perDollar = total.estimates[0]!;
  const markdownDollars = dollars.reduce((a, x) => a + x, 0);
  const scale = (e: Estimate, k: number): Estimate => ({ beta: e.beta * k, se: e.se * Math.abs(k), lower: Math.min(e.lower * k, e.upper * k), upper: Math.max(e.lower * k, e.upper * k) });

  // The counterfactual week by week: the fitted sales with the markdown term taken out.
  const b = total.coef[design.extraStart]!;
  const byWeek = new Map<string, { actual: number; baseline: number; markdowns: number }>();
  rows.forEach((r, i) => {
    const mean = means[i]!;
    const md = dollars[i]!;
    const fitted = (r.sales / mean - total.residuals[i]!) * mean;
    const w = byWeek.get(r.week) ?? { actual: 0, baseline: 0, markdowns: 0 };
    w.actual += r.sales;
    w.baseline += fitted - b * md;
    w.markdowns += md;
    byWeek.set(r.week, w);
  });
  return {
    perDollar,
    perType: MARKDOWN_TYPES.map((type, k) => ({ type, dollars: sum(rows.map((r) => r.markdowns[k]!)), estimate: byType.estimates[k]! })),
    holidayWeeks: split.estimates[1]!,
    otherWeeks: split.estimates[0]!,
    markdownDollars,
    incremental: scale(perDollar, markdownDollars),
    weeks: [...byWeek].sort((a, c) => a[0].localeCompare(c[0])).map(([week, w]) => ({ week, ...w })),
    stores: design.stores.length,
    storeWeeks: rows.length,
    markdownWeeks: markdownWeeks.size,
    r2: total.r2,
  };
}

/** Whether an interval excludes zero: the plain-language test every answer uses. */
export const distinguishable = (e: Pick<Estimate, 'lower' | 'upper'>) => e.lower > 0 || e.upper < 0;
