import { describe, expect, it } from 'vitest';
import { addWeeks } from '../src/data/weeks.ts';
import { calibrateCombination, calibrationAt, combineSeries, fitCombination, typeWeights, weightedQuantile, type InnerRows } from '../src/forecast/combination.ts';
import { targetTypeShares } from '../src/forecast/ensemble.ts';
import { weekType } from '../src/forecast/source-kernel.ts';

/**
 * The interval's calibration for the target weeks' calendar (docs/forecasting.md, "Seventh
 * round"): inner rows reweighted to the target weeks' mix of week types (calm, peak,
 * Christmas season; weighted split conformal), and the calendar of week types.
 */

/** 1000 calm rows with errors spread -50..50 and 1000 peak rows spread -300..300, forecast 0, half-widths 1. */
function mixedRows(calmSpread = 50, peakSpread = 300): InnerRows {
  const y: number[] = [];
  const peak: number[] = [];
  for (const [p, spread] of [
    [0, calmSpread],
    [1, peakSpread],
  ] as const) {
    for (let i = 0; i < 1000; i++) {
      y.push(((((i * 7919) % 1000) / 1000) * 2 - 1) * spread);
      peak.push(p);
    }
  }
  return {
    n: y.length,
    y: Float64Array.from(y),
    holiday: new Uint8Array(y.length),
    preds: [new Float64Array(y.length)],
    lower: new Float64Array(y.length).fill(1),
    upper: new Float64Array(y.length).fill(1),
    bucket: new Uint8Array(y.length),
    weekType: Uint8Array.from(peak),
  };
}

const WINDOW = { innerOrigin: '2012-01-27', innerWeeks: 13 };

