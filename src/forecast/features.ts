import { addWeeks } from '../data/weeks.ts';
import { holidayOf, holidayWeek, type HolidayName } from '../data/holidays.ts';
import { alignedFrom, alignment, gridIndex, type Alignment, type Panel, type PanelSeries } from './panel.ts';
import { lowRank } from './svd.ts';

/**
 * Features of the global model. A sample is (series, origin, target week): everything is
 * computed from data on or before the origin, and every sales quantity is divided by the
 * series' scale (mean |sales| of its last 52 weeks), so one network serves a $500 and a
 * $150,000 department.
 *
 * The strong statistical forecasts are computed here and become the candidates the network
 * mixes (model.ts): holiday-aligned seasonal naive one year back (raw and from the
 * per-department rank-k SVD smoothing of the store x week matrix), their blends with the year
 * before (scaled by the growth between the years), and a "product" forecast (the series'
 * share of its department x the department's aligned week). What the network itself sees is
 * season-neutral: how those forecasts differ, growth rates, holiday flags, store type and
 * size, markdowns, temperature change, volatility, horizon.
 */

export const FEATURE_NAMES = [
  // Forecast values (scaled). The network never sees these directly (HIDDEN_FEATURES): it
  // mixes them. Fed raw, a peak week's values are far outside anything a training window
  // without that season showed, and the network extrapolates wildly.
  'sn1',
  'sn1_svd',
  'snavg',
  'snavg_svd',
  'product',
  'base',
  // What the network sees: relative differences, growth rates, context. Season-neutral.
  'rel_svd',
  'rel_avg',
  'rel_avg_svd',
  'rel_product',
  'rel_prev',
  'rel_next',
  'avail1',
  'avail2',
  'yoy4',
  'yoy13',
  'yoy_dept13',
  'avail_share',
  'log_level',
  'horizon',
  'holiday',
  'hol_superbowl',
  'hol_laborday',
  'hol_thanksgiving',
  'hol_christmas',
  'pre_christmas',
  'type_a',
  'type_b',
  'type_c',
  'size',
  'markdown',
  'markdown_src',
  'temp_diff',
  'volatility',
  'log_scale',
  'sparsity',
] as const;

export const HIDDEN_FEATURES: readonly number[] = [0, 1, 2, 3, 4, 5];

export const N_FEATURES = FEATURE_NAMES.length;
export const BASE_COL = FEATURE_NAMES.indexOf('base');
const CALENDAR_WIDTH = 6;

export interface FeatureOptions {
  /** Rank of the per-department SVD smoothing (0 = none). */
  svdRank: number;
}

const HOLIDAY_COLS: Record<HolidayName, number> = {
  'Super Bowl': FEATURE_NAMES.indexOf('hol_superbowl'),
  'Labor Day': FEATURE_NAMES.indexOf('hol_laborday'),
  Thanksgiving: FEATURE_NAMES.indexOf('hol_thanksgiving'),
  Christmas: FEATURE_NAMES.indexOf('hol_christmas'),
};

/** Per-origin precomputation shared by all targets of that origin. */
export interface OriginState {
  panel: Panel;
  origin: number;
  /** Per series: known values up to the origin, absent-in-span = 0, unknown = NaN. */
  filled: Float64Array[];
  smooth: Float64Array[];
  scale: Float64Array;
  recent4: Float64Array;
  recent13: Float64Array;
  recent52: Float64Array;
  lastYear13: Float64Array;
  lastYear4: Float64Array;
  /** Share of the series in its department over the last 52 weeks (NaN if < 52 weeks). */
  share52: Float64Array;
  level: Float64Array;
  volatility: Float64Array;
  /** Year-over-year growth of the last 52 weeks (NaN without a year of overlap). */
  growth: Float64Array;
  sparsity: Float64Array;
  /** Department totals over the store x week matrix. */
  deptAgg: Map<number, { sum: Float64Array; recent13: number; lastYear13: number; total52: number }>;
  /** Holiday-aligned source of each grid week (for in-sample quantities). */
  gridAlign: Alignment[];
}

