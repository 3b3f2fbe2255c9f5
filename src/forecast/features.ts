import { addWeeks } from '../data/weeks.ts';
import { holidayOf, holidayWeek, type HolidayName } from '../data/holidays.ts';
import { alignedFrom, alignment, gridIndex, type Alignment, type Covariates, type Panel, type PanelSeries, type StoreInfo } from './panel.ts';
import { withEaster } from './easter.ts';
import { sourceValue } from './source-kernel.ts';
import { addToGram, lowRank, projectRow, symmetrize, topEigenvectors } from './svd.ts';

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
  // Forecast values (scaled). The network never sees these directly (HIDDEN_FEATURE_NAMES): it
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

export type FeatureName = (typeof FEATURE_NAMES)[number];
export const N_FEATURES = FEATURE_NAMES.length;

/** Column of each feature in a row: FEATURE_NAMES order, which is the saved model's input layout. */
export const FEATURE_COL = Object.fromEntries(FEATURE_NAMES.map((name, col) => [name, col])) as Readonly<Record<FeatureName, number>>;

/** The forecast values: mixed by the network (model.ts CANDIDATES), never fed to it (fitNormalizer zeroes them). */
export const HIDDEN_FEATURE_NAMES = ['sn1', 'sn1_svd', 'snavg', 'snavg_svd', 'product', 'base'] as const satisfies readonly FeatureName[];
export const HIDDEN_FEATURES: readonly number[] = HIDDEN_FEATURE_NAMES.map((name) => FEATURE_COL[name]);
export const BASE_COL = FEATURE_COL.base;

/** Columns that depend only on the target week (targetInfo computes them once per week). */
const CALENDAR_FEATURES = ['holiday', 'hol_superbowl', 'hol_laborday', 'hol_thanksgiving', 'hol_christmas', 'pre_christmas'] as const satisfies readonly FeatureName[];
type CalendarFeature = (typeof CALENDAR_FEATURES)[number];

export interface FeatureOptions {
  /** Rank of the per-department SVD smoothing (0 = none). */
  svdRank: number;
}

const HOLIDAY_FEATURE: Record<HolidayName, CalendarFeature> = {
  'Super Bowl': 'hol_superbowl',
  'Labor Day': 'hol_laborday',
  Thanksgiving: 'hol_thanksgiving',
  Christmas: 'hol_christmas',
};

/** Department totals over the store x week matrix. */
export interface DeptAgg {
  sum: Float64Array;
  recent13: number;
  lastYear13: number;
  total52: number;
}

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
  deptAgg: Map<number, DeptAgg>;
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

/**
 * One department as of an origin: its members' filled and SVD-smoothed histories (members'
 * order) and its totals; a large department (LARGE_DEPARTMENT_STORES) keeps only its
 * smoothing basis and computes a member's histories when asked (`rows`).
 */
type DeptBlock =
  | { kind: 'small'; filled: Float64Array[]; smooth: Float64Array[]; agg: DeptAgg }
  | { kind: 'large'; basis: Float64Array | undefined; rank: number; agg: DeptAgg };
const blockCache = new WeakMap<Panel, Map<string, Map<number, DeptBlock>>>();

/**
 * Departments with more stores than this (a chain past ~100 stores) take the incremental
 * path: totals and the week x week Gram accumulated once per panel (deptWhole), each
 * origin's SVD basis from the Gram's leading block, member histories only for the series a
 * call needs. Smaller ones (the 45-store data) keep the exact store-side computation.
 */
export const LARGE_DEPARTMENT_STORES = 100;

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

/**
 * The state of every series of `panel` as of grid index `origin`. `only` restricts to some
 * series (inference, and training's sampled rows); `cache` (default: when `only` is given)
 * keeps each department's block for the next call at the same origin.
 */