describe('interval calibrated for the target weeks', () => {
  it('weighted quantile: equal weights give the plain order statistic, zero weights drop rows', () => {
    expect(weightedQuantile([5, 1, 3, 2, 4], [1, 1, 1, 1, 1], 0.6)).toBe(3);
    expect(weightedQuantile([5, 1, 3, 2, 4], [0, 1, 1, 1, 0], 0.9)).toBe(3);
    expect(weightedQuantile([5, 1, 3, 2, 4], [1, 0, 0, 0, 0], 0.1)).toBe(5);
  });

  it('reweights the inner rows to the target mix of week types', () => {
    const rows = mixedRows();
    // Calm target weeks: the peak rows weigh nothing, the interval is the calm rows' (0.8 x 50).
    const calm = calibrateCombination(rows, [1], undefined, [1, 0, 0]);
    expect(calm.lower).toBeCloseTo(40, -1);
    expect(calm.upper).toBeCloseTo(40, -1);
    // Peak target weeks: the peak rows' (0.8 x 300).
    const peak = calibrateCombination(rows, [1], undefined, [0, 1, 0]);
    expect(peak.upper).toBeCloseTo(240, -1);
    // No target share (a combination fitted before it): the plain pooled quantile, between them.
    const plain = calibrateCombination(rows, [1]);
    expect(plain.upper).toBeGreaterThan(calm.upper * 2);
    expect(plain.upper).toBeLessThan(peak.upper);
    // The inner window's own mix (half peak) is the plain calibration again.
    expect(calibrateCombination(rows, [1], undefined, [0.5, 0.5, 0]).upper).toBeCloseTo(plain.upper, -1);
    // Fewer peak weeks ahead: narrower.
    expect(calibrateCombination(rows, [1], undefined, [0.8, 0.2, 0]).upper).toBeLessThan(plain.upper);
    // Target weeks of a type the inner rows do not hold (the Christmas season here) are
    // represented by all inner rows alike: all of them -> the plain interval; half of them ->
    // between the calm rows' and the plain one.
    expect(calibrateCombination(rows, [1], undefined, [0, 0, 1]).upper).toBeCloseTo(plain.upper, -1);
    const half = calibrateCombination(rows, [1], undefined, [0.5, 0, 0.5]).upper;
    expect(half).toBeGreaterThan(calm.upper * 1.2);
    expect(half).toBeLessThan(plain.upper);
  });

  it('leaves the calibration plain where the inner rows hold one week type only', () => {
    const rows = { ...mixedRows(), weekType: new Uint8Array(2000) };
    expect(typeWeights([0, 0, 0], [0.7, 0.3, 0])).toBeUndefined();
    expect(typeWeights([1, 1], [1, 0, 0])).toBeUndefined();
    expect(typeWeights([1, 0, 0, 0], undefined)).toBeUndefined();
    expect(typeWeights([1, 0, 0, 0], [0.5, 0.5, 0])).toEqual([2, 2 / 3, 2 / 3, 2 / 3]);
    // A target type missing from the inner rows spreads its share over every row.
    expect(typeWeights([1, 0, 0, 0], [0.25, 0.25, 0.5])).toEqual([1.5, 0.5 + 1 / 3, 0.5 + 1 / 3, 0.5 + 1 / 3]);
    expect(calibrateCombination(rows, [1], undefined, [0, 1, 0])).toEqual(calibrateCombination(rows, [1]));
  });

  it('fitCombination stores the target shares, covers ~80% of the reweighted rows, and keeps old fits unchanged', () => {
    const rows = mixedRows();
    const weighted = fitCombination(['only'], rows, 1, WINDOW, 1, [], [[0.9, 0.1, 0]]);
    expect(weighted.bucketTargetTypes).toEqual([[0.9, 0.1, 0]]);
    expect(weighted.bucketCalibration![0]).toEqual(calibrateCombination(rows, [1], 0, [0.9, 0.1, 0]));
    expect(Math.abs(weighted.bucketCoverage![0]! - 0.8)).toBeLessThan(0.02);
    // The unweighted interval on the same rows covers the calm-heavy target mix far more than 80%.
    const plain = fitCombination(['only'], rows, 1, WINDOW, 1);
    expect(plain.bucketTargetTypes).toBeUndefined();
    expect(plain.bucketCalibration![0]).toEqual(calibrateCombination(rows, [1], 0));
    expect(weighted.bucketCalibration![0]!.upper).toBeLessThan(plain.bucketCalibration![0]!.upper / 2);
    // Serving reads the stored bucket calibration whatever produced it: a combination saved
    // before target shares existed forecasts exactly as before.
    const { bucketTargetTypes: _drop, ...old } = weighted;
    expect(calibrationAt(old, 5)).toEqual(weighted.bucketCalibration![0]);
    const net = { p10: [-1], p50: [0], p90: [1] };
    expect(combineSeries(old, [[0]], net, 1)).toEqual(combineSeries(weighted, [[0]], net, 1));
  });

  it('week types from the calendar alone: holidays, Easter and the weeks it moves, their neighbours; the Christmas season', () => {
    // Easter 2012 (Good Friday week 2012-04-06): the window 03-16..04-13 and its neighbours.
    for (const w of ['2012-03-09', '2012-03-16', '2012-04-06', '2012-04-13', '2012-04-20']) expect(weekType(w)).toBe(1);
    // 2012-04-27 reads 2011-05-06 (its 52-week source was last year's Easter week): peak.
    expect(weekType('2012-04-27')).toBe(1);
    // The Super Bowl week and its neighbours; Labor Day and its neighbours.
    for (const w of ['2012-02-03', '2012-02-10', '2012-02-17', '2012-08-31', '2012-09-07', '2012-09-14']) expect(weekType(w)).toBe(1);
    // The Christmas season (15 November - 7 January and the weeks next to it), its holidays included.
    for (const w of ['2012-11-09', '2012-11-23', '2012-12-28', '2013-01-04', '2013-01-11']) expect(weekType(w)).toBe(2);
    for (const w of ['2012-02-24', '2012-03-02', '2012-05-04', '2012-06-15', '2012-08-24', '2012-10-26', '2013-01-18']) expect(weekType(w)).toBe(0);
    // Any year, past the data (serving forecasts weeks no panel holds).
    expect(weekType('2031-09-05')).toBe(1); // Labor Day 2031 (Monday 09-01)
    expect(weekType('2031-06-20')).toBe(0);
  });

  it('the target shares of each horizon bucket after the origin', () => {
    // 2012-04-27: May-July all calm; August-October Labor Day and its neighbours; then
    // November-January, 10 weeks of Christmas season (2012-11-09 .. 2013-01-11).
    const shares = targetTypeShares('2012-04-27', 13, 3);
    expect(shares[0]).toEqual([1, 0, 0]);
    expect(shares[1]![0]).toBeCloseTo(10 / 13, 12);
    expect(shares[1]![1]).toBeCloseTo(3 / 13, 12);
    expect(shares[2]![2]).toBeCloseTo(10 / 13, 12);
    for (const s of targetTypeShares('2011-10-28', 13, 3)) expect(s.reduce((a, x) => a + x, 0)).toBeCloseTo(1, 12);
    let season = 0;
    for (let h = 1; h <= 13; h++) if (weekType(addWeeks('2011-10-28', h)) === 2) season++;
    expect(targetTypeShares('2011-10-28', 13, 1)[0]![2]).toBeCloseTo(season / 13, 12);
    expect(season).toBeGreaterThan(6);
  });
});
