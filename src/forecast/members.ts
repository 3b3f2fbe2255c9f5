import { addWeeks } from '../data/weeks.ts';
import { correlatedAverage, DEFAULT_NEIGHBOURS, neighbourSet, type NeighbourOptions } from './correlated.ts';
import { originState, targetInfo, type OriginState, type TargetInfo } from './features.ts';
import { harmonic } from './harmonic.ts';
import { sesLevel, STL_ALPHAS } from './ses.ts';
import { sourceValue } from './source-kernel.ts';

export { sesLevel, STL_ALPHAS } from './ses.ts';
import { alignedFrom, type Alignment, type Panel, type PanelSeries } from './panel.ts';

/**
 * The statistical members of the forecast (docs/forecasting.md): per-series forecasts from the
 * per-department SVD-smoothed history (features.ts `originState`), the pieces of the Kaggle
 * winner's entry that the global network does not reproduce on its own.
 *
 *   svd-naive  the smoothed holiday-aligned week a year back (two-year blend) x recent growth
 *   stl-ets    STL-like decomposition of the smoothed series (a 52-week moving-average trend,
 *              seasonal = the detrended aligned weeks of the past two years, blended) and simple
 *              exponential smoothing of the seasonally adjusted series: level + seasonal
 *   product    the series' share of its department x the department's smoothed aligned week
 *
 * Every member is computed WITHOUT the Christmas day drift; christmas.ts moves it afterwards,
 * the same way for every member. Values are dollars, one array per horizon.
 */

export const STAT_MEMBERS = ['svd-naive', 'stl-ets', 'product'] as const;
export type StatMember = (typeof STAT_MEMBERS)[number];

/**
 * Members the combination keeps only where they lower its inner-window WMAE (combination.ts
 * `fitCombination`): harmonic.ts' Fourier seasonal is a poor forecast alone (it blurs the
 * holiday peaks) but errs differently from the aligned-week members; naive-nn (correlated.ts:
 * the seasonal naive of the unsmoothed history averaged over each store's most correlated
 * stores, the winner's stlf.nn) is worse alone than svd-naive and smooths differently.
 */
export const OPTIONAL_MEMBERS = ['harmonic', 'naive-nn'] as const;

/** An alignment without the Christmas day-drift blend (the drift is post-processing here). */
export const plain = (a: Alignment): Alignment => ({ src: a.src, nb: a.src, w: 0 });

/** Weight of last year's seasonal against the year before's (the rest), as in the network's two-year blends. */
const W1 = 0.65;

/** Weeks of the moving-average trend window. */
export const YEAR = 52;

/** Moving 52-week mean of x[first..origin] (the window slides inwards at both ends, so the last half-year's is the last year's mean). */
export function yearMean(x: Float64Array, first: number, origin: number): Float64Array {
  const prefix = new Float64Array(origin + 2);
  for (let i = 0; i <= origin; i++) prefix[i + 1] = (prefix[i] as number) + (i >= first ? (x[i] as number) : 0);
  const out = new Float64Array(origin + 1).fill(NaN);
  for (let i = first; i <= origin; i++) {
    const a = Math.min(Math.max(i - YEAR / 2, first), origin - YEAR + 1);
    out[i] = ((prefix[a + YEAR] as number) - (prefix[a] as number)) / YEAR;
  }
  return out;
}

/** Detrended history: value minus its moving 52-week mean. Undefined with less than a year of history. */
function detrended(sm: Float64Array, first: number, origin: number): Float64Array | undefined {
  if (origin - first + 1 < YEAR) return undefined;
  const out = yearMean(sm, first, origin);
  for (let i = first; i <= origin; i++) out[i] = (sm[i] as number) - (out[i] as number);
  return out;
}

