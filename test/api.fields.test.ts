import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { FIELD_DEFAULTS, FIELD_RANGES, type RangedField } from '../src/data/limits.ts';
import { createApp } from '../src/server/app.ts';
import { DB_KINDS, createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

type Schema = { $ref?: string; type?: string; example?: unknown; properties?: Record<string, Schema>; items?: Schema; required?: string[]; minimum?: number; maximum?: number; description?: string; anyOf?: Schema[] };
type Media = { schema?: Schema; example?: unknown };
type Operation = { requestBody?: { content: Record<string, Media> } };
type Document = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };

/** Stores the boundary rows need (the validators only take known stores), and the examples' 5 and 7. */
const KNOWN_STORES = [FIELD_RANGES.store.min, 5, 7, FIELD_RANGES.store.max];

/** min-1, min, max, max+1, each with whether it must be accepted. */
const boundaries = (field: RangedField): [number, boolean][] => {
  const { min, max } = FIELD_RANGES[field];
  return [
    [min - 1, false],
    [min, true],
    [max, true],
    [max + 1, false],
  ];
};

/** Which ranged fields each JSON body carries, and a valid body around one value. */
const BODY_CASES: { path: string; field: RangedField; property: string; body: (v: number) => unknown }[] = [
  { path: '/forecasts', field: 'store', property: 'store', body: (v) => ({ store: v }) },
  { path: '/forecasts', field: 'dept', property: 'dept', body: (v) => ({ store: 5, dept: v }) },
  { path: '/forecasts', field: 'horizon', property: 'horizon', body: (v) => ({ store: 5, horizon: v }) },
  { path: '/subscriptions', field: 'store', property: 'store', body: (v) => ({ store: v, url: 'https://hooks.slack.com/services/T0/B0/x' }) },
  { path: '/alerts', field: 'store', property: 'store', body: (v) => ({ kind: 'stock', store: v, belowWeeks: 2, email: 'ops@example.com' }) },
  { path: '/alerts', field: 'dept', property: 'dept', body: (v) => ({ kind: 'stock', store: 5, dept: v, belowWeeks: 2, email: 'ops@example.com' }) },
  { path: '/access/grants', field: 'store', property: 'store', body: (v) => ({ principal: 'slack:T1:U2', role: 'viewer', store: v }) },
  { path: '/campaigns', field: 'store', property: 'stores.0', body: (v) => ({ name: `c-${v}`, stores: [v], start: '2012-03-02', end: '2012-04-27' }) },
];

/** Rows through the import validation (the same for JSON, CSV and `storecast import`). */
const ROW_CASES: { path: string; field: RangedField; row: (v: number) => Record<string, unknown> }[] = [
  { path: '/sales', field: 'store', row: (v) => ({ store: v, dept: 1, week: '2012-03-02', sales: 10 }) },
  { path: '/sales', field: 'dept', row: (v) => ({ store: 5, dept: v, week: '2012-03-02', sales: 10 }) },
  { path: '/sales', field: 'deptSales', row: (v) => ({ store: 5, dept: 1, week: '2012-03-02', sales: v }) },
  { path: '/stock', field: 'store', row: (v) => ({ store: v, dept: 1, date: '2012-10-26', onHand: 10 }) },
  { path: '/stock', field: 'dept', row: (v) => ({ store: 5, dept: v, date: '2012-10-26', onHand: 10 }) },
  { path: '/stock', field: 'stockValue', row: (v) => ({ store: 5, dept: 1, date: '2012-10-26', onHand: v }) },
  { path: '/stock', field: 'leadTimeWeeks', row: (v) => ({ store: 5, dept: 1, date: '2012-10-26', onHand: 10, leadTimeWeeks: v }) },
];

/** A body from a schema's examples: its own, else one built from its properties' (undefined when a required one has none). */
function exampleOf(doc: Document, schema: Schema | undefined): unknown {
  if (!schema) return undefined;
  const s = schema.$ref ? doc.components.schemas[schema.$ref.split('/').pop()!]! : schema;
  if (s.example !== undefined) return s.example;
  if (s.type === 'array' && s.items) {
    const item = exampleOf(doc, s.items);
    return item === undefined ? undefined : [item];
  }
  if (!s.properties) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(s.properties)) {
    const v = exampleOf(doc, p);
    if (v !== undefined) out[name] = v;
    else if (s.required?.includes(name)) return undefined;
  }
  return Object.keys(out).length ? out : undefined;
}

