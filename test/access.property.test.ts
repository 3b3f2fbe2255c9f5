import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAccess } from '../src/access/access.ts';
import { addGrant, removeGrants } from '../src/access/grants.ts';
import { loadDemoData } from '../src/data/demo.ts';
import type { Services } from '../src/services.ts';
import type { AreaScope } from '../src/scope.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

const PRINCIPAL = 'slack:T1/U1';
const asker = { platform: 'slack' as const, workspace: 'T1', channel: 'C1', user: 'U1', roles: [] };
const REGIONS = ['Northeast', 'South', 'Midwest', 'West'];

/** Every store number an answer shows: in `data`, facts, table rows and the chart's data. */
function storesIn(value: unknown, key = ''): number[] {
  if (Array.isArray(value)) return value.flatMap((v) => storesIn(v, key));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => storesIn(v, k));
  if (typeof value === 'number' && /^(store|store_id)$/i.test(key)) return [value];
  if (typeof value === 'string') return [...value.matchAll(/\bStore (\d+)\b/g)].map((m) => Number(m[1]));
  return [];
}

/** The table's store column, when it has one. */
function tableStores(table: { columns: string[]; rows: (string | number | null)[][] } | undefined): number[] {
  const col = table?.columns.indexOf('store') ?? -1;
  return col < 0 ? [] : table!.rows.map((r) => Number(r[col]));
}

const grantArb = fc.record({
  role: fc.constantFrom('viewer', 'manager', 'admin') as fc.Arbitrary<'viewer' | 'manager' | 'admin'>,
  scope: fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 1, max: 45 }).map((store): AreaScope => ({ kind: 'store', store })) },
    { weight: 3, arbitrary: fc.constantFrom(...REGIONS).map((region): AreaScope => ({ kind: 'region', region })) },
    { weight: 1, arbitrary: fc.constant<AreaScope>({ kind: 'chain' }) },
  ),
});

const commandArb = fc.oneof(
  fc.integer({ min: 1, max: 45 }).map((s) => `/forecast store ${s} week 4`),
  fc.integer({ min: 1, max: 45 }).map((s) => `/sales store ${s}`),
  fc.integer({ min: 1, max: 45 }).map((s) => `/holiday-impact store ${s}`),
  fc.constantFrom(...REGIONS).map((r) => `/holiday-impact region ${r}`),
  fc.constant('/holiday-impact all thanksgiving'),
  fc.constantFrom('/top stores by sales 50', '/top stores by growth bottom 20', '/top depts by sales 5'),
);

describe('no answer shows a store outside the asker’s grants (restricted mode)', () => {
  let t: TestDatabase;
  let services: Services;

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    await loadDemoData(t.db);
    services = testServices(t.db, { STORECAST_ACCESS: 'restricted' });
  }, 120_000);
  afterAll(() => t.cleanup());

  it('holds for random grants and commands', async () => {
    let answered = 0;
    let denied = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(grantArb, { minLength: 0, maxLength: 3 }), fc.array(commandArb, { minLength: 1, maxLength: 3 }), async (grants, lines) => {
        await removeGrants(t.db, PRINCIPAL);
        for (const g of grants) await addGrant(t.db, { principal: PRINCIPAL, ...g });
        const visible = await (await resolveAccess(t.db, services.config.access, asker)).stores();
        for (const line of lines) {
          const [name, ...rest] = line.slice(1).split(' ');
          const outcome = await services.run({ name: name!, text: rest.join(' ') }, asker);
          if (outcome.kind === 'denied') {
            denied++;
            expect(outcome.reply.chart, line).toBeUndefined();
            expect(outcome.reply.table, line).toBeUndefined();
            continue;
          }
          if (outcome.kind !== 'ok') continue;
          answered++;
          const { reply } = outcome;
          const shown = [...storesIn({ facts: reply.facts, data: reply.data, summary: reply.summary, chart: reply.chart?.spec }), ...tableStores(reply.table)];
          if (visible !== 'all') for (const store of shown) expect(visible.has(store), `${line} shows store ${store}; visible: ${[...visible].join(',')}`).toBe(true);
        }
      }),
      { numRuns: 40, seed: 20261130 },
    );
    // Both sides of the property were exercised.
    expect(answered).toBeGreaterThan(10);
    expect(denied).toBeGreaterThan(10);
  }, 600_000);

  it('says so when a cross-store answer is narrowed', async () => {
    await removeGrants(t.db, PRINCIPAL);
    await addGrant(t.db, { principal: PRINCIPAL, role: 'viewer', scope: { kind: 'region', region: 'West' } });
    const outcome = await services.run({ name: 'holiday-impact', text: 'all' }, asker);
    expect(outcome.kind).toBe('ok');
    expect(outcome.reply.title + outcome.reply.summary).toMatch(/your \d+ stores/);
  });
});
