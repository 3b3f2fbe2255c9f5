import type { Calibration } from './model.ts';
import { quantileSorted } from './seasonal-naive.ts';
import { Wmae } from './wmae.ts';

/**
 * How the members of the forecast are combined (docs/forecasting.md): a weighted average of
 * their p50s, the weights chosen on an inner window before the training cut-off, and an 80%
 * interval around the combination whose half-widths are the network's, rescaled so that 10%
 * of the inner window's actuals fall below it and 10% above (split conformal), separately per
 * horizon bucket (horizons 1-13, 14-26, 27-39 with 13-week buckets): the inner window is
 * forecast from several inner origins, so every bucket has its own out-of-sample rows. Pure:
 * arrays in, numbers out; ensemble.ts computes the members.
 */

export interface CombinationSettings {
  /** Member names, in the order of `weights`. */
  members: string[];
  /** Non-negative, sum 1. */
  weights: number[];
  /** Multipliers of the network's lower / upper half-widths around the combined p50 (all buckets pooled). */
  calibration: Calibration;
  /**
   * The same per horizon bucket: bucket b covers horizons b x bucketWeeks + 1 .. (b + 1) x
   * bucketWeeks; horizons past the last bucket use the last. Absent on combinations fitted
   * before buckets existed (then `calibration` serves every horizon).
   */
  bucketCalibration?: Calibration[];
  bucketWeeks?: number;
  /** Coverage of the calibrated interval on each bucket's inner rows. */
  bucketCoverage?: number[];
  /**
   * Per bucket, the share of each week type (`weekType`: calm, peak, Christmas season) among
   * its target weeks after the cut-off, to which that bucket's inner rows were reweighted
   * before calibrating (weighted split conformal); absent on combinations fitted before it
   * (their calibration is unweighted).
   */
  bucketTargetTypes?: number[][];
  /**
   * Per department (key: its id), weights over `members` used instead of `weights` for its
   * series: chosen on the department's inner rows, pulled GROUP_SHRINK of the way back to
   * `weights`. Present only where `groupCheck` found them better on held-out inner weeks;
   * absent on combinations fitted before them (every series then takes `weights`).
   */
  groupWeights?: Record<string, number[]>;
  /** The inner-window check that decides on `groupWeights`: WMAE of each half of the inner weeks with weights fitted on the other half. */
  groupCheck?: { global: number; grouped: number };
  /** The inner window: the `innerWeeks` weeks up to the cut-off, forecast from `innerOrigin` (bucket 1) and earlier origins (the later buckets). */
  innerOrigin: string;
  innerWeeks: number;
  innerRows: number;
  /** WMAE on the inner window of each member and of the combination ('combined'). */
  innerWmae: Record<string, number>;
  innerCoverage: number;
  /** Time to forecast the inner window with every member and fit (s). */
  seconds?: number;
}

/** The rows of an inner window: actual, holiday flag, each member's p50 and the network's half-widths. */
export interface InnerRows {
  n: number;
  y: Float64Array;
  holiday: Uint8Array;
  /** members x n, member-major. */
  preds: Float64Array[];
  /** The network's p50 - p10 and p90 - p50 (>= 0). */
  lower: Float64Array;
  upper: Float64Array;
  /** Horizon bucket of each row (0 = the first bucketWeeks horizons); all 0 when absent. */
  bucket?: Uint8Array;
  /** The type of the row's week (source-kernel.ts `weekType`: 0 calm, 1 peak, 2 Christmas season); all calm when absent. */
  weekType?: Uint8Array;
  /** The row's department; without it the combination has one weight vector. */
  group?: Int32Array;
  /** The row's target week, 0-based within the inner window (the buckets share their target weeks). */
  week?: Uint8Array;
}

function combinedAt(rows: InnerRows, weights: readonly number[], i: number): number {
  let f = 0;
  for (let k = 0; k < weights.length; k++) f += (weights[k] as number) * ((rows.preds[k] as Float64Array)[i] as number);
  return f;
}

const inBucket = (rows: InnerRows, i: number, bucket: number | undefined) => bucket === undefined || (rows.bucket?.[i] ?? 0) === bucket;

/** Step of the weight grid (multiples of 1/STEPS). */
const STEPS = 20;
/**
 * Weights are pulled this far towards the plain average: 13 inner weeks is a small sample
 * (and at a January origin it is the holiday season), and the winner's own combination was
 * a plain average.
 */
export const SHRINK_TO_EQUAL = 0.5;