function isoWeekAt(panel: Panel, i: number): string {
  return panel.weeks[i] ?? addWeeks(panel.weeks[0] as string, i);
}

function mean(a: Float64Array, from: number, to: number): number {
  let s = 0;
  let n = 0;
  for (let i = Math.max(from, 0); i <= to; i++) {
    const v = a[i] as number;
    if (Number.isNaN(v)) continue;
    s += v;
    n++;
  }
  return n === 0 ? NaN : s / n;
}

type DeptAgg = { sum: Float64Array; recent13: number; lastYear13: number; total52: number };
type DeptBlock = { filled: Float64Array[]; smooth: Float64Array[]; agg: DeptAgg };
const blockCache = new WeakMap<Panel, Map<string, Map<number, DeptBlock>>>();

function deptCache(panel: Panel, key: string): Map<number, DeptBlock> {
  let byKey = blockCache.get(panel);
  if (!byKey) {
    byKey = new Map();
    blockCache.set(panel, byKey);
  }
  let m = byKey.get(key);
  if (!m) {
    m = new Map();
    byKey.set(key, m);
    // A few origins per panel at most (the live one, plus what a user asked with `origin`).
    if (byKey.size > 4) byKey.delete(byKey.keys().next().value as string);
  }
  return m;
}

const alignCache = new WeakMap<Panel, Alignment[]>();
export function gridAlignments(panel: Panel): Alignment[] {
  let a = alignCache.get(panel);
  if (!a) {
    a = panel.weeks.map((w) => alignment(panel, w));
    alignCache.set(panel, a);
  }
  return a;
}

