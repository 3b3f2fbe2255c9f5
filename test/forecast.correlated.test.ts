import { describe, expect, it } from 'vitest';
import { generateChain } from '../src/data/demo.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { CANDIDATES, candidatesOf, NEIGHBOURS, correlatedAverage, neighbourSet, scaledHistory } from '../src/forecast/correlated.ts';
import { statForecasts } from '../src/forecast/members.ts';
import { buildPanel, gridIndex, type SalesRow } from '../src/forecast/panel.ts';

/** Correlated-store averaging (correlated.ts, the winner's stlf.nn) and its members. */

const FIRST = '2010-02-05';
const WEEKS = 130;

/** One department: stores 1-3 follow one weekly pattern, stores 4-6 an unrelated one, each at its own level and scale. */
function twoGroups(after?: (row: SalesRow, t: number) => SalesRow): SalesRow[] {
  const rows: SalesRow[] = [];
  for (let store = 1; store <= 6; store++) {
    for (let t = 0; t < WEEKS; t++) {
      const a = Math.sin((2 * Math.PI * t) / 52) + 0.3 * Math.sin(t * 1.7);
      const b = Math.cos((2 * Math.PI * t) / 13) + 0.3 * Math.cos(t * 0.9);
      const noise = 0.05 * Math.sin(t * (2.3 + store));
      const v = store <= 3 ? 1000 * store + 200 * store * (a + noise) : 500 * store + 50 * store * (b + noise);
      const row = { store, dept: 1, week: addWeeks(FIRST, t), sales: v, isHoliday: false };
      rows.push(after ? after(row, t) : row);
    }
  }
  return rows;
}

const ORIGIN = 110;

describe('neighbour sets', () => {
  const panel = buildPanel(twoGroups());
  const id = (store: number) => panel.series.findIndex((s) => s.store === store);

  it('takes the stores whose histories correlate, itself first, and not the unrelated ones', () => {
    const set = neighbourSet(panel, ORIGIN, id(1));
    expect(set[0]).toBe(id(1));
    expect(new Set(set)).toEqual(new Set([id(1), id(2), id(3)]));
    expect(new Set(neighbourSet(panel, ORIGIN, id(5)))).toEqual(new Set([id(4), id(5), id(6)]));
  });

  it('keeps at most k (itself counted) below the all-in level, and takes every store above it when more than k are', () => {
    expect(neighbourSet(panel, ORIGIN, id(1), { k: 2, levelAll: 1.01, levelMin: 0.8 })).toHaveLength(2);
    // Everything correlating >= -1 is "above the all-in level": the whole department, more than k = 2.
    expect(neighbourSet(panel, ORIGIN, id(1), { k: 2, levelAll: -1, levelMin: 0.8 })).toHaveLength(6);
    // Nothing passes the minimum: the store alone.
    expect(neighbourSet(panel, ORIGIN, id(1), { k: 5, levelAll: 1.01, levelMin: 1.01 })).toEqual([id(1)]);
  });

  it('reads nothing after the origin', () => {
    const changed = buildPanel(twoGroups((r, t) => (t > ORIGIN ? { ...r, sales: (r.store % 2 === 0 ? -1 : 3) * r.sales * t } : r)));
    for (const store of [1, 2, 4, 6]) expect(neighbourSet(changed, ORIGIN, id(store))).toEqual(neighbourSet(panel, ORIGIN, id(store)));
    expect(scaledHistory(changed, ORIGIN, id(2))).toEqual(scaledHistory(panel, ORIGIN, id(2)));
  });
});

describe('the correlated average', () => {
  const panel = buildPanel(twoGroups());
  const set = [0, 1, 2];

  it("puts the neighbours' scaled forecasts on the store's own centre and scale, and averages a one-store spike down", () => {
    const shape = Float64Array.from({ length: 10 }, (_, h) => Math.sin(h));
    // Every neighbour forecasts the same scaled shape, the store itself with a spike at h = 4.
    const of = (n: number) => {
      const sc = scaledHistory(panel, ORIGIN, n);
      return Float64Array.from(shape, (z, h) => sc.centre + sc.scale * (z + (n === 0 && h === 4 ? 3 : 0)));
    };
    const out = new Float64Array(10);
    correlatedAverage(panel, ORIGIN, 0, set, of, out);
    const own = scaledHistory(panel, ORIGIN, 0);
    out.forEach((v, h) => expect(v).toBeCloseTo(own.centre + own.scale * ((shape[h] as number) + (h === 4 ? 1 : 0)), 6));
  });

  it('is the base forecast itself for a store alone', () => {
    const base = Float64Array.from({ length: 5 }, (_, h) => 100 + h);
    const out = new Float64Array(5);
    correlatedAverage(panel, ORIGIN, 0, [0], () => base, out);
    expect(Array.from(out)).toEqual(Array.from(base));
  });
});