export function originState(panel: Panel, origin: number, options: FeatureOptions, only?: readonly number[], cache = only !== undefined): OriginState {
  const n = panel.series.length;
  const ids = only ?? panel.series.map((_, i) => i);
  const empty = new Float64Array(0);
  const filled = new Array<Float64Array>(n).fill(empty);
  const smooth = new Array<Float64Array>(n).fill(empty);
  const deptAgg = new Map<number, DeptAgg>();
  const originAlign = gridAlignments(panel)[origin] ?? alignment(panel, isoWeekAt(panel, origin));
  // Inference asks for a few series at a time: reuse each department's block (filled,
  // smoothed, totals) across calls for the same panel, origin and rank.
  const blocks = cache ? deptCache(panel, `${origin}|${options.svdRank}`) : new Map<number, DeptBlock>();
  for (const [dept, members] of departmentMembers(panel, ids, origin)) {
    let block = blocks.get(dept);
    if (!block) {
      block = members === 'large' ? largeDeptBlock(panel, dept, origin, originAlign, options.svdRank) : deptBlock(panel, members, origin, originAlign, options.svdRank);
      blocks.set(dept, block);
    }
    if (block.kind === 'small') {
      for (const [r, si] of (members as number[]).entries()) {
        filled[si] = block.filled[r] as Float64Array;
        smooth[si] = block.smooth[r] as Float64Array;
      }
    }
    deptAgg.set(dept, block.agg);
  }
  for (const si of ids) {
    const block = blocks.get((panel.series[si] as PanelSeries).dept);
    if (block?.kind !== 'large' || (panel.series[si] as PanelSeries).first > origin) continue;
    const rows = largeDeptRow(panel.series[si] as PanelSeries, origin, block);
    filled[si] = rows.filled;
    smooth[si] = rows.smooth;
  }
  const stats = seriesStats(panel, ids, filled, deptAgg, origin, originAlign);
  return { panel, origin, filled, smooth, ...stats, deptAgg, gridAlign: gridAlignments(panel) };
}

/**
 * Computes and caches the department blocks at `origin` (of every department, or of those of
 * the series `only`): what a forecast at that origin would otherwise build in one go (at 4,600
 * stores the bases of ~80 departments take seconds). Yields between departments so a server
 * keeps answering meanwhile.
 */
export async function warmOrigin(panel: Panel, origin: number, options: FeatureOptions, yieldEvery: () => Promise<void> = async () => {}, only?: readonly number[]): Promise<void> {
  const blocks = deptCache(panel, `${origin}|${options.svdRank}`);
  const originAlign = gridAlignments(panel)[origin] ?? alignment(panel, isoWeekAt(panel, origin));
  const seeds = only ?? [...departmentSeries(panel).values()].map((list) => list[0] as number);
  for (const [dept, members] of departmentMembers(panel, seeds, origin)) {
    if (blocks.has(dept)) continue;
    blocks.set(dept, members === 'large' ? largeDeptBlock(panel, dept, origin, originAlign, options.svdRank) : deptBlock(panel, members, origin, originAlign, options.svdRank));
    await yieldEvery();
  }
}

/** Series ids of each department in panel order (fixed per panel). */
const deptSeriesCache = new WeakMap<Panel, Map<number, number[]>>();
function departmentSeries(panel: Panel): Map<number, number[]> {
  let m = deptSeriesCache.get(panel);
  if (!m) {
    m = new Map();
    for (const [i, s] of panel.series.entries()) {
      const list = m.get(s.dept);
      if (list) list.push(i);
      else m.set(s.dept, [i]);
    }
    deptSeriesCache.set(panel, m);
  }
  return m;
}

/**
 * The series (by department) that the departments of `ids` hold at the origin: the SVD and
 * the department totals need all their stores, not only the wanted ones. A large department
 * is 'large': its block reads the panel-wide totals instead.
 */
