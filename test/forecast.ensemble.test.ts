import { beforeAll, describe, expect, it } from 'vitest';
import { generateChain } from '../src/data/demo.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { runBacktest } from '../src/forecast/backtest.ts';
import { christmasDrift, rushDepartments, shiftChristmas } from '../src/forecast/christmas.ts';
import { calibrateCombination, calibrationAt, chooseWeights, combineSeries, fitCombination, GROUP_SHRINK, MIN_GROUP_ROWS, SHRINK_TO_EQUAL, weighedMembers, weightsFor, type InnerRows } from '../src/forecast/combination.ts';
import { forecastSeries, INNER_BUCKETS, memberForecasts, MEMBER_NAMES, trainModel } from '../src/forecast/ensemble.ts';
import { horizonInfos, setLevelOptions, statForecasts, STAT_MEMBERS } from '../src/forecast/members.ts';
import type { Hyperparameters } from '../src/forecast/model.ts';
import { buildPanel, gridIndex, type Panel, type SalesRow } from '../src/forecast/panel.ts';
import { originState } from '../src/forecast/features.ts';
import { ensureBackend } from '../src/forecast/tf.ts';

/**
 * The combined forecast on the demo data (deterministic generator, a few stores): each
 * statistical member, the Christmas shift, the weights and the calibration, and the leakage
 * guard of the whole combination.
 */

const TINY: Partial<Hyperparameters> = { hidden: [16, 8], maxTrainRows: 12_000, maxValRows: 4_000, epochs: 4, patience: 2, valWeeks: 8, originStep: 3, svdRank: 3, seed: 5 };

function demoRows(stores: number): SalesRow[] {
  const rows: SalesRow[] = [];
  for (const chunk of generateChain(stores).sales) {
    for (const [s, d, w, v, h] of chunk) rows.push({ store: Number(s), dept: Number(d), week: w as string, sales: Number(v), isHoliday: h === 'TRUE' });
  }
  return rows;
}

const rows = demoRows(6);
const panel: Panel = buildPanel(rows);
const ORIGIN = '2011-10-28';

beforeAll(async () => {
  await ensureBackend('auto');
});

describe('statistical members on the demo data', () => {
  const origin = gridIndex(panel, ORIGIN);
  const ids = panel.series.map((_, i) => i);
  const members = statForecasts(panel, origin, ids, 26, 3);

  it('forecasts every series with history, every week, finite, near the scale of the series', () => {
    const withHistory = ids.filter((i) => (panel.series[i]?.first ?? Infinity) <= origin);
    for (const m of STAT_MEMBERS) {
      const byId = members.get(m)!;
      expect(byId.size).toBe(withHistory.length);
      for (const [si, values] of byId) {
        expect(values).toHaveLength(26);
        const s = panel.series[si]!;
        let known = 0;
        let n = 0;
        for (let i = Math.max(s.first, origin - 51); i <= origin; i++) {
          if (Number.isNaN(s.y[i] as number)) continue;
          known += Math.abs(s.y[i] as number);
          n++;
        }
        const scale = known / Math.max(n, 1);
        for (const v of values) {
          expect(Number.isFinite(v)).toBe(true);
          expect(Math.abs(v)).toBeLessThan(10 * scale + 1000);
        }
      }
    }
  });

  it('each member beats plain last-year copying on average (smoothing pays on noisy demo series)', () => {
    const horizonWeeks = 26;
    const err = (get: (si: number, h: number) => number) => {
      let e = 0;
      for (const si of members.get('stl-ets')!.keys()) {
        const s = panel.series[si]!;
        for (let h = 0; h < horizonWeeks; h++) {
          const y = s.y[origin + 1 + h] as number;
          if (!Number.isNaN(y)) e += Math.abs(y - get(si, h));
        }
      }
      return e;
    };
    const naive = err((si, h) => {
      const v = panel.series[si]!.y[origin + 1 + h - 52] as number;
      return Number.isNaN(v) ? 0 : v;
    });
    for (const m of STAT_MEMBERS) expect(err((si, h) => members.get(m)!.get(si)![h] as number)).toBeLessThan(naive);
  });

  it('reads nothing after the origin', () => {
    const changed = buildPanel(rows.map((r) => (r.week > ORIGIN ? { ...r, sales: r.sales * 3 + 1000 } : r)));
    const again = statForecasts(changed, origin, ids, 26, 3);
    for (const m of STAT_MEMBERS) {
      for (const [si, values] of members.get(m)!) expect(Array.from(again.get(m)!.get(si)!)).toEqual(Array.from(values));
    }
  });
});

