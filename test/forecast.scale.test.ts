import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { loadPanel } from '../src/forecast/dataset.ts';
import { LARGE_DEPARTMENT_STORES, originState, warmOrigin } from '../src/forecast/features.ts';
import { DEFAULT_HYPERPARAMETERS } from '../src/forecast/model.ts';
import { buildPanel, PanelBuilder, type Panel, type SalesRow } from '../src/forecast/panel.ts';
import { addToGram, lowRank, projectRow, symmetrize, topEigenvectors } from '../src/forecast/svd.ts';
import { buildSamples, scaleSeriesPerOrigin, seriesSubsets } from '../src/forecast/train.ts';
import { prng } from '../src/util/random.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';

/** Stores x departments with a shared seasonal shape per department, a store level, noise; some series start late. */
function chainRows(stores: number, depts: number, weeks: number, seed = 3): SalesRow[] {
  const rand = prng(seed);
  const rows: SalesRow[] = [];
  for (let s = 1; s <= stores; s++) {
    for (let d = 1; d <= depts; d++) {
      const level = 1000 + 40 * s + 300 * d;
      const start = (s * 7 + d) % 5 === 0 ? 20 : 0;
      for (let i = start; i < weeks; i++) {
        if (rand() < 0.02) continue; // an absent week: nothing sold
        const season = 1 + 0.3 * Math.sin((2 * Math.PI * i) / 52 + d) + 0.1 * Math.cos((4 * Math.PI * i) / 52);
        rows.push({ store: s, dept: d, week: addWeeks('2010-02-05', i), sales: level * season * (1 + 0.1 * (rand() - 0.5)), isHoliday: i % 52 === 42 });
      }
    }
  }
  return rows;
}

describe('week-side SVD (large departments)', () => {
  it('projects like the store-side rank-k smoothing when the spectrum has a gap', () => {
    const rows = 60;
    const cols = 90;
    const rand = prng(11);
    const a = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        a[r * cols + c] = (1 + (r % 7)) * 1000 * Math.sin(c / 9) + (r % 3) * 400 * Math.cos(c / 4) + 800 + (rand() - 0.5) * 5;
      }
    }
    const ref = lowRank(a, rows, cols, 3);
    const g = new Float64Array(cols * cols);
    for (let r = 0; r < rows; r++) addToGram(g, a.subarray(r * cols, (r + 1) * cols), cols);
    symmetrize(g, cols);
    const basis = topEigenvectors(g, cols, cols, 3);
    let worst = 0;
    for (let r = 0; r < rows; r++) {
      const p = projectRow(a.subarray(r * cols, (r + 1) * cols), cols, basis, 3);
      for (let c = 0; c < cols; c++) worst = Math.max(worst, Math.abs((p[c] as number) - (ref[r * cols + c] as number)));
    }
    // Values are ~1,000s; the iteration stops at residuals of 1e-6 of the top eigenvalue.
    expect(worst).toBeLessThan(1e-2);
  });

  it('reads the leading block of a larger Gram (the data up to an origin)', () => {
    const cols = 40;
    const lead = 25;
    const rows = Array.from({ length: 30 }, (_, r) => Float64Array.from({ length: cols }, (_, c) => (r + 1) * Math.sin(c / 5 + r / 10) + 3));
    const full = new Float64Array(cols * cols);
    const small = new Float64Array(lead * lead);
    for (const row of rows) {
      addToGram(full, row, cols);
      addToGram(small, row.subarray(0, lead), lead);
    }
    symmetrize(full, cols);
    symmetrize(small, lead);
    const a = topEigenvectors(full, cols, lead, 2);
    const b = topEigenvectors(small, lead, lead, 2);
    const p = projectRow(rows[4]!.subarray(0, lead), lead, a, 2);
    const q = projectRow(rows[4]!.subarray(0, lead), lead, b, 2);
    for (let c = 0; c < lead; c++) expect(p[c]).toBeCloseTo(q[c] as number, 8);
  });
});

