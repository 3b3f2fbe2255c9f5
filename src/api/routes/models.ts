import { createRoute, z } from '@hono/zod-openapi';
import { UserError } from '../../chat/errors.ts';
import { addWeeks } from '../../data/weeks.ts';
import { liveAccuracy } from '../../forecast/forecast-log.ts';
import { activateModel, listModels, ModelNotFoundError } from '../../forecast/registry.ts';
import { describeScope, type Scope } from '../../scope.ts';
import { errorResponse } from '../../server/errors.ts';
import { secured, tokenAccess } from '../access.ts';
import type { RegisterRoutes } from '../deps.ts';
import { errors, limitBody, wholeField } from '../schemas.ts';

const ForecastRequest = z
  .object({
    store: wholeField('store').openapi({ example: 5 }),
    dept: wholeField('dept', 'Omit for the store total').optional().openapi({ example: 7 }),
    horizon: wholeField('horizon', 'Weeks ahead (default 8)').default(8).openapi({ example: 12 }),
  })
  .strict()
  .openapi('ForecastRequest');

const ForecastAnswer = z
  .object({
    store: z.number(),
    dept: z.number().nullable(),
    model: z.string().openapi({ example: 'global-mlp v3', description: 'What answered: a registry model, or seasonal-naive (see note)' }),
    modelVersion: z.number().nullable(),
    dataThrough: z.string().openapi({ example: '2012-10-26', description: 'The last week with data the forecast starts after' }),
    note: z.string().optional(),
    points: z.array(z.object({ week: z.string(), value: z.number(), lower: z.number().openapi({ description: 'p10' }), upper: z.number().openapi({ description: 'p90' }) })),
  })
  .openapi('ForecastAnswer');

const Model = z
  .object({
    version: z.number(),
    name: z.string(),
    status: z.enum(['training', 'ready', 'failed']),
    active: z.boolean(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    trainFrom: z.string().nullable(),
    trainUntil: z.string().nullable(),
    dataFingerprint: z.string().nullable(),
    backend: z.string().nullable(),
    metrics: z.record(z.string(), z.unknown()).nullable(),
    error: z.string().nullable(),
    live: z
      .object({ rows: z.number(), weeks: z.number(), wmae: z.number(), mae: z.number(), bias: z.number(), coverage: z.number(), naive: z.object({ wmae: z.number(), mae: z.number(), bias: z.number(), coverage: z.number() }).nullable() })
      .nullable()
      .openapi({ description: 'Live accuracy of its logged forecasts of every series, scored as actuals arrived (null: none scored yet)' }),
  })
  .openapi('Model');

const forecast = createRoute({
  method: 'post',
  path: '/forecasts',
  tags: ['Models'],
  summary: 'Forecast a store (or one department): weekly points with 80% intervals',
  description: "Answered by the active model (seasonal naive, with a note, while none is). Within the token's grants (`token:<id>` viewer of the store, its region or the chain), else 403. Served forecasts are logged and scored as actuals arrive (GET /models, /model).",
  middleware: [limitBody(4 * 1024, 'A forecast request is a small JSON object (at most 4 KiB).')],
  request: { body: { required: true, content: { 'application/json': { schema: ForecastRequest } } } },
  responses: { 200: { description: 'The forecast', content: { 'application/json': { schema: ForecastAnswer } } }, ...errors(400, 401, 403, 404, 413, 415) },
});

const list = createRoute({
  method: 'get',
  path: '/models',
  tags: ['Models'],
  summary: 'Every registered model (no weights): status, training window, backtest and held-out metrics, live accuracy, which is active',
  responses: { 200: { description: 'The models', content: { 'application/json': { schema: z.object({ models: z.array(Model) }) } } }, ...errors(401, 403) },
});

const activate = createRoute({
  method: 'post',
  path: '/models/{version}/activate',
  tags: ['Models'],
  summary: 'Make a ready model the active one (rollback or roll forward); every replica follows within seconds',
  request: { params: z.object({ version: z.coerce.number().int().min(1).max(2 ** 31 - 1).openapi({ example: 3 }) }) },
  responses: { 200: { description: 'Activated', content: { 'application/json': { schema: z.object({ version: z.number(), active: z.literal(true) }) } } }, ...errors(400, 401, 403, 404) },
});

/** The prediction API: query tokens forecast within their grants; admin tokens switch models. */
export const registerModelRoutes: RegisterRoutes = (app, { services }) => {
  const { db, config, forecaster } = services;
  app.openapi(secured({ db }, { kind: 'token', scope: 'query' }, forecast), async (c) => {
    const { store, dept, horizon } = c.req.valid('json');
    const scope: Scope = dept === undefined ? { kind: 'store', store } : { kind: 'store-dept', store, dept };
    const access = await tokenAccess(db, config.access, c.get('apiToken')!.id);
    if (!(await access.covers('viewer', scope))) {
      return errorResponse(c, 403, `This token cannot see ${describeScope(scope)}: it is ${access.describe()}. An admin grants more with POST /api/v1/access/grants (principal token:<id>).`, { code: 'denied' });
    }
    try {
      const r = await forecaster.forecast(db, { store, dept }, horizon);
      const first = r.points[0]!;
      return c.json({ store, dept: dept ?? null, model: r.model, modelVersion: r.version ?? null, dataThrough: addWeeks(first.week, -1), ...(r.note ? { note: r.note } : {}), points: r.points }, 200);
    } catch (err) {
      if (err instanceof UserError) return errorResponse(c, 404, err.message, { code: 'no_data' });
      throw err;
    }
  });
  app.openapi(secured({ db }, { kind: 'token', scope: 'query' }, list), async (c) => {
    // As /model: live accuracy over the stores this token may see, not the chain's.
    const access = await tokenAccess(db, config.access, c.get('apiToken')!.id);
    const visible = await access.stores('viewer');
    const stores = visible === 'all' ? undefined : [...visible];
    const models = await Promise.all(
      (await listModels(db)).map(async ({ hyperparameters: h, ...m }) => ({
        ...m,
        live: m.status === 'ready' ? (await liveAccuracy(db, m.version, { holidayWeight: Number(h?.holidayWeight ?? 5), stores })).overall : null,
      })),
    );
    return c.json({ models }, 200);
  });
  app.openapi(secured({ db }, { kind: 'token', scope: 'admin' }, activate), async (c) => {
    const { version } = c.req.valid('param');
    try {
      await activateModel(db, version);
    } catch (err) {
      if (err instanceof ModelNotFoundError) return errorResponse(c, 404, err.message);
      throw err;
    }
    if ('invalidate' in forecaster) (forecaster as { invalidate(): void }).invalidate();
    services.logger.info({ version, token: c.get('apiToken')?.id }, `model v${version} activated through the API`);
    return c.json({ version, active: true as const }, 200);
  });
};
