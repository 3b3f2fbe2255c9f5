import { alignedFrom, type Alignment } from './panel.ts';
import type { OriginState, TargetInfo } from './features.ts';
import { plain, seasonalOf, sesLevel, STL_ALPHAS, YEAR, yearMean, type MemberCompute } from './members.ts';
import { sourceValue } from './source-kernel.ts';

/**
 * Closer copies of R's forecast::stlf as the Kaggle winner called it (grouped.forecast.R
 * `stlf.svd`: stlf(ts(svd-smoothed store series, frequency = 52), s.window = 3, method = 'ets',
 * ic = 'bic', opt.crit = 'mae'), rank 12, no log or scaling), for bench/backtest.ts --stl to
 * compare with the stl-ets member in use (members.ts). Measured worse on the inner windows
 * and scored weeks of four origins (docs/forecasting.md), so no member uses them: with at
 * most two years of history STL's s.window = 3 seasonal is last year's week alone, and
 * ETS fitted on the whole history chases the last, holiday-disturbed weeks.
 */

export interface StlfOptions {
  /** The trend STL removes: the moving 52-week mean (in use) or stl's loess (t.window 157, degree 1). */
  trend: 'moving-mean' | 'loess';
  /** ETS of the adjusted series: 'ses' in use (alpha 0.05-0.5 by last year's one-step MAE); else R's ets by BIC among ANN ('ann'), ANN and AAdN ('damped'), or ANN, AAN and AAdN ('auto'). */
  ets: 'ses' | 'ann' | 'damped' | 'auto';
  /** Seasonal: 'aligned' in use (detrended weeks, own / year before / after; 0.65 / 0.35 forecast blend) or STL's (subseries smoothing). */
  seasonal: 'aligned' | 'stl';
}

function trendOf(x: Float64Array, first: number, origin: number, trend: StlfOptions['trend']): Float64Array {
  return trend === 'loess' ? loessTrend(x, first, origin, 157) : yearMean(x, first, origin);
}

/**
 * STL's cycle-subseries smoothing with s.window = 3, degree 0, along the aligned year chains:
 * R's stlest gives an inner point of a chain weight 0 to its neighbours (they sit at the
 * window's edge) and an end point of a chain of three or more (1 - 1/8)^3 = 0.67 to its
 * neighbour, so with two years of history the seasonal is each week's own detrended value.
 */
function subseries(d: Float64Array, back: Int32Array, fwd: Int32Array, first: number, origin: number): Float64Array {
  const c = new Float64Array(origin + 1).fill(NaN);
  const w = (1 - 1 / 8) ** 3;
  for (let i = first; i <= origin; i++) {
    const b = back[i] as number;
    const f = fwd[i] as number;
    const v = d[i] as number;
    if (f < 0 && b >= 0 && (back[b] as number) >= 0) c[i] = (v + w * (d[b] as number)) / (1 + w);
    else if (b < 0 && f >= 0 && (fwd[f] as number) >= 0) c[i] = (v + w * (d[f] as number)) / (1 + w);
    else c[i] = v;
  }
  return c;
}

/**
 * STL's seasonal component (two inner passes, no robustness weights: stlf's robust = FALSE):
 * detrend, smooth each cycle-subseries (the aligned year chains), remove the low-pass level
 * (approximated by the moving 52-week mean; R filters 52, 52, 3 and a loess), re-estimate
 * the trend on the seasonally adjusted series.
 */
function stlSeasonal(st: OriginState, x: Float64Array, first: number, origin: number, trend: StlfOptions['trend']): Float64Array {
  const back = new Int32Array(origin + 1).fill(-1);
  const fwd = new Int32Array(origin + 1).fill(-1);
  for (let i = first; i <= origin; i++) {
    const src = (st.gridAlign[i] as Alignment).src;
    if (src >= first && src < i) {
      back[i] = src;
      fwd[src] = i;
    }
  }
  let t = trendOf(x, first, origin, trend);
  let s = new Float64Array(origin + 1);
  for (let iter = 0; iter < 2; iter++) {
    if (iter > 0) t = trendOf(Float64Array.from(x, (v, i) => v - (s[i] as number)), first, origin, trend);
    const d = Float64Array.from(x, (v, i) => v - (t[i] as number));
    const c = subseries(d, back, fwd, first, origin);
    const l = yearMean(c, first, origin);
    s = Float64Array.from(c, (v, i) => v - (l[i] as number));
  }
  return s;
}