describe('svd-naive level estimates (compared by bench/backtest.ts --members)', () => {
  const origin = gridIndex(panel, ORIGIN);
  const ids = panel.series.map((_, i) => i);

  it('the level multiplies the smoothed seasonal naive: no level (gamma 0) divides out the default one', () => {
    const st = originState(panel, origin, { svdRank: 3 }, ids);
    const byDefault = statForecasts(panel, origin, ids, 13, 3, st).get('svd-naive')!;
    try {
      setLevelOptions({ window: 13, beta: 1, gamma: 0 });
      const flat = statForecasts(panel, origin, ids, 13, 3, st).get('svd-naive')!;
      let compared = 0;
      for (const [si, values] of flat) {
        const lvl = st.level[si] as number;
        if (lvl === 1) continue;
        values.forEach((v, h) => expect(v * lvl).toBeCloseTo(byDefault.get(si)![h] as number, 6));
        compared++;
      }
      expect(compared).toBeGreaterThan(5);
      // A smoothed-series level reads nothing after the origin either.
      setLevelOptions({ window: 8, beta: 0.5, gamma: 1 });
      const a = statForecasts(panel, origin, ids, 13, 3).get('svd-naive')!;
      const changed = buildPanel(rows.map((r) => (r.week > ORIGIN ? { ...r, sales: r.sales * 3 + 1000 } : r)));
      const b = statForecasts(changed, origin, ids, 13, 3).get('svd-naive')!;
      for (const [si, values] of a) expect(Array.from(b.get(si)!)).toEqual(Array.from(values));
      expect([...a].some(([si, v]) => v.some((x, h) => Math.abs(x - (byDefault.get(si)![h] as number)) > 1e-6))).toBe(true);
    } finally {
      setLevelOptions(undefined);
    }
    expect(Array.from(statForecasts(panel, origin, ids, 13, 3, st).get('svd-naive')!.get(ids[0]!) ?? [])).toEqual(Array.from(byDefault.get(ids[0]!) ?? []));
  });
});

describe('Christmas shift', () => {
  it('finds the departments with a rush in weeks 49-51 over weeks 48 and 52', () => {
    const xmas = gridIndex(panel, '2010-12-31');
    const flat = new Float64Array(panel.weeks.length).fill(100);
    const rush = Float64Array.from(flat);
    for (const k of [1, 2, 3]) rush[xmas - k] = 150;
    const mild = Float64Array.from(flat);
    for (const k of [1, 2, 3]) mild[xmas - k] = 105;
    const found = rushDepartments(panel, gridIndex(panel, ORIGIN), new Map([[1, flat], [2, rush], [3, mild]]));
    expect([...found]).toEqual([2]);
    // Before any December in the data: no department qualifies.
    expect(rushDepartments(panel, xmas - 1, new Map([[2, rush]])).size).toBe(0);
  });

  it('moves |drift|/7 of the neighbour week into each of weeks 49-52, nothing elsewhere', () => {
    expect(christmasDrift('2011-12-23')).toBe(1); // 2010 -> 2011: one day earlier in the season
    expect(christmasDrift('2012-12-21')).toBe(2); // 2011 -> 2012: two (leap day)
    expect(christmasDrift('2011-12-02')).toBe(0); // week 48
    expect(christmasDrift('2012-01-06')).toBe(0);
    const origin = gridIndex(panel, ORIGIN);
    const infos = horizonInfos(panel, origin, 20);
    const values = Float64Array.from(infos, (_, h) => 1000 + 100 * h);
    const before = Float64Array.from(values);
    shiftChristmas(values, infos);
    const rushWeeks = ['2011-12-09', '2011-12-16', '2011-12-23', '2011-12-30'];
    infos.forEach((t, h) => {
      if (!rushWeeks.includes(t.week)) expect(values[h]).toBe(before[h]);
      else expect(values[h]).toBeCloseTo((6 / 7) * (before[h] as number) + (1 / 7) * (before[h - 1] as number), 9);
    });
  });
});

