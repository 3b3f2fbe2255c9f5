import type { OriginState, TargetInfo } from './features.ts';
import type { PanelSeries } from './panel.ts';
import { sesLevel, STL_ALPHAS } from './ses.ts';

/**
 * Dynamic harmonic regression on the SVD-smoothed series: the Kaggle winner's `fourier.arima`
 * (auto.arima with `fourier(ts(x, frequency = 365/7), K)` regressors) reduced to what its
 * chosen models amount to here. The seasonal is a Fourier series in the week's position in
 * the solar year (period 365.25 / 7 weeks: the calendar, so the weekday drift of Christmas
 * and the other dated weeks is part of the curve), fitted by least squares to all history
 * with an intercept; the residuals' level follows the last months by simple exponential
 * smoothing (ARIMA(0,1,1) errors are SES), its constant chosen by the one-step absolute
 * errors of the last year as in stl-ets. Forecast = curve at the target week + intercept +
 * the residuals' smoothed level.
 */

export const PERIOD = 365.25 / 7;

/**
 * Fourier pairs of the seasonal curve: 26, the most a 52-week period holds (features of about
 * a week). Chosen on the inner windows of four origins (sum 6345 against 6361 with 20 and 6382
 * with 12; docs/forecasting.md, fifth round).
 */
export const HARMONICS = 26;

/** Columns of the regression at grid week t: 1, then sin / cos of k = 1..K. */
function design(t: number, k: number, out: Float64Array): void {
  out[0] = 1;
  for (let j = 1; j <= k; j++) {
    const a = (2 * Math.PI * j * t) / PERIOD;
    out[2 * j - 1] = Math.sin(a);
    out[2 * j] = Math.cos(a);
  }
}

/** Cholesky solve of the symmetric positive definite p x p system a x = b (a is overwritten). */
function solve(a: Float64Array, b: Float64Array, p: number): Float64Array {
  for (let j = 0; j < p; j++) {
    let d = a[j * p + j] as number;
    for (let k = 0; k < j; k++) d -= (a[j * p + k] as number) ** 2;
    d = Math.sqrt(Math.max(d, 1e-12));
    a[j * p + j] = d;
    for (let i = j + 1; i < p; i++) {
      let v = a[i * p + j] as number;
      for (let k = 0; k < j; k++) v -= (a[i * p + k] as number) * (a[j * p + k] as number);
      a[i * p + j] = v / d;
    }
  }
  const x = Float64Array.from(b);
  for (let i = 0; i < p; i++) {
    let v = x[i] as number;
    for (let k = 0; k < i; k++) v -= (a[i * p + k] as number) * (x[k] as number);
    x[i] = v / (a[i * p + i] as number);
  }
  for (let i = p - 1; i >= 0; i--) {
    let v = x[i] as number;
    for (let k = i + 1; k < p; k++) v -= (a[k * p + i] as number) * (x[k] as number);
    x[i] = v / (a[i * p + i] as number);
  }
  return x;
}

/** Least-squares Fourier coefficients of sm[first..origin] (a small ridge keeps short histories solvable). */
function fitCurve(sm: Float64Array, first: number, origin: number, k: number): Float64Array {
  const p = 2 * k + 1;
  const g = new Float64Array(p * p);
  const b = new Float64Array(p);
  const row = new Float64Array(p);
  let scale = 0;
  for (let t = first; t <= origin; t++) {
    const y = sm[t] as number;
    if (Number.isNaN(y)) continue;
    design(t, k, row);
    for (let i = 0; i < p; i++) {
      b[i] = (b[i] as number) + (row[i] as number) * y;
      for (let j = 0; j <= i; j++) g[i * p + j] = (g[i * p + j] as number) + (row[i] as number) * (row[j] as number);
    }
    scale++;
  }
  for (let i = 1; i < p; i++) g[i * p + i] = (g[i * p + i] as number) + 1e-3 * scale;
  return solve(g, b, p);
}

function curveAt(beta: Float64Array, t: number, k: number, row: Float64Array): number {
  design(t, k, row);
  let v = 0;
  for (let i = 0; i < 2 * k + 1; i++) v += (beta[i] as number) * (row[i] as number);
  return v;
}

/** The harmonic member of one series (members.ts MemberCompute). */
export function harmonic(st: OriginState, si: number, infos: readonly TargetInfo[], out: Float64Array, k = HARMONICS): void {
  const s = st.panel.series[si] as PanelSeries;
  const sm = st.smooth[si] as Float64Array;
  const o = st.origin;
  if (o - s.first + 1 < 52) {
    out.fill(Number.isFinite(st.recent13[si] as number) ? (st.recent13[si] as number) : 0);
    return;
  }
  const beta = fitCurve(sm, s.first, o, k);
  const row = new Float64Array(2 * k + 1);
  const resid = new Float64Array(o + 1).fill(NaN);
  for (let t = s.first; t <= o; t++) if (!Number.isNaN(sm[t] as number)) resid[t] = (sm[t] as number) - curveAt(beta, t, k, row);
  const level = sesLevel(resid, s.first, o, STL_ALPHAS);
  for (let h = 0; h < infos.length; h++) out[h] = curveAt(beta, o + h + 1, k, row) + (Number.isNaN(level) ? 0 : level);
}