/** The state of every series of `panel` as of grid index `origin`. `only` restricts to some series (inference). */
export function originState(panel: Panel, origin: number, options: FeatureOptions, only?: readonly number[]): OriginState {
  const n = panel.series.length;
  const len = origin + 1;
  const ids = only ?? panel.series.map((_, i) => i);
  const filled: Float64Array[] = new Array(n);
  const smooth: Float64Array[] = new Array(n);
  const empty = new Float64Array(0);
  for (let i = 0; i < n; i++) {
    filled[i] = empty;
    smooth[i] = empty;
  }
  const fill = (s: PanelSeries): Float64Array => {
    const a = new Float64Array(len).fill(NaN);
    // Absent weeks after the series' first are "nothing sold", up to the origin (a
    // department that stopped reporting sells nothing).
    const hi = Math.min(origin, s.y.length - 1);
    for (let i = s.first; i <= hi; i++) {
      const v = s.y[i] as number;
      a[i] = Number.isNaN(v) ? 0 : v;
    }
    return a;
  };
  // Departments of the wanted series: the SVD and the aggregates need all their stores.
  const wantedDepts = new Set(ids.map((i) => (panel.series[i] as PanelSeries).dept));
  const deptMembers = new Map<number, number[]>();
  panel.series.forEach((s, i) => {
    if (s.first > origin) return;
    if (wantedDepts.has(s.dept)) {
      const l = deptMembers.get(s.dept) ?? [];
      l.push(i);
      deptMembers.set(s.dept, l);
    }
  });
  for (const members of deptMembers.values()) {
    for (const i of members) if (filled[i] === empty) filled[i] = fill(panel.series[i] as PanelSeries);
  }
  const deptAgg = new Map<number, { sum: Float64Array; recent13: number; lastYear13: number; total52: number }>();
  // Inference asks for a few series at a time: reuse each department's block (filled,
  // smoothed, totals) across calls for the same panel, origin and rank.
  const cache = only ? deptCache(panel, `${origin}|${options.svdRank}`) : undefined;
  for (const [dept, members] of [...deptMembers]) {
    const hit = cache?.get(dept);
    if (!hit) continue;
    members.forEach((si, r) => {
      filled[si] = hit.filled[r] as Float64Array;
      smooth[si] = hit.smooth[r] as Float64Array;
    });
    deptAgg.set(dept, hit.agg);
    deptMembers.delete(dept);
  }
  const originAlign = gridAlignments(panel)[origin] ?? alignment(panel, isoWeekAt(panel, origin));
  for (const [dept, members] of deptMembers) {
    const rows = members.length;
    const m = new Float64Array(rows * len);
    const sum = new Float64Array(len);
    members.forEach((si, r) => {
      const f = filled[si] as Float64Array;
      for (let c = 0; c < len; c++) {
        const v = f[c] as number;
        if (Number.isNaN(v)) continue;
        m[r * len + c] = v;
        sum[c] = (sum[c] as number) + v;
      }
    });
    let total52 = 0;
    for (let c = Math.max(0, origin - 51); c <= origin; c++) total52 += sum[c] as number;
    deptAgg.set(dept, {
      sum,
      recent13: mean(sum, origin - 12, origin),
      lastYear13: originAlign.src >= 12 ? mean(sum, originAlign.src - 12, originAlign.src) : NaN,
      total52,
    });
    const lr = options.svdRank > 0 && rows > options.svdRank ? lowRank(m, rows, len, options.svdRank) : m;
    members.forEach((si, r) => {
      const f = filled[si] as Float64Array;
      const out = lr.slice(r * len, (r + 1) * len);
      // Unknown stays unknown (before the series started).
      for (let c = 0; c < len; c++) if (Number.isNaN(f[c] as number)) out[c] = NaN;
      smooth[si] = out;
    });
    cache?.set(dept, {
      filled: members.map((si) => filled[si] as Float64Array),
      smooth: members.map((si) => smooth[si] as Float64Array),
      agg: deptAgg.get(dept) as DeptAgg,
    });
  }
  const gridAlign = gridAlignments(panel);
  const scale = new Float64Array(n).fill(1);
  const recent4 = new Float64Array(n).fill(NaN);
  const recent13 = new Float64Array(n).fill(NaN);
  const recent52 = new Float64Array(n).fill(NaN);
  const lastYear13 = new Float64Array(n).fill(NaN);
  const lastYear4 = new Float64Array(n).fill(NaN);
  const share52 = new Float64Array(n).fill(NaN);
  const level = new Float64Array(n).fill(1);
  const volatility = new Float64Array(n);
  const growth = new Float64Array(n).fill(NaN);
  const sparsity = new Float64Array(n);
  for (const si of ids) {
    const s = panel.series[si] as PanelSeries;
    const f = filled[si] as Float64Array;
    if (f.length === 0 || s.first > origin) continue;
    let absSum = 0;
    let cnt = 0;
    let zeros = 0;
    for (let i = Math.max(origin - 51, s.first); i <= origin; i++) {
      const v = f[i] as number;
      absSum += Math.abs(v);
      cnt++;
      if (Number.isNaN(s.y[i] as number) || v === 0) zeros++;
    }
    scale[si] = Math.max(absSum / Math.max(cnt, 1), 10);
    sparsity[si] = cnt === 0 ? 1 : zeros / cnt;
    recent4[si] = mean(f, origin - 3, origin);
    recent13[si] = mean(f, origin - 12, origin);
    recent52[si] = mean(f, origin - 51, origin);
    const ao = originAlign;
    if (ao.src - 12 >= s.first) lastYear13[si] = mean(f, ao.src - 12, ao.src);
    if (ao.src - 3 >= s.first) lastYear4[si] = mean(f, ao.src - 3, ao.src);
    const d = deptAgg.get(s.dept);
    if (d && origin - 51 >= s.first && d.total52 > 0) {
      let own = 0;
      for (let i = origin - 51; i <= origin; i++) own += f[i] as number;
      share52[si] = own / d.total52;
    }
    // Level: recent 13 weeks over their aligned weeks a year before, shrunk and clamped.
    let num = 0;
    let den = 0;
    let k = 0;
    for (let i = origin; i > origin - 13 && i >= s.first; i--) {
      const y = s.y[i] as number;
      const src = alignedFrom(f, gridAlign[i] as Alignment, origin);
      if (Number.isNaN(y) || Number.isNaN(src)) continue;
      num += y;
      den += src;
      k++;
    }
    if (k >= 4 && num > 0 && den > 0) level[si] = Math.min(1.25, Math.max(0.8, Math.sqrt(num / den)));
    // In-sample seasonal-naive error: how noisy the series is relative to last year.
    let e = 0;
    let ne = 0;
    for (let i = s.first + 52; i <= origin; i++) {
      const y = s.y[i] as number;
      const src = alignedFrom(f, gridAlign[i] as Alignment, origin);
      if (Number.isNaN(y) || Number.isNaN(src)) continue;
      e += Math.abs(y - src);
      ne++;
    }
    volatility[si] = ne === 0 ? NaN : e / ne;
    // Year-over-year growth over (up to) the last 52 weeks: scales values two years back
    // to last year's level.
    let gy = 0;
    let gs = 0;
    let gn = 0;
    for (let i = Math.max(s.first + 52, origin - 51); i <= origin; i++) {
      const src = alignedFrom(f, gridAlign[i] as Alignment, origin);
      const y = f[i] as number;
      if (Number.isNaN(y) || Number.isNaN(src)) continue;
      gy += y;
      gs += src;
      gn++;
    }
    if (gn >= 13 && gy > 0 && gs > 0) growth[si] = Math.min(1.5, Math.max(0.67, gy / gs));
  }
  return {
    panel,
    origin,
    filled,
    smooth,
    scale,
    recent4,
    recent13,
    recent52,
    lastYear13,
    lastYear4,
    share52,
    level,
    volatility,
    growth,
    sparsity,
    deptAgg,
    gridAlign,
  };
}