/** Additive-error ETS without seasonality: ANN, AAN or AAdN (the `etsmodel = 'ZZN'` of stlf). */
interface EtsFit {
  level: number;
  trend: number;
  phi: number;
  mae: number;
  mse: number;
}

/** One-step run of Holt's damped method over x[first..origin] (beta 0: simple smoothing). */
function etsRun(x: Float64Array, first: number, origin: number, alpha: number, beta: number, phi: number, l0: number, b0: number): EtsFit {
  let l = l0;
  let b = b0;
  let abs = 0;
  let sq = 0;
  let n = 0;
  for (let i = first; i <= origin; i++) {
    const v = x[i] as number;
    const e = v - (l + phi * b);
    abs += Math.abs(e);
    sq += e * e;
    n++;
    const lPrev = l;
    l = lPrev + phi * b + alpha * e;
    b = phi * b + alpha * beta * e;
  }
  return { level: l, trend: b, phi, mae: abs / n, mse: sq / n };
}

const ETS_ALPHAS = [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9];
const ETS_BETAS = [0.01, 0.05, 0.1, 0.3];
const ETS_PHIS = [0.8, 0.9, 0.95, 0.98];

/**
 * R's ets(model = 'ZZN', opt.crit = 'mae', ic = 'bic') on an additive series, approximated:
 * each model's constants minimise the one-step mean absolute error (grid), the initial states
 * come from a regression on the first 10 weeks, and the model with the smallest BIC
 * (n log MSE + parameters x log n) is kept. Returns the forecast over `horizon` weeks.
 */
export function etsForecast(x: Float64Array, first: number, origin: number, horizon: number, models: Exclude<StlfOptions['ets'], 'ses'>): Float64Array {
  const n = origin - first + 1;
  const k = Math.min(10, n);
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (let j = 0; j < k; j++) {
    const v = x[first + j] as number;
    sx += j; sy += v; sxx += j * j; sxy += j * v;
  }
  const slope = k > 1 ? (k * sxy - sx * sy) / (k * sxx - sx * sx) : 0;
  const l0 = sy / k - slope * (sx / k) - slope;
  const candidates: { fit: EtsFit; np: number }[] = [];
  const best = (fits: EtsFit[]) => fits.reduce((a, b) => (b.mae < a.mae ? b : a));
  candidates.push({ fit: best(ETS_ALPHAS.map((a) => etsRun(x, first, origin, a, 0, 0, l0, 0))), np: 3 });
  if (models !== 'ann') {
    const phis = models === 'auto' ? [1, ...ETS_PHIS] : ETS_PHIS;
    for (const phi of phis) {
      const fits: EtsFit[] = [];
      for (const a of ETS_ALPHAS) for (const b of ETS_BETAS) fits.push(etsRun(x, first, origin, a, b, phi, l0, slope));
      candidates.push({ fit: best(fits), np: phi === 1 ? 5 : 6 });
    }
  }
  const bic = (c: { fit: EtsFit; np: number }) => n * Math.log(Math.max(c.fit.mse, 1e-12)) + c.np * Math.log(n);
  const chosen = candidates.reduce((a, b) => (bic(b) < bic(a) ? b : a)).fit;
  const out = new Float64Array(horizon);
  let damp = 0;
  let p = 1;
  for (let h = 0; h < horizon; h++) {
    p *= chosen.phi;
    damp += p;
    out[h] = chosen.level + damp * chosen.trend;
  }
  return out;
}

/**
 * STL's trend: a local linear (degree 1) loess with tricube weights over the `span` nearest
 * weeks of x[first..origin] (R's stl t.window = nextodd(1.5 m / (1 - 1.5 / s.window)) = 157 for
 * m = 52, s.window = 3), the window widened as R's stlest does when it exceeds the series.
 */
