import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createToken, revokeToken } from '../src/auth/tokens.ts';
import { createLogger } from '../src/logger.ts';
import { loadConfig } from '../src/config.ts';
import { createApp } from '../src/server/app.ts';
import { SeasonalNaiveForecaster } from '../src/forecast/seasonal-naive.ts';
import { createServices } from '../src/services.ts';
import { listen } from './fakes/serve.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

const SECRET_KEY = randomBytes(32).toString('hex');

describe.each(DB_KINDS)('ingest API (%s)', (kind) => {
  let t: TestDatabase;
  let app: Hono;
  let ingest: string;
  let query: string;

  const post = (body: string, token: string | undefined, type = 'application/json') =>
    app.request('/api/v1/sales', { method: 'POST', headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) }, body });
  const weekly = async () => (await t.db.query<{ n: number; total: number }>('SELECT count(*)::int AS n, coalesce(sum(sales), 0)::float8 AS total FROM weekly_sales'))[0]!;

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await t.db.exec("INSERT INTO stores (store_id, type, size) VALUES (1, 'A', 150000), (2, 'B', 90000)");
    const config = loadConfig({ STORECAST_SECRET_KEY: SECRET_KEY });
    app = createApp(createServices({ config, db: t.db, logger: createLogger('silent'), forecaster: new SeasonalNaiveForecaster() }), undefined, { api: { maxIngestBytes: 4096 } }).app;
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

  it('writes only sales data: a campaigns or stock CSV is refused, and no campaign is written', async () => {
    const campaigns = 'Name,Stores,Start,End,Control_Stores,Notes\nsneaky,1,2012-03-02,2012-04-27,,\n';
    const res = await post(campaigns, ingest, 'text/csv');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/does not take campaigns files/);
    expect(await t.db.query('SELECT name FROM campaigns')).toEqual([]);
    const stock = await post('Store,Dept,Date,On_Hand\n1,1,2012-10-26,100\n', ingest, 'text/csv');
    expect(stock.status).toBe(400);
    expect(await t.db.query('SELECT 1 FROM stock_snapshots')).toEqual([]);
  });

  it('refuses a token without the ingest scope with 403', async () => {
    const res = await post(JSON.stringify(rows), query);
    expect(res.status).toBe(403);
    expect((await res.json()).error.message).toMatch(/ingest/);
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
    expect((await header.json()).error.message).toMatch(/unrecognised header/);
  });

  it('answers 413 with the limit for a body over the size limit', async () => {
    const big = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ store: 1, dept: i + 1, week: '2012-03-02', sales: 1 })));
    expect(big.length).toBeGreaterThan(4096);
    const res = await post(big, ingest);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'payload_too_large', message: expect.stringContaining('4096 bytes') } });
    expect((await weekly()).n).toBe(4);
  });

  it('explains bad bodies: not JSON, wrong shape, wrong content type', async () => {
    expect((await post('{', ingest)).status).toBe(400);
    const shape = await post('{"store": 1}', ingest);
    expect(shape.status).toBe(400);
    expect((await shape.json()).error.message).toMatch(/JSON array of rows/);
    expect((await post('x', ingest, 'application/xml')).status).toBe(415);
  });
});

