import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs } from './helpers/logs.ts';
import { openDatabase, type Database } from '../src/db/client.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { holidayWeek } from '../src/data/holidays.ts';
import { runBacktest } from '../src/forecast/backtest.ts';
import { FALLBACK_NOTES, ModelForecaster } from '../src/forecast/model-forecaster.ts';
import type { Hyperparameters } from '../src/forecast/model.ts';
import { buildPanel, gridIndex, type Panel, type SalesRow } from '../src/forecast/panel.ts';
import { startBackgroundTraining } from '../src/forecast/index.ts';
import { trainAndRegister } from '../src/forecast/pipeline.ts';
import { activateModel, listModels, loadModel, trainingInProgress } from '../src/forecast/registry.ts';
import { ensureBackend } from '../src/forecast/tf.ts';
import { forecastSeries, MEMBER_NAMES, trainModel } from '../src/forecast/ensemble.ts';
import { prng as mulberry32 } from '../src/util/random.ts';
import { createLogger } from '../src/logger.ts';

/** Tiny settings: the tests check behaviour, not accuracy at scale. */
const TINY: Partial<Hyperparameters> = {
  hidden: [16, 8],
  maxTrainRows: 12_000,
  maxValRows: 4_000,
  epochs: 6,
  patience: 3,
  valWeeks: 8,
  originStep: 3,
  svdRank: 3,
};

/**
 * A synthetic chain with a known pattern: each store x dept has a base level, a shared
 * yearly curve, Thanksgiving and pre-Christmas peaks, 8% yearly growth and independent
 * noise (15% of the level). Seasonal naive copies last year's noise; a model that averages
 * across stores and years and follows the growth should beat it.
 */
function syntheticRows(seed: number, stores = 8, depts = 4, weeks = 135): SalesRow[] {
  const rand = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const rows: SalesRow[] = [];
  const start = '2010-02-05';
  for (let s = 1; s <= stores; s++) {
    for (let d = 1; d <= depts; d++) {
      const base = 2000 + 1500 * s + 700 * d;
      for (let i = 0; i < weeks; i++) {
        const week = addWeeks(start, i);
        const y = Number(week.slice(0, 4));
        const doy = (Date.parse(`${week}T00:00:00Z`) - Date.UTC(y, 0, 1)) / 86_400_000;
        let season = 1 + 0.25 * Math.sin((2 * Math.PI * doy) / 365.25) + 0.1 * d * Math.cos((4 * Math.PI * doy) / 365.25);
        const tg = holidayWeek('Thanksgiving', y);
        const xmasBefore = addWeeks(holidayWeek('Christmas', y), -1);
        if (week === tg) season *= 1.8;
        if (week === xmasBefore) season *= 2.2;
        const growth = Math.pow(1.08, i / 52);
        const sales = base * season * growth * (1 + 0.15 * normal());
        const isHoliday = week === tg || week === holidayWeek('Christmas', y) || week === holidayWeek('Super Bowl', y) || week === holidayWeek('Labor Day', y);
        rows.push({ store: s, dept: d, week, sales, isHoliday });
      }
    }
  }
  return rows;
}

const logger = createLogger('silent');

beforeAll(async () => {
  await ensureBackend('auto');
});