describe('the correlated member naive-nn on the demo data', () => {
  const rows: SalesRow[] = [];
  for (const chunk of generateChain(8).sales) for (const [s, d, w, v, h] of chunk) rows.push({ store: Number(s), dept: Number(d), week: w as string, sales: Number(v), isHoliday: h === 'TRUE' });
  const panel = buildPanel(rows);
  const origin = gridIndex(panel, '2011-10-28');
  const ids = panel.series.map((_, i) => i).filter((i) => panel.series[i]!.first <= origin);
  const names = ['svd-naive', 'naive-raw', 'naive-nn'];
  const all = statForecasts(panel, origin, ids, 13, 3, undefined, names);

  it('a series asked alone gets the forecast it gets among all (its neighbours are forecast for it)', () => {
    const some = ids.filter((_, k) => k % 17 === 3);
    expect(some.length).toBeGreaterThan(3);
    for (const si of some) {
      const alone = statForecasts(panel, origin, [si], 13, 3, undefined, names);
      for (const m of names) expect(Array.from(alone.get(m)!.get(si)!)).toEqual(Array.from(all.get(m)!.get(si)!));
      expect([...alone.get('naive-nn')!.keys()]).toEqual([si]);
    }
  });

  it('differs from its base member where a store has neighbours, and reads nothing after the origin', () => {
    const withNeighbours = ids.filter((si) => neighbourSet(panel, origin, si).length > 1);
    expect(withNeighbours.length).toBeGreaterThan(10);
    const moved = withNeighbours.filter((si) => all.get('naive-nn')!.get(si)!.some((v, h) => Math.abs(v - (all.get('naive-raw')!.get(si)![h] as number)) > 1e-6));
    expect(moved.length).toBe(withNeighbours.length);
    const changed = buildPanel(rows.map((r) => (r.week > '2011-10-28' ? { ...r, sales: r.sales * 4 + 999 } : r)));
    const again = statForecasts(changed, origin, ids, 13, 3, undefined, names);
    for (const m of names) for (const [si, v] of all.get(m)!) expect(Array.from(again.get(m)!.get(si)!)).toEqual(Array.from(v));
  });
});

describe('bounded at chain scale', () => {
  it(`compares a store with at most ${CANDIDATES} stores of its department, the same ones for every store`, () => {
    const rows: SalesRow[] = [];
    for (let store = 1; store <= CANDIDATES + 60; store++) for (let t = 0; t < 60; t++) rows.push({ store, dept: 7, week: addWeeks(FIRST, t), sales: 100 + store + 10 * Math.sin(t / 3) + ((store * t) % 7), isHoliday: false });
    const panel = buildPanel(rows);
    const cands = candidatesOf(panel, 55, 7);
    expect(cands).toHaveLength(CANDIDATES);
    // Spread over the store numbers, not the first CANDIDATES of them.
    expect(cands.some((si) => panel.series[si]!.store > CANDIDATES)).toBe(true);
    const allowed = new Set(cands);
    for (const si of [0, 50, CANDIDATES + 30]) {
      const set = neighbourSet(panel, 55, si, { k: 5, levelAll: 2, levelMin: -1 });
      expect(set).toHaveLength(5);
      for (const n of set.slice(1)) expect(allowed.has(n)).toBe(true);
    }
    // Stores that all move together (correlation ~1): the winner's all-in rule (>= 0.95) would
    // average each over every candidate; the default keeps NEIGHBOURS.
    const together: SalesRow[] = [];
    for (let store = 1; store <= CANDIDATES + 60; store++) for (let t = 0; t < 60; t++) together.push({ store, dept: 7, week: addWeeks(FIRST, t), sales: store * (100 + 10 * Math.sin(t / 3)), isHoliday: false });
    const tp = buildPanel(together);
    expect(neighbourSet(tp, 55, 3, { k: NEIGHBOURS, levelAll: 0.95, levelMin: 0.8 })).toHaveLength(CANDIDATES);
    expect(neighbourSet(tp, 55, 3)).toHaveLength(NEIGHBOURS);
  });
});
