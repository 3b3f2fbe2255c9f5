import { rankingChart } from '../charts/index.ts';
import { defineCommand } from '../src/chat/command.ts';
import type { Reply } from '../src/chat/reply.ts';
import { UserError } from '../src/chat/errors.ts';
import { money, percent } from '../src/chat/format.ts';
import { commandLine } from '../src/chat/parse.ts';
import { ranking } from '../src/analytics/rankings.ts';
import { answerScope } from '../src/chat/access.ts';
import { dataWindow } from '../src/analytics/series.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { segmentStores } from '../src/analytics/segments.ts';
import forecast from './forecast.ts';

const top = defineCommand({
  name: 'top',
  description: 'Rank stores or departments by sales or growth over the last weeks.',
  options: [
    { name: 'of', type: 'choice', choices: ['stores', 'depts'], default: 'stores', description: 'What to rank' },
    { name: 'by', type: 'choice', choices: ['sales', 'growth'], default: 'sales', description: 'Sales total, or growth vs the same weeks a year before' },
    { name: 'limit', type: 'integer', min: 1, max: 50, default: 10, positional: true, aliases: ['n'], description: 'How many, 1-50 (default 10)' },
    { name: 'order', type: 'choice', choices: ['top', 'bottom'], default: 'top', description: 'Best first (top) or worst first (bottom)' },
    { name: 'weeks', type: 'integer', min: 1, max: 104, default: 52, aliases: ['over', 'window'], description: 'Window length in weeks (default 52)' },
    { name: 'segment', type: 'integer', min: 1, max: 99, description: 'Only the stores of this segment (see /segments)' },
  ],
  keywords: ['in'],
  examples: ['/top stores by growth', '/top depts by sales 5', '/top stores by growth bottom 5 weeks 13', '/top stores in segment 2'],
  // Ranks the stores (or their departments) the asker may see; dispatch narrows the chain (or segment) to them.
  reach: ({ segment }) => (segment === undefined ? { kind: 'chain' } : { kind: 'segment', segment }),
  async handler(options, ctx): Promise<Reply> {
    const window = await dataWindow(ctx.db);
    if (!window) throw new UserError('No sales data is loaded yet. Import some with `storecast import` (or run `storecast demo`).');
    const { of, by, order, weeks, limit } = options;
    const scope = answerScope(ctx, options.segment === undefined ? { kind: 'chain' } : { kind: 'segment', segment: options.segment });
    const stores = scope.kind === 'stores' ? scope.stores : scope.kind === 'segment' ? await segmentStores(ctx.db, scope.segment) : undefined;
    const rows = await ranking(ctx.db, { of, by, order, limit, to: window.lastWeek, weeks, stores });
    if (rows.length === 0) {
      throw new UserError(by === 'growth' ? `Growth needs a year of history before the last ${weeks} weeks; the data starts ${window.firstWeek}.` : 'Nothing to rank.');
    }
    const from = addWeeks(window.lastWeek, -(weeks - 1));
    const noun = of === 'stores' ? 'Store' : 'Dept';
    const what = `${by === 'sales' ? 'sales' : 'growth vs a year before'}${options.segment === undefined ? '' : ` in segment ${options.segment}`}`;
    const head = rows[0]!;
    const value = (r: (typeof rows)[number]) => (by === 'sales' ? r.sales : r.growth ?? 0);
    return {
      title: `${order === 'top' ? 'Top' : 'Bottom'} ${rows.length} ${of} by ${what}`,
      summary: `${noun} ${head.id} ranks ${order === 'top' ? 'first' : 'last'}: ${by === 'sales' ? money(head.sales) : percent(head.growth ?? 0)} over the ${weeks} weeks to ${window.lastWeek}.`,
      facts: rows.slice(0, 3).map((r, i) => ({ label: `#${i + 1} ${noun} ${r.id}`, value: `${money(r.sales)}${r.growth === null ? '' : ` (${percent(r.growth)})`}` })),
      chart: {
        spec: rankingChart({
          title: `${order === 'top' ? 'Top' : 'Bottom'} ${rows.length} ${of} by ${what}`,
          subtitle: `${from} – ${window.lastWeek} (${weeks} weeks)`,
          valueFormat: by === 'sales' ? 'currency' : 'percent',
          rows: rows.map((r) => ({ label: `${noun} ${r.id}`, value: value(r) })),
        }),
        alt: `Bar chart ranking ${rows.length} ${of} by ${what}; first is ${noun} ${head.id}.`,
      },
      table: {
        columns: ['rank', of === 'stores' ? 'store' : 'dept', 'sales', 'growth'],
        rows: rows.map((r, i) => [i + 1, r.id, Math.round(r.sales), r.growth === null ? null : Math.round(r.growth * 10_000) / 10_000]),
        filename: `top-${of}-by-${by}.csv`,
      },
      actions: [
        { label: by === 'sales' ? 'By growth' : 'By sales', command: commandLine(top, { ...options, by: by === 'sales' ? 'growth' : 'sales' }) },
        ...(of === 'stores' ? [{ label: `Forecast store ${head.id}`, command: commandLine(forecast, { store: head.id }) }] : []),
      ],
      visibility: 'channel',
      context: { dataThrough: window.lastWeek },
      data: { of, by, order, weeks, from, to: window.lastWeek, rows },
    };
  },
});

export default top;