describe('global model on a synthetic chain', () => {
  const panel: Panel = buildPanel(syntheticRows(7));

  it('beats seasonal naive in a backtest, with a sane interval', async () => {
    const report = await runBacktest(panel, { origin: '2012-01-27', horizon: 26, hyper: { ...TINY, seed: 3 } });
    const by = Object.fromEntries(report.results.map((r) => [r.name, r]));
    expect(report.rows).toBe(8 * 4 * 26);
    expect(by['model']?.wmae).toBeLessThan(0.9 * (by['seasonal-naive']?.wmae as number));
    expect(by['model']?.coverage).toBeGreaterThan(0.6);
    expect(by['model']?.coverage).toBeLessThan(0.97);
  }, 120_000);

  it('is reproducible: the same seed gives the same metrics and forecasts', async () => {
    const a = await trainModel(panel, { until: '2011-12-30', hyper: { ...TINY, epochs: 3, seed: 11 } });
    const b = await trainModel(panel, { until: '2011-12-30', hyper: { ...TINY, epochs: 3, seed: 11 } });
    const c = await trainModel(panel, { until: '2011-12-30', hyper: { ...TINY, epochs: 3, seed: 12 } });
    const { seconds: _s1, sampleSeconds: _p1, rowsPerSecond: _r1, ...ma } = a.metrics;
    const { seconds: _s2, sampleSeconds: _p2, rowsPerSecond: _r2, ...mb } = b.metrics;
    expect(ma).toEqual(mb);
    expect(c.metrics.valWmae).not.toBe(a.metrics.valWmae);
    const origin = gridIndex(panel, '2011-12-30');
    const fa = await forecastSeries(a, panel, origin, [0, 5], 10);
    const fb = await forecastSeries(b, panel, origin, [0, 5], 10);
    expect(Array.from(fa[1]?.p50 ?? [])).toEqual(Array.from(fb[1]?.p50 ?? []));
    for (const f of fa) {
      for (let h = 0; h < 10; h++) {
        expect(f.p10[h]).toBeLessThanOrEqual(f.p50[h] as number);
        expect(f.p90[h]).toBeGreaterThanOrEqual(f.p50[h] as number);
      }
    }
    for (const m of [a, b, c]) m.network.dispose();
  }, 120_000);
});

