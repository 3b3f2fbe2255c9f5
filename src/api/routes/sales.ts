import { createRoute, z } from '@hono/zod-openapi';
import { ImportFileError, publicReport, type ImportReport as Report } from '../../data/import.ts';
import { changeOfReports, dataChanged } from '../../data/changed.ts';
import { errorResponse } from '../../server/errors.ts';
import { IngestError, SALES_FORMATS, ingestCsv, ingestJson } from '../../data/ingest.ts';
import { secured } from '../access.ts';
import type { RegisterRoutes } from '../deps.ts';
import { errors, holidayField, limitBody, numberField, wholeField } from '../schemas.ts';

const SalesRow = z
  .object({
    store: wholeField('store', 'A store imported before (stores.csv)').openapi({ example: 1 }),
    dept: wholeField('dept').openapi({ example: 1 }),
    week: z.string().openapi({ example: '2012-02-10', description: 'The Friday ending the week (or `date`)' }),
    sales: numberField('deptSales', 'Weekly sales, dollars (or `weekly_sales`)').openapi({ example: 24924.5 }),
    isHoliday: holidayField(),
  })
  .openapi('SalesRow');

const ImportReport = z
  .object({
    source: z.string(),
    format: z.string(),
    rowsRead: z.number(),
    accepted: z.number(),
    inserted: z.number(),
    updated: z.number(),
    unchanged: z.number(),
    rejectedCount: z.number(),
    rejected: z.array(z.object({ line: z.number(), reason: z.string() })).openapi({ description: 'The first 100 rejected rows; rejectedCount has them all.' }),
  })
  .passthrough()
  .openapi('ImportReport');

const ingest = createRoute({
  method: 'post',
  path: '/sales',
  tags: ['Ingest'],
  summary: 'Push weekly sales rows (JSON) or a CSV file',
  description:
    'The same validation and idempotency as `storecast import`: each bad row is reported with its line and reason, good rows are kept, re-sending is harmless. ' +
    'JSON: an array of rows or `{"rows": [...]}`. CSV (`text/csv`): any format `storecast import` recognises by its header.',
  request: {
    body: {
      required: true,
      content: {
        // Not validated here: a bad row is rejected on its own, the good ones are kept.
        'application/json': { schema: z.unknown().openapi({ type: 'object', properties: { rows: { type: 'array', items: { $ref: '#/components/schemas/SalesRow' } } } }) },
        'text/csv': { schema: z.string().openapi({ example: 'Store,Dept,Date,Weekly_Sales,IsHoliday\n1,1,2012-02-10,24924.5,FALSE' }) },
        'application/csv': { schema: z.string() },
        'text/plain': { schema: z.string().openapi({ description: 'CSV text' }) },
      },
    },
  },
  responses: {
    200: { description: 'The import report', content: { 'application/json': { schema: ImportReport } } },
    ...errors(400, 401, 403, 413, 415),
  },
});

export const registerSalesRoutes: RegisterRoutes = (app, deps) => {
  const { services, maxIngestBytes } = deps;
  const { db } = services;
  app.openAPIRegistry.register('SalesRow', SalesRow);
  const tooLarge = `The body is larger than ${maxIngestBytes} bytes. Split the upload into several requests (rows are idempotent), or use \`storecast import\` for whole files.`;
  const route = { ...ingest, middleware: [limitBody(maxIngestBytes, tooLarge)] };
  app.openapi(secured({ db }, { kind: 'token', scope: 'ingest' }, route), async (c) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const source = `api:${c.get('apiToken')!.id}`;
    try {
      // What follows new data (src/data/changed.ts: forecast scoring, demand, alert rules on the
      // stores touched) runs after the answer: recomputing a whole chain's demand takes seconds
      // that the integration should not wait for.
      const withAlerts = async (report: Report) => {
        void services.track(dataChanged(services, changeOfReports('ingest', source, [report]))).catch((err: unknown) => services.logger.error({ err }, 'the steps after a sales ingest failed'));
        return { ...publicReport(report), alerts: 'evaluating' };
      };
      if (type === 'application/json' || type.endsWith('+json')) {
        return c.json(await withAlerts(await ingestJson(db, c.req.valid('json'), source)), 200);
      }
      if (type === 'text/csv' || type === 'application/csv' || type === 'text/plain') return c.json(await withAlerts(await ingestCsv(db, await c.req.text(), source, SALES_FORMATS)), 200);
      return errorResponse(c, 415, 'Send Content-Type: application/json (rows) or text/csv (a file with a header row).');
    } catch (err) {
      if (err instanceof IngestError) return errorResponse(c, err.status, err.message);
      if (err instanceof ImportFileError) return errorResponse(c, 400, err.message.replace(/^[^:]*: /, ''), { code: 'bad_csv' });
      throw err;
    }
  });
};