function wmaeOf(rows: InnerRows, weights: readonly number[], holidayWeight: number): number {
  const w = new Wmae(holidayWeight);
  for (let i = 0; i < rows.n; i++) w.add(Math.abs((rows.y[i] as number) - combinedAt(rows, weights, i)), rows.holiday[i] === 1);
  return w.value();
}

/** Every weight vector on the simplex grid with `k` members. */
function* simplex(k: number, left = STEPS): Generator<number[]> {
  if (k === 1) {
    yield [left / STEPS];
    return;
  }
  for (let i = 0; i <= left; i++) for (const rest of simplex(k - 1, left - i)) yield [i / STEPS, ...rest];
}

/**
 * The grid point reached from the best single member by moving one step of weight at a time
 * between two members while the inner WMAE falls. The WMAE is convex in the weights, so
 * this finds the grid optimum or a point next to it, in ~k^2 x (steps taken) evaluations
 * instead of the whole simplex's (C(STEPS + k - 1, k - 1): 10,626 at five members).
 */
function descend(rows: InnerRows, holidayWeight: number, k: number): number[] {
  const units = new Array<number>(k).fill(0);
  let best = Infinity;
  for (let m = 0; m < k; m++) {
    const v = wmaeOf(rows, Array.from({ length: k }, (_, j) => (j === m ? 1 : 0)), holidayWeight);
    if (v < best) {
      best = v;
      units.fill(0);
      units[m] = STEPS;
    }
  }
  for (;;) {
    let move: [number, number] | undefined;
    for (let i = 0; i < k; i++) {
      if ((units[i] as number) === 0) continue;
      for (let j = 0; j < k; j++) {
        if (i === j) continue;
        const w = units.map((u, m) => (u + (m === j ? 1 : m === i ? -1 : 0)) / STEPS);
        const v = wmaeOf(rows, w, holidayWeight);
        if (v < best - 1e-9) {
          best = v;
          move = [i, j];
        }
      }
    }
    if (!move) return units.map((u) => u / STEPS);
    units[move[0]] = (units[move[0]] as number) - 1;
    units[move[1]] = (units[move[1]] as number) + 1;
  }
}

/** Members up to which the whole simplex grid is searched (1,771 points at four); more descend. */
const FULL_GRID_MEMBERS = 4;

/** The WMAE-minimising weights on the grid, shrunk towards equal weights. */
export function chooseWeights(rows: InnerRows, holidayWeight: number): number[] {
  const k = rows.preds.length;
  if (k === 0) return [];
  let best: number[] = Array.from({ length: k }, () => 1 / k);
  if (rows.n === 0) return best;
  if (k > FULL_GRID_MEMBERS) best = descend(rows, holidayWeight, k);
  else {
    let bestWmae = Infinity;
    for (const w of simplex(k)) {
      const v = wmaeOf(rows, w, holidayWeight);
      if (v < bestWmae) {
        bestWmae = v;
        best = w;
      }
    }
  }
  return best.map((w) => (1 - SHRINK_TO_EQUAL) * w + SHRINK_TO_EQUAL / k);
}

/**
 * Split-conformal multipliers of the half-widths so that ~10% of rows fall below and ~10%
 * above: of every row, or of one horizon bucket's rows.
 */
export function calibrateCombination(rows: InnerRows, weights: readonly number[], bucket?: number, targetTypes?: readonly number[]): Calibration {
  return calibrateAround(rows, combinedRows(rows, weights), bucket, targetTypes);
}

/** calibrateCombination around given combined inner forecasts (one per row). */
function calibrateAround(rows: InnerRows, combined: Float64Array, bucket?: number, targetTypes?: readonly number[]): Calibration {
  const lo: number[] = [];
  const hi: number[] = [];
  const types: number[] = [];
  for (let i = 0; i < rows.n; i++) {
    if (!inBucket(rows, i, bucket)) continue;
    const f = combined[i] as number;
    const y = rows.y[i] as number;
    lo.push((f - y) / Math.max(rows.lower[i] as number, 1e-6));
    hi.push((y - f) / Math.max(rows.upper[i] as number, 1e-6));
    types.push(rows.weekType?.[i] ?? 0);
  }
  if (lo.length === 0) return { lower: 1, upper: 1 };
  const w = typeWeights(types, targetTypes);
  const q = (v: number[]) => Math.max(0.05, w ? weightedQuantile(v, w, 0.9) : quantileSorted(Float64Array.from(v).sort(), 0.9));
  return { lower: q(lo), upper: q(hi) };
}