describe('model registry and ModelForecaster on PGlite', () => {
  let db: Database;
  const rows = syntheticRows(21, 5, 3, 125);

  beforeAll(async () => {
    db = await openDatabase({ database: { kind: 'pglite', dataDir: 'memory://' } });
    await db.query(
      `INSERT INTO weekly_sales (store_id, dept_id, week, sales, is_holiday)
       SELECT * FROM unnest($1::int[], $2::int[], $3::date[], $4::float8[], $5::bool[])`,
      [rows.map((r) => r.store), rows.map((r) => r.dept), rows.map((r) => r.week), rows.map((r) => r.sales), rows.map((r) => r.isHoliday ?? false)],
    );
    await db.query(
      `INSERT INTO store_week_sales (store_id, week, sales, is_holiday, dept_count, source)
       SELECT store_id, week, sum(sales), bool_or(is_holiday), count(*), 'departments' FROM weekly_sales GROUP BY store_id, week`,
    );
  }, 60_000);

  afterAll(async () => {
    await db?.close();
  });

  it('answers with seasonal naive and says so while there is no model', async () => {
    const f = new ModelForecaster({ refreshMs: 0 });
    const r = await f.forecast(db, { store: 2, dept: 1 }, 4);
    expect(r.model).toBe('seasonal-naive');
    expect(r.note).toContain(FALLBACK_NOTES.none);
    expect(r.points).toHaveLength(4);
  });

  it('save -> load through the database gives identical predictions; activation switches without restart', async () => {
    const first = await trainAndRegister(db, { tfBackend: 'auto' }, logger, { hyper: { ...TINY, seed: 5 } });
    expect(first?.version).toBe(1);
    const loaded = await loadModel(db, 1);
    // The members' combination is stored with the network: every replica serves the same forecast.
    expect(first!.model.combination?.weights).toHaveLength(MEMBER_NAMES.length);
    expect(loaded.combination).toEqual(first!.model.combination);
    const panel = buildPanel(rows);
    const origin = panel.weeks.length - 1;
    const ids = [0, 3, 7, 14];
    const direct = await forecastSeries(first!.model, panel, origin, ids, 52);
    const viaDb = await forecastSeries(loaded, panel, origin, ids, 52);
    for (let k = 0; k < ids.length; k++) {
      expect(Array.from(viaDb[k]?.p50 ?? [])).toEqual(Array.from(direct[k]?.p50 ?? []));
      expect(Array.from(viaDb[k]?.p10 ?? [])).toEqual(Array.from(direct[k]?.p10 ?? []));
      expect(Array.from(viaDb[k]?.p90 ?? [])).toEqual(Array.from(direct[k]?.p90 ?? []));
    }

    const f = new ModelForecaster({ refreshMs: 0 });
    const r1 = await f.forecast(db, { store: panel.series[3]!.store, dept: panel.series[3]!.dept }, 52);
    expect(r1.model).toBe('global-mlp v1');
    expect(r1.note).toBeUndefined();
    expect(r1.points.map((p) => p.value)).toEqual(Array.from(direct[1]?.p50 ?? []));
    // Warmed ahead of the first question (as the server does once its data is in): the bases
    // built in the background give the same answer as those built on demand.
    const logs = captureLogs();
    const warmed = new ModelForecaster({ refreshMs: 0, logger: logs.logger });
    await warmed.warm(db);
    expect(logs.lines.find((l) => l.msg === 'forecast bases built for the latest week')).toMatchObject({ series: panel.series.length });
    expect((await warmed.forecast(db, { store: panel.series[3]!.store, dept: panel.series[3]!.dept }, 52)).points).toEqual(r1.points);
    const store = await f.forecast(db, { store: 1 }, 8);
    expect((await warmed.forecast(db, { store: 1 }, 8)).points).toEqual(store.points);
    // Many stores in one pass (region and chain summaries) answer as one call per store does.
    const pastOrigin = panel.weeks.at(-10)!;
    for (const opts of [{}, { origin: pastOrigin }]) {
      const many = await f.forecastStores(db, [1, 2, 3, 999], 8, opts);
      expect([...many.keys()].sort()).toEqual([1, 2, 3]);
      for (const s of [1, 2, 3]) {
        const one = await f.forecast(db, { store: s }, 8, opts);
        const batch = many.get(s)!;
        expect(batch.model).toBe(one.model);
        expect(batch.points.map((p) => p.week)).toEqual(one.points.map((p) => p.week));
        batch.points.forEach((p, i) => {
          expect(p.value).toBeCloseTo(one.points[i]!.value, 2);
          expect(p.lower).toBeCloseTo(one.points[i]!.lower, 2);
          expect(p.upper).toBeCloseTo(one.points[i]!.upper, 2);
        });
      }
    }
    expect(store.points).toHaveLength(8);
    for (const p of store.points) expect(p.lower <= p.value && p.value <= p.upper).toBe(true);

    const second = await trainAndRegister(db, { tfBackend: 'auto' }, logger, { hyper: { ...TINY, seed: 6 }, activate: 'never' });
    expect(second?.version).toBe(2);
    expect((await f.forecast(db, { store: 1, dept: 1 }, 4)).model).toBe('global-mlp v1');
    await activateModel(db, 2);
    expect((await f.forecast(db, { store: 1, dept: 1 }, 4)).model).toBe('global-mlp v2');
    await activateModel(db, 1); // roll back
    expect((await f.forecast(db, { store: 1, dept: 1 }, 4)).model).toBe('global-mlp v1');
    const models = await listModels(db);
    expect(models.map((m) => [m.version, m.status, m.active])).toEqual([
      [1, 'ready', true],
      [2, 'ready', false],
    ]);
    expect(models[0]?.dataFingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(models[0]?.dataFingerprint).toBe(models[1]?.dataFingerprint);
    await expect(activateModel(db, 99)).rejects.toThrow(/does not exist/);
    first!.model.network.dispose();
    second!.model.network.dispose();
  }, 180_000);
});

async function insertRows(db: Database, rows: SalesRow[]): Promise<void> {
  await db.query(
    `INSERT INTO weekly_sales (store_id, dept_id, week, sales, is_holiday)
     SELECT * FROM unnest($1::int[], $2::int[], $3::date[], $4::float8[], $5::bool[])
     ON CONFLICT (store_id, dept_id, week) DO UPDATE SET sales = excluded.sales`,
    [rows.map((r) => r.store), rows.map((r) => r.dept), rows.map((r) => r.week), rows.map((r) => r.sales), rows.map((r) => r.isHoliday ?? false)],
  );
  await db.query('DELETE FROM store_week_sales');
  await db.query(
    `INSERT INTO store_week_sales (store_id, week, sales, is_holiday, dept_count, source)
     SELECT store_id, week, sum(sales), bool_or(is_holiday), count(*), 'departments' FROM weekly_sales GROUP BY store_id, week`,
  );
}

describe('first start: background training', () => {
  it('answers with seasonal naive (saying so) while training, then with the model; keeps the event loop responsive', async () => {
    const db = await openDatabase({ database: { kind: 'pglite', dataDir: 'memory://' } });
    try {
      const rows = syntheticRows(33, 4, 3, 120);
      await insertRows(db, rows);
      const forecaster = new ModelForecaster({ refreshMs: 0 });
      let maxLag = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        maxLag = Math.max(maxLag, now - last - 10);
        last = now;
      }, 10);
      const bg = startBackgroundTraining(db, { tfBackend: 'auto' }, logger, { forecaster, delayMs: 0, hyper: TINY });
      // Wait until the run has claimed its registry row, then ask.
      for (let i = 0; i < 200 && !(await trainingInProgress(db)); i++) await new Promise((r) => setTimeout(r, 5));
      const during = await forecaster.forecast(db, { store: 1, dept: 2 }, 6);
      const result = await bg.done;
      clearInterval(timer);
      expect(during.model).toBe('seasonal-naive');
      expect(during.note).toContain(FALLBACK_NOTES.training);
      expect(result?.version).toBe(1);
      const after = await forecaster.forecast(db, { store: 1, dept: 2 }, 6);
      expect(after.model).toBe('global-mlp v1');
      expect(after.note).toBeUndefined();
      // Yields between batches: no multi-second freeze (generous bound for a busy CI box).
      expect(maxLag).toBeLessThan(2000);
      // A second start finds the model and does not train again.
      expect(await startBackgroundTraining(db, { tfBackend: 'auto' }, logger, { delayMs: 0, hyper: TINY }).done).toBeUndefined();
      expect((await listModels(db)).length).toBe(1);

      // New data invalidates cached forecasts: the next forecast starts after the new week.
      const lastWeek = after.points[0] ? addWeeks(after.points[0].week, -1) : '';
      const next = addWeeks(lastWeek, 1);
      // A forecaster whose panel is slow to load (Walmart size) answers from the one it has
      // meanwhile, and from the new one once it is built.
      const patient = new ModelForecaster({ refreshMs: 0, panelWaitMs: -1 });
      expect((await patient.forecast(db, { store: 1, dept: 2 }, 6)).points[0]?.week).toBe(addWeeks(lastWeek, 1));
      await insertRows(db, [{ store: 1, dept: 2, week: next, sales: 12345, isHoliday: false }]);
      const fresh = await forecaster.forecast(db, { store: 1, dept: 2 }, 6);
      expect(fresh.points[0]?.week).toBe(addWeeks(next, 1));
      expect((await patient.forecast(db, { store: 1, dept: 2 }, 6)).points[0]?.week).toBe(addWeeks(lastWeek, 1));
      await patient.warm(db);
      expect((await patient.forecast(db, { store: 1, dept: 2 }, 6)).points[0]?.week).toBe(addWeeks(next, 1));
    } finally {
      await db.close();
    }
  }, 120_000);

  it('never throws when training fails (no data): logs, marks the run failed, keeps seasonal naive', async () => {
    const db = await openDatabase({ database: { kind: 'pglite', dataDir: 'memory://' } });
    try {
      const bg = startBackgroundTraining(db, { tfBackend: 'auto' }, logger, { delayMs: 0, hyper: TINY });
      await expect(bg.done).resolves.toBeUndefined();
      const models = await listModels(db);
      expect(models.map((m) => m.status)).toEqual(['failed']);
      expect(models[0]?.error).toMatch(/no sales data|needs at least/);
    } finally {
      await db.close();
    }
  }, 60_000);
});
