import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/server/app.ts';
import type { Services } from '../src/services.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

/**
 * Issue 19, item 1: a chart row whose spec names a file or a URL (as a restored backup could
 * plant) is never rendered through the public chart link, and nothing is read or fetched.
 */
describe.each(DB_KINDS)('chart links render inline data only (%s)', (kind) => {
  let t: TestDatabase;
  let services: Services;
  let app: ReturnType<typeof createApp>['app'];
  let dir: string;
  let server: Server;
  let port = 0;
  const hits: string[] = [];

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    services = testServices(t.db);
    app = createApp(services).app;
    dir = mkdtempSync(join(tmpdir(), 'storecast-chart-'));
    writeFileSync(join(dir, 'operator.json'), JSON.stringify([{ secret: 'sc_deadbeef_TOPSECRET', v: 1 }]));
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify([{ secret: 'FROM-HTTP', v: 1 }]));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
    await t.cleanup();
  });

  const plant = async (id: string, spec: unknown) =>
    t.db.query(`INSERT INTO charts (id, spec, expires_at) VALUES ($1, $2::jsonb, now() + interval '1 hour')`, [id, JSON.stringify(spec)]);
  const textChart = (data: unknown) => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data,
    mark: 'text',
    encoding: { text: { field: 'secret', type: 'nominal' } },
  });

  it('refuses a spec whose data is a file: or http: URL, and reads neither', async () => {
    const cases = {
      fileSpecAaaaaaaaaaaaaaaaaa: textChart({ url: `file://${join(dir, 'operator.json')}` }),
      httpSpecAaaaaaaaaaaaaaaaaa: textChart({ url: `http://127.0.0.1:${port}/operator.json` }),
      bareSpecAaaaaaaaaaaaaaaaaa: textChart({ url: join(dir, 'operator.json') }),
      imageSpecAaaaaaaaaaaaaaaaa: { data: { values: [{ a: 1 }] }, mark: { type: 'image', url: `http://127.0.0.1:${port}/img.png`, width: 10, height: 10 } },
    };
    for (const [id, spec] of Object.entries(cases)) {
      await plant(id, spec);
      const res = await app.request(`/api/v1/charts/${id}.png`);
      expect(res.status, id).toBe(404);
      expect(res.headers.get('content-type'), id).not.toBe('image/png');
      // The row is gone: a refused spec is not retried on every fetch.
      expect(await t.db.query('SELECT 1 FROM charts WHERE id = $1', [id]), id).toHaveLength(0);
    }
    expect(hits).toEqual([]);
  });

  it('still renders a spec that carries its data inline (rows may have a url field)', async () => {
    await plant('inlineSpecAaaaaaaaaaaaaaa', textChart({ values: [{ secret: 'shown', url: 'http://example.invalid/x', v: 1 }] }));
    const res = await app.request('/api/v1/charts/inlineSpecAaaaaaaaaaaaaaa.png');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(hits).toEqual([]);
  });
});
