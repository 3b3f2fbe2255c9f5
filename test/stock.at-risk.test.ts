import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateRules } from '../src/alerts/evaluate.ts';
import { createRule, type AlertRuleRow } from '../src/alerts/rules.ts';
import { importRecords } from '../src/data/import.ts';
import { addWeeks } from '../src/data/weeks.ts';
import type { Forecaster } from '../src/forecast/forecaster.ts';
import { claimRun, finishRun, writeRunRows, type StoredSeries } from '../src/forecast/stored.ts';
import { StoredForecaster } from '../src/forecast/stored-forecaster.ts';
import { createOutbound } from '../src/net/outbound.ts';
import { stockAtRisk, type StockAtRisk } from '../src/stock/at-risk.ts';
import { byRisk, coverInScope, type DeptCover } from '../src/stock/positions.ts';
import { prng } from '../src/util/random.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

/**
 * The stock a chain-wide alert evaluation reads (Postgres picks the departments that may be
 * below a threshold from the stored arrays) against every department's cover computed in
 * TypeScript from the same stored forecasts, as before: the same departments below every
 * threshold, with the same figures, on data made of edge cases.
 */
const ORIGIN = '2012-10-26';
const FIRST = addWeeks(ORIGIN, 1);
const STORES = [1, 2, 3, 4, 5, 6];
const DEPTS = 36;
const REGIONS: Record<number, string> = { 1: 'South', 2: 'South', 3: 'West', 4: 'West' };
const days = (date: string, n: number) => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/** Weekly demand in cents: zero, returns (negative weeks), a week that is not a number, cents that add up to ties in dollars. */
function seriesOf(store: number, dept: number, rand: () => number): StoredSeries | undefined {
  const kind = dept % 10;
  if (kind === 0) return undefined; // no sales to forecast from
  const base = dept >= 31 ? 10 + (dept % 3) * 10 : 20_000 + Math.floor(rand() * 300_000);
  const p50 = Array.from({ length: 52 }, (_, w) => (kind === 1 ? 0 : Math.round(base * (1 + 0.4 * Math.sin(w + store)))));
  if (kind === 2) for (const w of [0, 2, 5]) p50[w] = -Math.round(base / 3);
  if (kind === 3) p50[1 + (store % 3)] = NaN;
  const p90 = p50.map((v, w) => (kind === 4 && w === 3 ? v : Math.round(v * 1.4)));
  // Stored in cents: the writer rounds dollars to cents.
  const dollars = (xs: number[]) => xs.map((v) => v / 100);
  return { store, dept, p10: dollars(p50.map((v) => v * 0.6)), p50: dollars(p50), p90: dollars(p90) };
}

/** Stock counts: none, exact ties with a few weeks' demand, stale counts, counts past the horizon, orders before, in and after the weeks read. */
function snapshotsOf(store: number, dept: number, s: StoredSeries | undefined, rand: () => number): unknown[][] {
  const week = (w: number) => Math.max(0, Math.round((s?.p50[w] ?? 0) * 100) || 0);
  const weekly = s ? week(0) / 100 : 500;
  const tie = (k: number, of: ArrayLike<number> | undefined) => Array.from({ length: k }, (_, w) => Math.max(0, Math.round((of?.[w] ?? 0) * 100) || 0)).reduce((a, v) => a + v, 0) / 100;
  const pos = { asOf: ORIGIN, onHand: Math.round(weekly * rand() * 600) / 100, onOrder: null as number | null, orderDate: null as string | null, lead: 1 + ((store + dept) % 3) as number | null };
  switch ((store + dept) % 11) {
    case 0: pos.onHand = 0; break;
    case 1: pos.onHand = tie(1 + (dept % 4), s?.p50); break;
    case 2: pos.onHand = tie(1 + (dept % 3), s?.p90); break;
    case 3: pos.asOf = days(ORIGIN, -21); break;
    case 4: pos.asOf = addWeeks(FIRST, 27); break;
    case 5: pos.asOf = days(ORIGIN, 10); pos.lead = null; break;
    case 6: [pos.onOrder, pos.orderDate] = [weekly * 2, addWeeks(FIRST, 1)]; break;
    case 7: [pos.onOrder, pos.orderDate, pos.lead] = [null, addWeeks(FIRST, 1), 0.5]; break;
    case 8: [pos.onOrder, pos.orderDate, pos.lead] = [weekly, days(ORIGIN, -3), 4.2]; break;
    case 9: pos.onHand = Math.round(weekly * 3000) / 100; break;
    case 10: [pos.onOrder, pos.orderDate, pos.onHand] = [weekly * 5, addWeeks(FIRST, 40), tie(2, s?.p50)]; break;
  }
  const rows = [[store, dept, pos.asOf, pos.onHand, pos.onOrder, pos.orderDate, pos.lead]];
  // An older count of some departments: the latest one is what counts.
  if (dept % 4 === 0) rows.push([store, dept, days(pos.asOf, -14), 1, null, null, null]);
  return rows;
}