/**
 * Row weights that give the inner rows the target weeks' mix of week types (weighted split
 * conformal under a shift of week types): a row of type k weighs t(k) / s(k), t the target
 * share and s the inner rows' share of type k, plus the target share of the types the inner
 * rows do not hold (those target weeks are represented by all inner rows alike). Undefined
 * (plain conformal) without target shares, or when the inner rows hold one type only
 * (nothing to reweight).
 */
export function typeWeights(types: readonly number[], target: readonly number[] | undefined): number[] | undefined {
  if (target === undefined || types.length === 0) return undefined;
  const count = target.map(() => 0);
  for (const k of types) count[k] = (count[k] ?? 0) + 1;
  if (count.filter((c) => c > 0).length < 2) return undefined;
  const share = count.map((c) => c / types.length);
  const total = target.reduce((a, t) => a + Math.max(t, 0), 0);
  if (total <= 0) return undefined;
  const t = target.map((x) => Math.max(x, 0) / total);
  const missing = t.reduce((a, x, k) => a + ((share[k] ?? 0) === 0 ? x : 0), 0);
  return types.map((k) => (t[k] ?? 0) / (share[k] as number) + missing);
}

/** The q-quantile of `v` under row weights `w` (the smallest value whose cumulative weight reaches q of the total). */
export function weightedQuantile(v: readonly number[], w: readonly number[], q: number): number {
  const order = v.map((_, i) => i).sort((a, b) => (v[a] as number) - (v[b] as number));
  const total = w.reduce((a, x) => a + x, 0);
  let cum = 0;
  for (const i of order) {
    cum += w[i] as number;
    if (cum >= q * total) return v[i] as number;
  }
  return v[order.at(-1) as number] as number;
}

/** Share of rows (of one bucket, or all) inside the calibrated interval; with target shares, weighted to the target's mix of week types. */
function coverageOf(rows: InnerRows, combined: Float64Array, cal: Calibration, bucket?: number, targetTypes?: readonly number[]): number {
  const types: number[] = [];
  const hit: number[] = [];
  for (let i = 0; i < rows.n; i++) {
    if (!inBucket(rows, i, bucket)) continue;
    const f = combined[i] as number;
    const y = rows.y[i] as number;
    types.push(rows.weekType?.[i] ?? 0);
    hit.push(y >= f - cal.lower * (rows.lower[i] as number) && y <= f + cal.upper * (rows.upper[i] as number) ? 1 : 0);
  }
  const w = typeWeights(types, targetTypes) ?? types.map(() => 1);
  const total = w.reduce((a, x) => a + x, 0);
  return total > 0 ? hit.reduce((a, h, k) => a + h * (w[k] as number), 0) / total : 0;
}

/**
 * Weights, calibration and the inner-window scores of a combination. Each `optional` member
 * stays in only if the combination with it scores a lower inner WMAE than without it (a
 * member left out keeps weight 0 and its inner WMAE): a member that errs differently from the
 * others pays at some origins and not at others, and the inner window decides which.
 */
export function fitCombination(
  members: readonly string[],
  rows: InnerRows,
  holidayWeight: number,
  window: { innerOrigin: string; innerWeeks: number },
  buckets = 1,
  optional: readonly string[] = [],
  targetTypes?: readonly (readonly number[])[],
): CombinationSettings {
  let best = fitWith(members, members.map(() => true), rows, holidayWeight, window, buckets, targetTypes);
  for (const m of optional) {
    const k = members.indexOf(m);
    if (k < 0 || best.weights[k] === 0) continue;
    const without = fitWith(members, members.map((x, j) => j !== k && (best.weights[j] as number) > 0), rows, holidayWeight, window, buckets, targetTypes);
    if ((without.innerWmae.combined as number) <= (best.innerWmae.combined as number)) best = without;
  }
  return withGroups(best, rows, holidayWeight, buckets, targetTypes);
}

