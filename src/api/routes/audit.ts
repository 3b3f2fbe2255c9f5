import { createRoute, z } from '@hono/zod-openapi';
import { AUDIT_OUTCOMES, DEFAULT_AUDIT_LIMIT, listAudit, MAX_AUDIT_LIMIT, parseSince } from '../../audit/log.ts';
import { secured } from '../access.ts';
import type { RegisterRoutes } from '../deps.ts';
import { errors } from '../schemas.ts';

const AuditEntry = z
  .object({
    id: z.number(),
    at: z.string().openapi({ example: '2026-11-02T09:15:02.120Z' }),
    principal: z.string().openapi({ example: 'slack:T01ABC/U02DEF', description: 'token:<id>, slack:TEAM/USER, discord:GUILD/USER, a console session, cli or anonymous' }),
    platform: z.string().openapi({ example: 'slack' }),
    workspace: z.string().optional(),
    channel: z.string().optional(),
    command: z.string().optional().openapi({ example: '/forecast store 5 horizon 12', description: 'Commands: normalized when answered, else as typed (clipped; URLs and tokens replaced).' }),
    method: z.string().optional().openapi({ description: 'API calls: method, route pattern and status (never a query string or body).' }),
    route: z.string().optional().openapi({ example: '/api/v1/subscriptions/:id' }),
    status: z.number().optional(),
    scope: z.string().optional().openapi({ example: 'Store 5' }),
    outcome: z.enum(AUDIT_OUTCOMES),
    latencyMs: z.number(),
    ref: z.string().optional().openapi({ description: 'The reference the user was shown.' }),
    client: z.string().optional().openapi({ description: 'HTTP calls: the client IP (the socket, or a proxy STORECAST_TRUST_PROXY trusts).' }),
    hits: z.number().openapi({ description: 'Calls the row stands for: anonymous API calls are counted per client, minute, route and status.' }),
  })
  .openapi('AuditEntry');

const list = createRoute({
  method: 'get',
  path: '/audit',
  tags: ['Admin'],
  summary: 'The audit log: every command and API call, newest first',
  request: {
    query: z.object({
      since: z
        .string()
        .max(40)
        .optional()
        .refine((v) => v === undefined || parseSince(v) !== undefined, 'must be a date like 2026-11-01 or an ISO time')
        .openapi({ example: '2026-11-01' }),
      principal: z.string().max(200).optional().openapi({ example: 'slack:T01ABC/U02DEF' }),
      outcome: z.enum(AUDIT_OUTCOMES).optional(),
      limit: z.coerce.number().int().min(1).max(MAX_AUDIT_LIMIT).default(DEFAULT_AUDIT_LIMIT),
    }),
  },
  responses: { 200: { description: 'Audit entries, newest first', content: { 'application/json': { schema: z.object({ entries: z.array(AuditEntry) }) } } }, ...errors(400, 401, 403) },
});

export const registerAuditRoutes: RegisterRoutes = (app, { services }) => {
  const { db } = services;
  app.openapi(secured({ db }, { kind: 'token', scope: 'admin' }, list), async (c) => {
    const { since, principal, outcome, limit } = c.req.valid('query');
    return c.json({ entries: await listAudit(db, { since: since === undefined ? undefined : parseSince(since), principal, outcome, limit }) }, 200);
  });
};
