import { defineCommand } from '../src/chat/command.ts';
import type { Reply } from '../src/chat/reply.ts';
import { AccessDenied } from '../src/chat/access.ts';
import { UserError } from '../src/chat/errors.ts';
import { commandLine } from '../src/chat/parse.ts';
import { principalKeys } from '../src/access/principal.ts';
import { CAMPAIGN_NAME_TYPED, createCampaign, deleteCampaign, getCampaign, parseStoreList } from '../src/campaigns/campaigns.ts';
import { describeScope, type Scope } from '../src/scope.ts';
import campaignImpact from './campaign-impact.ts';

const EXAMPLE = '/campaign create spring-push stores 1,5,7 from 2012-03-02 to 2012-04-27';

/** The stores a create names (campaign and controls): what the asker must manage. */
function createReach(o: { action: string; stores?: string; controls?: string }): Scope | undefined {
  if (o.action !== 'create') return undefined;
  if (o.stores === undefined) throw new UserError('Say which stores ran the campaign, e.g. "stores 1,5,7".', { example: EXAMPLE });
  const stores = [...parseStoreList(o.stores), ...(o.controls ? parseStoreList(o.controls, 'controls') : [])];
  return { kind: 'stores', stores: [...new Set(stores)].sort((a, b) => a - b), asked: { kind: 'chain' } };
}

const campaign = defineCommand({
  name: 'campaign',
  description: 'Record a marketing campaign (its stores, dates, optional control stores) to measure with /campaign-impact; or delete one.',
  options: [
    { name: 'action', type: 'choice', choices: ['create', 'delete'], required: true, description: 'create or delete' },
    { name: 'name', type: 'string', pattern: CAMPAIGN_NAME_TYPED, description: 'Campaign name: letters, digits, hyphens (spring-push)' },
    { name: 'stores', type: 'string', aliases: ['store'], description: 'Stores that ran it: 1,5,7 or 1-5' },
    { name: 'from', type: 'date', aliases: ['start'], description: 'First day, YYYY-MM-DD' },
    { name: 'to', type: 'date', aliases: ['end', 'until'], description: 'Last day, YYYY-MM-DD' },
    { name: 'controls', type: 'string', aliases: ['control', 'vs'], description: 'Control stores (default: matched automatically)' },
    { name: 'notes', type: 'string', aliases: ['note'], description: 'One word of notes here (free text through the API or a CSV)' },
  ],
  examples: [EXAMPLE, '/campaign create flyer-test stores 2-4 from 2011-09-02 to 2011-10-28 controls 8,9,10', '/campaign delete spring-push'],
  access: 'manage',
  reach: createReach,
  async handler(options, ctx): Promise<Reply> {
    const { action, name } = options;
    if (!name) throw new UserError('Name the campaign, e.g. spring-push.', { example: EXAMPLE });
    if (action === 'delete') return remove(name, ctx);
    if (!options.from || !options.to) throw new UserError('Say when it ran: "from 2012-03-02 to 2012-04-27".', { example: EXAMPLE });
    const created = await createCampaign(
      ctx.db,
      { name, stores: parseStoreList(options.stores!), controls: options.controls ? parseStoreList(options.controls, 'controls') : null, start: options.from, end: options.to, notes: options.notes },
      principalKeys(ctx)[0] ?? ctx.platform,
    );
    return {
      title: `Campaign ${created.name} recorded`,
      summary: `${created.stores.length} store${created.stores.length > 1 ? 's' : ''} (${created.stores.join(', ')}) from ${created.start} to ${created.end}; ${created.controls ? `controls ${created.controls.join(', ')}` : 'controls matched automatically when measured'}.`,
      facts: [
        { label: 'Stores', value: created.stores.join(', ') },
        { label: 'Dates', value: `${created.start} to ${created.end}` },
        { label: 'Controls', value: created.controls?.join(', ') ?? 'matched automatically (segment + pre-period trajectory)' },
        ...(created.notes ? [{ label: 'Notes', value: created.notes }] : []),
      ],
      actions: [{ label: 'Measure it', command: commandLine(campaignImpact, { name: created.name }) }],
      visibility: 'channel',
      context: {},
      data: { campaign: created },
    };
  },
});

/** Deleting needs the manager role over every store the campaign names. */
async function remove(name: string, ctx: Parameters<(typeof campaign)['handler']>[1]): Promise<Reply> {
  const found = await getCampaign(ctx.db, name);
  if (!found) throw new UserError(`There is no campaign called ${name}. See /campaigns.`);
  const scope: Scope = { kind: 'stores', stores: [...found.stores, ...(found.controls ?? [])], asked: { kind: 'chain' } };
  if (!(await ctx.access.covers('manager', scope))) throw new AccessDenied(`Deleting ${found.name} needs the manager role for all of its stores (${describeScope(scope)}). You are ${ctx.access.describe()}.`, scope);
  await deleteCampaign(ctx.db, found.name);
  return { title: `Campaign ${found.name} deleted`, summary: `Campaign ${found.name} (${found.start} to ${found.end}) is deleted.`, facts: [], actions: [], visibility: 'channel', context: {}, data: { deleted: found.name } };
}

export default campaign;