describe('origin state of a large chain', () => {
  const stores = LARGE_DEPARTMENT_STORES + 20;
  const panel = buildPanel(chainRows(stores, 2, 110));
  const origin = 100;

  it('keeps exact department totals and smooths members like the store-side SVD', () => {
    const ids = panel.series.flatMap((s, i) => (s.dept === 1 ? [i] : []));
    const st = originState(panel, origin, { svdRank: 4 }, ids, false);
    // Reference: the department's store x week matrix up to the origin, store-side rank 4.
    const members = ids.filter((i) => panel.series[i]!.first <= origin);
    const len = origin + 1;
    const m = new Float64Array(members.length * len);
    const sum = new Float64Array(len);
    members.forEach((si, r) => {
      const f = st.filled[si]!;
      for (let c = 0; c < len; c++) {
        const v = Number.isNaN(f[c] as number) ? 0 : (f[c] as number);
        m[r * len + c] = v;
        sum[c] = (sum[c] as number) + (Number.isNaN(f[c] as number) ? 0 : v);
      }
    });
    expect(Array.from(st.deptAgg.get(1)!.sum)).toEqual(Array.from(sum));
    const ref = lowRank(m, members.length, len, 4);
    let worst = 0;
    members.forEach((si, r) => {
      const sm = st.smooth[si]!;
      for (let c = 0; c < len; c++) if (!Number.isNaN(sm[c] as number)) worst = Math.max(worst, Math.abs((sm[c] as number) - (ref[r * len + c] as number)));
    });
    // Same projection up to the noise components (10% noise, rank 4: near-equal eigenvalues
    // past the signal make the 4th direction a close call either way); an index or mask
    // mistake would be off by the values themselves (~1,000s).
    expect(worst).toBeLessThan(10);
  });

  it('computes only the asked series and agrees with a call that asks for all', () => {
    const all = originState(panel, origin, { svdRank: 4 });
    const some = originState(panel, origin, { svdRank: 4 }, [3, 150], true);
    for (const si of [3, 150]) {
      expect(Array.from(some.smooth[si]!)).toEqual(Array.from(all.smooth[si]!));
      expect(some.scale[si]).toBe(all.scale[si]);
    }
    expect(some.filled[4]!.length).toBe(0);
  });
});

describe('scale mode sampling', () => {
  const panel = buildPanel(chainRows(30, 3, 120));
  const hyper = { ...DEFAULT_HYPERPARAMETERS, maxTrainRows: 3000, maxValRows: 800, originStep: 6, valWeeks: 8, svdRank: 3 };
  const until = panel.weeks.length - 1;

  it('switches on above the series threshold, or when forced', () => {
    expect(scaleSeriesPerOrigin(3331)).toBeUndefined();
    expect(scaleSeriesPerOrigin(330_000)).toBe(5000);
    expect(scaleSeriesPerOrigin(100, { mode: 'on', seriesPerOrigin: 40 })).toBe(40);
    expect(scaleSeriesPerOrigin(330_000, { mode: 'off' })).toBeUndefined();
    expect(scaleSeriesPerOrigin(500, { seriesThreshold: 400 })).toBe(5000);
  });

  it('draws distinct, sorted, seeded series per origin', () => {
    const a = seriesSubsets(90, 5, 20, 42)!;
    expect(a).toHaveLength(5);
    for (const s of a) {
      expect(new Set(s).size).toBe(20);
      expect(Array.from(s)).toEqual([...s].sort((x, y) => x - y));
    }
    expect(a.map((s) => Array.from(s))).toEqual(seriesSubsets(90, 5, 20, 42)!.map((s) => Array.from(s)));
    expect(Array.from(a[0]!)).not.toEqual(Array.from(a[1]!));
    expect(seriesSubsets(90, 5, 90, 42)).toBeUndefined();
  });

  it('takes each origin’s rows from its drawn series only, and still fills the row budget', async () => {
    const seen: { rows: number; series: number }[] = [];
    const { train, val, origins } = await buildSamples(panel, { until, hyper, seriesPerOrigin: 25, onOrigin: (r) => seen.push(r) });
    const subsets = seriesSubsets(panel.series.length, origins.length, 25, hyper.seed)!;
    expect(seen).toHaveLength(origins.length);
    expect(seen.every((r) => r.series <= 25)).toBe(true);
    expect(train.n).toBeGreaterThan(hyper.maxTrainRows * 0.8);
    expect(val.n).toBeGreaterThan(hyper.maxValRows * 0.5);
    const allowed = new Set(subsets.flatMap((s) => Array.from(s)));
    for (let i = 0; i < train.n; i++) expect(allowed.has(train.series[i] as number)).toBe(true);
  });

  it('leaves the full mode as it was: no subset means every series, same rows twice', async () => {
    const a = await buildSamples(panel, { until, hyper });
    const b = await buildSamples(panel, { until, hyper, seriesPerOrigin: panel.series.length });
    expect(b.train.n).toBe(a.train.n);
    expect(Buffer.compare(Buffer.from(a.train.x.buffer), Buffer.from(b.train.x.buffer))).toBe(0);
  });

  it('is a setting: STORECAST_TRAIN_SCALE, _SERIES and _SAMPLE', () => {
    expect(loadConfig({}).trainScale).toEqual({ mode: 'auto', seriesThreshold: 20_000, seriesPerOrigin: 5000 });
    const c = loadConfig({ STORECAST_TRAIN_SCALE: 'on', STORECAST_TRAIN_SCALE_SERIES: '1000', STORECAST_TRAIN_SCALE_SAMPLE: '800' });
    expect(c.trainScale).toEqual({ mode: 'on', seriesThreshold: 1000, seriesPerOrigin: 800 });
    expect(() => loadConfig({ STORECAST_TRAIN_SCALE: 'sometimes' })).toThrow(/STORECAST_TRAIN_SCALE/);
  });
});