async function seed(t: TestDatabase): Promise<void> {
  for (const store of STORES) await t.db.query('INSERT INTO stores (store_id, type, size, region) VALUES ($1, $2, $3, $4)', [store, 'A', 150_000, REGIONS[store] ?? null]);
  // A week of sales per store: rules are set only on stores with sales.
  await importRecords(t.db, 'train', 'test:sales', [STORES.map((store) => [String(store), '1', ORIGIN, '100', 'FALSE'])]);
  await t.db.query(`INSERT INTO model_registry (version, status, active) VALUES (1, 'ready', true)`);
  const runId = (await claimRun(t.db, 1, ORIGIN, 'test'))!;
  const series: StoredSeries[] = [];
  const snapshots: unknown[][] = [];
  for (const store of STORES) {
    const rand = prng(store * 7919);
    for (let dept = 1; dept <= DEPTS; dept++) {
      const s = seriesOf(store, dept, rand);
      if (s) series.push(s);
      // Store 6 has forecasts but no stock counts; dept 33 of store 1 no count.
      if (store !== 6 && !(store === 1 && dept === 33)) snapshots.push(...snapshotsOf(store, dept, s, rand));
    }
  }
  await writeRunRows(t.db, runId, series);
  await finishRun(t.db, runId, { series: series.length, stores: STORES.length, seconds: 1, peakRssMb: 1 });
  await t.db.query(
    `INSERT INTO stock_snapshots (store_id, dept_id, as_of, on_hand, on_order, on_order_date, lead_time_weeks)
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(s int, d int, a date, h float8, o float8, od date, l float8)`,
    [JSON.stringify(snapshots.map(([s, d, a, h, o, od, l]) => ({ s, d, a, h, o, od, l })))],
  );
}

const key = (c: { store: number; dept: number }) => `${c.store}/${c.dept}`;
const strip = ({ demand: _, ...c }: DeptCover): DeptCover => c;
const below = (covers: readonly DeptCover[], basis: 'median' | 'p90', weeks: number) =>
  covers.filter((c) => c.cover && c.cover[basis].weeks !== null && c.cover[basis].weeks! < weeks).map(strip).sort(byRisk);
const counted = (r: StockAtRisk) => [...r.counted].flatMap(([store, list]) => list.map((d) => `${store}/${d.dept}@${d.asOf}`)).sort();

