import { readFileSync } from 'node:fs';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { splitCommandLine, newReference } from '../chat/dispatch.ts';
import { usage } from '../chat/parse.ts';
import { tableAsCsv } from '../chat/reply.ts';
import { dataStats } from '../data/stats.ts';
import type { Services } from '../services.ts';
import { ChartStore } from './chart-store.ts';

export interface AppState {
  /** Set once demo data (if any) is loaded and the server can answer from data. */
  phase: 'starting' | 'loading-data' | 'ready';
}

export interface AppExtensions {
  /** Adapter and integration routes mounted by the composition root. */
  mount?: (app: Hono) => void;
}

const consoleHtml = readFileSync(new URL('./console.html', import.meta.url), 'utf8');

const commandBody = z.union([
  z.object({ command: z.string().min(1).max(2000) }),
  z.object({ name: z.string().min(1).max(64), text: z.string().max(2000).optional(), options: z.record(z.string(), z.unknown()).optional() }),
]);

/** The Hono app: health, metrics, the local console and its API, plus mounted adapters. */
export function createApp(services: Services, state: AppState = { phase: 'ready' }, ext: AppExtensions = {}): { app: Hono; charts: ChartStore } {
  const app = new Hono();
  const charts = new ChartStore((spec) => services.renderChart(spec));
  const { metrics, logger } = services;

  app.use('*', async (c, next) => {
    await next();
    metrics.httpRequests.inc({ route: c.req.routePath, method: c.req.method, status: String(c.res.status) });
  });

  app.onError((err, c) => {
    const ref = newReference();
    logger.error({ err, ref, path: c.req.path }, 'request failed');
    metrics.errors.inc({ kind: 'internal' });
    return c.json({ error: { message: `Something went wrong (ref ${ref}).`, ref } }, 500);
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    if (state.phase !== 'ready') return c.json({ status: state.phase }, 503);
    const stats = await dataStats(services.db);
    if (stats.storeWeekRows === 0) return c.json({ status: 'no-data', hint: 'import data with `storecast import FILE...`' }, 503);
    return c.json({ status: 'ready', data: { stores: stats.stores, salesRows: stats.salesRows, lastWeek: stats.lastWeek } });
  });

  app.get('/metrics', async (c) => {
    c.header('Content-Type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });

  app.get('/', (c) => c.html(consoleHtml));

  const api = new Hono();
  api.get('/commands', (c) =>
    c.json({
      commands: [...services.registry.values()].map((cmd) => ({ name: cmd.name, description: cmd.description, usage: usage(cmd), examples: cmd.examples })),
    }),
  );

  api.post('/commands', bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.json({ error: { message: 'Request body too large (16 KB max).' } }, 413) }), async (c) => {
    const parsed = commandBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      return c.json({ error: { message: 'Send JSON like {"command": "/forecast store 5 week 12"}.', usage: '{"command": "/help"}' } }, 400);
    }
    const input = 'command' in parsed.data ? splitCommandLine(parsed.data.command) : parsed.data;
    const outcome = await services.run(input, { platform: 'web', roles: [] });
    return respondWithOutcome(c, outcome, charts);
  });

  api.get('/charts/:file{[A-Za-z0-9_-]+\\.png}', async (c) => {
    const id = c.req.param('file').replace(/\.png$/, '');
    const png = await charts.png(id);
    if (!png) return c.json({ error: { message: 'This chart has expired; run the command again.' } }, 404);
    return c.body(new Uint8Array(png), 200, { 'Content-Type': 'image/png', 'Cache-Control': 'private, max-age=1800' });
  });

  app.route('/api/v1', api);
  ext.mount?.(app);
  return { app, charts };
}

function respondWithOutcome(c: Context, outcome: Awaited<ReturnType<Services['run']>>, charts: ChartStore) {
  const { reply } = outcome;
  const image = reply.chart ? `/api/v1/charts/${charts.put(reply.chart.spec)}.png` : undefined;
  const csv = reply.table ? tableAsCsv(reply.table) : undefined;
  const body = { kind: outcome.kind, reply, image, csv, ...(outcome.kind === 'ok' ? {} : { error: outcome.error }) };
  const status = outcome.kind === 'ok' ? 200 : outcome.kind === 'user-error' ? 400 : 500;
  return c.json(body, status);
}
