import { createRoute, z } from '@hono/zod-openapi';
import { ImportFileError, publicReport } from '../../data/import.ts';
import { changeOfReports, dataChanged } from '../../data/changed.ts';
import { errorResponse } from '../../server/errors.ts';
import { IngestError, ingestCsv, ingestJson } from '../../data/ingest.ts';
import { secured } from '../access.ts';
import type { RegisterRoutes } from '../deps.ts';
import { errors, limitBody, numberField, wholeField } from '../schemas.ts';

const StockRow = z
  .object({
    store: wholeField('store').openapi({ example: 5 }),
    dept: wholeField('dept').openapi({ example: 7 }),
    date: z.string().openapi({ example: '2012-10-26', description: 'The day of the count (or `asOf`)' }),
    onHand: z.number().openapi({ example: 52000, description: 'Stock on hand, dollars at retail' }),
    onOrder: z.number().optional().openapi({ description: 'An order on its way, dollars at retail' }),
    onOrderDate: z.string().optional().openapi({ description: 'When the order is expected (needed with onOrder)' }),
    leadTimeWeeks: numberField('leadTimeWeeks', 'Weeks from ordering to the shelf (default 2)').optional(),
  })
  .openapi('StockRow');

const ingest = createRoute({
  method: 'post',
  path: '/stock',
  tags: ['Ingest'],
  summary: 'Push stock snapshots (JSON rows or a stock CSV); stock alerts on the stores touched are evaluated',
  description:
    'The same validation and idempotency as `storecast import stock.csv`: each bad row is reported with its line and reason, good rows are kept, re-sending is harmless. ' +
    'The answer is the import report plus `alerts`: how many rules were evaluated, started or stopped firing, or could not be evaluated (`failed`, left as they were). Counts only: an ingest token learns no rule ids (rules may cover stores or the chain its holder may not see).',
  request: {
    body: {
      required: true,
      content: {
        'application/json': { schema: z.unknown().openapi({ type: 'object', properties: { rows: { type: 'array', items: { $ref: '#/components/schemas/StockRow' } } } }) },
        'text/csv': { schema: z.string().openapi({ example: 'Store,Dept,Date,On_Hand,On_Order,On_Order_Date,Lead_Time_Weeks\n5,7,2012-10-26,52000,20000,2012-11-09,2' }) },
      },
    },
  },
  responses: {
    200: { description: 'The import report and the alert evaluation', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } },
    ...errors(400, 401, 403, 413, 415),
  },
});

export const registerStockRoutes: RegisterRoutes = (app, deps) => {
  const { services, maxIngestBytes } = deps;
  const { db } = services;
  app.openAPIRegistry.register('StockRow', StockRow);
  const tooLarge = `The body is larger than ${maxIngestBytes} bytes. Split the upload into several requests (rows are idempotent).`;
  app.openapi(secured({ db }, { kind: 'token', scope: 'ingest' }, { ...ingest, middleware: [limitBody(maxIngestBytes, tooLarge)] }), async (c) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const source = `api:${c.get('apiToken')!.id}`;
    try {
      let report;
      if (type === 'application/json' || type.endsWith('+json')) report = await ingestJson(db, c.req.valid('json'), source, 'stock');
      else if (type === 'text/csv' || type === 'application/csv' || type === 'text/plain') report = await ingestCsv(db, await c.req.text(), source, ['stock']);
      else return errorResponse(c, 415, 'Send Content-Type: application/json (rows) or text/csv (a stock file with a header row).');
      // The rows are committed whatever happens next: a failing step is logged, not a 500.
      const after = await dataChanged(services, changeOfReports('ingest', source, [report]));
      const alerts = after.failed.includes('alerts') ? 'failed' : after.alerts;
      return c.json({ ...publicReport(report), alerts: alerts && alerts !== 'failed' ? { evaluated: alerts.evaluated, fired: alerts.fired.length, resolved: alerts.resolved.length, failed: alerts.failed.length, ms: alerts.ms } : (alerts ?? null) }, 200);
    } catch (err) {
      if (err instanceof IngestError) return errorResponse(c, err.status, err.message);
      if (err instanceof ImportFileError) return errorResponse(c, 400, err.message.replace(/^[^:]*: /, ''), { code: 'bad_csv' });
      throw err;
    }
  });
};
