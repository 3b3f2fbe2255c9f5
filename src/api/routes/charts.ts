import { createRoute, z } from '@hono/zod-openapi';
import { errorResponse } from '../../server/errors.ts';
import { secured } from '../access.ts';
import type { RegisterRoutes } from '../deps.ts';
import { errors } from '../schemas.ts';

const getChart = createRoute({
  method: 'get',
  path: '/charts/{file}',
  tags: ['Charts'],
  summary: 'A chart image behind a link',
  description: 'Console replies (a day) and weekly summaries posted by link (30 days). Served by any replica.',
  request: { params: z.object({ file: z.string().max(100).openapi({ example: 'kq3V0s9m2YtqXxjK1c7pQw2z.png' }) }) },
  responses: {
    200: { description: 'The PNG', content: { 'image/png': { schema: z.string().openapi({ format: 'binary' }) } } },
    ...errors(400, 404),
  },
});

export const registerChartRoutes: RegisterRoutes = (app, { services }) => {
  const why = 'the link is random and unguessable: it is the credential an image fetcher (Slack) has.';
  app.openapi(secured({ db: services.db }, { kind: 'public', why }, getChart), async (c) => {
    const m = /^([A-Za-z0-9_-]+)\.png$/.exec(c.req.valid('param').file);
    const png = m ? await services.charts.png(m[1]!) : undefined;
    if (!png) return errorResponse(c, 404, 'This chart has expired; run the command again.');
    return c.body(new Uint8Array(png), 200, { 'Content-Type': 'image/png', 'Cache-Control': 'private, max-age=86400, immutable' });
  });
};