/** The seasonal component of a week: the mean of the detrended aligned weeks one and two years back that exist. */
export function seasonalOf(panel: Panel, seas: Float64Array, a1: Alignment, a2: Alignment, limit: number): number {
  const s1 = sourceValue(panel, seas, a1.src, limit);
  const s2 = sourceValue(panel, seas, a2.src, limit);
  if (Number.isNaN(s1)) return Number.isNaN(s2) ? NaN : s2;
  return Number.isNaN(s2) ? s1 : W1 * s1 + (1 - W1) * s2;
}

/** How one statistical member forecasts one series (its target weeks into `out`). */
export type MemberCompute = (st: OriginState, si: number, infos: readonly TargetInfo[], out: Float64Array) => void;

let stlVariant: MemberCompute | undefined;

/**
 * Replaces stl-ets' computation (bench/backtest.ts --stl compares stlf.ts' closer copies of
 * R's stlf with it); undefined restores the member in use.
 */
export function setStlVariant(variant: MemberCompute | undefined): void {
  stlVariant = variant;
}

/**
 * STL + ETS of one series: level (SES of value - seasonal over the history) + seasonal of
 * each target. Flat recent mean without a year of history.
 */
function stlEts(st: OriginState, si: number, infos: readonly TargetInfo[], out: Float64Array): void {
  if (stlVariant) {
    stlVariant(st, si, infos, out);
    return;
  }

  const s = st.panel.series[si] as PanelSeries;
  const sm = st.smooth[si] as Float64Array;
  const o = st.origin;
  const seas = detrended(sm, s.first, o);
  if (!seas) {
    out.fill(Number.isFinite(st.recent13[si] as number) ? (st.recent13[si] as number) : 0);
    return;
  }
  // Seasonally adjusted history (the seasonal of week i: its own detrended value averaged
  // with the aligned week a year before and after, when known), smoothed exponentially.
  const adj = new Float64Array(o + 1).fill(NaN);
  for (let i = s.first; i <= o; i++) {
    const own = seas[i] as number;
    const back = alignedFrom(seas, plain(st.gridAlign[i] as Alignment), o);
    let sum = own;
    let n = 1;
    if (!Number.isNaN(back) && (st.gridAlign[i] as Alignment).src >= s.first) {
      sum += back;
      n++;
    }
    const fwd = i + YEAR <= o ? (seas[i + YEAR] as number) : NaN;
    if (!Number.isNaN(fwd)) {
      sum += fwd;
      n++;
    }
    adj[i] = (sm[i] as number) - sum / n;
  }
  const level = sesLevel(adj, s.first, o, STL_ALPHAS);
  infos.forEach((t, h) => {
    const sv = seasonalOf(st.panel, seas, t.a1, t.a2, o);
    out[h] = level + (Number.isNaN(sv) ? 0 : sv);
  });
}

/**
 * How svd-naive estimates the level at the origin. Undefined: the network's `level` feature
 * (raw last 13 weeks over last year's, square-rooted, clamped to 0.8-1.25).
 */
export interface LevelOptions {
  /** Weeks before the origin compared with their aligned weeks a year back (smoothed series). */
  window: number;
  /** Weight of the series' own ratio against its department's (log scale): 1 = own, 0 = department's. */
  beta: number;
  /** Overall damping towards 1 (log scale): 1 = none. */
  gamma: number;
}

let levelOptions: LevelOptions | undefined;

/** Sets svd-naive's level estimate (bench/backtest.ts --members compares them on the inner window). */
export function setLevelOptions(options: LevelOptions | undefined): void {
  levelOptions = options;
}

/** Sum of `values` over the `window` weeks up to the origin over their aligned weeks a year back (NaN if < 4 pairs). */
function yearRatio(st: OriginState, values: Float64Array, first: number, window: number): number {
  let num = 0;
  let den = 0;
  let k = 0;
  for (let i = st.origin; i > st.origin - window && i >= first; i--) {
    const y = values[i] as number;
    const src = alignedFrom(values, plain(st.gridAlign[i] as Alignment), st.origin);
    if (Number.isNaN(y) || Number.isNaN(src)) continue;
    num += y;
    den += src;
    k++;
  }
  return k >= 4 && num > 0 && den > 0 ? num / den : NaN;
}

