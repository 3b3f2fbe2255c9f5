import { createRoute, z } from '@hono/zod-openapi';
import { SCOPES, createToken, listTokens, revokeToken } from '../../auth/tokens.ts';
import { errorResponse } from '../../server/errors.ts';
import { secured } from '../access.ts';
import type { RegisterRoutes } from '../deps.ts';
import { errors, limitBody } from '../schemas.ts';

const Token = z
  .object({
    id: z.string().openapi({ example: '0a1b2c3d' }),
    name: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .openapi('Token');

const list = createRoute({
  method: 'get',
  path: '/tokens',
  tags: ['Tokens'],
  summary: 'Every API token (never the tokens themselves: only their hashes are stored)',
  responses: { 200: { description: 'The tokens', content: { 'application/json': { schema: z.object({ tokens: z.array(Token) }) } } }, ...errors(401, 403) },
});

const create = createRoute({
  method: 'post',
  path: '/tokens',
  tags: ['Tokens'],
  summary: 'Create a token; the token is in this answer once and never again',
  description: 'What its holder may see is its grants, under the principal `token:<id>` (POST /access/grants).',
  middleware: [limitBody(4 * 1024, 'A token request is a small JSON object (at most 4 KiB).')],
  request: { body: { required: true, content: { 'application/json': { schema: z.object({ name: z.string().trim().min(1).max(100), scopes: z.array(z.enum(SCOPES)).min(1) }).strict() } } } },
  responses: { 201: { description: 'Created', content: { 'application/json': { schema: Token.extend({ token: z.string().openapi({ example: 'sc_0a1b2c3d_…' }) }) } } }, ...errors(400, 401, 403, 413, 415) },
});

const revoke = createRoute({
  method: 'delete',
  path: '/tokens/{id}',
  tags: ['Tokens'],
  summary: 'Revoke a token: the next request with it answers 401',
  request: { params: z.object({ id: z.string().max(16) }) },
  responses: { 204: { description: 'Revoked' }, ...errors(401, 403, 404) },
});

/** API tokens, for admins (the role that manages grants and tokens); the CLI's `storecast tokens` too. */
export const registerTokenRoutes: RegisterRoutes = (app, { services }) => {
  const admin = <R extends Parameters<typeof secured>[2]>(route: R) => secured({ db: services.db }, { kind: 'token', scope: 'admin' }, route);
  app.openapi(admin(list), async (c) => c.json({ tokens: await listTokens(services.db) }, 200));
  app.openapi(admin(create), async (c) => {
    const { name, scopes } = c.req.valid('json');
    const { token, info } = await createToken(services.db, { name, scopes });
    return c.json({ ...info, token }, 201);
  });
  app.openapi(admin(revoke), async (c) => {
    const id = c.req.valid('param').id.replace(/^sc_/, '').slice(0, 8);
    return (await revokeToken(services.db, id)) ? c.body(null, 204) : errorResponse(c, 404, `No active token ${id}.`);
  });
};
