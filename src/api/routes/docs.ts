import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createRoute, z, type RouteConfig } from '@hono/zod-openapi';
import { errorResponse } from '../../server/errors.ts';
import { secured } from '../access.ts';
import type { ApiApp, RegisterRoutes } from '../deps.ts';
import { errors } from '../schemas.ts';

/** The document's header; every operation comes from the routes themselves. */
export const API_INFO: Parameters<ApiApp['getOpenAPI31Document']>[0] = {
  openapi: '3.1.0',
  info: {
    title: 'storecast API',
    version: '1',
    description:
      'Weekly sales in, weekly summaries out, and the console. Tokens: `storecast tokens create --name NAME --scope ingest|query|metrics|admin`, sent as `Authorization: Bearer <token>`; admin passes every scope. ' +
      'Every error has the shape `{ "error": { "code", "message", "ref"? } }`. Webhook signatures, scheduling and retries: docs/webhooks.md.',
  },
  servers: [{ url: '/api/v1' }],
};

// The reference page is Swagger UI from the swagger-ui-dist package, served from here: it works
// offline and loads nothing from a CDN.
const SWAGGER_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const REFERENCE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>storecast API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="docs/swagger-ui.css"><link rel="icon" href="docs/favicon-32x32.png">
<style>body{margin:0} .topbar{display:none}</style></head>
<body><div id="reference"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body></html>`;

// A separate file, not an inline script, so the page works under a strict Content-Security-Policy.
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#reference', deepLinking: true, defaultModelsExpandDepth: 0, tryItOutEnabled: false });`;

const openapiJson = createRoute({
  method: 'get',
  path: '/openapi.json',
  tags: ['Reference'],
  summary: 'This document',
  responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
});

const referencePage = createRoute({
  method: 'get',
  path: '/docs',
  tags: ['Reference'],
  summary: 'A readable reference of this API',
  responses: { 200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } } },
});

const referenceAsset = createRoute({
  method: 'get',
  path: '/docs/{asset}',
  tags: ['Reference'],
  summary: 'Scripts and styles of the reference page',
  request: { params: z.object({ asset: z.string().max(64) }) },
  responses: { 200: { description: 'The file (CSS, JavaScript or an icon)', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } }, ...errors(404) },
});

export const registerDocRoutes: RegisterRoutes = (app, { services }) => {
  const why = 'the reference of the API holds no data.';
  const open = <R extends RouteConfig>(route: R) => secured({ db: services.db }, { kind: 'public', why }, route);
  app.openapi(open(openapiJson), (c) => c.json(apiDocument(app), 200));
  app.openapi(open(referencePage), (c) => c.html(REFERENCE_PAGE));
  app.openapi(open(referenceAsset), async (c) => {
    const { asset } = c.req.valid('param');
    if (asset === 'init.js') return c.body(new TextEncoder().encode(INIT_SCRIPT), 200, { 'Content-Type': 'text/javascript; charset=utf-8' });
    // Own keys only: `constructor` or `__proto__` are not files (a prototype lookup was a 500).
    const type = Object.hasOwn(ASSETS, asset) ? ASSETS[asset] : undefined;
    if (!type) return errorResponse(c, 404, `No ${asset.slice(0, 64)} here.`);
    return c.body(new Uint8Array(await readFile(join(SWAGGER_DIR, asset))), 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=86400' });
  });
};

export function apiDocument(app: ApiApp) {
  const doc = app.getOpenAPI31Document(API_INFO);
  doc.components = { ...doc.components, securitySchemes: { bearerToken: { type: 'http', scheme: 'bearer', description: 'An API token: `storecast tokens create`' } } };
  return doc;
}
