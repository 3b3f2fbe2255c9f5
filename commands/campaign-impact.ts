import { defineCommand } from '../src/chat/command.ts';
import type { Reply } from '../src/chat/reply.ts';
import { UserError } from '../src/chat/errors.ts';
import { CAMPAIGN_NAME_TYPED } from '../src/campaigns/campaigns.ts';
import { controlPool, impactReply, visibleCampaigns, visibleStores } from '../src/campaigns/chat.ts';
import { measureImpact } from '../src/campaigns/impact.ts';
import { dataWindow } from '../src/analytics/series.ts';

export default defineCommand({
  name: 'campaign-impact',
  description: 'Did a campaign lift sales? Difference-in-differences vs control stores, parallel-trend check, lift with a 95% interval.',
  options: [{ name: 'name', type: 'string', required: true, pattern: CAMPAIGN_NAME_TYPED, description: 'Campaign name (see /campaigns)' }],
  examples: ['/campaign-impact spring-push'],
  // Judged over the stores the asker may see: the campaign's stores must all be among them,
  // and automatic controls are drawn only from them.
  reach: () => ({ kind: 'chain' }),
  async handler({ name }, ctx): Promise<Reply> {
    const visible = await visibleStores(ctx);
    const { mine } = await visibleCampaigns(ctx, visible);
    // A campaign the asker may not see answers as one that does not exist: its name is not theirs to learn.
    const campaign = mine.find((c) => c.name === name.trim().toLowerCase());
    if (!campaign) {
      const names = mine.map((c) => c.name);
      throw new UserError(`There is no campaign called ${name.toLowerCase()}.${names.length ? ` Campaigns: ${names.slice(0, 10).join(', ')}.` : ' Record one with /campaign create.'}`);
    }
    const pool = await controlPool(ctx, visible, { start: campaign.start, end: campaign.end, except: campaign.name });
    const answer = await measureImpact(ctx.db, { treated: campaign.stores, controls: campaign.controls, start: campaign.start, end: campaign.end, pool: pool.stores });
    const window = await dataWindow(ctx.db);
    return impactReply(answer, {
      kind: 'campaign',
      title: `Campaign ${campaign.name}`,
      dataThrough: window!.lastWeek,
      visibleAll: visible.all,
      poolNote: pool.note(answer.poolSize),
      data: { campaign },
      filename: `campaign-${campaign.name}.csv`,
    });
  },
});