function departmentMembers(panel: Panel, ids: readonly number[], origin: number): Map<number, number[] | 'large'> {
  const all = departmentSeries(panel);
  const members = new Map<number, number[] | 'large'>();
  const seen = new Set<number>();
  for (const i of ids) {
    const dept = (panel.series[i] as PanelSeries).dept;
    if (seen.has(dept)) continue;
    seen.add(dept);
    const list = all.get(dept) as number[];
    if (list.length > LARGE_DEPARTMENT_STORES) {
      members.set(dept, 'large');
      continue;
    }
    const present = list.filter((si) => (panel.series[si] as PanelSeries).first <= origin);
    if (present.length > 0) members.set(dept, present);
  }
  return members;
}

/** Known values of `s` up to the origin: absent-in-span = 0, before the first week = NaN. */
function filledHistory(s: PanelSeries, origin: number): Float64Array {
  const a = new Float64Array(origin + 1).fill(NaN);
  // Absent weeks after the series' first are "nothing sold", up to the origin (a
  // department that stopped reporting sells nothing).
  const hi = Math.min(origin, s.y.length - 1);
  for (let i = s.first; i <= hi; i++) {
    const v = s.y[i] as number;
    a[i] = Number.isNaN(v) ? 0 : v;
  }
  return a;
}

/** A department's filled histories, their rank-k smoothing and its totals. */
function deptBlock(panel: Panel, members: readonly number[], origin: number, originAlign: Alignment, svdRank: number): DeptBlock {
  const len = origin + 1;
  const rows = members.length;
  const filled = members.map((si) => filledHistory(panel.series[si] as PanelSeries, origin));
  // Store x week matrix (unknown = 0) and its column sums.
  const m = new Float64Array(rows * len);
  const sum = new Float64Array(len);
  filled.forEach((f, r) => {
    for (let c = 0; c < len; c++) {
      const v = f[c] as number;
      if (Number.isNaN(v)) continue;
      m[r * len + c] = v;
      sum[c] = (sum[c] as number) + v;
    }
  });
  const lr = svdRank > 0 && rows > svdRank ? lowRank(m, rows, len, svdRank) : m;
  const smooth = filled.map((f, r) => {
    const out = lr.slice(r * len, (r + 1) * len);
    // Unknown stays unknown (before the series started).
    for (let c = 0; c < len; c++) if (Number.isNaN(f[c] as number)) out[c] = NaN;
    return out;
  });
  return { kind: 'small', filled, smooth, agg: deptTotals(sum, origin, originAlign) };
}

/** A large department over the whole grid: weekly totals and the week x week Gram of its store x week matrix. */
interface DeptWhole {
  sum: Float64Array;
  gram: Float64Array;
  stores: number;
}
const wholeCache = new WeakMap<Panel, Map<number, DeptWhole>>();

/**
 * Accumulated once per panel, one store at a time (O(weeks²) memory whatever the chain):
 * a store's value at week c is the same for every origin >= c, so the totals and the Gram
 * of the data up to any origin are prefixes / the leading block of these.
 */
function deptWhole(panel: Panel, dept: number): DeptWhole {
  let byDept = wholeCache.get(panel);
  if (!byDept) {
    byDept = new Map();
    wholeCache.set(panel, byDept);
  }
  let whole = byDept.get(dept);
  if (whole) return whole;
  const w = panel.weeks.length;
  const members = departmentSeries(panel).get(dept) ?? [];
  whole = { sum: new Float64Array(w), gram: new Float64Array(w * w), stores: members.length };
  for (const si of members) {
    const f = filledHistory(panel.series[si] as PanelSeries, w - 1);
    for (let c = 0; c < w; c++) {
      const v = f[c] as number;
      if (Number.isNaN(v)) f[c] = 0;
      else whole.sum[c] = (whole.sum[c] as number) + v;
    }
    addToGram(whole.gram, f, w);
  }
  symmetrize(whole.gram, w);
  byDept.set(dept, whole);
  return whole;
}

