import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createToken, revokeToken } from '../src/auth/tokens.ts';
import { createLogger } from '../src/logger.ts';
import { loadConfig } from '../src/config.ts';
import { webhookApiRoutes } from '../src/webhooks/index.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';

describe.each(DB_KINDS)('ingest API (%s)', (kind) => {
  let t: TestDatabase;
  let app: Hono;
  let ingest: string;
  let query: string;

  const post = (body: string, token: string | undefined, type = 'application/json') =>
    app.request('/sales', { method: 'POST', headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) }, body });
  const weekly = async () => (await t.db.query<{ n: number; total: number }>('SELECT count(*)::int AS n, coalesce(sum(sales), 0)::float8 AS total FROM weekly_sales'))[0]!;

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await t.db.exec("INSERT INTO stores (store_id, type, size) VALUES (1, 'A', 150000), (2, 'B', 90000)");
    const config = loadConfig({ STORECAST_SECRET_KEY: 'ab'.repeat(32) });
    app = webhookApiRoutes({ config, db: t.db, logger: createLogger('silent') }, { maxBodyBytes: 4096 });
    ingest = (await createToken(t.db, { name: 'pos', scopes: ['ingest'] })).token;
    query = (await createToken(t.db, { name: 'bi', scopes: ['query'] })).token;
  });
  afterAll(async () => t?.cleanup());

  const rows = [
    { store: 1, dept: 1, week: '2012-02-10', sales: 24924.5, isHoliday: true },
    { store: 1, dept: 2, date: '2012-02-10', weekly_sales: 1000, isHoliday: true },
    { store: 2, dept: 1, week: '2012-02-17', sales: -12.5, isHoliday: false },
  ];

  it('refuses a missing, malformed, unknown or revoked token with 401', async () => {
    const body = JSON.stringify(rows);
    for (const token of [undefined, 'nope', `sc_00000000_${'A'.repeat(43)}`]) {
      const res = await post(body, token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const revoked = await createToken(t.db, { name: 'old', scopes: ['ingest'] });
    expect(await revokeToken(t.db, revoked.info.id)).toBe(true);
    expect((await post(body, revoked.token)).status).toBe(401);
    expect((await weekly()).n).toBe(0);
  });

  it('refuses a token without the ingest scope with 403', async () => {
    const res = await post(JSON.stringify(rows), query);
    expect(res.status).toBe(403);
    expect((await res.json()).message).toMatch(/ingest/);
    expect((await weekly()).n).toBe(0);
  });

  it('imports JSON rows, reports bad rows, and a re-post changes nothing', async () => {
    const bad = [...rows, { store: 99, dept: 1, week: '2012-02-10', sales: 5 }, { store: 1, dept: 1, week: 'yesterday', sales: 5 }, { store: 1, dept: 3, week: '2012-02-10' }];
    const res = await post(JSON.stringify({ rows: bad }), ingest);
    expect(res.status).toBe(200);
    const report = await res.json();
    expect(report).toMatchObject({ rowsRead: 6, accepted: 3, inserted: 3, updated: 0, rejectedCount: 3 });
    expect(report.rejected.map((r: { line: number }) => r.line)).toEqual([4, 5, 6]);
    expect(report.rejected[0].reason).toMatch(/store 99/);
    const before = await weekly();
    expect(before.n).toBe(3);

    const again = await (await post(JSON.stringify({ rows: bad }), ingest)).json();
    expect(again).toMatchObject({ accepted: 3, inserted: 0, updated: 0, unchanged: 3, rejectedCount: 3 });
    expect(await weekly()).toEqual(before);
    const [rollup] = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM store_week_sales');
    expect(rollup!.n).toBe(2);
  });

  it('imports a CSV body with the same validation (and idempotency)', async () => {
    const csv = 'Store,Dept,Date,Weekly_Sales,IsHoliday\n1,1,2012-02-10,24924.50,TRUE\n1,4,2012-02-24,300,FALSE\n1,5,2012-02-25,1,FALSE\n';
    const report = await (await post(csv, ingest, 'text/csv')).json();
    expect(report).toMatchObject({ rowsRead: 3, accepted: 2, inserted: 1, unchanged: 1, rejectedCount: 1 });
    expect(report.rejected[0]).toMatchObject({ line: 4 });
    const again = await (await post(csv, ingest, 'text/csv')).json();
    expect(again).toMatchObject({ inserted: 0, updated: 0, unchanged: 2 });
    const header = await post('a,b\n1,2\n', ingest, 'text/csv');
    expect(header.status).toBe(400);
    expect((await header.json()).message).toMatch(/unrecognised header/);
  });

  it('answers 413 with the limit for a body over the size limit', async () => {
    const big = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ store: 1, dept: i + 1, week: '2012-03-02', sales: 1 })));
    expect(big.length).toBeGreaterThan(4096);
    const res = await post(big, ingest);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'payload_too_large', maxBytes: 4096 });
    expect((await weekly()).n).toBe(4);
  });

  it('explains bad bodies: not JSON, wrong shape, wrong content type', async () => {
    expect((await post('{', ingest)).status).toBe(400);
    const shape = await post('{"store": 1}', ingest);
    expect(shape.status).toBe(400);
    expect((await shape.json()).message).toMatch(/JSON array of rows/);
    expect((await post('x', ingest, 'application/xml')).status).toBe(415);
  });
});