export function loessTrend(x: Float64Array, first: number, origin: number, span: number): Float64Array {
  const out = new Float64Array(origin + 1).fill(NaN);
  // R's stl evaluates the trend loess every t.jump = ceiling(t.window / 10) weeks and
  // interpolates linearly between (and always at the last week).
  const jump = Math.max(1, Math.ceil(span / 10));
  let prev = -1;
  for (let i = first; ; i = Math.min(i + jump, origin)) {
    out[i] = loessAt(x, first, origin, span, i);
    if (prev >= 0) for (let j = prev + 1; j < i; j++) out[j] = (out[prev] as number) + (((out[i] as number) - (out[prev] as number)) * (j - prev)) / (i - prev);
    prev = i;
    if (i === origin) break;
  }
  return out;
}

/** The local linear tricube fit of x[first..origin] at week i (the weighted mean when the line is degenerate). */
function loessAt(x: Float64Array, first: number, origin: number, span: number, i: number): number {
  const n = origin - first + 1;
  const q = Math.min(span, n);
  const lo = Math.min(Math.max(i - Math.floor(q / 2), first), origin - q + 1);
  const hi = lo + q - 1;
  let h = Math.max(i - lo, hi - i);
  if (span > n) h += Math.floor((span - n) / 2);
  let sw = 0, swx = 0, swy = 0, swxx = 0, swxy = 0;
  for (let j = lo; j <= hi; j++) {
    const r = Math.abs(j - i) / h;
    if (r >= 0.999) continue;
    const w = (1 - r * r * r) ** 3;
    const d = j - i;
    const v = x[j] as number;
    sw += w; swx += w * d; swy += w * v; swxx += w * d * d; swxy += w * d * v;
  }
  const den = sw * swxx - swx * swx;
  return Math.abs(den) > 1e-9 * sw * sw ? (swy * swxx - swx * swxy) / den : swy / sw;
}

/** The seasonally adjusted series and the seasonal component the in-use stl-ets builds (members.ts), with the chosen trend. */
function alignedSeasonal(st: OriginState, sm: Float64Array, first: number, o: number, trend: StlfOptions['trend']): { seas: Float64Array; adj: Float64Array } {
  const t = trendOf(sm, first, o, trend);
  const seas = Float64Array.from(sm, (v, i) => v - (t[i] as number));
  const adj = new Float64Array(o + 1).fill(NaN);
  for (let i = first; i <= o; i++) {
    const parts = [seas[i] as number];
    const back = alignedFrom(seas, plain(st.gridAlign[i] as Alignment), o);
    if (!Number.isNaN(back) && (st.gridAlign[i] as Alignment).src >= first) parts.push(back);
    if (i + YEAR <= o && !Number.isNaN(seas[i + YEAR] as number)) parts.push(seas[i + YEAR] as number);
    adj[i] = (sm[i] as number) - parts.reduce((a, b) => a + b, 0) / parts.length;
  }
  return { seas, adj };
}

/** stl-ets computed with `o`'s pieces (a flat recent mean without a year of history, as the member in use). */
export function stlfVariant(o: StlfOptions): MemberCompute {
  return (st, si, infos, out) => {
    const s = st.panel.series[si] as { first: number };
    const sm = st.smooth[si] as Float64Array;
    const origin = st.origin;
    if (origin - s.first + 1 < YEAR) {
      out.fill(Number.isFinite(st.recent13[si] as number) ? (st.recent13[si] as number) : 0);
      return;
    }
    let seas: Float64Array;
    let adj: Float64Array;
    if (o.seasonal === 'stl') {
      seas = stlSeasonal(st, sm, s.first, origin, o.trend);
      const sf = seas;
      adj = Float64Array.from(sm, (v, i) => v - (sf[i] as number));
    } else ({ seas, adj } = alignedSeasonal(st, sm, s.first, origin, o.trend));
    const lv = o.ets === 'ses' ? new Float64Array(infos.length).fill(sesLevel(adj, s.first, origin, STL_ALPHAS)) : etsForecast(adj, s.first, origin, infos.length, o.ets);
    infos.forEach((t: TargetInfo, h) => {
      // STL's forecast repeats the last cycle of its seasonal component (read here through the alignment).
      const sv = o.seasonal === 'stl' ? sourceValue(st.panel, seas, t.a1.src, origin) : seasonalOf(st.panel, seas, t.a1, t.a2, origin);
      out[h] = (lv[h] as number) + (Number.isNaN(sv) ? 0 : sv);
    });
  };
}