describe('combination', () => {
  function rowsOf(y: number[], preds: number[][], hol: number[] = y.map(() => 0)): InnerRows {
    return {
      n: y.length,
      y: Float64Array.from(y),
      holiday: Uint8Array.from(hol),
      preds: preds.map((p) => Float64Array.from(p)),
      lower: Float64Array.from(y, () => 1),
      upper: Float64Array.from(y, () => 1),
    };
  }

  it('weights the member that is right, shrunk half-way to equal weights', () => {
    const y = [10, 20, 30, 40];
    const w = chooseWeights(rowsOf(y, [y, y.map((v) => v + 15), y.map((v) => v + 12)]), 5);
    expect(w[0]).toBeCloseTo(1 - SHRINK_TO_EQUAL + SHRINK_TO_EQUAL / 3, 9);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  });

  it('with five members (stepwise descent instead of the whole grid) still finds the member that is right', () => {
    const y = Array.from({ length: 40 }, (_, i) => 10 + ((i * 37) % 23));
    const preds = [y.map((v) => v * 1.3), y.map((v) => v + 9), y, y.map((v) => v * 0.6), y.map((v) => v - 7)];
    const w = chooseWeights(rowsOf(y, preds), 5);
    expect(w[2]).toBeCloseTo(1 - SHRINK_TO_EQUAL + SHRINK_TO_EQUAL / 5, 9);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  });

  it('keeps an optional member only where it lowers the inner WMAE', () => {
    // Members 0 and 1 err on opposite sides; member 2 errs like member 0 (drop it) or
    // cancels a different error (keep it).
    const y = Array.from({ length: 60 }, (_, i) => 100 + ((i * 13) % 17));
    const a = y.map((v, i) => v + (i % 2 === 0 ? 10 : -4));
    const b = y.map((v, i) => v - (i % 2 === 0 ? 10 : -4));
    const window = { innerOrigin: '2011-01-07', innerWeeks: 13 };
    const worse = fitCombination(['a', 'b', 'opt'], rowsOf(y, [a, b, a.map((v) => v + 30)]), 1, window, 1, ['opt']);
    expect(worse.weights[2]).toBe(0);
    expect(worse.weights[0]).toBeCloseTo(0.5, 9);
    expect(worse.innerWmae.opt).toBeGreaterThan(worse.innerWmae.combined as number);
    const better = fitCombination(['a', 'b', 'opt'], rowsOf(y, [a.map((v) => v + 6), b.map((v) => v + 6), y.map((v) => v - 6)]), 1, window, 1, ['opt']);
    expect(better.weights[2]).toBeGreaterThan(0);
    // Not optional: the same member keeps its shrunk share even where it hurts.
    expect(fitCombination(['a', 'b', 'opt'], rowsOf(y, [a, b, a.map((v) => v + 30)]), 1, window).weights[2]).toBeGreaterThan(0);
  });

  /** Inner rows of departments 1 and 2 (20 series x 13 weeks each), and 3 (`small` series): member a errs by `errA(dept, i)`, member b by `errB`. */
  function departmentRows(errA: (dept: number, i: number) => number, errB: (dept: number, i: number) => number, small?: number): InnerRows {
    const y: number[] = [];
    const a: number[] = [];
    const b: number[] = [];
    const group: number[] = [];
    const week: number[] = [];
    for (const dept of [1, 2, 3]) {
      const series = dept === 3 ? (small ?? 0) : 20;
      for (let s = 0; s < series; s++) {
        for (let w = 0; w < 13; w++) {
          const i = y.length;
          const v = 100 + ((i * 37) % 29);
          y.push(v);
          a.push(v + errA(dept, i));
          b.push(v + errB(dept, i));
          group.push(dept);
          week.push(w);
        }
      }
    }
    return { ...rowsOf(y, [a, b]), group: Int32Array.from(group), week: Uint8Array.from(week) };
  }
  const inner = { innerOrigin: '2011-01-07', innerWeeks: 13 };
  const sign = (i: number) => (i % 2 === 0 ? 1 : -1);

  it('per department: each weighs its own right member more, where the held-out inner weeks say it pays', () => {
    // Department 1: member a is right, b off by 20; department 2 the other way round. One
    // weight vector for both can only split the difference.
    const rows = departmentRows((d, i) => (d === 1 ? sign(i) : 20 * sign(i)), (d, i) => (d === 1 ? 20 * sign(i + 1) : sign(i + 1)));
    const c = fitCombination(['a', 'b'], rows, 1, inner, 1);
    expect(c.groupCheck!.grouped).toBeLessThan(c.groupCheck!.global);
    const one = weightsFor(c, 1);
    const two = weightsFor(c, 2);
    // Each department's own fit (a = 0.95 in department 1, b = 0.95 in 2: the grid optimum 20/21, shrunk half-way to equal), pulled GROUP_SHRINK of the way from the global weights.
    const own = (1 - SHRINK_TO_EQUAL) * 0.95 + SHRINK_TO_EQUAL / 2;
    expect(one[0]).toBeCloseTo(GROUP_SHRINK * own + (1 - GROUP_SHRINK) * (c.weights[0] as number), 9);
    expect(two[1]).toBeCloseTo(GROUP_SHRINK * own + (1 - GROUP_SHRINK) * (c.weights[1] as number), 9);
    expect(one[0]).toBeGreaterThan(c.weights[0] as number);
    expect(two[1]).toBeGreaterThan(c.weights[1] as number);
    // A department the inner window did not hold takes the global weights.
    expect(weightsFor(c, 99)).toEqual(c.weights);
    // The interval is calibrated around the forecasts as served: their smaller errors, a narrower interval than the global weights' would need.
    const globalCal = calibrateCombination(rows, c.weights);
    expect(c.calibration.lower).toBeLessThan(globalCal.lower);
    expect(c.calibration.upper).toBeLessThan(globalCal.upper);
    // Serving computes every member some department weighs.
    expect(weighedMembers({ members: ['a', 'b', 'c'], weights: [1, 0, 0], groupWeights: { '4': [0.5, 0.5, 0] } })).toEqual(['a', 'b']);
  });

  it('per department: refused where the departments are alike, and skipped for a department with few rows', () => {
    // Both departments: a and b err by the same amount on opposite sides, so equal weights are right everywhere.
    const alike = fitCombination(['a', 'b'], departmentRows((_, i) => 10 * sign(i), (_, i) => -10 * sign(i)), 1, inner, 1);
    expect(alike.groupWeights).toBeUndefined();
    expect(alike.groupCheck!.grouped).toBeGreaterThanOrEqual(alike.groupCheck!.global);
    expect(weightsFor(alike, 1)).toEqual(alike.weights);
    // Department 3 (3 series x 13 weeks < MIN_GROUP_ROWS) likes member a, as department 1 does; it keeps the global weights.
    expect(3 * 13).toBeLessThan(MIN_GROUP_ROWS);
    const rows = departmentRows((d, i) => (d === 2 ? 20 * sign(i) : sign(i)), (d, i) => (d === 2 ? sign(i + 1) : 20 * sign(i + 1)), 3);
    const c = fitCombination(['a', 'b'], rows, 1, inner, 1);
    expect(c.groupWeights?.['1']).toBeDefined();
    expect(c.groupWeights?.['3']).toBeUndefined();
    expect(weightsFor(c, 3)).toEqual(c.weights);
    // Rows without departments (a caller before them): one weight vector, no check.
    const plain = fitCombination(['a', 'b'], { ...rows, group: undefined }, 1, inner, 1);
    expect(plain.groupCheck).toBeUndefined();
    expect(plain.weights).toEqual(c.weights);
  });

  it('counts holiday rows five times when choosing', () => {
    // Member 0 is right on the holiday row, member 1 on the three others.
    const y = [100, 10, 10, 10];
    const rows = rowsOf(y, [[100, 30, 30, 30], [60, 10, 10, 10]], [1, 0, 0, 0]);
    const w5 = chooseWeights(rows, 5);
    const w1 = chooseWeights(rows, 1);
    expect(w5[0]).toBeGreaterThan(w1[0] as number);
  });

  it('calibrates the half-widths so a tenth of the rows falls on each side', () => {
    const n = 1000;
    const y = Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 10 - 50); // spread -50..50 around 0
    const cal = calibrateCombination(rowsOf(y, [y.map(() => 0)]), [1]);
    expect(cal.lower).toBeCloseTo(40, 0);
    expect(cal.upper).toBeCloseTo(40, 0);
    const c = combineSeries({ weights: [1], calibration: cal }, [[0]], { p10: [-1], p50: [0], p90: [1] }, 1);
    const inside = y.filter((v) => v >= (c.p10[0] as number) && v <= (c.p90[0] as number)).length / n;
    expect(inside).toBeGreaterThan(0.78);
    expect(inside).toBeLessThan(0.82);
  });

  it('calibrates each horizon bucket on its own rows: wider errors at longer horizons, wider interval there', () => {
    const n = 1000;
    // Bucket 0 errors spread -50..50, bucket 1 -150..150, bucket 2 -300..300, all around a forecast of 0.
    const spread = [50, 150, 300];
    const y: number[] = [];
    const bucket: number[] = [];
    for (let b = 0; b < 3; b++) {
      for (let i = 0; i < n; i++) {
        y.push(((((i * 7919) % 1000) / 1000) * 2 - 1) * (spread[b] as number));
        bucket.push(b);
      }
    }
    const rows = { ...rowsOf(y, [y.map(() => 0)]), bucket: Uint8Array.from(bucket) };
    const c = fitCombination(['only'], rows, 1, { innerOrigin: '2011-01-07', innerWeeks: 13 }, 3);
    expect(c.bucketCalibration).toHaveLength(3);
    expect(c.bucketWeeks).toBe(13);
    c.bucketCalibration!.forEach((cal, b) => {
      expect(cal.lower).toBeCloseTo(0.8 * (spread[b] as number), -1);
      expect(cal.upper).toBeCloseTo(0.8 * (spread[b] as number), -1);
    });
    // Each bucket covers ~80% of its own rows; one pooled multiplier would not (too wide early, too narrow late).
    for (const cov of c.bucketCoverage!) {
      expect(cov).toBeGreaterThan(0.78);
      expect(cov).toBeLessThan(0.82);
    }
    const pooled = calibrateCombination(rows, [1]);
    expect(pooled.upper).toBeGreaterThan(c.bucketCalibration![0]!.upper * 1.5);
    expect(pooled.upper).toBeLessThan(c.bucketCalibration![2]!.upper / 1.5);
    // Horizon index h uses bucket floor(h / 13); past the last bucket, the last.
    expect(calibrationAt(c, 0)).toEqual(c.bucketCalibration![0]);
    expect(calibrationAt(c, 12)).toEqual(c.bucketCalibration![0]);
    expect(calibrationAt(c, 13)).toEqual(c.bucketCalibration![1]);
    expect(calibrationAt(c, 38)).toEqual(c.bucketCalibration![2]);
    expect(calibrationAt(c, 51)).toEqual(c.bucketCalibration![2]);
    const out = combineSeries(c, [new Float64Array(45)], { p10: new Float64Array(45).fill(-1), p50: new Float64Array(45), p90: new Float64Array(45).fill(1) }, 45);
    expect(out.p90[40]! - out.p10[40]!).toBeGreaterThan(out.p90[20]! - out.p10[20]!);
    expect(out.p90[20]! - out.p10[20]!).toBeGreaterThan(out.p90[5]! - out.p10[5]!);
    // A combination saved before buckets existed keeps its single calibration at every horizon.
    expect(calibrationAt({ calibration: { lower: 2, upper: 3 } }, 30)).toEqual({ lower: 2, upper: 3 });
  });
});

