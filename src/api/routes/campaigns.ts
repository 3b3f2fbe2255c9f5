import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Asker, Services } from '../../services.ts';
import { consoleAsker } from '../../server/console-session.ts';
import { RETRY_AFTER_SECONDS } from '../../db/health.ts';
import { errorResponse } from '../../server/errors.ts';
import { createCampaign, parseStoreList } from '../../campaigns/campaigns.ts';
import { secured } from '../access.ts';
import type { RegisterRoutes } from '../deps.ts';
import { errors, limitBody, wholeField } from '../schemas.ts';

/*
 * Campaigns through the API. Recording one is an admin token's job, as subscribing a URL is
 * (chat commands that manage need a person: signed-in console users run /campaign create
 * through POST /commands); it goes through the same validation as /campaign create. Listing
 * runs /campaigns as the caller, so it shows only campaigns whose stores the caller may see.
 */

const storeList = z.union([z.array(wholeField('store')).min(1).max(500), z.string().min(1).max(2000)]);

const CampaignRequest = z
  .object({
    name: z.string().min(1).max(63).openapi({ example: 'spring-push' }),
    stores: storeList.openapi({ description: 'Store numbers, or text like "1,5,7" or "1-5"', example: [1, 5, 7] }),
    start: z.string().max(10).openapi({ example: '2012-03-02' }),
    end: z.string().max(10).openapi({ example: '2012-04-27' }),
    controls: storeList.optional().openapi({ description: 'Control stores; leave out to match them automatically when measured' }),
    notes: z.string().max(1000).optional(),
  })
  .strict()
  .openapi('CampaignRequest');

const Campaign = z.record(z.string(), z.unknown()).openapi('Campaign', { description: 'name, stores, controls, start, end, notes, createdBy, createdAt' });

const create = createRoute({
  method: 'post',
  path: '/campaigns',
  tags: ['Campaigns'],
  summary: 'Record a campaign (admin token)',
  middleware: [limitBody(16 * 1024, 'A campaign is a small JSON object (at most 16 KiB).')],
  request: { body: { required: true, content: { 'application/json': { schema: CampaignRequest } } } },
  responses: { 201: { description: 'Recorded', content: { 'application/json': { schema: Campaign } } }, ...errors(400, 401, 403, 413, 415, 500, 503) },
});

const list = createRoute({
  method: 'get',
  path: '/campaigns',
  tags: ['Campaigns'],
  summary: 'The campaigns whose stores the caller may see',
  responses: { 200: { description: 'The campaigns', content: { 'application/json': { schema: z.object({ campaigns: z.array(Campaign) }) } } }, ...errors(400, 401, 403, 500, 503) },
});

const askerOf = (c: Context): Asker => {
  const token = c.get('apiToken') as { id: string } | undefined;
  return token ? { platform: 'api', roles: [], tokenId: token.id } : consoleAsker(c.get('consoleSession'));
};

/** A command outcome as an API answer in the one error shape. */
function refusal(c: Context, outcome: Awaited<ReturnType<Services['run']>>) {
  if (outcome.kind === 'denied') return errorResponse(c, 403, outcome.error.message, { code: 'forbidden' });
  if (outcome.kind === 'user-error') return errorResponse(c, 400, outcome.error.message, { code: 'invalid' });
  if (outcome.kind === 'limited') return errorResponse(c, 400, outcome.error.message, { code: 'rate_limited' });
  if (outcome.kind === 'internal-error' && outcome.error.unavailable) {
    c.header('Retry-After', String(RETRY_AFTER_SECONDS));
    return errorResponse(c, 503, outcome.reply.summary, { code: 'database_unavailable', ref: outcome.error.ref });
  }
  return errorResponse(c, 500, outcome.reply.summary, { code: 'internal', ...(outcome.kind === 'internal-error' ? { ref: outcome.error.ref } : {}) });
}

const listText = (v: number[] | string) => (Array.isArray(v) ? v.join(',') : v);

export const registerCampaignRoutes: RegisterRoutes = (app, { services }) => {
  const access = { db: services.db, publicUrl: services.config.publicUrl, mode: services.config.access.mode };
  app.openapi(secured({ db: services.db }, { kind: 'token', scope: 'admin' }, create), async (c) => {
    const b = c.req.valid('json');
    // A UserError (bad dates, unknown store, a taken name) answers 400 through the one error handler.
    const input = { name: b.name, stores: parseStoreList(listText(b.stores)), controls: b.controls ? parseStoreList(listText(b.controls), 'controls') : null, start: b.start, end: b.end, notes: b.notes };
    const created = await createCampaign(services.db, input, `token:${c.get('apiToken')!.id}`);
    return c.json(created as unknown as Record<string, unknown>, 201);
  });
  app.openapi(secured(access, { kind: 'console-or-token', scope: 'query' }, list), async (c) => {
    const outcome = await services.run({ name: 'campaigns', options: {} }, askerOf(c));
    if (outcome.kind !== 'ok') return refusal(c, outcome);
    return c.json({ campaigns: outcome.reply.data.campaigns as Record<string, unknown>[] }, 200);
  });
};
