import { describe, expect, it } from 'vitest';
import { sesLevel, STL_ALPHAS } from '../src/forecast/members.ts';

/** stl-ets' level: exponential smoothing with the constant chosen by one-step absolute error. */

describe('sesLevel (stl-ets, MAE-chosen smoothing constant)', () => {
  it('follows a level shift with a fast constant when that predicts best', () => {
    // 100 weeks at 0, then 30 weeks at 100: only a fast constant has caught up by the end.
    const x = Float64Array.from({ length: 130 }, (_, i) => (i < 100 ? 0 : 100));
    const chosen = sesLevel(x, 0, 129, STL_ALPHAS);
    expect(chosen).toBeGreaterThan(99);
    // With 0.05 alone the level lags far behind.
    expect(sesLevel(x, 0, 129, [0.05])).toBeLessThan(80);
  });

  it('averages noise with a slow constant on a flat noisy series', () => {
    // Alternating 0 / 200 around a mean of 100: a fast constant chases the last value.
    const x = Float64Array.from({ length: 120 }, (_, i) => (i % 2 === 0 ? 0 : 200));
    const chosen = sesLevel(x, 0, 119, STL_ALPHAS);
    expect(Math.abs(chosen - 100)).toBeLessThan(10);
    expect(Math.abs(sesLevel(x, 0, 119, [0.5]) - 100)).toBeGreaterThan(30);
  });

  it('starts at the first known week and ignores weeks after the origin', () => {
    const x = Float64Array.from({ length: 60 }, (_, i) => (i < 10 ? NaN : i < 50 ? 10 : 1e9));
    expect(sesLevel(x, 10, 49, STL_ALPHAS)).toBeCloseTo(10, 9);
  });
});
