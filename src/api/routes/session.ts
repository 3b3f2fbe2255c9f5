import { createRoute, z } from '@hono/zod-openapi';
import { resolveAccess } from '../../access/access.ts';
import { describePrincipal } from '../../access/principal.ts';
import { consoleAsker } from '../../server/console-session.ts';
import { secured } from '../access.ts';
import type { RegisterRoutes } from '../deps.ts';
import { errors } from '../schemas.ts';

const SessionInfo = z
  .object({
    mode: z.enum(['open', 'restricted']).openapi({ description: 'open: the local demo, everyone sees everything; restricted: grants decide.' }),
    signedIn: z.boolean(),
    principal: z.string().nullable().openapi({ example: 'slack:T1/U1' }),
    who: z.string().openapi({ example: 'Slack user U1 (T1)' }),
    access: z.string().openapi({ example: 'viewer of Store 5', description: 'What the grants allow, as /access shows it.' }),
    stores: z.union([z.literal('all'), z.array(z.number().int())]).openapi({ description: 'The stores you may see: "all", or their numbers.' }),
    expiresAt: z.string().nullable().openapi({ description: 'When the console session ends (null without one).' }),
  })
  .openapi('SessionInfo');

const getSession = createRoute({
  method: 'get',
  path: '/session',
  tags: ['Console'],
  summary: 'Who the console is signed in as, and what they may see',
  responses: {
    200: { description: 'The signed-in user (or anonymous, in open mode)', content: { 'application/json': { schema: SessionInfo } } },
    ...errors(403),
  },
});

export const registerSessionRoutes: RegisterRoutes = (app, { services }) => {
  const { config, db } = services;
  const access = { db, publicUrl: config.publicUrl, mode: config.access.mode };
  app.openapi(secured(access, { kind: 'console' }, getSession), async (c) => {
    const session = c.get('consoleSession');
    const mine = await resolveAccess(db, config.access, consoleAsker(session));
    const stores = await mine.stores();
    return c.json(
      {
        mode: config.access.mode,
        signedIn: session !== undefined,
        principal: session?.principal ?? null,
        who: session ? describePrincipal(session.principal) : 'anyone who reaches this server (not signed in)',
        access: mine.describe(),
        stores: stores === 'all' ? ('all' as const) : [...stores].sort((a, b) => a - b),
        expiresAt: session?.expiresAt ?? null,
      },
      200,
    );
  });
};