/** Per target week: everything that does not depend on the series. */
export interface TargetInfo {
  week: string;
  horizon: number;
  a1: Alignment;
  a2: Alignment;
  srcWeek: string;
  calendar: Float32Array; // any holiday + holiday one-hot (4) + pre-christmas
}

export function targetInfo(panel: Panel, origin: number, week: string): TargetInfo {
  const idx = gridIndex(panel, week);
  const a1 = alignment(panel, week, 1);
  const a2 = alignment(panel, week, 2);
  // No day-of-year terms: seasonality comes from the aligned candidates, and a trained
  // window that never saw November must not extrapolate a season curve into it.
  const cal = new Float32Array(CALENDAR_WIDTH);
  const h = holidayOf(week);
  if (h || panel.holidayWeeks.has(week)) cal[0] = 1;
  if (h) cal[1 + (HOLIDAY_COLS[h] - HOLIDAY_COLS['Super Bowl'])] = 1;
  const xmas = holidayWeek('Christmas', Number(week.slice(0, 4)));
  if (gridIndex(panel, xmas) - idx === 1) cal[5] = 1;
  const srcIdx = a1.src;
  const srcWeek = srcIdx >= 0 && srcIdx < panel.weeks.length ? (panel.weeks[srcIdx] as string) : '';
  return { week, horizon: idx - origin, a1, a2, srcWeek, calendar: cal };
}

const nz = (v: number, fallback = 0): number => (Number.isFinite(v) ? v : fallback);

/**
 * Writes the features of series `si` for target `t` into `out` at `offset`. Returns the
 * scaled base forecast (also written in column BASE_COL).
 */
