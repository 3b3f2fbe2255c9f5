import { MARKDOWN_TYPES, baseDesign, blockDesign, isPanelColumns, panelColumns, rowMeans, weekIndexOf, type PanelColumns, type PanelRow } from './panel.ts';
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

/** Markdown impact of a panel (one store or many); undefined when no week had a markdown. */
export function markdownImpact(input: readonly PanelRow[] | PanelColumns): MarkdownImpact | undefined {
  const p = isPanelColumns(input) ? input : panelColumns(input);
  const md = p.markdowns;
  // Each row's markdown dollars, summed in order as a row's reduce.
  const dollars = new Float64Array(p.n);
  for (let i = 0; i < p.n; i++) dollars[i] = 0 + md[0][i]! + md[1][i]! + md[2][i]! + md[3][i]! + md[4][i]!;
  const markdownWeeks = new Set<number>();
  for (let i = 0; i < p.n; i++) if (dollars[i] !== 0) markdownWeeks.add(p.week[i]!);
  if (markdownWeeks.size === 0) return undefined;
  // The three fits share the design: each store's level, trend and era, partialled out store by
  // store (fitBlocks: the fit of the full sparse design, at a cost linear in store-weeks), the
  // seasonal slots, and their extra columns (in dollars, divided by the store's mean).
  const design = baseDesign(p, { trend: true, era: true });
  const base = blockDesign(design, p, [], weekIndexOf(p));
  const means = rowMeans(base, design);
  const errors = errorsFor(design.stores.length);
  const fit = (columns: ((i: number) => number)[]) => {
    const extras = columns.map((f) => {
      const col = new Float64Array(p.n);
      for (let i = 0; i < p.n; i++) col[i] = f(i) / means[i]!;
      return col;
    });
    return fitBlocks({ ...base, extras }, extras.map((_, k) => design.extraStart + k), errors);
  };
  const total = fit([(i) => dollars[i]!]);
  const byType = fit(md.map((m) => (i: number) => m[i]!));
  const split = fit([(i) => (p.isHoliday[i] ? 0 : dollars[i]!), (i) => (p.isHoliday[i] ? dollars[i]! : 0)]);
  const perDollar = total.estimates[0]!;
  const columnSum = (c: Float64Array) => c.reduce((a, x) => a + x, 0);
  const markdownDollars = columnSum(dollars);
  const scale = (e: Estimate, k: number): Estimate => ({ beta: e.beta * k, se: e.se * Math.abs(k), lower: Math.min(e.lower * k, e.upper * k), upper: Math.max(e.lower * k, e.upper * k) });

  // The counterfactual week by week: the fitted sales with the markdown term taken out.
  const b = total.coef[design.extraStart]!;
  const byWeek = new Map<number, { actual: number; baseline: number; markdowns: number }>();
  for (let i = 0; i < p.n; i++) {
    const mean = means[i]!;
    const dollarsI = dollars[i]!;
    const sales = p.sales[i]!;
    const fitted = (sales / mean - total.residuals[i]!) * mean;
    let w = byWeek.get(p.week[i]!);
    if (!w) byWeek.set(p.week[i]!, (w = { actual: 0, baseline: 0, markdowns: 0 }));
    w.actual += sales;
    w.baseline += fitted - b * dollarsI;
    w.markdowns += dollarsI;
  }
  return {
    perDollar,
    perType: MARKDOWN_TYPES.map((type, k) => ({ type, dollars: columnSum(md[k]!), estimate: byType.estimates[k]! })),
    holidayWeeks: split.estimates[1]!,
    otherWeeks: split.estimates[0]!,
    markdownDollars,
    incremental: scale(perDollar, markdownDollars),
    weeks: [...byWeek].map(([w, v]) => ({ week: p.weeks[w]!, ...v })).sort((a, c) => a.week.localeCompare(c.week)),
    stores: design.stores.length,
    storeWeeks: p.n,
    markdownWeeks: markdownWeeks.size,
    r2: total.r2,
  };
}

/** Whether an interval excludes zero: the plain-language test every answer uses. */
export const distinguishable = (e: Pick<Estimate, 'lower' | 'upper'>) => e.lower > 0 || e.upper < 0;