/** A large department as of an origin: totals (prefix of the whole) and the rank-k week basis (none: no smoothing). */
function largeDeptBlock(panel: Panel, dept: number, origin: number, originAlign: Alignment, svdRank: number): DeptBlock {
  const whole = deptWhole(panel, dept);
  const w = panel.weeks.length;
  const len = origin + 1;
  let sum = whole.sum.subarray(0, Math.min(len, w));
  if (len > w) {
    sum = new Float64Array(len);
    sum.set(whole.sum);
  }
  const cols = Math.min(len, w);
  const basis = svdRank > 0 && whole.stores > svdRank && cols > svdRank ? topEigenvectors(whole.gram, w, cols, svdRank) : undefined;
  return { kind: 'large', basis, rank: svdRank, agg: deptTotals(sum, origin, originAlign) };
}

/** One member's filled history and its projection on the department's week basis. */
function largeDeptRow(s: PanelSeries, origin: number, block: Extract<DeptBlock, { kind: 'large' }>): { filled: Float64Array; smooth: Float64Array } {
  const filled = filledHistory(s, origin);
  const smooth = Float64Array.from(filled);
  if (!block.basis) return { filled, smooth };
  const cols = block.basis.length / block.rank;
  const row = Float64Array.from(filled.subarray(0, cols), (v) => (Number.isNaN(v) ? 0 : v));
  smooth.set(projectRow(row, cols, block.basis, block.rank));
  // Unknown stays unknown (before the series started, after the grid).
  for (let c = 0; c < smooth.length; c++) if (Number.isNaN(filled[c] as number)) smooth[c] = NaN;
  return { filled, smooth };
}

function deptTotals(sum: Float64Array, origin: number, originAlign: Alignment): DeptAgg {
  let total52 = 0;
  for (let c = Math.max(0, origin - 51); c <= origin; c++) total52 += sum[c] as number;
  return {
    sum,
    recent13: mean(sum, origin - 12, origin),
    lastYear13: originAlign.src >= 12 ? mean(sum, originAlign.src - 12, originAlign.src) : NaN,
    total52,
  };
}

/** Per-series quantities of an origin state, indexed by series id. */
type SeriesStats = Pick<
  OriginState,
  'scale' | 'recent4' | 'recent13' | 'recent52' | 'lastYear13' | 'lastYear4' | 'share52' | 'level' | 'volatility' | 'growth' | 'sparsity'
>;

/** Every series' stats at their "nothing known" values (what series not asked for keep). */
function unknownStats(n: number): SeriesStats {
  const filledWith = (v: number) => new Float64Array(n).fill(v);
  return {
    scale: filledWith(1),
    recent4: filledWith(NaN),
    recent13: filledWith(NaN),
    recent52: filledWith(NaN),
    lastYear13: filledWith(NaN),
    lastYear4: filledWith(NaN),
    share52: filledWith(NaN),
    level: filledWith(1),
    volatility: filledWith(0),
    growth: filledWith(NaN),
    sparsity: filledWith(0),
  };
}

function seriesStats(
  panel: Panel,
  ids: readonly number[],
  filled: readonly Float64Array[],
  deptAgg: ReadonlyMap<number, DeptAgg>,
  origin: number,
  originAlign: Alignment,
): SeriesStats {
  const stats = unknownStats(panel.series.length);
  const gridAlign = gridAlignments(panel);
  for (const si of ids) {
    const s = panel.series[si] as PanelSeries;
    const f = filled[si] as Float64Array;
    if (f.length === 0 || s.first > origin) continue;
    const { scale, sparsity } = scaleAndSparsity(s, f, origin);
    stats.scale[si] = scale;
    stats.sparsity[si] = sparsity;
    stats.recent4[si] = mean(f, origin - 3, origin);
    stats.recent13[si] = mean(f, origin - 12, origin);
    stats.recent52[si] = mean(f, origin - 51, origin);
    if (originAlign.src - 12 >= s.first) stats.lastYear13[si] = mean(f, originAlign.src - 12, originAlign.src);
    if (originAlign.src - 3 >= s.first) stats.lastYear4[si] = mean(f, originAlign.src - 3, originAlign.src);
    stats.share52[si] = shareOfDepartment(s, f, deptAgg.get(s.dept), origin);
    stats.level[si] = recentLevel(s, f, gridAlign, origin);
    stats.volatility[si] = seasonalNaiveError(s, f, gridAlign, origin);
    stats.growth[si] = yearOverYearGrowth(s, f, gridAlign, origin);
  }
  return stats;
}

