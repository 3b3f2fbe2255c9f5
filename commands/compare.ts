import { defineCommand } from '../src/chat/command.ts';
import type { Reply } from '../src/chat/reply.ts';
import { UserError } from '../src/chat/errors.ts';
import { parseStoreList } from '../src/campaigns/campaigns.ts';
import { controlPool, impactReply, requireVisible, visibleStores } from '../src/campaigns/chat.ts';
import { measureImpact } from '../src/campaigns/impact.ts';
import { dataWindow } from '../src/analytics/series.ts';

const EXAMPLE = '/compare stores 1,5 vs 7,9 from 2012-03-02 to 2012-04-27';

export default defineCommand({
  name: 'compare',
  description: 'An ad-hoc A/B test: did these stores do better than those over some weeks? (difference-in-differences, 95% interval)',
  options: [
    { name: 'stores', type: 'string', required: true, aliases: ['store'], description: 'The stores tested: 1,5 or 1-5' },
    { name: 'vs', type: 'string', aliases: ['against', 'controls'], description: 'The stores to compare with (default: matched automatically)' },
    { name: 'from', type: 'date', required: true, aliases: ['start'], description: 'First day, YYYY-MM-DD' },
    { name: 'to', type: 'date', required: true, aliases: ['end', 'until'], description: 'Last day, YYYY-MM-DD' },
  ],
  examples: [EXAMPLE, '/compare stores 3 from 2011-06-03 to 2011-07-29'],
  reach: ({ stores, vs }) => ({ kind: 'stores', stores: [...new Set([...parseStoreList(stores), ...(vs ? parseStoreList(vs, 'vs') : [])])], asked: { kind: 'chain' } }),
  async handler(options, ctx): Promise<Reply> {
    const treated = parseStoreList(options.stores);
    const controls = options.vs ? parseStoreList(options.vs, 'vs') : null;
    if (options.to < options.from) throw new UserError(`"to" (${options.to}) is before "from" (${options.from}).`, { example: EXAMPLE });
    const both = controls?.filter((s) => treated.includes(s)) ?? [];
    if (both.length) throw new UserError(`Store ${both.join(', ')} is on both sides.`, { example: EXAMPLE });
    const visible = await visibleStores(ctx);
    requireVisible(ctx, visible, [...treated, ...(controls ?? [])], 'This comparison');
    const pool = await controlPool(ctx, visible, { start: options.from, end: options.to });
    const answer = await measureImpact(ctx.db, { kind: 'comparison', treated, controls, start: options.from, end: options.to, pool: pool.stores });
    const window = await dataWindow(ctx.db);
    return impactReply(answer, {
      kind: 'comparison',
      title: `Stores ${treated.join(', ')} vs ${controls ? controls.join(', ') : 'matched controls'}`,
      dataThrough: window!.lastWeek,
      visibleAll: visible.all,
      poolNote: pool.note(answer.poolSize),
      data: { from: options.from, to: options.to },
      filename: `compare-${treated.join('-')}.csv`,
    });
  },
});
