import { describe, expect, it } from 'vitest';
import type { OriginState, TargetInfo } from '../src/forecast/features.ts';
import { harmonic, PERIOD } from '../src/forecast/harmonic.ts';
import { sesLevel, STL_ALPHAS } from '../src/forecast/members.ts';
import { etsForecast, loessTrend } from '../src/forecast/stlf.ts';

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

describe('stlf.ts (closer copies of R stlf, compared by bench/backtest.ts --stl)', () => {
  it("loessTrend reproduces a straight line, smooths a season away and reads nothing after the origin", () => {
    const line = Float64Array.from({ length: 130 }, (_, i) => (i < 120 ? 3 + 2 * i : 1e9));
    const t = loessTrend(line, 5, 119, 157);
    for (const i of [5, 6, 40, 100, 118, 119]) expect(t[i]).toBeCloseTo(3 + 2 * i, 6);
    expect(Number.isNaN(t[4] as number)).toBe(true);
    // A 52-week sine around a level of 100: the 157-week window averages it out.
    const seasonal = Float64Array.from({ length: 143 }, (_, i) => 100 + 20 * Math.sin((2 * Math.PI * i) / 52));
    const ts = loessTrend(seasonal, 0, 142, 157);
    expect(Math.abs((ts[71] as number) - 100)).toBeLessThan(5);
  });

  it('etsForecast: BIC keeps the level model on a flat series and takes a trend on a steady climb', () => {
    const flat = Float64Array.from({ length: 104 }, (_, i) => 50 + (i % 2 === 0 ? -5 : 5));
    const f = etsForecast(flat, 0, 103, 10, 'auto');
    expect(Math.abs((f[0] as number) - 50)).toBeLessThan(4);
    expect(f[9]).toBeCloseTo(f[0] as number, 6);
    const climb = Float64Array.from({ length: 104 }, (_, i) => 10 * i + (i % 2 === 0 ? -1 : 1));
    const c = etsForecast(climb, 0, 103, 10, 'auto');
    expect(c[9] as number).toBeGreaterThan((c[0] as number) + 50);
    // The level-only model forecasts flat whatever the data.
    const n = etsForecast(climb, 0, 103, 10, 'ann');
    expect(n[9]).toBeCloseTo(n[0] as number, 6);
  });
});

describe('harmonic member (Fourier seasonal + smoothed residual level)', () => {
  const origin = 119;
  /** A one-series origin state holding `sm` as the smoothed history. */
  const state = (sm: Float64Array) =>
    ({ panel: { series: [{ store: 1, dept: 1, y: sm, first: 0, last: origin }] }, smooth: [sm], origin, recent13: Float64Array.of(NaN) }) as unknown as OriginState;
  const season = (t: number) => 200 * Math.sin((2 * Math.PI * t) / PERIOD) + 80 * Math.cos((6 * Math.PI * t) / PERIOD);
  const infos = Array.from({ length: 26 }, () => ({}) as TargetInfo);

  it('continues a calendar-periodic season and reads nothing after the origin', () => {
    const sm = Float64Array.from({ length: 160 }, (_, t) => (t <= origin ? 1000 + season(t) : 1e9));
    const out = new Float64Array(26);
    harmonic(state(sm), 0, infos, out);
    out.forEach((v, h) => expect(Math.abs(v - (1000 + season(origin + h + 1)))).toBeLessThan(5));
  });

  it('follows a level shift of the last months through the residual level', () => {
    const sm = Float64Array.from({ length: 160 }, (_, t) => (t <= origin ? 1000 + season(t) + (t > 90 ? 300 : 0) : 1e9));
    const out = new Float64Array(26);
    harmonic(state(sm), 0, infos, out);
    const meanErr = out.reduce((a, v, h) => a + (v - (1300 + season(origin + h + 1))), 0) / out.length;
    // Closer to the new level than to the old one (the curve alone, without the residual level, sits ~280 below).
    expect(Math.abs(meanErr)).toBeLessThan(100);
  });
});
