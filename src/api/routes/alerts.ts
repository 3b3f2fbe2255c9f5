import { createRoute, z } from '@hono/zod-openapi';
import { createRule, deleteRule, listRules, type AlertCondition, type AlertTargetInput } from '../../alerts/rules.ts';
import { errorResponse } from '../../server/errors.ts';
import { withDept } from '../../scope.ts';
import { creatorOf } from '../../access/delivery.ts';
import { refusedAs403, secured, tokenAccess, visibleTo } from '../access.ts';
import type { RegisterRoutes } from '../deps.ts';
import { errors, limitBody, wholeField } from '../schemas.ts';

const AlertRequest = z
  .object({
    kind: z.enum(['stock', 'sales']),
    store: wholeField('store').optional(),
    region: z.string().trim().min(1).max(100).optional(),
    chain: z.boolean().optional(),
    dept: wholeField('dept').optional(),
    belowWeeks: z.number().gt(0).max(26).optional().openapi({ description: 'stock: fire when a department has fewer weeks of cover' }),
    basis: z.enum(['median', 'p90']).optional(),
    belowForecast: z.boolean().optional().openapi({ description: 'sales: fire when last week is under the 80% interval (or pct under the median)' }),
    pct: z.number().gt(0).lt(100).optional(),
    dropPct: z.number().gt(0).lt(100).optional().openapi({ description: 'sales: fire when last week is down this much vs the same week last year' }),
    url: z.string().min(1).max(2048).optional().openapi({ description: 'A webhook URL (Slack, Discord or signed JSON); internal addresses are refused' }),
    email: z.string().min(3).max(254).optional(),
  })
  .strict()
  .refine((b) => [b.store !== undefined, b.region !== undefined, b.chain === true].filter(Boolean).length === 1, { message: 'give exactly one of store, region or chain: true' })
  .refine((b) => (b.url === undefined) !== (b.email === undefined), { message: 'give exactly one target: url or email' })
  .openapi('AlertRequest');

const Alert = z.record(z.string(), z.unknown()).openapi('Alert', { description: 'id, kind, scope, condition, target (kind and a hint), state, episode, firingSince, snoozedUntil' });

const create = createRoute({
  method: 'post',
  path: '/alerts',
  tags: ['Alerts'],
  summary: 'Create an alert rule notifying a webhook URL or an email address',
  middleware: [limitBody(64 * 1024, 'An alert is a small JSON object (at most 64 KiB).')],
  request: { body: { required: true, content: { 'application/json': { schema: AlertRequest } } } },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: Alert } } },
    200: { description: 'The same rule (scope, condition, target) exists: that rule, with `duplicate: true`; nothing created', content: { 'application/json': { schema: Alert } } },
    ...errors(400, 401, 403, 413, 415),
  },
});

const list = createRoute({
  method: 'get',
  path: '/alerts',
  tags: ['Alerts'],
  summary: 'Every alert rule and its state',
  responses: { 200: { description: 'The alerts', content: { 'application/json': { schema: z.object({ alerts: z.array(Alert) }) } } }, ...errors(401, 403) },
});

const remove = createRoute({
  method: 'delete',
  path: '/alerts/{id}',
  tags: ['Alerts'],
  summary: 'Delete an alert rule (its queued notices are dropped)',
  request: { params: z.object({ id: z.string().max(64).openapi({ example: 'alr_1a2b3c4d5e6f' }) }) },
  responses: { 204: { description: 'Deleted' }, ...errors(401, 403, 404) },
});

type Body = z.infer<typeof AlertRequest>;

function conditionOf(b: Body): AlertCondition | string {
  if (b.kind === 'stock') return b.belowWeeks === undefined ? 'a stock alert needs belowWeeks' : { type: 'cover-below', weeks: b.belowWeeks, basis: b.basis ?? 'p90' };
  if (b.dropPct !== undefined) return { type: 'drop-vs-last-year', pct: b.dropPct };
  if (b.belowForecast) return b.pct === undefined ? { type: 'below-forecast' } : { type: 'below-forecast', pct: b.pct };
  return 'a sales alert needs belowForecast: true (optionally pct) or dropPct';
}

export const registerAlertRoutes: RegisterRoutes = (app, deps) => {
  const { services, secretKey } = deps;
  const { db, outbound } = services;
  // Creating an alert sends mail or posts for others: admin tokens, as subscriptions.
  app.openapi(secured({ db }, { kind: 'token', scope: 'admin' }, create), async (c) => {
    const b = c.req.valid('json');
    const condition = conditionOf(b);
    if (typeof condition === 'string') return errorResponse(c, 400, condition, { code: 'invalid' });
    const scope = withDept(b.store !== undefined ? { kind: 'store', store: b.store } : b.region !== undefined ? { kind: 'region', region: b.region } : { kind: 'chain' }, b.dept);
    const target: AlertTargetInput = b.url !== undefined ? { kind: 'webhook', url: b.url } : { kind: 'email', address: b.email! };
    const token = c.get('apiToken')!.id;
    const delivery = { mode: services.config.access.mode, creator: creatorOf(`token:${token}`, await tokenAccess(db, services.config.access, token)) };
    const input = { kind: b.kind, scope, condition, target, createdBy: `token:${token}`, delivery, perPrincipal: services.config.alertRulesPerPrincipal };
    const rule = await refusedAs403(() => createRule(db, secretKey, input, outbound));
    // The same rule (scope, condition, target) exists: it is the answer, and nothing is created.
    return c.json(rule, rule.duplicate ? 200 : 201);
  });
  // As /alerts in chat: only the rules on data this token may see.
  app.openapi(secured({ db }, { kind: 'token', scope: 'query' }, list), async (c) => {
    const access = await tokenAccess(db, services.config.access, c.get('apiToken')!.id);
    return c.json({ alerts: await visibleTo(access, await listRules(db), (rule) => rule.scope) }, 200);
  });
  app.openapi(secured({ db }, { kind: 'token', scope: 'admin' }, remove), async (c) => {
    const { id } = c.req.valid('param');
    return (await deleteRule(db, id)) ? c.body(null, 204) : errorResponse(c, 404, `No alert ${id}.`);
  });
};