/** Scale: mean |sales| of the last 52 weeks (at least 10); sparsity: share of those weeks with nothing sold. */
function scaleAndSparsity(s: PanelSeries, f: Float64Array, origin: number): { scale: number; sparsity: number } {
  let absSum = 0;
  let cnt = 0;
  let zeros = 0;
  for (let i = Math.max(origin - 51, s.first); i <= origin; i++) {
    const v = f[i] as number;
    absSum += Math.abs(v);
    cnt++;
    if (Number.isNaN(s.y[i] as number) || v === 0) zeros++;
  }
  return { scale: Math.max(absSum / Math.max(cnt, 1), 10), sparsity: cnt === 0 ? 1 : zeros / cnt };
}

/** Share of the series in its department over the last 52 weeks (NaN if < 52 weeks). */
function shareOfDepartment(s: PanelSeries, f: Float64Array, d: DeptAgg | undefined, origin: number): number {
  if (!d || origin - 51 < s.first || d.total52 <= 0) return NaN;
  let own = 0;
  for (let i = origin - 51; i <= origin; i++) own += f[i] as number;
  return own / d.total52;
}

/** Level: recent 13 weeks over their aligned weeks a year before, shrunk and clamped (1 when unknown). */
function recentLevel(s: PanelSeries, f: Float64Array, gridAlign: readonly Alignment[], origin: number): number {
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
  return k >= 4 && num > 0 && den > 0 ? Math.min(1.25, Math.max(0.8, Math.sqrt(num / den))) : 1;
}

/** In-sample seasonal-naive error: how noisy the series is relative to last year. */
function seasonalNaiveError(s: PanelSeries, f: Float64Array, gridAlign: readonly Alignment[], origin: number): number {
  let e = 0;
  let ne = 0;
  for (let i = s.first + 52; i <= origin; i++) {
    const y = s.y[i] as number;
    const src = alignedFrom(f, gridAlign[i] as Alignment, origin);
    if (Number.isNaN(y) || Number.isNaN(src)) continue;
    e += Math.abs(y - src);
    ne++;
  }
  return ne === 0 ? NaN : e / ne;
}

/**
 * Year-over-year growth over (up to) the last 52 weeks: scales values two years back to
 * last year's level. NaN without 13 weeks of overlap.
 */
function yearOverYearGrowth(s: PanelSeries, f: Float64Array, gridAlign: readonly Alignment[], origin: number): number {
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
  return gn >= 13 && gy > 0 && gs > 0 ? Math.min(1.5, Math.max(0.67, gy / gs)) : NaN;
}

/** Per target week: everything that does not depend on the series. */
export interface TargetInfo {
  week: string;
  horizon: number;
  a1: Alignment;
  a2: Alignment;
  srcWeek: string;
  /** Any holiday, which holiday (one-hot), the week before Christmas. */
  calendar: Readonly<Record<CalendarFeature, number>>;
  /** Easter-aligned sources and the source kernel (targetInfo). */
  refined: boolean;
}

/** A smoothed array's value at a target's seasonal source: through the source kernel when refined and undrifted. */
function smoothSource(st: OriginState, v: Float64Array, a: Alignment, refined: boolean): number {
  return refined && a.w === 0 ? sourceValue(st.panel, v, a.src, st.origin) : alignedFrom(v, a, st.origin);
}

/**
 * `refined` (default): the seasonal sources of weeks around Easter are aligned on it
 * (easter.ts) and the smoothed sources are read through the 3-week kernel (source-kernel.ts);
 * the reference baselines pass false (the data's four holidays, one week).
 */