export function writeFeatures(st: OriginState, si: number, t: TargetInfo, out: Float32Array, offset: number): number {
  const panel = st.panel;
  const s = panel.series[si] as PanelSeries;
  const o = st.origin;
  const f = st.filled[si] as Float64Array;
  const sm = st.smooth[si] as Float64Array;
  const sc = st.scale[si] as number;
  const r4 = nz(st.recent4[si] as number);
  const r13 = nz(st.recent13[si] as number);
  let sn1 = alignedFrom(f, t.a1, o);
  const avail1 = Number.isNaN(sn1) ? 0 : 1;
  if (!avail1) sn1 = r13;
  let sn1s = alignedFrom(sm, t.a1, o);
  if (Number.isNaN(sn1s)) sn1s = sn1;
  const prev = nz(t.a1.src - 1 >= 0 ? (f[t.a1.src - 1] as number) : NaN, sn1);
  const next = nz(t.a1.src + 1 <= o ? (f[t.a1.src + 1] as number) : NaN, sn1);
  // Two years of seasonal history, blended: 0.65 x last year + 0.35 x the year before,
  // scaled by the growth between them. Halves the noise of one year's week.
  const sn2 = alignedFrom(f, t.a2, o);
  const g = st.growth[si] as number;
  const avail2 = !Number.isNaN(sn2) && avail1 && Number.isFinite(g) ? 1 : 0;
  const snavg = avail2 ? 0.65 * sn1 + 0.35 * sn2 * g : sn1;
  const sn2s = alignedFrom(sm, t.a2, o);
  const snavgS = avail2 && !Number.isNaN(sn2s) ? 0.65 * sn1s + 0.35 * sn2s * g : sn1s;
  const lvl = st.level[si] as number;
  const base = avail1 ? sn1s * lvl : r13;
  // Product forecast: the series' share of its department x the department's aligned week
  // last year (a rank-1 view of the store x week matrix: little noise, full seasonality).
  const dept = st.deptAgg.get(s.dept);
  let product = sn1;
  let availShare = 0;
  const share = st.share52[si] as number;
  if (dept) {
    const d1 = alignedFrom(dept.sum, t.a1, o);
    if (Number.isFinite(d1) && Number.isFinite(share)) {
      product = share * d1;
      availShare = 1;
    } else if (Number.isFinite(d1) && dept.recent13 > 0) {
      product = (r13 * d1) / dept.recent13;
    }
  }
  const logRatio = (a: number, b: number) => (a > 0 && b > 0 ? Math.max(-1.5, Math.min(1.5, Math.log(a / b))) : 0);
  const yoy4 = logRatio(r4, st.lastYear4[si] as number);
  const yoy13 = logRatio(r13, st.lastYear13[si] as number);
  const yoyDept = dept ? logRatio(dept.recent13, dept.lastYear13) : 0;
  const info = panel.stores.get(s.store);
  const cov = panel.covariates.get(`${s.store}|${t.week}`);
  const covSrc = t.srcWeek ? panel.covariates.get(`${s.store}|${t.srcWeek}`) : undefined;
  const md = cov ? Math.log1p(Math.max(0, cov.markdown)) / 10 : 0;
  const mdSrc = covSrc ? Math.log1p(Math.max(0, covSrc.markdown)) / 10 : 0;
  const rel = (x: number, y: number) => (x / sc - y / sc) / (Math.abs(x / sc) + Math.abs(y / sc) + 0.1);
  const vals = [
    sn1 / sc,
    sn1s / sc,
    snavg / sc,
    snavgS / sc,
    product / sc,
    base / sc,
    rel(sn1s, sn1),
    rel(snavg, sn1),
    rel(snavgS, sn1s),
    rel(product, sn1s),
    rel(prev, sn1),
    rel(next, sn1),
    avail1,
    avail2,
    yoy4,
    yoy13,
    yoyDept,
    availShare,
    Math.log(lvl),
    t.horizon / 52,
  ];
  let c = offset;
  for (const v of vals) out[c++] = nz(v);
  for (let k = 0; k < CALENDAR_WIDTH; k++) out[c++] = t.calendar[k] as number;
  const type = info?.type ?? null;
  out[c++] = type === 'A' ? 1 : 0;
  out[c++] = type === 'B' ? 1 : 0;
  out[c++] = type === 'C' ? 1 : 0;
  out[c++] = info?.size ? info.size / 200_000 : 0;
  out[c++] = md;
  out[c++] = mdSrc;
  out[c++] = cov && covSrc ? nz((cov.temperature - covSrc.temperature) / 20) : 0;
  out[c++] = Math.min(5, nz((st.volatility[si] as number) / sc, 0.5));
  out[c++] = Math.log(sc) / 10;
  out[c++] = st.sparsity[si] as number;
  for (let k = offset; k < c; k++) {
    const v = out[k] as number;
    // Clip extreme ratios (tiny scales, huge returns) so no input dominates a batch.
    if (v > 20) out[k] = 20;
    else if (v < -20) out[k] = -20;
  }
  return nz(out[offset + BASE_COL] as number);
}
