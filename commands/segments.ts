import { rankingChart } from '../charts/index.ts';
import { commandLine } from '../src/chat/parse.ts';
import top from './top.ts';
import { defineCommand } from '../src/chat/command.ts';
import type { Reply } from '../src/chat/reply.ts';
import { UserError } from '../src/chat/errors.ts';
import { money, percent } from '../src/chat/format.ts';
import { loadSegments } from '../src/analytics/segments.ts';
import { dataWindow } from '../src/analytics/series.ts';
import { visibleStores } from '../src/campaigns/chat.ts';

const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(xs.length, 1);

export default defineCommand({
  name: 'segments',
  description: 'Stores clustered on seasonal profile, size, type and growth into named segments (use them as /top stores in segment 2).',
  options: [],
  examples: ['/segments'],
  // Shows the stores the asker may see; dispatch narrows the chain to them.
  reach: () => ({ kind: 'chain' }),
  async handler(_options, ctx): Promise<Reply> {
    const [all, visible, window] = await Promise.all([loadSegments(ctx.db), visibleStores(ctx), dataWindow(ctx.db)]);
    const rows = visible.all ? all : all.filter((r) => visible.stores.includes(r.store));
    if (rows.length === 0 || !window) throw new UserError('No segments yet: they are computed from sales once data is imported.');
    const segments = [...new Set(rows.map((r) => r.segment))].map((segment) => {
      const members = rows.filter((r) => r.segment === segment);
      const growth = members.map((m) => m.profile.growth).filter((g): g is number => g !== null);
      return { segment, name: members[0]!.name, stores: members.map((m) => m.store), weekly: mean(members.map((m) => m.profile.weekly)), growth: growth.length ? mean(growth) : null };
    });
    return {
      title: 'Store segments',
      summary: `${rows.length} stores in ${segments.length} segments by seasonal profile, size, type and growth${visible.all ? '' : ' (the stores you may see)'}. Use one as a scope: /top stores in segment 1.`,
      facts: segments.map((s) => ({
        label: `Segment ${s.segment} · ${s.name}`,
        value: `${s.stores.length} stores (${s.stores.slice(0, 15).join(', ')}${s.stores.length > 15 ? ', …' : ''}) · ${money(s.weekly)} a week${s.growth === null ? '' : ` · ${percent(s.growth)} a year`}`,
      })),
      chart: {
        spec: rankingChart({
          title: 'Store segments · average weekly sales per store',
          subtitle: `k-means on seasonal profile, size, type and growth · data through ${window.lastWeek}`,
          valueFormat: 'currency',
          rows: segments.map((s) => ({ label: `${s.segment} · ${s.name} (${s.stores.length})`, value: s.weekly })),
        }),
        alt: `Bar chart of ${segments.length} store segments by average weekly sales: ${segments.map((s) => `segment ${s.segment} ${s.name}`).join('; ')}.`,
      },
      table: {
        columns: ['store', 'segment', 'name', 'type', 'size', 'weekly_sales', 'growth', 'holiday_share'],
        rows: rows.map((r) => [r.store, r.segment, r.name, r.profile.type, r.profile.size, Math.round(r.profile.weekly), r.profile.growth === null ? null : Math.round(r.profile.growth * 10_000) / 10_000, Math.round(r.profile.holidayShare * 1000) / 1000]),
        filename: 'segments.csv',
      },
      actions: segments.slice(0, 3).map((s) => ({ label: `Top of segment ${s.segment}`, command: commandLine(top, { segment: s.segment }) })),
      visibility: 'channel',
      context: { dataThrough: window.lastWeek, notes: ['segments are recomputed after each import'] },
      data: { segments, stores: rows },
    };
  },
});