export function targetInfo(panel: Panel, origin: number, week: string, refined = true): TargetInfo {
  const idx = gridIndex(panel, week);
  const a1 = refined ? withEaster(panel, week, 1, alignment(panel, week, 1)) : alignment(panel, week, 1);
  const a2 = refined ? withEaster(panel, week, 2, alignment(panel, week, 2)) : alignment(panel, week, 2);
  // No day-of-year terms: seasonality comes from the aligned candidates, and a trained
  // window that never saw November must not extrapolate a season curve into it.
  const calendar = Object.fromEntries(CALENDAR_FEATURES.map((name) => [name, 0])) as Record<CalendarFeature, number>;
  const h = holidayOf(week);
  if (h || panel.holidayWeeks.has(week)) calendar.holiday = 1;
  if (h) calendar[HOLIDAY_FEATURE[h]] = 1;
  const xmas = holidayWeek('Christmas', Number(week.slice(0, 4)));
  if (gridIndex(panel, xmas) - idx === 1) calendar.pre_christmas = 1;
  const srcIdx = a1.src;
  const srcWeek = srcIdx >= 0 && srcIdx < panel.weeks.length ? (panel.weeks[srcIdx] as string) : '';
  return { week, horizon: idx - origin, a1, a2, srcWeek, calendar, refined };
}

const nz = (v: number, fallback = 0): number => (Number.isFinite(v) ? v : fallback);
const logRatio = (a: number, b: number) => (a > 0 && b > 0 ? Math.max(-1.5, Math.min(1.5, Math.log(a / b))) : 0);
/** Relative difference of two forecasts in units of the series' scale `sc`. */
const rel = (x: number, y: number, sc: number) => (x / sc - y / sc) / (Math.abs(x / sc) + Math.abs(y / sc) + 0.1);

/** The seasonal forecasts of one (series, target week), in dollars. */
interface SeasonalForecasts {
  /** Holiday-aligned seasonal naive one year back (recent 13-week mean without a year of history). */
  sn1: number;
  /** The same from the SVD-smoothed department matrix. */
  sn1Svd: number;
  /** Two-year blends of both. */
  snavg: number;
  snavgSvd: number;
  /** The weeks around last year's aligned week. */
  prev: number;
  next: number;
  avail1: number;
  avail2: number;
  /** The statistical base forecast: smoothed seasonal naive x the growth level. */
  base: number;
}

function seasonalForecasts(st: OriginState, si: number, t: TargetInfo): SeasonalForecasts {
  const o = st.origin;
  const f = st.filled[si] as Float64Array;
  const sm = st.smooth[si] as Float64Array;
  const r13 = nz(st.recent13[si] as number);
  let sn1 = alignedFrom(f, t.a1, o);
  const avail1 = Number.isNaN(sn1) ? 0 : 1;
  if (!avail1) sn1 = r13;
  let sn1Svd = smoothSource(st, sm, t.a1, t.refined);
  if (Number.isNaN(sn1Svd)) sn1Svd = sn1;
  const prev = nz(t.a1.src - 1 >= 0 ? (f[t.a1.src - 1] as number) : NaN, sn1);
  const next = nz(t.a1.src + 1 <= o ? (f[t.a1.src + 1] as number) : NaN, sn1);
  // Two years of seasonal history, blended: 0.65 x last year + 0.35 x the year before,
  // scaled by the growth between them. Halves the noise of one year's week.
  const sn2 = alignedFrom(f, t.a2, o);
  const g = st.growth[si] as number;
  const avail2 = !Number.isNaN(sn2) && avail1 && Number.isFinite(g) ? 1 : 0;
  const snavg = avail2 ? 0.65 * sn1 + 0.35 * sn2 * g : sn1;
  const sn2s = smoothSource(st, sm, t.a2, t.refined);
  const snavgSvd = avail2 && !Number.isNaN(sn2s) ? 0.65 * sn1Svd + 0.35 * sn2s * g : sn1Svd;
  const base = avail1 ? sn1Svd * (st.level[si] as number) : r13;
  return { sn1, sn1Svd, snavg, snavgSvd, prev, next, avail1, avail2, base };
}

