import { createRoute, z } from '@hono/zod-openapi';
import type { AreaScope } from '../../scope.ts';
import { errorResponse } from '../../server/errors.ts';
import { listDeliveries } from '../../delivery/summaries/deliveries.ts';
import { parseTime, parseWeekday } from '../../delivery/summaries/schedule.ts';
import { createSubscription, deleteSubscription, listSubscriptions, resolveSchedule } from '../../delivery/summaries/subscriptions.ts';
import { creatorOf } from '../../access/delivery.ts';
import { refusedAs403, secured, tokenAccess, visibleTo } from '../access.ts';
import type { RegisterRoutes } from '../deps.ts';
import { errors, limitBody, wholeField } from '../schemas.ts';

const SubscriptionRequest = z
  .object({
    kind: z.literal('weekly-summary').default('weekly-summary'),
    store: wholeField('store').optional(),
    region: z.string().trim().min(1).max(100).optional(),
    chain: z.boolean().optional(),
    url: z.string().min(1).max(2048).optional().openapi({ description: 'A Slack or Discord incoming webhook, or any HTTPS URL (signed JSON). Internal addresses are refused. Give this or `recipients`.' }),
    recipients: z.enum(['each-manager', 'each-viewer']).optional().openapi({
      description: 'Instead of a URL: a direct message (Slack or Discord) to each principal granted that role on a store of the scope, with the summary of their own stores only; resolved from the grants at every run.',
      example: 'each-manager',
    }),
    format: z.enum(['slack', 'discord', 'json']).optional(),
    every: z.string().max(100).optional().openapi({ example: 'monday 08:00' }),
    weekday: z.string().max(20).optional(),
    time: z.string().max(10).optional(),
    tz: z.string().max(64).optional().openapi({ example: 'America/Chicago' }),
  })
  .strict()
  .refine((b) => [b.store !== undefined, b.region !== undefined, b.chain === true].filter(Boolean).length === 1, {
    message: 'give exactly one of store, region or chain: true',
  })
  .refine((b) => (b.url === undefined) !== (b.recipients === undefined), { message: 'give exactly one of url or recipients ("each-manager", "each-viewer")' })
  .openapi('SubscriptionRequest', { example: { store: 5, recipients: 'each-manager', every: 'monday 08:00', tz: 'America/Chicago' } });

const Subscription = z.record(z.string(), z.unknown()).openapi('Subscription', { description: 'id, kind, scope, target (kind and a hint, never the URL), schedule, nextRunAt, createdBy, createdAt' });

const create = createRoute({
  method: 'post',
  path: '/subscriptions',
  tags: ['Webhooks'],
  summary: 'Subscribe a URL to the weekly summary, or send it to each manager (viewer) by direct message',
  middleware: [limitBody(64 * 1024, 'A subscription is a small JSON object (at most 64 KiB).')],
  request: { body: { required: true, content: { 'application/json': { schema: SubscriptionRequest } } } },
  responses: {
    201: { description: 'Created; `signingSecret` is shown once, for generic JSON targets', content: { 'application/json': { schema: Subscription } } },
    ...errors(400, 401, 403, 413, 415),
  },
});

const list = createRoute({
  method: 'get',
  path: '/subscriptions',
  tags: ['Webhooks'],
  summary: 'The active subscriptions on data the token may see',
  responses: { 200: { description: 'The subscriptions', content: { 'application/json': { schema: z.object({ subscriptions: z.array(Subscription) }) } } }, ...errors(401, 403) },
});

const remove = createRoute({
  method: 'delete',
  path: '/subscriptions/{id}',
  tags: ['Webhooks'],
  summary: 'Delete a subscription (its queued deliveries are dropped)',
  request: { params: z.object({ id: z.string().max(64).openapi({ example: 'sub_1a2b3c4d5e6f' }) }) },
  responses: { 204: { description: 'Deleted' }, ...errors(401, 403, 404) },
});

const deliveries = createRoute({
  method: 'get',
  path: '/deliveries',
  tags: ['Webhooks'],
  summary: 'The delivery log: attempts, status, a short reason (never response bodies)',
  request: {
    query: z.object({
      status: z.enum(['pending', 'in_progress', 'retry', 'succeeded', 'dead', 'paused']).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
  },
  responses: { 200: { description: 'The deliveries, newest first', content: { 'application/json': { schema: z.object({ deliveries: z.array(z.record(z.string(), z.unknown())) }) } } }, ...errors(400, 401, 403) },
});

export const registerSubscriptionRoutes: RegisterRoutes = (app, deps) => {
  const { services, secretKey } = deps;
  const { db, logger, outbound } = services;
  app.openapi(secured({ db }, { kind: 'token', scope: 'admin' }, create), async (c) => {
    const b = c.req.valid('json');
    const weekday = b.weekday !== undefined ? parseWeekday(b.weekday) : undefined;
    if (b.weekday !== undefined && weekday === undefined) return errorResponse(c, 400, `weekday: "${b.weekday.slice(0, 20)}" is not a weekday.`, { code: 'invalid' });
    const time = b.time !== undefined ? parseTime(b.time) : undefined;
    if (b.time !== undefined && time === undefined) return errorResponse(c, 400, `time: "${b.time}" is not a time like 08:00.`, { code: 'invalid' });
    const schedule = resolveSchedule({ every: b.every, weekday, time, tz: b.tz });
    const scope: AreaScope = b.store !== undefined ? { kind: 'store', store: b.store } : b.region !== undefined ? { kind: 'region', region: b.region } : { kind: 'chain' };
    const token = c.get('apiToken')!.id;
    // The token's grants decide, at creation as at every send: its `admin` scope says what it may
    // call, not what data it may see (src/access/delivery.ts).
    const creator = creatorOf(`token:${token}`, await tokenAccess(db, services.config.access, token));
    const target = b.recipients ? ({ kind: 'recipients', role: b.recipients === 'each-viewer' ? 'viewer' : 'manager' } as const) : ({ kind: 'url', url: b.url!, format: b.format } as const);
    const input = { scope, target, schedule, createdBy: `token:${token}`, delivery: { mode: services.config.access.mode, creator } };
    const created = await refusedAs403(() => createSubscription(db, secretKey, input, outbound));
    logger.info({ subscription: created.subscription.id, target: created.subscription.target }, 'subscription created');
    return c.json({ ...created.subscription, ...(created.signingSecret ? { signingSecret: created.signingSecret } : {}) }, 201);
  });
  // As GET /alerts: only the subscriptions on data this token may see.
  app.openapi(secured({ db }, { kind: 'token', scope: 'query' }, list), async (c) => {
    const access = await tokenAccess(db, services.config.access, c.get('apiToken')!.id);
    return c.json({ subscriptions: await visibleTo(access, await listSubscriptions(db), (s) => s.scope) }, 200);
  });
  app.openapi(secured({ db }, { kind: 'token', scope: 'admin' }, remove), async (c) => {
    const { id } = c.req.valid('param');
    return (await deleteSubscription(db, id)) ? c.body(null, 204) : errorResponse(c, 404, `No subscription ${id}.`);
  });
  app.openapi(secured({ db }, { kind: 'token', scope: 'admin' }, deliveries), async (c) => {
    const { status, limit } = c.req.valid('query');
    return c.json({ deliveries: await listDeliveries(db, { status, limit }) }, 200);
  });
};
