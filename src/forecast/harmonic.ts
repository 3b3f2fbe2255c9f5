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

/** In-place Cholesky factor (lower triangle) of the symmetric positive definite p x p matrix `a`. */
function cholesky(a: Float64Array, p: number): Float64Array {
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
  return a;
}

/** Solves l l' x = b for the Cholesky factor l. */
function cholSolve(l: Float64Array, b: Float64Array, p: number): Float64Array {
  const x = Float64Array.from(b);
  for (let i = 0; i < p; i++) {
    let v = x[i] as number;
    for (let k = 0; k < i; k++) v -= (l[i * p + k] as number) * (x[k] as number);
    x[i] = v / (l[i * p + i] as number);
  }
  for (let i = p - 1; i >= 0; i--) {
    let v = x[i] as number;
    for (let k = i + 1; k < p; k++) v -= (l[k * p + i] as number) * (x[k] as number);
    x[i] = v / (l[i * p + i] as number);
  }
  return x;
}

/** The design rows of weeks first..origin + 52 and the factored Gram of first..origin: the same for every series of that span. */
interface Basis {
  first: number;
  rows: Float64Array;
  chol: Float64Array;
}

/**
 * Bases by (first week, origin, k). Most series of a panel start in the same week, so one
 * factorisation serves thousands of series: a series then costs one X'y and two triangular
 * solves (0.04-0.06 ms a series on the real data against 0.9 ms with a Gram per series, at load ~6).
 */
const bases = new Map<string, Basis>();

function basisOf(first: number, origin: number, k: number): Basis {
  const key = `${first}|${origin}|${k}`;
  let b = bases.get(key);
  if (b) return b;
  const p = 2 * k + 1;
  const rows = new Float64Array((origin + 53 - first) * p);
  for (let t = first; t <= origin + 52; t++) design(t, k, rows.subarray((t - first) * p, (t - first + 1) * p));
  const g = new Float64Array(p * p);
  for (let t = first; t <= origin; t++) {
    const r = rows.subarray((t - first) * p, (t - first + 1) * p);
    for (let i = 0; i < p; i++) for (let j = 0; j <= i; j++) g[i * p + j] = (g[i * p + j] as number) + (r[i] as number) * (r[j] as number);
  }
  // A small ridge keeps short histories (about a year: as many weeks as columns) solvable.
  for (let i = 1; i < p; i++) g[i * p + i] = (g[i * p + i] as number) + 1e-3 * (origin - first + 1);
  if (bases.size >= 256) bases.clear();
  b = { first, rows, chol: cholesky(g, p) };
  bases.set(key, b);
  return b;
}

/** The curve's value at grid week t (a design row from the basis where it has one). */
function curveAt(beta: Float64Array, basis: Basis, t: number, k: number): number {
  const p = 2 * k + 1;
  const at = (t - basis.first) * p;
  const row = at + p <= basis.rows.length ? basis.rows.subarray(at, at + p) : (() => {
    const r = new Float64Array(p);
    design(t, k, r);
    return r;
  })();
  let v = 0;
  for (let i = 0; i < p; i++) v += (beta[i] as number) * (row[i] as number);
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
  const p = 2 * k + 1;
  const basis = basisOf(s.first, o, k);
  const xty = new Float64Array(p);
  for (let t = s.first; t <= o; t++) {
    // Smoothed histories are complete over their span; a gap would need its own Gram.
    const y = Number.isNaN(sm[t] as number) ? 0 : (sm[t] as number);
    const r = (t - s.first) * p;
    for (let i = 0; i < p; i++) xty[i] = (xty[i] as number) + (basis.rows[r + i] as number) * y;
  }
  const beta = cholSolve(basis.chol, xty, p);
  const resid = new Float64Array(o + 1).fill(NaN);
  for (let t = s.first; t <= o; t++) if (!Number.isNaN(sm[t] as number)) resid[t] = (sm[t] as number) - curveAt(beta, basis, t, k);
  const level = sesLevel(resid, s.first, o, STL_ALPHAS);
  for (let h = 0; h < infos.length; h++) out[h] = curveAt(beta, basis, o + h + 1, k) + (Number.isNaN(level) ? 0 : level);
}

