import { describe, expect, it } from 'vitest';
import { addWeeks } from '../src/data/weeks.ts';
import { BASE_COL, checkFeatureColumns, FEATURE_COL, FEATURE_NAMES, HIDDEN_FEATURES, N_FEATURES, originState, targetInfo, writeFeatures } from '../src/forecast/features.ts';
import { CANDIDATE_COLS, CANDIDATES, LEVEL_COLS, N_OUTPUTS, OUTPUT } from '../src/forecast/model.ts';
import { buildPanel, type SalesRow } from '../src/forecast/panel.ts';

const column = () => 0;
const columnsFor = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, column]));

describe('feature layout', () => {
  it('accepts columns that match the declared names', () => {
    expect(() => checkFeatureColumns(FEATURE_NAMES, columnsFor(FEATURE_NAMES))).not.toThrow();
  });

  it('refuses a missing, an extra or a repeated column, naming it', () => {
    const missing = columnsFor(FEATURE_NAMES.filter((n) => n !== 'yoy13'));
    expect(() => checkFeatureColumns(FEATURE_NAMES, missing)).toThrow(`feature layout: ${N_FEATURES} columns declared (FEATURE_NAMES), ${N_FEATURES - 1} written (FEATURE_COLUMNS); declared but not written: yoy13`);
    const extra = { ...columnsFor(FEATURE_NAMES), yoy26: column };
    expect(() => checkFeatureColumns(FEATURE_NAMES, extra)).toThrow(/written but not declared: yoy26/);
    const repeated = [...FEATURE_NAMES, 'size'];
    expect(() => checkFeatureColumns(repeated, columnsFor(FEATURE_NAMES))).toThrow(/declared twice: size/);
  });

  it('derives the column lists from names (the saved model layout stays as it was)', () => {
    expect(HIDDEN_FEATURES).toEqual([0, 1, 2, 3, 4, 5]);
    expect(BASE_COL).toBe(5);
    expect(CANDIDATE_COLS).toEqual(CANDIDATES.map((c) => FEATURE_NAMES.indexOf(c)));
    expect(LEVEL_COLS.every((c) => c >= 0 && c < N_FEATURES)).toBe(true);
    expect(OUTPUT).toEqual({ level: 0, lowerWidth: 1, upperWidth: 2, logits: 3 });
    expect(N_OUTPUTS).toBe(3 + CANDIDATES.length);
  });

  it('writes exactly N_FEATURES finite columns at the offset and returns the base column', () => {
    const rows: SalesRow[] = [];
    for (let store = 1; store <= 3; store++) {
      for (let i = 0; i < 120; i++) rows.push({ store, dept: 1, week: addWeeks('2010-02-05', i), sales: 1000 * store + 100 * Math.sin(i / 5) });
    }
    const panel = buildPanel(rows);
    const origin = 110;
    const st = originState(panel, origin, { svdRank: 1 });
    const info = targetInfo(panel, origin, addWeeks(panel.weeks[origin] as string, 3));
    const out = new Float32Array(N_FEATURES + 2).fill(-999);
    const base = writeFeatures(st, 1, info, out, 1);
    expect(out[0]).toBe(-999);
    expect(out[N_FEATURES + 1]).toBe(-999);
    const row = out.subarray(1, N_FEATURES + 1);
    expect(row.every((v) => Number.isFinite(v) && v !== -999)).toBe(true);
    expect(base).toBe(row[FEATURE_COL.base]);
    expect(row[FEATURE_COL.horizon]).toBeCloseTo(3 / 52, 6);
  });
});