/** The smoothed series' level ratio, shrunk towards its department's and damped (LevelOptions). */
function smoothedLevel(st: OriginState, si: number, o: LevelOptions): number {
  const s = st.panel.series[si] as PanelSeries;
  const own = yearRatio(st, st.smooth[si] as Float64Array, s.first, o.window);
  const agg = st.deptAgg.get(s.dept);
  const dept = agg ? yearRatio(st, agg.sum, 0, o.window) : NaN;
  const lo = Number.isFinite(dept) ? Math.log(dept) : 0;
  const ls = Number.isFinite(own) ? Math.log(own) : lo;
  return Math.exp(Math.min(0.4, Math.max(-0.4, o.gamma * (o.beta * ls + (1 - o.beta) * lo))));
}

/** Smoothed seasonal naive: the two-year blend of the smoothed aligned weeks x the growth level. */
function svdNaive(st: OriginState, si: number, infos: readonly TargetInfo[], out: Float64Array): void {
  seasonalNaive(st, st.smooth[si] as Float64Array, si, infos, out);
}

/**
 * svd-naive's forecast of the history `sm` (the smoothed one for svd-naive, the unsmoothed
 * one for naive-nn's base, where the correlated stores do the smoothing instead of the SVD).
 */
function seasonalNaive(st: OriginState, sm: Float64Array, si: number, infos: readonly TargetInfo[], out: Float64Array): void {
  const o = st.origin;
  const r13 = st.recent13[si] as number;
  const g = st.growth[si] as number;
  const lvl = levelOptions ? smoothedLevel(st, si, levelOptions) : (st.level[si] as number);
  infos.forEach((t, h) => {
    const s1 = sourceValue(st.panel, sm, t.a1.src, o);
    if (Number.isNaN(s1)) {
      out[h] = Number.isFinite(r13) ? r13 : 0;
      return;
    }
    const s2 = sourceValue(st.panel, sm, t.a2.src, o);
    const blend = !Number.isNaN(s2) && Number.isFinite(g) ? 0.65 * s1 + 0.35 * s2 * g : s1;
    out[h] = blend * lvl;
  });
}

/** Share of the department (last 52 weeks) x the department's aligned week, x the growth level. */
function product(st: OriginState, si: number, infos: readonly TargetInfo[], out: Float64Array): void {
  const s = st.panel.series[si] as PanelSeries;
  const dept = st.deptAgg.get(s.dept);
  const share = st.share52[si] as number;
  const lvl = st.level[si] as number;
  const r13 = st.recent13[si] as number;
  infos.forEach((t, h) => {
    const d1 = dept ? sourceValue(st.panel, dept.sum, t.a1.src, st.origin) : NaN;
    if (Number.isFinite(d1) && Number.isFinite(share)) out[h] = share * d1 * lvl;
    else if (Number.isFinite(d1) && dept && dept.recent13 > 0 && Number.isFinite(r13)) out[h] = (r13 * d1) / dept.recent13;
    else out[h] = Number.isFinite(r13) ? r13 : 0;
  });
}

const COMPUTE: Record<string, MemberCompute> = {
  'svd-naive': svdNaive,
  'stl-ets': stlEts,
  product,
  harmonic: (st, si, infos, out) => harmonic(st, si, infos, out),
  'naive-raw': (st, si, infos, out) => seasonalNaive(st, st.filled[si] as Float64Array, si, infos, out),
};

/** The computation of a registered member (bench/backtest-cached.ts builds variants on it). */
export function memberCompute(name: string): MemberCompute | undefined {
  return COMPUTE[name];
}

/** Adds a candidate member (bench/backtest-cached.ts measures candidates before they join STAT_MEMBERS). */
export function registerCandidate(name: string, compute: MemberCompute): void {
  COMPUTE[name] = compute;
}

