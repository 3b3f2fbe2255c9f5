import { commandLine } from '../src/chat/parse.ts';
import campaignImpact from './campaign-impact.ts';
import { defineCommand } from '../src/chat/command.ts';
import type { Reply } from '../src/chat/reply.ts';
import { visibleCampaigns, visibleStores } from '../src/campaigns/chat.ts';

export default defineCommand({
  name: 'campaigns',
  description: 'The recorded campaigns whose stores you may see.',
  options: [],
  examples: ['/campaigns'],
  // No sales in it, so no reach to authorize: the list holds only campaigns whose every store
  // (and control) the asker may see, possibly none.
  reach: () => undefined,
  async handler(_options, ctx): Promise<Reply> {
    const visible = await visibleStores(ctx);
    const { mine, total } = await visibleCampaigns(ctx, visible);
    return {
      title: 'Campaigns',
      summary: mine.length
        ? `${mine.length} campaign${mine.length > 1 ? 's' : ''}${mine.length < total ? ' you may see' : ''}. Measure one with /campaign-impact NAME.`
        : 'No campaigns yet. Record one with /campaign create spring-push stores 1,5,7 from 2012-03-02 to 2012-04-27.',
      facts: mine.slice(0, 10).map((c) => ({ label: c.name, value: `stores ${c.stores.join(', ')} · ${c.start} to ${c.end}${c.controls ? ` · controls ${c.controls.join(', ')}` : ''}` })),
      table: {
        columns: ['name', 'stores', 'start', 'end', 'controls', 'notes', 'created_by'],
        rows: mine.map((c) => [c.name, c.stores.join(' '), c.start, c.end, c.controls?.join(' ') ?? null, c.notes, c.createdBy]),
        filename: 'campaigns.csv',
      },
      actions: mine.slice(0, 3).map((c) => ({ label: `Measure ${c.name}`, command: commandLine(campaignImpact, { name: c.name }) })),
      visibility: 'channel',
      context: {},
      data: { campaigns: mine },
    };
  },
});