// The server's own app (createApp mounts the ingest API at /api/v1) on a real socket: limits
// and bounds must hold where requests really arrive, with the server's body limit.
describe.each(DB_KINDS)('ingest through the composed server (%s)', (kind) => {
  let t: TestDatabase;
  let server: Awaited<ReturnType<typeof listen>>;
  let token: string;
  const trainHeader = 'Store,Dept,Date,Weekly_Sales,IsHoliday';

  const post = (body: string, type = 'application/json') =>
    fetch(`${server.url}/api/v1/sales`, { method: 'POST', headers: { 'content-type': type, authorization: `Bearer ${token}` }, body });
  /** Status, body text and the parsed body: the text length is what the client downloads. */
  const answer = async (res: Response) => {
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) as Record<string, unknown> & { rejected: { line: number; reason: string }[] } };
  };

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await t.db.exec("INSERT INTO stores (store_id, type, size) VALUES (1, 'A', 150000)");
    const { app } = createApp(testServices(t.db, { STORECAST_SECRET_KEY: SECRET_KEY }));
    server = await listen(app);
    token = (await createToken(t.db, { name: 'pos', scopes: ['ingest'] })).token;
  });
  afterAll(async () => {
    await server?.close();
    await t?.cleanup();
  });

  it('rejects 1.7e308 and other out-of-range values with a reason; the store keeps answering', async () => {
    const rows = [
      { store: 1, dept: 1, week: '2012-02-10', sales: 1.7e308, isHoliday: false },
      { store: 1, dept: 2, week: '2012-02-10', sales: 1.7e308, isHoliday: false },
      { store: 1, dept: 3, week: '2012-02-10', sales: -250.5, isHoliday: false },
      { store: 100_000, dept: 3, week: '2012-02-10', sales: 1, isHoliday: false },
      { store: 1, dept: 0, week: '2012-02-10', sales: 1, isHoliday: false },
    ];
    const first = await answer(await post(JSON.stringify(rows)));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ accepted: 1, inserted: 1, rejectedCount: 4 });
    expect(first.body.rejected).toEqual([
      { line: 1, reason: 'Weekly_Sales 1.7e+308 is out of range -1,000,000,000..1,000,000,000' },
      { line: 2, reason: 'Weekly_Sales 1.7e+308 is out of range -1,000,000,000..1,000,000,000' },
      { line: 4, reason: 'Store 100000 is out of range 1..99,999' },
      { line: 5, reason: 'Dept 0 is out of range 1..9,999' },
    ]);

    const later = await answer(await post(`${trainHeader}\n1,1,2012-02-17,1000,FALSE\n1,2,2012-02-17,500.25,FALSE\n`, 'text/csv'));
    expect(later).toMatchObject({ status: 200, body: { accepted: 2, inserted: 2, rejectedCount: 0 } });
    const query = await fetch(`${server.url}/api/v1/commands`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: '/sales store 1' }) });
    expect(query.status).toBe(200);
    expect(await query.json()).toMatchObject({ kind: 'ok', reply: { facts: expect.arrayContaining([{ label: 'Total', value: '$1.2K' }]) } });
    const totals = await t.db.query('SELECT week::text AS week, sales, dept_count FROM store_week_sales WHERE store_id = 1 ORDER BY week');
    expect(totals).toEqual([
      { week: '2012-02-10', sales: -250.5, dept_count: 1 },
      { week: '2012-02-17', sales: 1500.25, dept_count: 2 },
    ]);
  });

  it('answers a million-column header fast, with a short message', async () => {
    const header = Array.from({ length: 1_000_000 }, (_, i) => `c${i}`).join(',');
    const started = performance.now();
    const res = await answer(await post(`${header}\n1,2\n`, 'text/csv'));
    expect(performance.now() - started).toBeLessThan(3000);
    expect(res.status).toBe(400);
    expect((res.body.error as { message: string }).message).toMatch(/^unrecognised header: the header line is longer than 65536 bytes/);
    expect(res.text.length).toBeLessThan(2000);
  });

  it('never echoes a 10 MB field (CSV or JSON), and keeps the rows before it', async () => {
    const field = 'x'.repeat(10_000_000);
    const csv = await answer(await post(`${trainHeader}\n1,4,2012-02-10,5,FALSE\n1,5,${field},5,FALSE\n1,6,2012-02-10,5,FALSE\n`, 'text/csv'));
    expect(csv.status).toBe(200);
    expect(csv.body).toMatchObject({ rowsRead: 2, accepted: 1, rejectedCount: 1, stoppedAtLine: 3 });
    expect(csv.body.rejected[0]!.reason).toMatch(/^line is longer than 65536 bytes/);
    expect(csv.text.length).toBeLessThan(2000);

    const json = await answer(await post(JSON.stringify([{ store: 1, dept: 7, week: field, sales: 1 }])));
    expect(json.status).toBe(200);
    expect(json.body.rejected).toEqual([{ line: 1, reason: `bad Date "${'x'.repeat(39)}…" (expected YYYY-MM-DD)` }]);
    expect(json.text.length).toBeLessThan(2000);
  });

  it('lists the first 100 of 5000 rejected rows and counts them all', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => ({ store: 1, dept: (i % 99) + 1, week: 'yesterday', sales: i }));
    const res = await answer(await post(JSON.stringify(rows)));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rowsRead: 5000, accepted: 0, rejectedCount: 5000 });
    expect(res.body.rejected.map((r) => r.line)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(res.text.length).toBeLessThan(20_000);
  });
});
