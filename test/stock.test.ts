import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { importFile } from '../src/data/import.ts';
import { loadDemoStock } from '../src/data/demo-stock.ts';
import { createApp } from '../src/server/app.ts';
import type { Services } from '../src/services.ts';
import type { Forecaster } from '../src/forecast/forecaster.ts';
import { SeasonalNaiveForecaster } from '../src/forecast/seasonal-naive.ts';
import { coverOf, type Demand } from '../src/stock/cover.ts';
import { demandFor } from '../src/stock/demand.ts';
import { DB_KINDS, type TestDatabase } from './helpers/db.ts';
import { asker, demoServices } from './helpers/services.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('cover, pure', () => {
  const demand: Demand = { firstWeek: '2012-11-02', p10: [50, 50, 50, 50, 50, 50], p50: [100, 100, 100, 100, 100, 100], p90: [200, 200, 200, 200, 200, 200] };

  it('consumes on-hand stock week by week at the median and at p90, naming the run-out week', () => {
    const c = coverOf({ asOf: '2012-10-26', onHand: 250, onOrder: null, onOrderDate: null, leadTimeWeeks: 2 }, demand);
    expect(c.median).toEqual({ weeks: 2.5, runOutWeek: '2012-11-16' });
    expect(c.p90).toEqual({ weeks: 1.25, runOutWeek: '2012-11-09' });
    // Lead time 2 + a review week at p90: 600 needed, 250 on hand.
    expect(c.reorder).toBe(350);
  });

  it('adds an order in the week it arrives, and lasts past the horizon when demand never uses it up', () => {
    const c = coverOf({ asOf: '2012-10-26', onHand: 150, onOrder: 1000, onOrderDate: '2012-11-09', leadTimeWeeks: 1 }, demand);
    expect(c.median.weeks).toBeNull();
    expect(c.reorder).toBe(0);
    const late = coverOf({ asOf: '2012-10-26', onHand: 150, onOrder: 1000, onOrderDate: '2012-11-30', leadTimeWeeks: 1 }, demand);
    expect(late.median).toEqual({ weeks: 1.5, runOutWeek: '2012-11-09' });
  });

  it('ignores forecast weeks up to the count and returns (negative weeks) consume nothing', () => {
    const c = coverOf({ asOf: '2012-11-09', onHand: 100, onOrder: null, onOrderDate: null, leadTimeWeeks: null }, { ...demand, p50: [100, 100, -40, 100, 100, 100] });
    expect(c.median).toEqual({ weeks: 2, runOutWeek: '2012-11-30' });
    expect(c.leadTimeWeeks).toBe(2);
    expect(c.horizonWeeks).toBe(4);
  });
});