describe('the combined forecast, trained on the demo data', () => {
  it('is chosen before the origin, scores every member, and keeps its interval honest', async () => {
    const report = await runBacktest(panel, { origin: ORIGIN, horizon: 26, hyper: TINY });
    const by = Object.fromEntries(report.results.map((r) => [r.name, r]));
    const c = report.model.combination!;
    expect(c.innerOrigin).toBe(addWeeks(ORIGIN, -8));
    expect(c.innerWeeks).toBe(8);
    expect(c.members).toEqual([...MEMBER_NAMES]);
    expect(c.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    // One calibration per horizon bucket, each fitted on the same 8 weeks before the origin
    // forecast from 8, 16 and 24 weeks before them.
    expect(c.bucketCalibration).toHaveLength(INNER_BUCKETS);
    expect(c.bucketWeeks).toBe(8);
    for (const cov of c.bucketCoverage!) expect(Math.abs(cov - 0.8)).toBeLessThan(0.03);
    for (const m of MEMBER_NAMES) expect(by[m]?.weight).toBe(c.weights[c.members.indexOf(m)]);
    expect(report.results[0]?.name).toBe('combined');
    // The combination is no worse than its average member, and beats seasonal naive.
    const memberMean = MEMBER_NAMES.reduce((a, m) => a + (by[m]?.wmae as number), 0) / MEMBER_NAMES.length;
    expect(by.combined!.wmae).toBeLessThan(memberMean);
    expect(by.combined!.wmae).toBeLessThan(by['seasonal-naive']!.wmae);
    expect(by.combined!.coverage).toBeGreaterThan(0.65);
    expect(by.combined!.coverage).toBeLessThan(0.95);
  }, 180_000);

  it('leakage guard: every sale after the origin changed, the same weights and the same forecasts', async () => {
    const changed = buildPanel(rows.map((r) => (r.week > ORIGIN ? { ...r, sales: -r.sales * 5 + 777 } : r)));
    const a = await trainModel(panel, { until: ORIGIN, hyper: TINY });
    const b = await trainModel(changed, { until: ORIGIN, hyper: TINY });
    const { seconds: _sa, ...ca } = a.combination!;
    const { seconds: _sb, ...cb } = b.combination!;
    expect(cb).toEqual(ca);
    const origin = gridIndex(panel, ORIGIN);
    const ids = panel.series.map((_, i) => i);
    const fa = await forecastSeries(a, panel, origin, ids, 20);
    const fb = await forecastSeries(b, changed, origin, ids, 20);
    expect(fa.length).toBeGreaterThan(10);
    expect(fb.map((f) => [f.series, Array.from(f.p10), Array.from(f.p50), Array.from(f.p90)])).toEqual(
      fa.map((f) => [f.series, Array.from(f.p10), Array.from(f.p50), Array.from(f.p90)]),
    );
    // And the members one by one.
    const ma = await memberForecasts(a, panel, origin, ids, 20);
    const mb = await memberForecasts(b, changed, origin, ids, 20);
    for (const m of MEMBER_NAMES) expect([...mb.members.get(m)!].map(([k, v]) => [k, Array.from(v)])).toEqual([...ma.members.get(m)!].map(([k, v]) => [k, Array.from(v)]));
    // Every statistical member got the Christmas shift, in the rush departments only.
    const raw = statForecasts(panel, origin, ids, 20, TINY.svdRank!);
    const st = originState(panel, origin, { svdRank: TINY.svdRank! }, ids);
    const rush = rushDepartments(panel, origin, new Map([...st.deptAgg].map(([d, agg]) => [d, agg.sum])));
    expect(rush.size).toBeGreaterThan(0);
    const infos = horizonInfos(panel, origin, 20);
    let shifted = 0;
    for (const m of STAT_MEMBERS) {
      for (const [si, values] of raw.get(m)!) {
        const expected = Float64Array.from(values);
        if (rush.has(panel.series[si]!.dept)) shiftChristmas(expected, infos);
        expect(Array.from(ma.members.get(m)!.get(si)!)).toEqual(Array.from(expected));
        if (expected.some((v, h) => v !== values[h])) shifted++;
      }
    }
    expect(shifted).toBeGreaterThan(0);
    a.network.dispose();
    b.network.dispose();
  }, 180_000);
});