/**
 * Correlated-store members (correlated.ts, the winner's `stlf.nn`): a base member's forecasts
 * averaged, standard-scaled, over each store's most correlated stores of its department.
 * naive-nn: svd-naive's computation on the unsmoothed history (the winner averaged unsmoothed
 * forecasts too), averaged over the correlated stores (docs/forecasting.md, sixth round).
 */
const CORRELATED: Record<string, { base: string; options: NeighbourOptions }> = {
  'naive-nn': { base: 'naive-raw', options: DEFAULT_NEIGHBOURS },
};

/** Adds a correlated-store candidate: `base`'s forecasts averaged over each store's neighbours. */
export function registerCorrelated(name: string, base: string, options: NeighbourOptions = DEFAULT_NEIGHBOURS): void {
  CORRELATED[name] = { base, options };
}

/** Per member, per series id (those with history at the origin): p50 over the horizon, dollars, before the Christmas shift. */
export type MemberPoints = Map<string, Map<number, Float64Array>>;

/** The target weeks after grid index `origin`. */
export function horizonInfos(panel: Panel, origin: number, horizon: number): TargetInfo[] {
  const originWeek = origin < panel.weeks.length ? (panel.weeks[origin] as string) : addWeeks(panel.weeks[0] as string, origin);
  return Array.from({ length: horizon }, (_, h) => targetInfo(panel, origin, addWeeks(originWeek, h + 1)));
}

/**
 * Every statistical member's forecasts of `ids` at `origin` (only data on or before it is read).
 * A correlated-store member also forecasts its base member for each series' neighbours (at
 * most correlated.ts CANDIDATES per series), with an origin state that covers them when `st`
 * does not.
 */
export function statForecasts(panel: Panel, origin: number, ids: readonly number[], horizon: number, svdRank: number, st?: OriginState, names: readonly string[] = [...STAT_MEMBERS, ...OPTIONAL_MEMBERS]): MemberPoints {
  const withHistory = ids.filter((si) => (panel.series[si] as PanelSeries).first <= origin);
  const correlated = names.filter((m) => CORRELATED[m] !== undefined);
  const sets = new Map<string, Map<number, number[]>>(correlated.map((m) => [m, new Map(withHistory.map((si) => [si, neighbourSet(panel, origin, si, (CORRELATED[m] as { options: NeighbourOptions }).options)]))]));
  const asked = new Set(withHistory);
  const extra = new Set<number>();
  for (const bySeries of sets.values()) for (const set of bySeries.values()) for (const n of set) if (!asked.has(n)) extra.add(n);
  const state = st && extra.size === 0 ? st : originState(panel, origin, { svdRank }, [...withHistory, ...extra]);
  const infos = horizonInfos(panel, origin, horizon);
  const out: MemberPoints = new Map(names.map((m) => [m, new Map<number, Float64Array>()]));
  for (const si of withHistory) {
    for (const m of names) {
      if (CORRELATED[m]) continue;
      const a = new Float64Array(horizon);
      (COMPUTE[m] as MemberCompute)(state, si, infos, a);
      out.get(m)?.set(si, a);
    }
  }
  // Base forecasts of the neighbours, each computed once (the asked series' own when the base is a member asked for).
  const baseCache = new Map<string, Map<number, Float64Array>>();
  const baseOf = (base: string, si: number): Float64Array => {
    let byBase = baseCache.get(base);
    if (!byBase) {
      byBase = new Map(out.get(base) ?? []);
      baseCache.set(base, byBase);
    }
    let a = byBase.get(si);
    if (!a) {
      a = new Float64Array(horizon);
      (COMPUTE[base] as MemberCompute)(state, si, infos, a);
      byBase.set(si, a);
    }
    return a;
  };
  for (const m of correlated) {
    const { base } = CORRELATED[m] as { base: string };
    for (const si of withHistory) {
      const a = new Float64Array(horizon);
      correlatedAverage(panel, origin, si, sets.get(m)?.get(si) as number[], (n) => baseOf(base, n), a);
      out.get(m)?.set(si, a);
    }
  }
  return out;
}
