import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { busyReply } from '../../chat/dispatch.ts';
import { ask, type AskOutcome } from '../../chat/plain/ask.ts';
import { usage } from '../../chat/parse.ts';
import { contextLine, tableAsCsv } from '../../chat/reply.ts';
import { consoleAsker } from '../../server/console-session.ts';
import { RETRY_AFTER_SECONDS } from '../../db/health.ts';
import { errorResponse } from '../../server/errors.ts';
import type { Services } from '../../services.ts';
import { secured } from '../access.ts';
import type { RegisterRoutes } from '../deps.ts';
import { ErrorSchema, errors, limitBody } from '../schemas.ts';

const CommandRequest = z
  .union([
    z.object({
      command: z
        .string()
        .min(1)
        .max(2000)
        .openapi({ example: '/forecast store 5 week 12', description: 'A command line, or a question in plain words ("how did store 5 do last week?"; docs/plain-questions.md).' }),
    }),
    z.object({ name: z.string().min(1).max(64), text: z.string().max(2000).optional(), options: z.record(z.string(), z.unknown()).optional() }),
  ])
  .openapi('CommandRequest');

const CommandAnswer = z
  .object({
    kind: z.enum(['ok', 'user-error', 'denied', 'limited', 'internal-error']),
    reply: z.any().openapi({ type: 'object', description: 'The Reply: title, summary, facts, chart, table, actions, visibility, context, data.' }),
    image: z.string().optional().openapi({ description: 'Path of the chart PNG, valid for a day.' }),
    csv: z.string().optional(),
    footer: z.string().optional(),
    readAs: z.string().optional().openapi({ description: 'The command line a plain question was read as (and ran).' }),
    readings: z.array(z.string()).optional().openapi({ description: 'When a question reads two ways: both command lines; nothing ran.' }),
    error: z.any().optional().openapi({ type: 'object', description: 'What was wrong, the usage and an example; or the reference of an internal error.' }),
  })
  .openapi('CommandAnswer');

const listCommands = createRoute({
  method: 'get',
  path: '/commands',
  tags: ['Console'],
  summary: 'Every command with its usage and examples',
  responses: {
    200: {
      description: 'The commands',
      content: { 'application/json': { schema: z.object({ commands: z.array(z.object({ name: z.string(), description: z.string(), usage: z.string(), examples: z.array(z.string()) })) }) } },
    },
  },
});

const runCommand = createRoute({
  method: 'post',
  path: '/commands',
  tags: ['Console'],
  summary: 'Run a command in the web console',
  description:
    'With an API token (scope query): runs as the token, within the grants of `token:<id>`. Otherwise as the web console: JSON only, refused when another site started the request (Origin, Sec-Fetch-Site), run as the signed-in console user with their grants; in restricted mode without a session, 401. In open mode without a session the console is anonymous, and commands that manage subscriptions are refused.',
  middleware: [limitBody(16 * 1024, 'Request body too large (16 KB max).')],
  request: { body: { required: true, content: { 'application/json': { schema: CommandRequest } } } },
  responses: {
    200: { description: 'The answer', content: { 'application/json': { schema: CommandAnswer } } },
    400: { description: 'A user error (what was wrong, the usage and an example) or an invalid body', content: { 'application/json': { schema: z.union([CommandAnswer, ErrorSchema]) } } },
    500: { description: 'An internal error, with a reference', content: { 'application/json': { schema: CommandAnswer } } },
    403: { description: 'Not allowed: the asker may not see that data, or another site started the request', content: { 'application/json': { schema: z.union([CommandAnswer, ErrorSchema]) } } },
    429: { description: 'More commands than the rate limit allows a minute (STORECAST_RATE_LIMIT); see Retry-After', content: { 'application/json': { schema: CommandAnswer } } },
    503: { description: 'Busy, or the database is unavailable (see Retry-After)', content: { 'application/json': { schema: z.union([CommandAnswer, ErrorSchema]) } } },
    ...errors(413, 415),
  },
});

export const registerCommandRoutes: RegisterRoutes = (app, deps) => {
  const { services } = deps;
  const access = { db: services.db, publicUrl: services.config.publicUrl, mode: services.config.access.mode };
  app.openapi(secured(access, { kind: 'public', why: 'the list of commands holds no data.' }, listCommands), (c) =>
    c.json({ commands: [...services.registry.values()].map((cmd) => ({ name: cmd.name, description: cmd.description, usage: usage(cmd), examples: [...cmd.examples] })) }, 200),
  );
  app.openapi(secured(access, { kind: 'console-or-token', scope: 'query' }, runCommand), async (c) => {
    const body = c.req.valid('json');
    if (services.busy('web')) {
      c.header('Retry-After', '60');
      return errorResponse(c, 503, busyReply().summary, { code: 'busy' });
    }
    const token = c.get('apiToken');
    const asker = token ? { platform: 'api' as const, roles: [], tokenId: token.id } : consoleAsker(c.get('consoleSession'));
    const outcome = 'command' in body ? await ask(services, body.command, asker) : await services.run(body, asker);
    return respondWithOutcome(c, outcome, services);
  }, (result, c) => {
    // A union's own message ("Invalid input") helps nobody: show the shape instead.
    if (!result.success) return errorResponse(c, 400, 'Send JSON like {"command": "/forecast store 5 week 12"}.', { code: 'invalid' });
  });
};

async function respondWithOutcome(c: Context, outcome: AskOutcome, services: Services) {
  const { reply } = outcome;
  const image = reply.chart ? `/api/v1/charts/${await services.charts.putSpec(reply.chart.spec)}.png` : undefined;
  const csv = reply.table ? tableAsCsv(reply.table) : undefined;
  const body = { kind: outcome.kind, reply, image, csv, footer: contextLine(reply), readAs: outcome.readAs, readings: outcome.readings, ...(outcome.kind === 'ok' ? {} : { error: outcome.error }) };
  if (outcome.kind === 'ok') return c.json(body, 200);
  if (outcome.kind === 'denied') return c.json(body, 403);
  if (outcome.kind === 'limited') {
    c.header('Retry-After', String(outcome.error.retryAfterSeconds));
    return c.json(body, 429);
  }
  if (outcome.kind === 'internal-error' && outcome.error.unavailable) {
    c.header('Retry-After', String(RETRY_AFTER_SECONDS));
    return c.json(body, 503);
  }
  return outcome.kind === 'user-error' ? c.json(body, 400) : c.json(body, 500);
}