describe.each(DB_KINDS)('stock alert reads on %s', (kind) => {
  let t: TestDatabase;
  let stored: StoredForecaster;
  /** The serving forecaster without its stored run: every department's cover computed in TypeScript, as before. */
  let every: Forecaster;

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await seed(t);
    stored = new StoredForecaster(t.db, { refreshMs: 0 });
    every = { name: stored.name, forecast: (...a) => stored.forecast(...a), forecastDepartments: (...a) => stored.forecastDepartments(...a) };
  }, 120_000);
  afterAll(() => t?.cleanup());

  it('sends back only departments that may be below, and below every threshold they are the ones (and figures) computed from every department', async () => {
    const all = await coverInScope(t.db, every, { kind: 'chain' });
    expect(all.filter((c) => !c.cover)).not.toHaveLength(0); // no sales: no cover
    const byKey = new Map(all.map((c) => [key(c), strip(c)]));
    for (const weeks of [0.5, 1, 1.5, 2, 2.25, 3, 5.5, 26]) {
      for (const basis of ['median', 'p90'] as const) {
        const read = await stockAtRisk(t.db, stored, 'all', { median: basis === 'median' ? weeks : 0, p90: basis === 'p90' ? weeks : 0 });
        expect(below(read.covers, basis, weeks), `${basis} below ${weeks}`).toEqual(below(all, basis, weeks));
        // Whatever came back is the cover computed from every department's demand.
        for (const c of read.covers) expect(c).toEqual(byKey.get(key(c)));
        expect(counted(read)).toEqual(all.map((c) => `${c.store}/${c.dept}@${c.position.asOf}`).sort());
        if (weeks <= 1) expect(read.covers.length).toBeLessThan(all.length / 2);
      }
    }
    // The ties in dollars, the stale, late and mid-week counts and the orders are all in the data: some are below, not all.
    expect(below(all, 'p90', 2).length).toBeGreaterThan(10);
    expect(below(all, 'median', 26).length).toBeLessThan(all.length);
  });

  it('reads the stores asked for (repeated and unknown ones too), on both bases at once', async () => {
    const stores = [5, 2, 2, 99];
    const all = await coverInScope(t.db, every, { kind: 'stores', stores });
    const read = await stockAtRisk(t.db, stored, stores, { median: 1.5, p90: 3 });
    expect(below(read.covers, 'median', 1.5)).toEqual(below(all, 'median', 1.5));
    expect(below(read.covers, 'p90', 3)).toEqual(below(all, 'p90', 3));
    expect([...read.counted.keys()].sort()).toEqual([2, 5]);
  });

  it('a chain-wide evaluation of every kind of stock rule records what every department\'s cover gives', async () => {
    const outbound = createOutbound();
    const make = (scope: Parameters<typeof createRule>[2]['scope'], weeks: number, basis: 'median' | 'p90') =>
      createRule(t.db, undefined, { kind: 'stock', scope, condition: { type: 'cover-below', weeks, basis }, target: { kind: 'email', address: 'ops@example.com' }, delivery: OPERATOR_DELIVERY }, outbound);
    await make({ kind: 'store', store: 2 }, 2, 'p90');
    await make({ kind: 'store', store: 6 }, 2, 'p90');
    await make({ kind: 'region', region: 'South' }, 1, 'median');
    await make({ kind: 'dept', dept: 7 }, 3, 'p90');
    await make({ kind: 'chain' }, 1.5, 'p90');
    await make({ kind: 'store-dept', store: 3, dept: 12 }, 26, 'median');
    await make({ kind: 'region-dept', region: 'West', dept: 4 }, 2, 'p90');
    const rules = await t.db.query<AlertRuleRow>('SELECT * FROM alert_rules ORDER BY id');
    const results = async () => (await t.db.query<{ id: string; state: string; last_result: unknown }>('SELECT id, state, last_result FROM alert_rules ORDER BY id')).map((r) => ({ ...r, last_result: JSON.stringify(r.last_result) }));
    const read = await evaluateRules({ db: t.db, forecaster: stored }, rules);
    expect(read.failed).toEqual([]);
    const fromRead = await results();
    expect(fromRead.filter((r) => r.state === 'firing').length).toBeGreaterThanOrEqual(3);
    expect(fromRead.filter((r) => r.state === 'ok').length).toBeGreaterThanOrEqual(1);
    const computed = await evaluateRules({ db: t.db, forecaster: every }, await t.db.query<AlertRuleRow>('SELECT * FROM alert_rules ORDER BY id'));
    expect([computed.fired, computed.resolved, computed.failed]).toEqual([[], [], []]);
    expect(await results()).toEqual(fromRead);
  });

  it('without stored forecasts (no active model) every department is computed and kept in demand_forecasts, as before', async () => {
    await t.db.query('UPDATE model_registry SET active = false');
    try {
      expect(await stored.departmentsRun(t.db)).toBeUndefined();
      const read = await stockAtRisk(t.db, stored, [1, 2], { median: 0, p90: 2 });
      expect(read.covers.map(strip)).toEqual((await coverInScope(t.db, stored, { kind: 'stores', stores: [1, 2] })).map(strip));
      const [kept] = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM demand_forecasts WHERE store_id IN (1, 2)');
      expect(kept!.n).toBe(read.covers.length);
    } finally {
      await t.db.query('UPDATE model_registry SET active = true');
    }
  });
});