describe('panel building', () => {
  it('PanelBuilder on grid indices gives what buildPanel gives from rows', () => {
    const rows = chainRows(4, 3, 60);
    const a = buildPanel(rows);
    const b = new PanelBuilder(a.weeks[0]!, a.weeks.length);
    for (const r of [...rows].reverse()) b.add(r.store, r.dept, a.weeks.indexOf(r.week), r.sales, r.isHoliday === true);
    const p = b.finish();
    expect(p.weeks).toEqual(a.weeks);
    expect(p.series).toEqual(a.series);
    expect([...p.holidayWeeks].sort()).toEqual([...a.holidayWeeks].sort());
    expect(() => b.add(1, 1, a.weeks.length, 1, false)).toThrow(RangeError);
  });
});

for (const kind of DB_KINDS) {
  describe(`loadPanel streams chunks of stores (${kind})`, () => {
    let t: TestDatabase;
    const rows = chainRows(7, 3, 40).filter((r) => r.store !== 4); // a gap in the store ids
    beforeAll(async () => {
      t = await createTestDatabase(kind);
      const values = rows.map((r) => `(${r.store}, ${r.dept}, '${r.week}', ${r.sales}, ${r.isHoliday === true})`);
      await t.db.exec(`INSERT INTO weekly_sales (store_id, dept_id, week, sales, is_holiday) VALUES ${values.join(',')}`);
      await t.db.exec(`INSERT INTO stores (store_id, type, size) VALUES (1, 'A', 150000), (6, 'B', 90000)`);
      await t.db.exec(`INSERT INTO store_features (store_id, week, temperature, markdown1) VALUES (1, '2010-02-05', 40, 100), (7, '2010-02-12', 50, NULL)`);
    }, 60_000);
    afterAll(async () => t?.cleanup());

    const same = (p: Panel, q: Panel) => {
      expect(p.weeks).toEqual(q.weeks);
      expect(p.series).toEqual(q.series);
      expect([...p.holidayWeeks].sort()).toEqual([...q.holidayWeeks].sort());
    };

    it('gives the same panel in chunks of 2 stores as in one chunk and as buildPanel', async () => {
      const chunks: number[] = [];
      const small = await loadPanel(t.db, { storesPerChunk: 2, onChunk: (c) => chunks.push(c.rows) });
      const one = await loadPanel(t.db, { storesPerChunk: 1000 });
      same(small, one);
      same(small, buildPanel(rows));
      expect(chunks.length).toBeGreaterThanOrEqual(3);
      expect(chunks.at(-1)).toBe(rows.length);
      expect(small.stores.get(6)).toEqual({ type: 'B', size: 90000 });
      expect(small.covariates.get('1|2010-02-05')?.markdown).toBe(100);
      expect(small.covariates.get('7|2010-02-12')?.temperature).toBe(50);
    });

    it('honours until, and an empty table gives an empty panel', async () => {
      const p = await loadPanel(t.db, { until: '2010-06-04', storesPerChunk: 3 });
      same(p, buildPanel(rows.filter((r) => r.week <= '2010-06-04')));
      const empty = await createTestDatabase('pglite');
      try {
        expect((await loadPanel(empty.db)).series).toEqual([]);
      } finally {
        await empty.cleanup();
      }
    });
  });
}

describe('warmOrigin', () => {
  it('caches every department so later calls reuse the same blocks', async () => {
    const panel = buildPanel(chainRows(LARGE_DEPARTMENT_STORES + 5, 2, 80));
    const before = originState(panel, 70, { svdRank: 3 }, [0, 1], false);
    let yields = 0;
    await warmOrigin(panel, 70, { svdRank: 3 }, async () => {
      yields++;
    });
    expect(yields).toBe(2);
    const after = originState(panel, 70, { svdRank: 3 }, [0, 1]);
    expect(Array.from(after.smooth[1]!)).toEqual(Array.from(before.smooth[1]!));
    expect(Array.from(after.deptAgg.get(2)!.sum)).toEqual(Array.from(before.deptAgg.get(2)!.sum));
  });
});
