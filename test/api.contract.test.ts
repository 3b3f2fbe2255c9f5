import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_EXTENSION } from '../src/api/access.ts';
import { createToken } from '../src/auth/tokens.ts';
import { SCOPES, type TokenPermission } from '../src/auth/tokens.ts';
import { createApp } from '../src/server/app.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

type Operation = { security?: Record<string, string[]>[]; [ACCESS_EXTENSION]?: string; requestBody?: { content: Record<string, unknown> } };
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

/** A concrete URL for a templated path: the route must exist, the values need not. */
const concrete = (path: string) => `/api/v1${path.replace(/\{(\w+)\}/g, (_, name: string) => ({ id: 'sub_000000000000', file: 'AAAAAAAAAAAAAAAAAAAAAAAA.png', asset: 'init.js' })[name] ?? 'x')}`;

describe('the /api/v1 contract', () => {
  let t: TestDatabase;
  let app: ReturnType<typeof createApp>['app'];
  let doc: Document;
  const tokens = {} as Record<TokenPermission, string>;

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    app = createApp(testServices(t.db)).app;
    doc = (await (await app.request('/api/v1/openapi.json')).json()) as Document;
    for (const scope of SCOPES) tokens[scope] = (await createToken(t.db, { name: scope, scopes: [scope] })).token;
  });
  afterAll(() => t.cleanup());

  const operations = () => Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('documents every route mounted under /api/v1, and mounts every documented one', () => {
    const mounted = new Set(
      app.routes
        .filter((r) => r.path.startsWith('/api/v1/') && r.method !== 'ALL')
        .map((r) => `${r.method.toLowerCase()} ${r.path.slice('/api/v1'.length).replace(/:(\w+)(\{[^}]*\})?/g, '{$1}')}`),
    );
    const documented = new Set(operations().map((o) => `${o.method} ${o.path}`));
    expect(documented.size).toBeGreaterThanOrEqual(11);
    expect([...mounted].sort()).toEqual([...documented].sort());
  });

  it('declares who may call each operation, with security to match', () => {
    for (const { path, method, op } of operations()) {
      const access = op[ACCESS_EXTENSION];
      expect(access, `${method} ${path}`).toMatch(/^(public|console|(console\|)?token:(ingest|query|metrics|admin))$/);
      const security = (op.security ?? []).map((s) => Object.keys(s).join(',') || 'none').join(' or ') || 'none';
      expect(security, `${method} ${path}`).toBe(access!.startsWith('token:') ? 'bearerToken' : access!.startsWith('console|token:') ? 'bearerToken or none' : 'none');
    }
  });

  // Generated from the document: a route added to the table gets these checks without a new test.
  it('enforces the declared access: token routes x every principal, console routes refuse other sites', async () => {
    for (const { path, method, op } of operations()) {
      const access = op[ACCESS_EXTENSION]!;
      const body = op.requestBody ? { body: '{}', headers: { 'content-type': 'application/json' } } : { headers: {} as Record<string, string> };
      const call = (headers: Record<string, string> = {}) => app.request(concrete(path), { method: method.toUpperCase(), ...body, headers: { ...body.headers, ...headers } });
      const label = `${method} ${path}`;
      if (access.startsWith('token:')) {
        const needed = access.slice('token:'.length) as TokenPermission;
        const anonymous = await call();
        expect(anonymous.status, `${label} without a token`).toBe(401);
        expect(anonymous.headers.get('www-authenticate'), label).toMatch(/^Bearer/);
        expect((await call({ authorization: 'Bearer sc_0_nope' })).status, `${label} with an unknown token`).toBe(401);
        for (const scope of SCOPES) {
          const status = (await call({ authorization: `Bearer ${tokens[scope]}` })).status;
          if (scope === needed || scope === 'admin') expect([401, 403], `${label} as ${scope}`).not.toContain(status);
          else expect(status, `${label} as ${scope}`).toBe(403);
        }
      } else if (access === 'console' || access.startsWith('console|token:')) {
        if (access !== 'console') {
          const needed = access.slice('console|token:'.length) as TokenPermission;
          for (const scope of SCOPES) {
            const status = (await call({ authorization: `Bearer ${tokens[scope]}` })).status;
            if (scope === needed || scope === 'admin') expect([401, 403], `${label} as ${scope}`).not.toContain(status);
            else expect(status, `${label} as ${scope}`).toBe(403);
          }
          expect((await call({ authorization: 'Bearer sc_0_nope' })).status, `${label} with an unknown token`).toBe(401);
        }
        expect((await call({ origin: 'https://evil.example' })).status, `${label} cross-site`).toBe(403);
        expect((await call({ 'sec-fetch-site': 'cross-site' })).status, `${label} cross-site`).toBe(403);
        expect([401, 403], label).not.toContain((await call()).status);
      } else {
        expect([401, 403], label).not.toContain((await call()).status);
      }
    }
  });

  it('refuses console routes without a console session in restricted mode (401)', async () => {
    const restricted = createApp(testServices(t.db, { STORECAST_ACCESS: 'restricted' })).app;
    const consoleOps = operations().filter((o) => o.op[ACCESS_EXTENSION] === 'console' || o.op[ACCESS_EXTENSION]?.startsWith('console|'));
    expect(consoleOps.length).toBeGreaterThanOrEqual(2);
    for (const { path, method, op } of consoleOps) {
      const body = op.requestBody ? { body: '{}', headers: { 'content-type': 'application/json' } } : {};
      const res = await restricted.request(concrete(path), { method: method.toUpperCase(), ...body });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    }
  });

  it('answers every refusal in the one error shape', async () => {
    const refusals = [
      await app.request('/api/v1/subscriptions'),
      await app.request('/api/v1/subscriptions', { headers: { authorization: `Bearer ${tokens.ingest}` } }),
      await app.request('/api/v1/deliveries?limit=0', { headers: { authorization: `Bearer ${tokens.admin}` } }),
      await app.request('/api/v1/charts/nothere.png'),
      await app.request('/api/v1/sales', { method: 'POST', headers: { authorization: `Bearer ${tokens.ingest}`, 'content-type': 'application/json' }, body: '{' }),
    ];
    expect(refusals.map((r) => r.status)).toEqual([401, 403, 400, 404, 400]);
    for (const r of refusals) expect(await r.json()).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  });
});
