import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { requireScope, type AuthVariables } from '../auth/middleware.ts';
import { UserError } from '../chat/errors.ts';
import { ImportFileError } from '../data/import.ts';
import { createOutbound } from '../net/outbound.ts';
import type { Services } from '../services.ts';
import { resolveSecretKey } from './crypto.ts';
import { IngestError, ingestCsv, ingestJson } from './ingest.ts';
import { parseTime, parseWeekday } from './schedule.ts';
import { createSubscription, deleteSubscription, listSubscriptions, resolveSchedule } from './subscriptions.ts';
import { listDeliveries } from './deliveries.ts';
import type { AreaScope } from '../scope.ts';

export interface WebhookApiOptions {
  /** Largest accepted request body of POST /sales, bytes (default 10 MiB). */
  maxBodyBytes?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

const subscriptionBody = z
  .object({
    kind: z.literal('weekly-summary').default('weekly-summary'),
    store: z.number().int().min(1).max(9999).optional(),
    region: z.string().trim().min(1).max(100).optional(),
    chain: z.boolean().optional(),
    url: z.string().min(1).max(2048),
    format: z.enum(['slack', 'discord', 'json']).optional(),
    every: z.string().max(100).optional(),
    weekday: z.string().max(20).optional(),
    time: z.string().max(10).optional(),
    tz: z.string().max(64).optional(),
  })
  .strict()
  .refine((b) => [b.store !== undefined, b.region !== undefined, b.chain === true].filter(Boolean).length === 1, {
    message: 'give exactly one of store, region or chain: true',
  });

type Env = { Variables: AuthVariables };

function problem(c: Context, status: 400 | 404 | 413 | 415 | 422, error: string, message: string, extra: Record<string, unknown> = {}) {
  return c.json({ error, message, ...extra }, status);
}

/**
 * The HTTP API of webhooks and ingest, mounted at /api/v1:
 *   POST   /sales               ingest (scope ingest)        JSON rows or CSV; returns the import report
 *   POST   /subscriptions       create (scope admin)         returns the subscription (+ signingSecret once)
 *   GET    /subscriptions       list (scope query)
 *   DELETE /subscriptions/:id   delete (scope admin)
 *   GET    /deliveries          delivery log (scope admin)
 */
export function webhookApiRoutes(services: Pick<Services, 'config' | 'db' | 'logger'> & Partial<Pick<Services, 'outbound'>>, options: WebhookApiOptions = {}): Hono {
  const { db, logger } = services;
  const outbound = services.outbound ?? createOutbound({ allow: services.config.outboundAllow });
  const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const key = resolveSecretKey(services.config, logger);
  const app = new Hono<Env>();

  app.onError((err, c) => {
    if (err instanceof UserError) return problem(c, 400, err.details.code?.toLowerCase() ?? 'bad_request', err.message);
    const ref = Math.random().toString(16).slice(2, 10);
    logger.error({ err, ref, path: c.req.path }, 'webhook API error');
    return c.json({ error: 'internal', message: `Something went wrong (ref ${ref}).` }, 500);
  });

  app.post(
    '/sales',
    requireScope(db, 'ingest'),
    bodyLimit({
      maxSize: maxBytes,
      onError: (c) =>
        problem(c, 413, 'payload_too_large', `The body is larger than ${maxBytes} bytes. Split the upload into several requests (rows are idempotent), or use \`storecast import\` for whole files.`, {
          maxBytes,
        }),
    }),
    async (c) => {
      const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      const token = c.get('apiToken');
      const source = `api:${token.id}`;
      try {
        if (type === 'application/json' || type.endsWith('+json')) {
          let body: unknown;
          try {
            body = await c.req.json();
          } catch {
            return problem(c, 400, 'bad_json', 'The body is not valid JSON.');
          }
          return c.json(await ingestJson(db, body, source));
        }
        if (type === 'text/csv' || type === 'application/csv' || type === 'text/plain') {
          return c.json(await ingestCsv(db, await c.req.text(), source));
        }
        return problem(c, 415, 'unsupported_media_type', 'Send Content-Type: application/json (rows) or text/csv (a file with a header row).');
      } catch (err) {
        if (err instanceof IngestError) return problem(c, err.status, 'bad_request', err.message);
        if (err instanceof ImportFileError) return problem(c, 400, 'bad_csv', err.message.replace(/^[^:]*: /, ''));
        throw err;
      }
    },
  );

  app.post(
    '/subscriptions',
    requireScope(db, 'admin'),
    bodyLimit({ maxSize: 64 * 1024, onError: (c) => problem(c, 413, 'payload_too_large', 'A subscription is a small JSON object (at most 64 KiB).') }),
    async (c) => {
      let json: unknown;
      try {
        json = await c.req.json();
      } catch {
        return problem(c, 400, 'bad_json', 'The body is not valid JSON.');
      }
      const parsed = subscriptionBody.safeParse(json);
      if (!parsed.success) {
        // zod messages never include input values, so the URL cannot leak through them.
        return problem(c, 400, 'invalid', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
      }
      const b = parsed.data;
      const weekday = b.weekday !== undefined ? parseWeekday(b.weekday) : undefined;
      if (b.weekday !== undefined && weekday === undefined) return problem(c, 400, 'invalid', `weekday: "${b.weekday}" is not a weekday.`);
      const time = b.time !== undefined ? parseTime(b.time) : undefined;
      if (b.time !== undefined && time === undefined) return problem(c, 400, 'invalid', `time: "${b.time}" is not a time like 08:00.`);
      const schedule = resolveSchedule({ every: b.every, weekday, time, tz: b.tz });
      const scope: AreaScope = b.store !== undefined ? { kind: 'store', store: b.store } : b.region !== undefined ? { kind: 'region', region: b.region } : { kind: 'chain' };
      const input = { scope, target: { kind: 'url', url: b.url, format: b.format } as const, schedule, createdBy: `api:${c.get('apiToken').id}` };
      const created = await createSubscription(db, key, input, outbound);
      logger.info({ subscription: created.subscription.id, target: created.subscription.target }, 'subscription created');
      return c.json({ ...created.subscription, ...(created.signingSecret ? { signingSecret: created.signingSecret } : {}) }, 201);
    },
  );

  app.get('/subscriptions', requireScope(db, 'query'), async (c) => c.json({ subscriptions: await listSubscriptions(db) }));

  app.delete('/subscriptions/:id', requireScope(db, 'admin'), async (c) => {
    const ok = await deleteSubscription(db, c.req.param('id'));
    return ok ? c.body(null, 204) : problem(c, 404, 'not_found', `No subscription ${c.req.param('id')}.`);
  });

  app.get('/deliveries', requireScope(db, 'admin'), async (c) => {
    const status = c.req.query('status');
    const limit = Math.min(500, Math.max(1, Number(c.req.query('limit') ?? 100) || 100));
    return c.json({ deliveries: await listDeliveries(db, { status, limit }) });
  });

  // The token variable is internal; callers mount a plain Hono app.
  return app as unknown as Hono;
}
