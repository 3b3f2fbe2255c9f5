import { createRoute, z } from '@hono/zod-openapi';
import { addGrant, listGrants, removeGrant } from '../../access/grants.ts';
import { consoleEntitled } from '../../access/access.ts';
import { describePrincipal, parsePrincipal, ROLES } from '../../access/principal.ts';
import { endSessionsOf, endUnentitledSessions } from '../../auth/console-sessions.ts';
import type { AreaScope } from '../../scope.ts';
import { errorResponse } from '../../server/errors.ts';
import { secured } from '../access.ts';
import type { RegisterRoutes } from '../deps.ts';
import { errors, limitBody, wholeField } from '../schemas.ts';

const principal = z
  .string()
  .trim()
  .max(200)
  .refine(
    (key) => {
      try {
        parsePrincipal(key);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'write slack:TEAM/USER, discord:GUILD/USER, discord-role:GUILD/ROLE or token:ID' },
  )
  .openapi({ example: 'slack:T1/U2' });

const GrantRequest = z
  .object({
    principal,
    role: z.enum(ROLES).default('viewer'),
    store: wholeField('store').optional().openapi({ example: 5 }),
    region: z.string().trim().min(1).max(100).optional(),
    chain: z.boolean().optional(),
  })
  .strict()
  .refine((b) => [b.store !== undefined, b.region !== undefined, b.chain === true].filter(Boolean).length === 1, {
    message: 'give exactly one of store, region or chain: true',
  })
  .openapi('GrantRequest');

const Grant = z
  .object({
    id: z.string().openapi({ example: 'grant_1a2b3c4d5e6f' }),
    principal: z.string(),
    who: z.string().openapi({ example: 'Slack user U2 (T1)' }),
    role: z.enum(ROLES),
    scope: z.record(z.string(), z.unknown()).openapi({ example: { kind: 'store', store: 5 } }),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Grant');

const list = createRoute({
  method: 'get',
  path: '/access/grants',
  tags: ['Access'],
  summary: 'Every grant (principal x role x store, region or chain), or one principal’s',
  request: { query: z.object({ principal: principal.optional() }) },
  responses: { 200: { description: 'The grants', content: { 'application/json': { schema: z.object({ grants: z.array(Grant) }) } } }, ...errors(400, 401, 403) },
});

const create = createRoute({
  method: 'post',
  path: '/access/grants',
  tags: ['Access'],
  summary: 'Grant a principal a role on a store, a region or the chain (granting an existing grant returns it)',
  middleware: [limitBody(16 * 1024, 'A grant is a small JSON object (at most 16 KiB).')],
  request: { body: { required: true, content: { 'application/json': { schema: GrantRequest } } } },
  responses: { 201: { description: 'The grant', content: { 'application/json': { schema: Grant } } }, ...errors(400, 401, 403, 413, 415) },
});

const remove = createRoute({
  method: 'delete',
  path: '/access/grants/{id}',
  tags: ['Access'],
  summary: 'Revoke one grant',
  request: { params: z.object({ id: z.string().max(64).openapi({ example: 'grant_1a2b3c4d5e6f' }) }) },
  responses: { 204: { description: 'Revoked' }, ...errors(401, 403, 404) },
});

const signout = createRoute({
  method: 'post',
  path: '/access/signout',
  tags: ['Access'],
  summary: "End every web console session of a principal (`storecast access signout`, /access signout)",
  middleware: [limitBody(16 * 1024, 'A sign-out is a small JSON object (at most 16 KiB).')],
  request: { body: { required: true, content: { 'application/json': { schema: z.object({ principal }).strict().openapi('SignoutRequest') } } } },
  responses: { 200: { description: 'How many sessions ended', content: { 'application/json': { schema: z.object({ principal: z.string(), ended: z.number().int() }) } } }, ...errors(400, 401, 403, 413, 415) },
});

const withWho = <G extends { principal: string }>(g: G) => ({ ...g, who: describePrincipal(g.principal) });

/** Managing who may see what is an admin's job: every route needs an admin token. */
export const registerAccessRoutes: RegisterRoutes = (app, deps) => {
  const { db, logger } = deps.services;
  app.openapi(secured({ db }, { kind: 'token', scope: 'admin' }, list), async (c) => {
    const { principal: key } = c.req.valid('query');
    return c.json({ grants: (await listGrants(db, key ? [key] : undefined)).map(withWho) }, 200);
  });
  app.openapi(secured({ db }, { kind: 'token', scope: 'admin' }, create), async (c) => {
    const b = c.req.valid('json');
    const scope: AreaScope = b.store !== undefined ? { kind: 'store', store: b.store } : b.region !== undefined ? { kind: 'region', region: b.region } : { kind: 'chain' };
    const grant = await addGrant(db, { principal: b.principal, role: b.role, scope, createdBy: `token:${c.get('apiToken')!.id}` });
    logger.info({ grant: grant.id, principal: grant.principal, role: grant.role, scope: grant.scope }, 'access granted');
    return c.json(withWho(grant), 201);
  });
  app.openapi(secured({ db }, { kind: 'token', scope: 'admin' }, remove), async (c) => {
    const { id } = c.req.valid('param');
    const removed = await removeGrant(db, id);
    if (!removed) return errorResponse(c, 404, `No grant ${id.slice(0, 64)}.`);
    // Console sessions of someone left with no access end now, not at their next re-check.
    const ended = await endUnentitledSessions(db, removed.principal, consoleEntitled(db, deps.services.config.access));
    logger.info({ grant: removed.id, principal: removed.principal, sessionsEnded: ended }, 'access revoked');
    return c.body(null, 204);
  });
  app.openapi(secured({ db }, { kind: 'token', scope: 'admin' }, signout), async (c) => {
    const { principal: key } = c.req.valid('json');
    const ended = await endSessionsOf(db, key);
    logger.info({ principal: key, ended, by: `token:${c.get('apiToken')!.id}` }, 'console sessions ended by an admin');
    return c.json({ principal: key, ended }, 200);
  });
};