describe.each(DB_KINDS)('stock snapshots on %s', (kind) => {
  let t: TestDatabase;
  let services: Services;

  beforeAll(async () => void ({ t, services } = await demoServices(kind, [5])), 120_000);
  afterAll(() => t?.cleanup());

  it('imports stock.csv recognised by its header, reporting each bad row and keeping the good ones; a re-import changes nothing', async () => {
    const report = await importFile(t.db, fixture('stock.csv'));
    expect(report.format).toBe('stock');
    expect(report.accepted).toBe(3);
    expect(report.rejected.map((r) => `${r.line}: ${r.reason}`)).toEqual([
      '5: unknown store 99 (import stores.csv first)',
      '6: On_Hand -5 is out of range 0..10,000,000,000',
      '7: On_Order needs On_Order_Date (when the order is expected)',
      '8: On_Order_Date 2012-10-01 is before the count\'s Date 2012-10-26',
      '9: bad Date "2012-13-01" (expected YYYY-MM-DD)',
      '10: On_Hand is not a number: "abc"',
    ]);
    expect(report.stores).toEqual([5]);
    const again = await importFile(t.db, fixture('stock.csv'));
    expect([again.inserted, again.updated, again.unchanged]).toEqual([0, 0, 3]);
    const [row] = await t.db.query<{ on_order: number; on_order_date: string; lead_time_weeks: number }>("SELECT on_order, on_order_date::text, lead_time_weeks FROM stock_snapshots WHERE store_id = 5 AND dept_id = 1");
    expect(row).toEqual({ on_order: 20000, on_order_date: '2012-11-09', lead_time_weeks: 2 });
  });

  it('reads a stock file without the optional columns, in any column order', async () => {
    const report = await importFile(t.db, fixture('stock-short.csv'));
    expect(report).toMatchObject({ format: 'stock', accepted: 1, rejectedCount: 0 });
  });

  it('demo stock follows the demo sales and /stock store 5 names the low departments with their run-out weeks', async () => {
    await t.db.query('DELETE FROM stock_snapshots');
    const report = await loadDemoStock(t.db);
    expect(report.rejectedCount).toBe(0);
    const outcome = await services.run({ name: 'stock', text: 'store 5' }, asker);
    expect(outcome.kind).toBe('ok');
    if (outcome.kind !== 'ok') return;
    const { reply } = outcome;
    const atRisk = reply.data.atRisk as { dept: number; cover: { median: { runOutWeek: string } } }[];
    expect(atRisk.length).toBeGreaterThanOrEqual(2);
    expect(atRisk.length).toBeLessThanOrEqual(4);
    for (const d of atRisk) {
      expect(reply.summary).toContain(`Dept ${d.dept} runs out week of`);
      expect(d.cover.median.runOutWeek > '2012-10-26').toBe(true);
    }
    // At-risk first in the table, the chart, the CSV, and the follow-ups.
    expect(reply.table!.rows.slice(0, atRisk.length).map((r) => r[0])).toEqual(atRisk.map((d) => d.dept));
    expect(reply.table!.columns).toContain('reorder');
    expect(reply.chart?.spec).toBeTruthy();
    expect(reply.actions.map((a) => a.command)).toEqual(['/alert what stock store 5 below 2', `/forecast store 5 dept ${atRisk[0]!.dept}`, `/stock store 5 dept ${atRisk[0]!.dept}`]);

    const one = await services.run({ name: 'stock', text: `store 5 dept ${atRisk[0]!.dept}` }, asker);
    expect(one.kind === 'ok' && one.reply.summary).toContain('runs out week of');
    expect(one.kind === 'ok' && one.reply.chart?.alt).toContain('band between p10 and p90 demand');
  });

  it('says what to do when a store has no stock counts', async () => {
    await t.db.query('DELETE FROM stock_snapshots WHERE dept_id = 1');
    const outcome = await services.run({ name: 'stock', text: 'store 5 dept 1' }, asker);
    expect(outcome.kind).toBe('user-error');
    expect(outcome.kind === 'user-error' && outcome.reply.summary).toContain('storecast import stock.csv');
  });

  it('POST /api/v1/stock takes JSON rows and stock CSV with an ingest token, the same validation, and refuses other files', async () => {
    const { app } = createApp(services);
    const { token } = await createToken(t.db, { name: 'ingest', scopes: ['ingest'] });
    const auth = { authorization: `Bearer ${token}` };
    const json = await app.request('/api/v1/stock', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ rows: [{ store: 5, dept: 1, date: '2012-11-02', onHand: 9000, leadTimeWeeks: 1 }, { store: 5, dept: 1, date: '2012-11-02' }] }),
    });
    expect(json.status).toBe(200);
    const report = (await json.json()) as { accepted: number; rejected: { line: number; reason: string }[]; alerts: unknown };
    expect(report.accepted).toBe(1);
    expect(report.rejected).toEqual([{ line: 2, reason: 'missing On_Hand' }]);
    const csv = await app.request('/api/v1/stock', { method: 'POST', headers: { ...auth, 'content-type': 'text/csv' }, body: 'Store,Dept,Date,On_Hand\n5,2,2012-11-02,100\n' });
    expect(((await csv.json()) as { accepted: number }).accepted).toBe(1);
    const sales = await app.request('/api/v1/stock', { method: 'POST', headers: { ...auth, 'content-type': 'text/csv' }, body: 'Store,Dept,Date,Weekly_Sales,IsHoliday\n5,1,2012-11-02,1,FALSE\n' });
    expect(sales.status).toBe(400);
    expect(((await sales.json()) as { error: { message: string } }).error.message).toContain('not a stock file');
    const noToken = await app.request('/api/v1/stock', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    expect(noToken.status).toBe(401);
  });

  it('a forecaster failure is not kept as "no forecast": demand fails, and the next call computes it (no sales is still remembered)', async () => {
    await t.db.query('DELETE FROM demand_forecasts WHERE store_id = 5');
    let broken = true;
    const inner = new SeasonalNaiveForecaster();
    const flaky: Forecaster = { name: 'flaky', forecast: (db, key, h, o) => (broken && key.dept === 7 ? Promise.reject(new Error('connection reset')) : inner.forecast(db, key, h, o)) };
    const keys = [{ store: 5, dept: 7 }, { store: 5, dept: 998 }];
    await expect(demandFor(t.db, flaky, keys)).rejects.toThrow('connection reset');
    const kept = await t.db.query<{ dept_id: number; model: string }>('SELECT dept_id, model FROM demand_forecasts WHERE store_id = 5 ORDER BY dept_id');
    expect(kept).toEqual([{ dept_id: 998, model: 'none' }]);
    broken = false;
    const demand = await demandFor(t.db, flaky, keys);
    expect(demand.get('5/7')?.p50).toHaveLength(26);
    expect(demand.has('5/998')).toBe(false);
  });
});