/** fitCombination with the weights chosen among the `active` members (the others weigh 0). */
function fitWith(members: readonly string[], active: readonly boolean[], rows: InnerRows, holidayWeight: number, window: { innerOrigin: string; innerWeeks: number }, buckets: number, targetTypes?: readonly (readonly number[])[]): CombinationSettings {
  const chosen = chooseWeights({ ...rows, preds: rows.preds.filter((_, k) => active[k]) }, holidayWeight);
  let at = 0;
  const weights = members.map((_, k) => (active[k] ? (chosen[at++] as number) : 0));
  const innerWmae: Record<string, number> = {};
  members.forEach((m, k) => (innerWmae[m] = wmaeOf(rows, members.map((_, j) => (j === k ? 1 : 0)), holidayWeight)));
  innerWmae.combined = wmaeOf(rows, weights, holidayWeight);
  return {
    members: [...members],
    weights,
    ...calibrated(rows, combinedRows(rows, weights), buckets, targetTypes),
    bucketWeeks: window.innerWeeks,
    ...(targetTypes ? { bucketTargetTypes: Array.from({ length: buckets }, (_, b) => [...(targetTypes[b] ?? [])]) } : {}),
    ...window,
    innerRows: rows.n,
    innerWmae,
  };
}

/** The interval fitted around the combined inner forecasts: pooled and per bucket, with their coverage. */
function calibrated(rows: InnerRows, combined: Float64Array, buckets: number, targetTypes?: readonly (readonly number[])[]): Pick<CombinationSettings, 'calibration' | 'bucketCalibration' | 'bucketCoverage' | 'innerCoverage'> {
  const calibration = calibrateAround(rows, combined);
  const bucketCalibration = Array.from({ length: buckets }, (_, b) => calibrateAround(rows, combined, b, targetTypes?.[b]));
  return {
    calibration,
    bucketCalibration,
    bucketCoverage: bucketCalibration.map((cal, b) => coverageOf(rows, combined, cal, b, targetTypes?.[b])),
    innerCoverage: coverageOf(rows, combined, calibration),
  };
}

/** The combined p50 of every inner row: each row weighted by its department's weights where it has them. */
function combinedRows(rows: InnerRows, weights: readonly number[], groupWeights?: Record<string, number[]>): Float64Array {
  const out = new Float64Array(rows.n);
  for (let i = 0; i < rows.n; i++) out[i] = combinedAt(rows, (groupWeights && rows.group ? groupWeights[String(rows.group[i])] : undefined) ?? weights, i);
  return out;
}

/**
 * Weights per department pulled this far from the global ones towards the department's own.
 * Chosen on the inner windows of six origins (docs/forecasting.md, eighth round): held-out
 * inner weeks preferred 0.5 to none at five of them, and to the full department fit (1) at
 * four.
 */
export const GROUP_SHRINK = 0.5;
/** A department with fewer inner rows keeps the global weights (its own fit would follow noise). */
export const MIN_GROUP_ROWS = 100;

/** Each department's weights (all members) on `rows`, pulled GROUP_SHRINK of the way from `global`. */
function groupWeightsOf(rows: InnerRows, global: readonly number[], holidayWeight: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const group = rows.group;
  if (!group) return out;
  const byGroup = new Map<number, number[]>();
  for (let i = 0; i < rows.n; i++) {
    const list = byGroup.get(group[i] as number) ?? [];
    list.push(i);
    byGroup.set(group[i] as number, list);
  }
  for (const [g, idx] of byGroup) {
    if (idx.length < MIN_GROUP_ROWS) continue;
    const own = chooseWeights(subsetRows(rows, idx), holidayWeight);
    out[String(g)] = own.map((w, k) => GROUP_SHRINK * w + (1 - GROUP_SHRINK) * (global[k] as number));
  }
  return out;
}

/**
 * Department weights judged before the origin: the inner window's target weeks split in two
 * halves (the buckets share their target weeks, so a bucket held out is no test), the global
 * and the department weights fitted on one half and scored on the other, both ways.
 */
function groupCheck(rows: InnerRows, active: readonly boolean[], holidayWeight: number): { global: number; grouped: number } {
  const weeks = rows.week as Uint8Array;
  let half = 0;
  for (let i = 0; i < rows.n; i++) half = Math.max(half, (weeks[i] as number) + 1);
  half = Math.ceil(half / 2);
  const foldOf = (i: number) => ((weeks[i] as number) < half ? 0 : 1);
  const global = new Wmae(holidayWeight);
  const grouped = new Wmae(holidayWeight);
  for (const fold of [0, 1]) {
    const fit: number[] = [];
    for (let i = 0; i < rows.n; i++) if (foldOf(i) !== fold) fit.push(i);
    const part = subsetRows(rows, fit);
    const chosen = chooseWeights({ ...part, preds: part.preds.filter((_, k) => active[k]) }, holidayWeight);
    let at = 0;
    const weights = active.map((on) => (on ? (chosen[at++] as number) : 0));
    const own = groupWeightsOf(part, weights, holidayWeight);
    for (let i = 0; i < rows.n; i++) {
      if (foldOf(i) !== fold) continue;
      const y = rows.y[i] as number;
      const holiday = rows.holiday[i] === 1;
      global.add(Math.abs(y - combinedAt(rows, weights, i)), holiday);
      grouped.add(Math.abs(y - combinedAt(rows, own[String(rows.group?.[i])] ?? weights, i)), holiday);
    }
  }
  return { global: global.value(), grouped: grouped.value() };
}