describe.each(DB_KINDS)('field rules, published and enforced alike (%s)', (kind) => {
  let t: TestDatabase;
  let app: ReturnType<typeof createApp>['app'];
  let doc: Document;
  let admin: string;

  const post = (path: string, body: unknown, type = 'application/json') =>
    app.request(`/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    app = createApp(testServices(t.db)).app;
    doc = (await (await app.request('/api/v1/openapi.json')).json()) as Document;
    admin = (await createToken(t.db, { name: 'admin', scopes: ['admin'] })).token;
    const stores = await post('/sales', `Store,Type,Size\n${KNOWN_STORES.map((s) => `${s},A,1000`).join('\n')}\n`, 'text/csv');
    expect(await stores.json()).toMatchObject({ accepted: KNOWN_STORES.length, rejectedCount: 0 });
    // A week of store 5's sales: a subscription's example (store 5) is refused for a store without data.
    expect(await (await post('/sales', [{ store: 5, dept: 1, week: '2012-02-10', sales: 100 }], 'application/json')).json()).toMatchObject({ accepted: 1 });
  });
  afterAll(() => t.cleanup());

  it('publishes every ranged field with the range the validators use', () => {
    const schemas = doc.components.schemas;
    const seen: string[] = [];
    // What requests carry: each request body's schema, through $refs and arrays (the ingest rows).
    const walk = (s: Schema | undefined, at: string): void => {
      if (!s) return;
      if (s.$ref) {
        const name = s.$ref.split('/').pop()!;
        return walk(schemas[name], name);
      }
      if (s.items) return walk(s.items, at);
      for (const [name, p] of Object.entries(s.properties ?? {})) {
        const field = (name === 'stores' ? 'store' : name === 'sales' ? 'deptSales' : name) as RangedField;
        const range = FIELD_RANGES[field];
        const ranged = name === 'stores' ? p.anyOf?.find((a) => a.type === 'array')?.items : p;
        if (range && ranged) {
          expect({ at: `${at}.${name}`, min: ranged.minimum, max: ranged.maximum }).toEqual({ at: `${at}.${name}`, min: range.min, max: range.max });
          seen.push(`${at}.${name}`);
        }
        if (!range) walk(p, at);
      }
    };
    for (const [path, ops] of Object.entries(doc.paths)) for (const op of Object.values(ops)) for (const m of Object.values(op.requestBody?.content ?? {})) walk(m.schema, path);
    // The request schemas this file's cases send to; a schema that drops its range fails above or here.
    expect(seen).toEqual(expect.arrayContaining(['SalesRow.store', 'SalesRow.dept', 'SalesRow.sales', 'ForecastRequest.store', 'ForecastRequest.dept', 'ForecastRequest.horizon', 'AlertRequest.store', 'AlertRequest.dept', 'SubscriptionRequest.store', 'GrantRequest.store', 'CampaignRequest.stores', 'StockRow.store', 'StockRow.dept', 'StockRow.leadTimeWeeks']));
    expect(schemas.SalesRow!.required ?? []).not.toContain('isHoliday');
    expect(schemas.SalesRow!.properties!.isHoliday!.description).toBe(FIELD_DEFAULTS.isHoliday.means);
  });

  it('accepts every documented example', async () => {
    const sent: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!ops.post?.requestBody || path.includes('{')) continue;
      for (const [type, media] of Object.entries(ops.post.requestBody.content)) {
        // A JSON ingest body is documented as {rows: [SalesRow]}: its example is built from the row's.
        const example = media.example ?? exampleOf(doc, media.schema);
        if (example === undefined) continue;
        const res = await post(path, example, type);
        const answer = (await res.json()) as { error?: { code: string; message: string }; rejectedCount?: number; rejected?: unknown };
        // Taken: anything but a refusal of the input (a forecast of a store without history is a 404).
        const refused = [400, 413, 415].includes(res.status) ? answer.error : undefined;
        expect({ at: `${type} ${path}`, refused }).toEqual({ at: `${type} ${path}`, refused: undefined });
        if (answer.rejectedCount !== undefined) expect({ at: `${type} ${path}`, rejected: answer.rejected }).toEqual({ at: `${type} ${path}`, rejected: [] });
        sent.push(`${type} ${path}`);
      }
    }
    expect(sent.length).toBeGreaterThanOrEqual(6);
    expect(sent).toEqual(expect.arrayContaining(['application/json /sales', 'text/csv /sales', 'application/json /stock', 'text/csv /stock', 'application/json /forecasts', 'application/json /access/grants']));
  });

  it('takes each JSON field exactly inside its range', async () => {
    for (const c of BODY_CASES) {
      for (const [v, inside] of boundaries(c.field)) {
        const res = await post(c.path, c.body(v));
        const message = res.status === 400 ? ((await res.json()) as { error: { message: string } }).error.message : '';
        const refusedForField = message.split('; ').some((m) => m.startsWith(`${c.property}:`));
        expect({ at: `${c.path} ${c.property}=${v}`, refusedForField }).toEqual({ at: `${c.path} ${c.property}=${v}`, refusedForField: !inside });
      }
    }
  });

  it('imports each row field exactly inside its range', async () => {
    for (const c of ROW_CASES) {
      const cases = boundaries(c.field);
      const res = await post(c.path, { rows: cases.map(([v]) => c.row(v)) });
      expect(res.status, c.path).toBe(200);
      const report = (await res.json()) as { rejected: { line: number; reason: string }[] };
      const accepted = cases.map((_, i) => !report.rejected.some((r) => r.line === i + 1));
      expect({ at: `${c.path} ${c.field}`, accepted }).toEqual({ at: `${c.path} ${c.field}`, accepted: cases.map(([, inside]) => inside) });
      for (const r of report.rejected) expect(r.reason).toMatch(/out of range/);
    }
  });

  it('takes a sales row without isHoliday, and flags it from the holiday calendar', async () => {
    // 2012-02-10 ends the Super Bowl week; 2012-02-17 is an ordinary one.
    const rows = [
      { store: 5, dept: 2, week: '2012-02-10', sales: 100 },
      { store: 5, dept: 2, week: '2012-02-17', sales: 100 },
    ];
    const res = await post('/sales', rows);
    expect(await res.json()).toMatchObject({ accepted: 2, rejectedCount: 0 });
    const flags = await t.db.query('SELECT week::text AS week, is_holiday FROM weekly_sales WHERE store_id = 5 AND dept_id = 2 ORDER BY week');
    expect(flags).toEqual([
      { week: '2012-02-10', is_holiday: true },
      { week: '2012-02-17', is_holiday: false },
    ]);
    // The same from a train.csv without the column.
    const csv = await post('/sales', 'Store,Dept,Date,Weekly_Sales\n5,3,2012-11-23,100\n', 'text/csv');
    expect(await csv.json()).toMatchObject({ accepted: 1, rejectedCount: 0 });
    expect(await t.db.query('SELECT is_holiday FROM weekly_sales WHERE store_id = 5 AND dept_id = 3')).toEqual([{ is_holiday: true }]);
  });
});
