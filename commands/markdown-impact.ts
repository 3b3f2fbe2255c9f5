import { markdownImpactChart } from '../charts/index.ts';
import { defineCommand } from '../src/chat/command.ts';
import { areaOptions, driversLine } from './follow-ups.ts';
import type { Reply } from '../src/chat/reply.ts';
import { UserError } from '../src/chat/errors.ts';
import { money } from '../src/chat/format.ts';
import { answerScope } from '../src/chat/access.ts';
import { areaReach, areaScope, perDollar } from '../src/chat/area.ts';
import { distinguishable, type MarkdownImpact } from '../src/analytics/markdowns.ts';
import { areaMarkdownImpact } from '../src/analytics/area-answers.ts';
import type { Estimate } from '../src/analytics/regression.ts';
import { dataWindow } from '../src/analytics/series.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { describeScope, scopeSlug } from '../src/scope.ts';

const interval = (e: Estimate) => `${perDollar(e.beta)} per $1 (95%: ${perDollar(e.lower)} to ${perDollar(e.upper)})`;

/** "Each markdown dollar went with $0.06 more sales ... not distinguishable from zero." */
function verdict(m: MarkdownImpact): string {
  const e = m.perDollar;
  const head = `Each markdown dollar went with ${perDollar(e.beta)} of ${e.beta >= 0 ? 'extra' : 'lost'} sales (95%: ${perDollar(e.lower)} to ${perDollar(e.upper)})`;
  if (!distinguishable(e)) return `${head}: not distinguishable from zero.`;
  return `${head}: ${e.beta > 0 ? 'a clear positive' : 'a clear negative'} effect, ${money(m.incremental.beta)} of sales over ${money(m.markdownDollars)} of markdowns.`;
}

const markdownImpactCommand = defineCommand({
  name: 'markdown-impact',
  description: 'Incremental sales per markdown dollar (all and per type) vs a baseline that keeps season, holidays and trend, 95% intervals.',
  options: areaOptions,
  keywords: ['all', 'chain'],
  examples: ['/markdown-impact store 5', '/markdown-impact region South', '/markdown-impact chain'],
  reach: areaReach,
  async handler(options, ctx): Promise<Reply> {
    const scope = answerScope(ctx, await areaScope(ctx.db, options, '/markdown-impact store 5'));
    const label = describeScope(scope);
    const [window, m] = await Promise.all([dataWindow(ctx.db), areaMarkdownImpact(ctx.db, scope)]);
    if (!window) throw new UserError(`No sales data for ${label}.`);
    if (!m) throw new UserError(`${label} has no markdowns in the data (features.csv carries MarkDown1-5 from November 2011). Import features.csv to measure them.`);
    const firstMarkdown = m.weeks.find((w) => w.markdowns !== 0)!.week;
    const shown = m.weeks.filter((w) => w.week >= addWeeks(firstMarkdown, -13));
    const slug = scopeSlug(scope);
    return {
      title: `${label}: markdown impact`,
      summary: `${verdict(m)} Holiday weeks: ${interval(m.holidayWeeks)}; other weeks: ${interval(m.otherWeeks)}.`,
      facts: [
        { label: 'Per markdown $1', value: interval(m.perDollar) },
        { label: 'Markdowns', value: `${money(m.markdownDollars)} over ${m.markdownWeeks} weeks` },
        { label: 'Sales they added', value: `${money(m.incremental.beta)} (95%: ${money(m.incremental.lower)} to ${money(m.incremental.upper)})` },
        ...m.perType.map((t) => ({ label: t.type, value: `${interval(t.estimate)} on ${money(t.dollars)}` })),
      ],
      chart: {
        spec: markdownImpactChart({
          title: `${label} · sales vs the baseline without markdowns`,
          subtitle: `Markdown dollars beneath · ${perDollar(m.perDollar.beta)} per $1 (95%: ${perDollar(m.perDollar.lower)} to ${perDollar(m.perDollar.upper)}) · data through ${window.lastWeek}`,
          weeks: shown,
        }),
        alt: `Line chart of weekly sales and the baseline without markdowns for ${label}, with markdown dollars as bars beneath; ${perDollar(m.perDollar.beta)} of sales per markdown dollar.`,
      },
      table: {
        columns: ['markdown', 'dollars', 'sales_per_dollar', 'lower_95', 'upper_95'],
        rows: [
          ['all', Math.round(m.markdownDollars), ...est(m.perDollar)],
          ['all, holiday weeks', null, ...est(m.holidayWeeks)],
          ['all, other weeks', null, ...est(m.otherWeeks)],
          ...m.perType.map((t) => [t.type, Math.round(t.dollars), ...est(t.estimate)]),
        ],
        filename: `markdown-impact-${slug}.csv`,
      },
      actions: [{ label: 'What drives sales', command: driversLine( { store: scope.kind === 'store' ? scope.store : undefined, region: scope.kind === 'region' ? scope.region : undefined }) }],
      visibility: 'channel',
      context: {
        dataThrough: window.lastWeek,
        notes: [`baseline: each store's level and trend, week-of-year season with holidays aligned; ${m.stores > 1 ? `${m.stores} stores, intervals clustered by store and week` : 'Newey-West intervals'}`],
      },
      data: { scope, ...m, weeks: shown },
    };
  },
});

export default markdownImpactCommand;

const round4 = (v: number) => Math.round(v * 10_000) / 10_000;
const est = (e: Estimate) => [round4(e.beta), round4(e.lower), round4(e.upper)];