/**
 * Product forecast: the series' share of its department x the department's aligned week
 * last year (a rank-1 view of the store x week matrix: little noise, full seasonality).
 */
function productForecast(st: OriginState, si: number, t: TargetInfo, sn1: number): { value: number; availShare: number } {
  const dept = st.deptAgg.get((st.panel.series[si] as PanelSeries).dept);
  const share = st.share52[si] as number;
  if (!dept) return { value: sn1, availShare: 0 };
  const d1 = smoothSource(st, dept.sum, t.a1, t.refined);
  if (Number.isFinite(d1) && Number.isFinite(share)) return { value: share * d1, availShare: 1 };
  if (Number.isFinite(d1) && dept.recent13 > 0) return { value: (nz(st.recent13[si] as number) * d1) / dept.recent13, availShare: 0 };
  return { value: sn1, availShare: 0 };
}

/** What the columns of one row are computed from. */
interface RowContext {
  st: OriginState;
  si: number;
  t: TargetInfo;
  /** The series' scale: every sales quantity is divided by it. */
  sc: number;
  seasonal: SeasonalForecasts;
  product: { value: number; availShare: number };
  yoyDept: number;
  store: StoreInfo | undefined;
  /** Store covariates of the target week and of its aligned week last year. */
  cov: Covariates | undefined;
  covSrc: Covariates | undefined;
}

function rowContext(st: OriginState, si: number, t: TargetInfo): RowContext {
  const s = st.panel.series[si] as PanelSeries;
  const seasonal = seasonalForecasts(st, si, t);
  const dept = st.deptAgg.get(s.dept);
  return {
    st,
    si,
    t,
    sc: st.scale[si] as number,
    seasonal,
    product: productForecast(st, si, t, seasonal.sn1),
    yoyDept: dept ? logRatio(dept.recent13, dept.lastYear13) : 0,
    store: st.panel.stores.get(s.store),
    cov: st.panel.covariates.get(`${s.store}|${t.week}`),
    covSrc: t.srcWeek ? st.panel.covariates.get(`${s.store}|${t.srcWeek}`) : undefined,
  };
}

const markdownOf = (cov: Covariates | undefined) => (cov ? Math.log1p(Math.max(0, cov.markdown)) / 10 : 0);

/**
 * How each feature is computed, keyed by name: the written layout comes from FEATURE_NAMES
 * alone, so the order of the definitions here cannot shift a column. `nz` marks the values
 * that may be missing (written as 0).
 */
