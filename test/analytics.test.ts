import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngSize } from '../charts/index.ts';
import { addGrant } from '../src/access/grants.ts';
import type { Reply } from '../src/chat/reply.ts';
import type { Asker, Services } from '../src/services.ts';
import { createTestDatabase, DB_KINDS, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { asker, askOk, testServices } from './helpers/services.ts';

/*
 * /markdown-impact, /drivers and /segments on 12 demo stores. The demo's markdowns and outside
 * factors are drawn independently of its sales, so the honest answer there is "no effect";
 * known effects are then injected into store 3's sales to see that they are found.
 */
const STORES = Array.from({ length: 12 }, (_, i) => i + 1);

interface Est {
  beta: number;
  lower: number;
  upper: number;
}

describe.each(DB_KINDS)('markdowns, drivers and segments (%s)', (kind) => {
  let t: TestDatabase;
  let services: Services;
  const ask = (line: string, who: Asker = asker): Promise<Reply> => askOk(services, line, who);

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, STORES);
    services = testServices(t.db);
  }, 120_000);
  afterAll(() => t.cleanup());

  it('/markdown-impact chain: demo markdowns are unrelated to sales, and the interval says so', async () => {
    const reply = await ask('markdown-impact chain');
    const perDollar = reply.data.perDollar as Est;
    expect(perDollar.lower).toBeLessThan(0);
    expect(perDollar.upper).toBeGreaterThan(0);
    expect(reply.summary).toContain('not distinguishable from zero');
    expect(reply.data.stores).toBe(STORES.length);
    expect(reply.facts.map((f) => f.label)).toEqual(['Per markdown $1', 'Markdowns', 'Sales they added', 'MarkDown1', 'MarkDown2', 'MarkDown3', 'MarkDown4', 'MarkDown5']);
    const png = await services.renderChart(reply.chart!.spec);
    expect(pngSize(png).width).toBeGreaterThanOrEqual(1200);
  });

  it('/drivers chain: every outside factor is weak on the demo data', async () => {
    const reply = await ask('drivers chain');
    const effects = reply.data.effects as { driver: string; strength: string }[];
    expect(effects.map((e) => e.driver)).toEqual(['Temperature', 'Fuel price', 'CPI', 'Unemployment', 'Markdowns']);
    expect(effects.every((e) => e.strength === 'weak')).toBe(true);
    expect(reply.summary).toMatch(/^No outside factor has a clear effect/);
    const png = await services.renderChart(reply.chart!.spec);
    expect(pngSize(png).width).toBeGreaterThanOrEqual(1000);
  });

  it('finds injected effects: $3 of sales per markdown dollar, and sales that follow temperature', async () => {
    // Store 3 sells $3 more per markdown dollar and 0.4% more per degree above its average.
    await t.db.query(
      `UPDATE store_week_sales s SET sales = s.sales + 3 * (coalesce(f.markdown1, 0) + coalesce(f.markdown2, 0) + coalesce(f.markdown3, 0)
         + coalesce(f.markdown4, 0) + coalesce(f.markdown5, 0))
         + s.sales * 0.004 * (f.temperature - (SELECT avg(temperature) FROM store_features WHERE store_id = 3))
       FROM store_features f WHERE f.store_id = s.store_id AND f.week = s.week AND s.store_id = 3`,
    );
    const md = await ask('markdown-impact store 3');
    const perDollar = md.data.perDollar as Est;
    expect(perDollar.lower).toBeLessThan(3);
    expect(perDollar.upper).toBeGreaterThan(3);
    expect(perDollar.lower).toBeGreaterThan(0);
    expect(md.summary).toContain('a clear positive effect');
    const drivers = await ask('drivers store 3');
    const temperature = (drivers.data.effects as { driver: string; estimate: Est; strength: string }[]).find((e) => e.driver === 'Temperature')!;
    expect(temperature.estimate.lower).toBeGreaterThan(0);
    expect(temperature.strength).not.toBe('weak');
    expect(drivers.summary).toMatch(/Temperature raises sales/);
  });

  it('/segments: every store in one named segment; /top stores in segment N ranks only its stores', async () => {
    const reply = await ask('segments');
    const rows = reply.data.stores as { store: number; segment: number; name: string }[];
    expect(rows.map((r) => r.store).sort((a, b) => a - b)).toEqual(STORES);
    const segments = [...new Set(rows.map((r) => r.segment))].sort();
    expect(segments).toEqual(Array.from({ length: segments.length }, (_, i) => i + 1));
    expect(segments.length).toBeGreaterThanOrEqual(2);
    for (const r of rows) expect(r.name).toMatch(/^(Large|Mid-size|Small), (holiday-heavy|low-season|steady), (growing|shrinking|flat)/);
    const members = rows.filter((r) => r.segment === 1).map((r) => r.store);
    const top = await ask('top stores in segment 1');
    const ranked = (top.data.rows as { id: number }[]).map((r) => r.id);
    expect(ranked.sort((a, b) => a - b)).toEqual([...members].sort((a, b) => a - b));
    expect(top.title).toContain('in segment 1');
  });

  it('restricted: a viewer gets answers about the stores they may see, and segments narrowed to them', async () => {
    const restricted = testServices(t.db, { STORECAST_ACCESS: 'restricted' });
    const viewer: Asker = { platform: 'slack', workspace: 'T1', channel: 'C1', user: 'U9', roles: [] };
    for (const store of [1, 2, 3]) await addGrant(t.db, { principal: 'slack:T1/U9', role: 'viewer', scope: { kind: 'store', store } });
    const md = await restricted.run({ name: 'markdown-impact', text: 'chain' }, viewer);
    expect(md.kind).toBe('ok');
    expect(md.reply.title).toBe('your 3 stores: markdown impact');
    expect(md.reply.data.stores).toBe(3);
    const hidden = await restricted.run({ name: 'drivers', text: 'store 7' }, viewer);
    expect(hidden.kind).toBe('denied');
    const segments = await restricted.run({ name: 'segments', text: '' }, viewer);
    expect((segments.reply.data.stores as { store: number }[]).map((s) => s.store).sort()).toEqual([1, 2, 3]);
  });
});
