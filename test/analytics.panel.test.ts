import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPanel, loadPanelColumns, panelColumns, panelRow, type PanelRow } from '../src/analytics/panel.ts';
import type { Scope } from '../src/scope.ts';
import { createTestDatabase, DB_KINDS, importDemoStores, type TestDatabase } from './helpers/db.ts';

/*
 * loadPanelColumns reads the panel in ranges of store ids into typed arrays (a chain's rows as
 * objects took ~450 MB): row for row the panel of the single join it replaced, whatever the
 * ranges, including missing features (nulls) and a store's missing weeks.
 */
describe.each(DB_KINDS)('loadPanelColumns (%s)', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, [1, 2, 3, 4, 5, 6, 7]);
    // Gaps: a store without some weeks of features, another without some weeks of sales.
    await t.db.query(`DELETE FROM store_features WHERE store_id = 2 AND week < '2010-06-01'`);
    await t.db.query(`UPDATE store_features SET temperature = NULL, cpi = NULL WHERE store_id = 3 AND week BETWEEN '2011-01-01' AND '2011-03-01'`);
    await t.db.query(`DELETE FROM store_week_sales WHERE store_id = 4 AND week > '2012-06-01'`);
  }, 120_000);
  afterAll(() => t.cleanup());

  /** The panel as the one join read it before. */
  async function joined(scope: Scope): Promise<PanelRow[]> {
    const where = scope.kind === 'store' ? 's.store_id = $1' : scope.kind === 'region' ? 's.store_id IN (SELECT store_id FROM stores WHERE lower(region) = lower($1))' : 'TRUE';
    const params = scope.kind === 'store' ? [scope.store] : scope.kind === 'region' ? [scope.region] : [];
    type Raw = { store: number; week: string; sales: number; is_holiday: boolean; temperature: number | null; fuel_price: number | null; cpi: number | null; unemployment: number | null } & Record<`md${1 | 2 | 3 | 4 | 5}`, number | null>;
    const rows = await t.db.query<Raw>(
      `SELECT s.store_id AS store, s.week::text AS week, s.sales, s.is_holiday, f.temperature, f.fuel_price, f.cpi, f.unemployment,
              f.markdown1 AS md1, f.markdown2 AS md2, f.markdown3 AS md3, f.markdown4 AS md4, f.markdown5 AS md5
       FROM store_week_sales s LEFT JOIN store_features f ON f.store_id = s.store_id AND f.week = s.week WHERE ${where} ORDER BY s.store_id, s.week`,
      params,
    );
    return rows.map((r) => ({
      store: r.store, week: r.week, sales: r.sales, isHoliday: r.is_holiday, temperature: r.temperature, fuelPrice: r.fuel_price, cpi: r.cpi, unemployment: r.unemployment,
      markdowns: [r.md1 ?? 0, r.md2 ?? 0, r.md3 ?? 0, r.md4 ?? 0, r.md5 ?? 0],
    }));
  }

  it('the chain, a region and a store, read whole and in ranges of 1 and 3 stores', async () => {
    const [{ region } = { region: '' }] = await t.db.query<{ region: string }>('SELECT region FROM stores WHERE store_id = 2');
    for (const scope of [{ kind: 'chain' }, { kind: 'region', region }, { kind: 'store', store: 4 }] as Scope[]) {
      const expected = await joined(scope);
      expect(expected.length).toBeGreaterThan(100);
      for (const storesPerRead of [1, 3, 1000]) {
        const p = await loadPanelColumns(t.db, scope, { storesPerRead });
        expect(Array.from({ length: p.n }, (_, i) => panelRow(p, i)), `${scope.kind} by ${storesPerRead}`).toEqual(expected);
      }
      expect(await loadPanel(t.db, scope)).toEqual(expected);
      expect(panelColumns(expected)).toMatchObject({ n: expected.length });
    }
    const chain = await joined({ kind: 'chain' });
    expect(chain.some((r) => r.temperature === null && r.cpi === null && r.fuelPrice !== null)).toBe(true);
    expect(chain.some((r) => r.fuelPrice === null)).toBe(true);
  });
});