const FEATURE_COLUMNS: Readonly<Record<FeatureName, (c: RowContext) => number>> = {
  sn1: (c) => nz(c.seasonal.sn1 / c.sc),
  sn1_svd: (c) => nz(c.seasonal.sn1Svd / c.sc),
  snavg: (c) => nz(c.seasonal.snavg / c.sc),
  snavg_svd: (c) => nz(c.seasonal.snavgSvd / c.sc),
  product: (c) => nz(c.product.value / c.sc),
  base: (c) => nz(c.seasonal.base / c.sc),
  rel_svd: (c) => nz(rel(c.seasonal.sn1Svd, c.seasonal.sn1, c.sc)),
  rel_avg: (c) => nz(rel(c.seasonal.snavg, c.seasonal.sn1, c.sc)),
  rel_avg_svd: (c) => nz(rel(c.seasonal.snavgSvd, c.seasonal.sn1Svd, c.sc)),
  rel_product: (c) => nz(rel(c.product.value, c.seasonal.sn1Svd, c.sc)),
  rel_prev: (c) => nz(rel(c.seasonal.prev, c.seasonal.sn1, c.sc)),
  rel_next: (c) => nz(rel(c.seasonal.next, c.seasonal.sn1, c.sc)),
  avail1: (c) => nz(c.seasonal.avail1),
  avail2: (c) => nz(c.seasonal.avail2),
  yoy4: (c) => nz(logRatio(nz(c.st.recent4[c.si] as number), c.st.lastYear4[c.si] as number)),
  yoy13: (c) => nz(logRatio(nz(c.st.recent13[c.si] as number), c.st.lastYear13[c.si] as number)),
  yoy_dept13: (c) => nz(c.yoyDept),
  avail_share: (c) => nz(c.product.availShare),
  log_level: (c) => nz(Math.log(c.st.level[c.si] as number)),
  horizon: (c) => nz(c.t.horizon / 52),
  holiday: (c) => c.t.calendar.holiday,
  hol_superbowl: (c) => c.t.calendar.hol_superbowl,
  hol_laborday: (c) => c.t.calendar.hol_laborday,
  hol_thanksgiving: (c) => c.t.calendar.hol_thanksgiving,
  hol_christmas: (c) => c.t.calendar.hol_christmas,
  pre_christmas: (c) => c.t.calendar.pre_christmas,
  type_a: (c) => (c.store?.type === 'A' ? 1 : 0),
  type_b: (c) => (c.store?.type === 'B' ? 1 : 0),
  type_c: (c) => (c.store?.type === 'C' ? 1 : 0),
  size: (c) => (c.store?.size ? c.store.size / 200_000 : 0),
  markdown: (c) => markdownOf(c.cov),
  markdown_src: (c) => markdownOf(c.covSrc),
  temp_diff: (c) => (c.cov && c.covSrc ? nz((c.cov.temperature - c.covSrc.temperature) / 20) : 0),
  volatility: (c) => Math.min(5, nz((c.st.volatility[c.si] as number) / c.sc, 0.5)),
  log_scale: (c) => Math.log(c.sc) / 10,
  sparsity: (c) => c.st.sparsity[c.si] as number,
};

/**
 * Throws unless `columns` computes exactly the declared features, each once: the writer
 * writes one column per declared name, so a missing, extra or repeated name would shift or
 * drop a column of the saved model's input.
 */
export function checkFeatureColumns(declared: readonly string[], columns: Readonly<Record<string, unknown>>): void {
  const names = new Set(declared);
  const defined = Object.keys(columns);
  const repeated = declared.filter((name, i) => declared.indexOf(name) !== i);
  const missing = declared.filter((name) => !Object.hasOwn(columns, name));
  const extra = defined.filter((name) => !names.has(name));
  if (repeated.length === 0 && missing.length === 0 && extra.length === 0) return;
  const details = [
    repeated.length ? `declared twice: ${repeated.join(', ')}` : '',
    missing.length ? `declared but not written: ${missing.join(', ')}` : '',
    extra.length ? `written but not declared: ${extra.join(', ')}` : '',
  ].filter(Boolean);
  throw new Error(`feature layout: ${declared.length} columns declared (FEATURE_NAMES), ${defined.length} written (FEATURE_COLUMNS); ${details.join('; ')}`);
}

checkFeatureColumns(FEATURE_NAMES, FEATURE_COLUMNS);

/** The column computations in written order (FEATURE_NAMES). */
const WRITERS = FEATURE_NAMES.map((name) => FEATURE_COLUMNS[name]);

/**
 * Writes the features of series `si` for target `t` into `out` at `offset`. Returns the
 * scaled base forecast (also written in column BASE_COL).
 */
export function writeFeatures(st: OriginState, si: number, t: TargetInfo, out: Float32Array, offset: number): number {
  const c = rowContext(st, si, t);
  for (let col = 0; col < N_FEATURES; col++) {
    const v = (WRITERS[col] as (c: RowContext) => number)(c);
    // Clip extreme ratios (tiny scales, huge returns) so no input dominates a batch.
    out[offset + col] = v > 20 ? 20 : v < -20 ? -20 : v;
  }
  return nz(out[offset + BASE_COL] as number);
}