/** `fit` with department weights where the held-out inner weeks say they pay (the interval refitted around them). */
function withGroups(fit: CombinationSettings, rows: InnerRows, holidayWeight: number, buckets: number, targetTypes?: readonly (readonly number[])[]): CombinationSettings {
  if (!rows.group || !rows.week) return fit;
  const check = groupCheck(rows, fit.weights.map((w) => w > 0), holidayWeight);
  if (check.grouped >= check.global) return { ...fit, groupCheck: check };
  const groupWeights = groupWeightsOf(rows, fit.weights, holidayWeight);
  return { ...fit, ...calibrated(rows, combinedRows(rows, fit.weights, groupWeights), buckets, targetTypes), groupWeights, groupCheck: check };
}

/** The rows at indices `idx`. */
export function subsetRows(rows: InnerRows, idx: readonly number[]): InnerRows {
  const f64 = (a: Float64Array) => Float64Array.from(idx, (i) => a[i] as number);
  return {
    n: idx.length,
    y: f64(rows.y),
    holiday: Uint8Array.from(idx, (i) => rows.holiday[i] as number),
    preds: rows.preds.map(f64),
    lower: f64(rows.lower),
    upper: f64(rows.upper),
    ...(rows.bucket ? { bucket: Uint8Array.from(idx, (i) => rows.bucket?.[i] as number) } : {}),
    ...(rows.weekType ? { weekType: Uint8Array.from(idx, (i) => rows.weekType?.[i] as number) } : {}),
    ...(rows.group ? { group: Int32Array.from(idx, (i) => rows.group?.[i] as number) } : {}),
    ...(rows.week ? { week: Uint8Array.from(idx, (i) => rows.week?.[i] as number) } : {}),
  };
}

/** The weights of a series of department `dept`: its department's where the combination has them. */
export function weightsFor(settings: Pick<CombinationSettings, 'weights' | 'groupWeights'>, dept: number): number[] {
  return settings.groupWeights?.[String(dept)] ?? settings.weights;
}

/** Members that weigh something for some series (the others need not be computed). */
export function weighedMembers(settings: Pick<CombinationSettings, 'members' | 'weights' | 'groupWeights'>): string[] {
  const all = [settings.weights, ...Object.values(settings.groupWeights ?? {})];
  return settings.members.filter((_, k) => all.some((w) => (w[k] ?? 0) > 0));
}

/** The calibration of horizon index `h` (0-based): its bucket's, the last bucket's past them, or the pooled one. */
export function calibrationAt(settings: Pick<CombinationSettings, 'calibration' | 'bucketCalibration' | 'bucketWeeks'>, h: number): Calibration {
  const buckets = settings.bucketCalibration;
  if (!buckets || buckets.length === 0 || !settings.bucketWeeks) return settings.calibration;
  return buckets[Math.min(Math.floor(h / settings.bucketWeeks), buckets.length - 1)] as Calibration;
}

/** The combined forecast of one series: p50 = sum of w x member p50; the interval from the network's half-widths. */
export function combineSeries(
  settings: Pick<CombinationSettings, 'weights' | 'calibration' | 'bucketCalibration' | 'bucketWeeks'>,
  memberP50: readonly ArrayLike<number>[],
  network: { p10: ArrayLike<number>; p50: ArrayLike<number>; p90: ArrayLike<number> },
  horizon: number,
): { p10: Float64Array; p50: Float64Array; p90: Float64Array } {
  const p50 = new Float64Array(horizon);
  const p10 = new Float64Array(horizon);
  const p90 = new Float64Array(horizon);
  for (let h = 0; h < horizon; h++) {
    let f = 0;
    settings.weights.forEach((w, k) => (f += w * ((memberP50[k] as ArrayLike<number>)[h] as number)));
    const m = network.p50[h] as number;
    const cal = calibrationAt(settings, h);
    p50[h] = f;
    p10[h] = f - cal.lower * Math.max(m - (network.p10[h] as number), 0);
    p90[h] = f + cal.upper * Math.max((network.p90[h] as number) - m, 0);
  }
  return { p10, p50, p90 };
}
