/**
 * Least squares for the analytics answers (markdown impact, drivers): sparse rows, because a
 * chain panel has ~6,400 store-weeks x ~150 columns (a fixed effect and trend per store, a
 * seasonal dummy per week of year) of which each row touches only ~10. X'X is accumulated
 * row by row and solved by Cholesky (an empty or collinear seasonal column costs nothing,
 * see solveNormal); robust standard errors are computed only for the coefficients asked for.
 */
export interface SparseRow {
  /** Column indexes and values of the non-zero entries. */
  idx: readonly number[];
  val: readonly number[];
  y: number;
  /** Panel: the store (one cluster) and the week (another); single series: the time order. */
  unit: number;
  time: number;
}

export type Errors =
  /** One series in time order: Newey-West with `lags` (weekly sales are autocorrelated). */
  | { kind: 'hac'; lags: number }
  /**
   * One series, clustered in blocks of `weeks` consecutive weeks, Student t with blocks - 1
   * degrees of freedom: for drivers that move slowly (CPI, unemployment), whose few effective
   * observations Newey-West overstates.
   */
  | { kind: 'blocks'; weeks: number }
  /** A panel: clustered by store and by week (Cameron-Gelbach-Miller two-way). */
  | { kind: 'two-way' };

export interface Estimate {
  beta: number;
  se: number;
  lower: number;
  upper: number;
}

export interface OlsFit {
  /** Estimates of the asked-for columns, in the order asked. */
  estimates: Estimate[];
  /** Every coefficient (for fitted values and counterfactuals). */
  coef: number[];
  residuals: number[];
  n: number;
  /** Degrees of freedom of the t quantile behind the 95% intervals. */
  df: number;
  /** 1 - SSR/SST of y around its mean. */
  r2: number;
}

const dot = (row: SparseRow, v: readonly number[]) => {
  let s = 0;
  for (let k = 0; k < row.idx.length; k++) s += row.val[k]! * v[row.idx[k]!]!;
  return s;
};

/** Two-sided 95% t quantile (Cornish-Fisher expansion around the normal; exact to ~1e-3 from df 3). */
export function t975(df: number): number {
  const z = 1.959964;
  if (!Number.isFinite(df) || df > 1e6) return z;
  const d = Math.max(df, 1);
  const z3 = z ** 3;
  const z5 = z ** 5;
  const z7 = z ** 7;
  return z + (z3 + z) / (4 * d) + (5 * z5 + 16 * z3 + 3 * z) / (96 * d ** 2) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * d ** 3);
}

/** X'X of sparse rows, in a typed array (Matrix.get/set per entry is ~10x slower). */
function crossProducts(rows: readonly SparseRow[], p: number, ys: readonly (readonly number[])[]): { xtx: Float64Array; xty: number[][] } {
  const xtx = new Float64Array(p * p);
  const xty = ys.map(() => new Array<number>(p).fill(0));
  rows.forEach((r, n) => {
    for (let a = 0; a < r.idx.length; a++) {
      const i = r.idx[a]!;
      const vi = r.val[a]!;
      ys.forEach((y, k) => (xty[k]![i]! += vi * y[n]!));
      for (let b = 0; b < r.idx.length; b++) xtx[i * p + r.idx[b]!]! += vi * r.val[b]!;
    }
  });
  return { xtx, xty };
}

/**
 * Solves X'X b = rhs for each right-hand side by Cholesky, on plain typed arrays. (ml-matrix's
 * CholeskyDecomposition took 100-190 ms per solve at the chain's ~190 columns, through its
 * per-entry get/set; this takes a few.) A tiny ridge on the diagonal keeps X'X positive
 * definite when a seasonal slot has no weeks or two columns are collinear: such a coefficient
 * comes out ~0, and the ones asked for are unaffected.
 */
function solveNormal(xtx: Float64Array, p: number, rhs: readonly (readonly number[])[]): number[][] {
  let trace = 0;
  for (let i = 0; i < p; i++) trace += xtx[i * p + i]!;
  const ridge = (1e-9 * trace) / Math.max(p, 1) || 1e-12;
  const l = choleskyRidge(xtx, p, ridge);
  return rhs.map((b) => {
    // L z = b, then L' x = z.
    const z = new Float64Array(p);
    for (let i = 0; i < p; i++) {
      let v = b[i]!;
      for (let k = 0; k < i; k++) v -= l[i * p + k]! * z[k]!;
      z[i] = v / l[i * p + i]!;
    }
    const x = new Array<number>(p).fill(0);
    for (let i = p - 1; i >= 0; i--) {
      let v = z[i]!;
      for (let k = i + 1; k < p; k++) v -= l[k * p + i]! * x[k]!;
      x[i] = v / l[i * p + i]!;
    }
    return x;
  });
}

/** Residuals of each of `ys` on the sparse columns of `rows` (Frisch-Waugh: partial them out). */
export function residualize(rows: readonly SparseRow[], p: number, ys: readonly (readonly number[])[]): number[][] {
  const { xtx, xty } = crossProducts(rows, p, ys);
  const coefs = solveNormal(xtx, p, xty);
  return ys.map((y, k) => y.map((v, n) => v - dot(rows[n]!, coefs[k]!)));
}

/** Solves least squares over `rows` with `p` columns; robust errors for the columns in `report`. */
export function fitOls(rows: readonly SparseRow[], p: number, report: readonly number[], errors: Errors): OlsFit {
  const { xtx, xty } = crossProducts(rows, p, [rows.map((r) => r.y)]);
  // One solve for the coefficients and, for each column asked for, its row of (X'X)^-1.
  const unit = (j: number) => Array.from({ length: p }, (_, i) => (i === j ? 1 : 0));
  const [coef, ...rowsOfInverse] = solveNormal(xtx, p, [xty[0]!, ...report.map(unit)]);
  const residuals = rows.map((r) => r.y - dot(r, coef!));
  const mean = rows.reduce((a, r) => a + r.y, 0) / Math.max(rows.length, 1);
  const sst = rows.reduce((a, r) => a + (r.y - mean) ** 2, 0);
  const ssr = residuals.reduce((a, e) => a + e * e, 0);
  const units = new Set(rows.map((r) => r.unit)).size;
  const times = new Set(rows.map((r) => r.time)).size;
  let used = 0;
  for (let i = 0; i < p; i++) if (xtx[i * p + i]! > 0) used++;
  const blocks = errors.kind === 'blocks' ? new Set(rows.map((r) => Math.floor(r.time / errors.weeks))).size : 0;
  const df = errors.kind === 'hac' ? Math.max(rows.length - used, 1) : errors.kind === 'blocks' ? Math.max(blocks - 1, 1) : Math.max(Math.min(units, times) - 1, 1);
  const t = t975(df);
  const leverage = errors.kind !== 'two-way' ? leverages(rows, xtx, p) : undefined;
  const estimates = report.map((j, k) => {
    // The coefficient is u.X'y with u its row of (X'X)^-1, so its score per row is (u.x_i) e_i.
    const u = rowsOfInverse[k]!;
    const scores = rows.map((r, i) => (dot(r, u) * residuals[i]!) / (leverage ? 1 - Math.min(leverage[i]!, 0.99) : 1));
    const variance =
      errors.kind === 'hac' ? neweyWest(scores, rows, errors.lags) : errors.kind === 'blocks' ? clustered(scores, rows.map((r) => Math.floor(r.time / errors.weeks))) : twoWay(scores, rows);
    const se = Math.sqrt(Math.max(variance, 0));
    return { beta: coef![j]!, se, lower: coef![j]! - t * se, upper: coef![j]! + t * se };
  });
  return { estimates, coef: coef!, residuals, n: rows.length, df, r2: sst > 0 ? 1 - ssr / sst : 0 };
}

/**
 * Each row's leverage x_i'(X'X)^-1 x_i. One store's 143 weeks spend ~55 columns on seasonal
 * slots, each seen two or three times, so some weeks nearly fit themselves and their residuals
 * understate the noise; scores divided by 1 - h (HC3) put that back. Without it, placebo
 * markdowns on the demo data came out "significant" for one store in four.
 */
function leverages(rows: readonly SparseRow[], xtx: Float64Array, p: number): number[] {
  const inverse = solveNormal(xtx, p, Array.from({ length: p }, (_, j) => Array.from({ length: p }, (_, i) => (i === j ? 1 : 0))));
  return rows.map((r) => {
    let h = 0;
    for (let a = 0; a < r.idx.length; a++) for (let b = 0; b < r.idx.length; b++) h += r.val[a]! * inverse[r.idx[a]!]![r.idx[b]!]! * r.val[b]!;
    return h;
  });
}

/** Newey-West long-run variance of a sum of scores ordered by time (Bartlett weights). */
function neweyWest(scores: readonly number[], rows: readonly SparseRow[], lags: number): number {
  return neweyWestAt(scores, rows.map((r) => r.time), lags);
}

function neweyWestAt(scores: ArrayLike<number>, times: ArrayLike<number>, lags: number): number {
  const order = Array.from(scores, (s, i) => [times[i]!, s] as const).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
  let v = order.reduce((a, s) => a + s * s, 0);
  for (let l = 1; l <= lags; l++) {
    let c = 0;
    for (let i = l; i < order.length; i++) c += order[i]! * order[i - l]!;
    v += 2 * (1 - l / (lags + 1)) * c;
  }
  return v;
}

/** Cluster-robust variance of a sum of scores, with the small-sample factor G/(G-1). */
function clustered(scores: ArrayLike<number>, cluster: readonly number[]): number {
  const sums = new Map<number, number>();
  for (let i = 0; i < scores.length; i++) sums.set(cluster[i]!, (sums.get(cluster[i]!) ?? 0) + scores[i]!);
  let v = 0;
  for (const s of sums.values()) v += s * s;
  return sums.size > 1 ? (v * sums.size) / (sums.size - 1) : v;
}

/**
 * Two-way clustered variance: by store (a store's weeks are correlated) plus by week (all
 * stores share a week's weather and economy) minus the heteroskedastic part counted twice,
 * each with the small-sample factor G/(G-1).
 */
function twoWay(scores: readonly number[], rows: readonly SparseRow[]): number {
  return twoWayAt(scores, rows.map((r) => r.unit), rows.map((r) => r.time));
}

function twoWayAt(scores: readonly number[], units: ArrayLike<number>, times: ArrayLike<number>): number {
  const byUnit = new Map<number, number>();
  const byTime = new Map<number, number>();
  let het = 0;
  scores.forEach((s, i) => {
    byUnit.set(units[i]!, (byUnit.get(units[i]!) ?? 0) + s);
    byTime.set(times[i]!, (byTime.get(times[i]!) ?? 0) + s);
    het += s * s;
  });
  const sumSq = (m: Map<number, number>) => {
    let v = 0;
    for (const s of m.values()) v += s * s;
    const g = m.size;
    return g > 1 ? (v * g) / (g - 1) : v;
  };
  const v = sumSq(byUnit) + sumSq(byTime) - het;
  // The two-way sum can go negative in small samples: fall back to the larger one-way variance.
  return v > 0 ? v : Math.max(sumSq(byUnit), sumSq(byTime));
}

/**
 * A panel design in blocks, for chain-size regressions (4,600 stores: ~13,900 columns, whose
 * dense X'X alone would be 1.5 GB and whose Cholesky is cubic). Each unit (store) has `own`
 * columns that only its rows touch (level, trend, markdown era), column c of unit u at index
 * c * units + u; every row has at most one shared dummy (its seasonal slot, `slot`, columns
 * `own * units ..`) and the dense `extras` after them. The same columns, in the same order, as
 * the sparse rows of designRow, so fitBlocks is fitOls on them (see fitBlocks).
 */
export interface BlockDesign {
  units: number;
  own: number;
  /** Row -> unit index 0..units-1. */
  unitOf: Int32Array;
  /** Row-major: row i's own columns at i * own .. i * own + own - 1 (0 where a row has none). */
  ownVal: Float64Array;
  slots: number;
  /** Row -> shared slot 0..slots-1, or -1. */
  slot: Int32Array;
  /** Extra column k by row. */
  extras: readonly Float64Array[];
  y: Float64Array;
  /** Row -> its week's position in time 0.. (the week clusters, HAC order and blocks). */
  time: Int32Array;
}

/** Cholesky of a dense symmetric matrix with `ridge` added at each pivot, as solveNormal does. */
function choleskyRidge(a: Float64Array, p: number, ridge: number): Float64Array {
  const l = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    let d = a[j * p + j]! + ridge;
    for (let k = 0; k < j; k++) d -= l[j * p + k]! ** 2;
    const ljj = Math.sqrt(Math.max(d, ridge));
    l[j * p + j] = ljj;
    for (let i = j + 1; i < p; i++) {
      let v = a[i * p + j]!;
      for (let k = 0; k < j; k++) v -= l[i * p + k]! * l[j * p + k]!;
      l[i * p + j] = v / ljj;
    }
  }
  return l;
}

/** L z = b in place (L lower triangular, row-major p x p, at offset `lo` of `l`). */
function forward(l: Float64Array, lo: number, p: number, b: Float64Array, bo: number): void {
  for (let i = 0; i < p; i++) {
    let v = b[bo + i]!;
    for (let k = 0; k < i; k++) v -= l[lo + i * p + k]! * b[bo + k]!;
    b[bo + i] = v / l[lo + i * p + i]!;
  }
}

/** L' x = z in place. */
function backward(l: Float64Array, lo: number, p: number, b: Float64Array, bo: number): void {
  for (let i = p - 1; i >= 0; i--) {
    let v = b[bo + i]!;
    for (let k = i + 1; k < p; k++) v -= l[lo + k * p + i]! * b[bo + k]!;
    b[bo + i] = v / l[lo + i * p + i]!;
  }
}

/**
 * The Cholesky factor of X'X + ridge I in blocks, with the columns in the order of fitOls:
 * each unit's own columns first (block diagonal: a small own x own factor per unit, `lu`), then
 * the q shared columns (slots and extras), whose block of the factor is `w` (per unit, own x q:
 * L_u^-1 times the unit's own-by-shared cross products) and `lc`, the factor of the Schur
 * complement G'G - sum W_u'W_u. This is the factor solveNormal computes on the whole matrix,
 * entry for entry, at a cost linear in rows and units (q^2 per unit) instead of cubic in
 * columns. The ridge is the one solveNormal would add: 1e-9 x trace(X'X) / p.
 */
interface BlockFactor {
  d: BlockDesign;
  q: number;
  ridge: number;
  lu: Float64Array;
  w: Float64Array;
  lc: Float64Array;
  /** Columns whose X'X diagonal is positive (fitOls's `used`). */
  used: number;
  /** Rows of each unit: order[start[u] .. start[u+1]). */
  start: Int32Array;
  order: Int32Array;
}

function factorBlocks(d: BlockDesign): BlockFactor {
  const { ownVal, slot: slotOf, extras, unitOf } = d;
  const { units, own, slots } = d;
  const n = d.y.length;
  const e = d.extras.length;
  const q = slots + e;
  const p = own * units + q;
  // Rows grouped by unit (a counting sort keeps their order within a unit).
  const start = new Int32Array(units + 1);
  for (let i = 0; i < n; i++) start[unitOf[i]! + 1]!++;
  for (let u = 0; u < units; u++) start[u + 1]! += start[u]!;
  const order = new Int32Array(n);
  const fill = start.slice(0, units);
  for (let i = 0; i < n; i++) order[fill[unitOf[i]!]!++] = i;

  // Diagonal of X'X: the trace for the ridge, and the columns in use.
  const ownDiag = new Float64Array(own * units);
  const gg = new Float64Array(q * q);
  for (let i = 0; i < n; i++) {
    const u = unitOf[i]!;
    for (let c = 0; c < own; c++) ownDiag[c * units + u]! += ownVal[i * own + c]! ** 2;
    const s = slotOf[i]!;
    if (s >= 0) gg[s * q + s]! += 1;
    for (let k = 0; k < e; k++) {
      const v = extras[k]![i]!;
      if (v === 0) continue;
      if (s >= 0) {
        gg[s * q + slots + k]! += v;
        gg[(slots + k) * q + s]! += v;
      }
      for (let m = 0; m < e; m++) gg[(slots + k) * q + slots + m]! += v * extras[m]![i]!;
    }
  }
  let trace = 0;
  let used = 0;
  for (const v of ownDiag) {
    trace += v;
    if (v > 0) used++;
  }
  for (let j = 0; j < q; j++) {
    trace += gg[j * q + j]!;
    if (gg[j * q + j]! > 0) used++;
  }
  const ridge = (1e-9 * trace) / Math.max(p, 1) || 1e-12;

  const lu = new Float64Array(units * own * own);
  const w = new Float64Array(units * own * q);
  const a = new Float64Array(own * own);
  const b = new Float64Array(own * q);
  for (let u = 0; u < units; u++) {
    a.fill(0);
    b.fill(0);
    for (let r = start[u]!; r < start[u + 1]!; r++) {
      const i = order[r]!;
      const s = slotOf[i]!;
      for (let c = 0; c < own; c++) {
        const f = ownVal[i * own + c]!;
        if (f === 0) continue;
        for (let c2 = 0; c2 < own; c2++) a[c * own + c2]! += f * ownVal[i * own + c2]!;
        if (s >= 0) b[c * q + s]! += f;
        for (let k = 0; k < e; k++) b[c * q + slots + k]! += f * extras[k]![i]!;
      }
    }
    const l = choleskyRidge(a, own, ridge);
    lu.set(l, u * own * own);
    // W_u = L_u^-1 B_u, column by column; then G'G -= W_u'W_u.
    for (let j = 0; j < q; j++) {
      for (let c = 0; c < own; c++) {
        let v = b[c * q + j]!;
        for (let k = 0; k < c; k++) v -= l[c * own + k]! * b[k * q + j]!;
        b[c * q + j] = v / l[c * own + c]!;
      }
    }
    w.set(b, u * own * q);
    // The lower triangle only (the Cholesky reads no other), mirrored below.
    for (let c = 0; c < own; c++) {
      const o = c * q;
      for (let j = 0; j < q; j++) {
        const bj = b[o + j]!;
        if (bj === 0) continue;
        const row = j * q;
        for (let m = 0; m <= j; m++) gg[row + m]! -= bj * b[o + m]!;
      }
    }
  }
  for (let j = 0; j < q; j++) for (let m = j + 1; m < q; m++) gg[j * q + m] = gg[m * q + j]!;
  return { d, q, ridge, lu, w, lc: choleskyRidge(gg, q, ridge), used, start, order };
}

/** Ridge least-squares coefficients of `y` on the design, all p of them, through the factor. */
function solveBlocks(f: BlockFactor, y: ArrayLike<number>): Float64Array {
  const { d, q, lu, w, lc, start, order } = f;
  const { ownVal, slot: slotOf, extras } = d;
  const { units, own, slots } = d;
  const e = d.extras.length;
  // X'y: own parts per unit (then L_u^-1 of them), shared parts.
  const v = new Float64Array(units * own);
  const g = new Float64Array(q);
  for (let u = 0; u < units; u++) {
    for (let r = start[u]!; r < start[u + 1]!; r++) {
      const i = order[r]!;
      const yi = y[i]!;
      for (let c = 0; c < own; c++) v[u * own + c]! += ownVal[i * own + c]! * yi;
      const s = slotOf[i]!;
      if (s >= 0) g[s]! += yi;
      for (let k = 0; k < e; k++) g[slots + k]! += extras[k]![i]! * yi;
    }
    forward(lu, u * own * own, own, v, u * own);
    for (let c = 0; c < own; c++) {
      const vc = v[u * own + c]!;
      if (vc === 0) continue;
      const o = (u * own + c) * q;
      for (let j = 0; j < q; j++) g[j]! -= w[o + j]! * vc;
    }
  }
  // Shared coefficients, then each unit's: L_u' b_u = v_u - W_u b_G.
  forward(lc, 0, q, g, 0);
  backward(lc, 0, q, g, 0);
  const coef = new Float64Array(own * units + q);
  const bu = new Float64Array(own);
  for (let u = 0; u < units; u++) {
    for (let c = 0; c < own; c++) {
      let s = v[u * own + c]!;
      const o = (u * own + c) * q;
      for (let j = 0; j < q; j++) s -= w[o + j]! * g[j]!;
      bu[c] = s;
    }
    backward(lu, u * own * own, own, bu, 0);
    for (let c = 0; c < own; c++) coef[c * units + u] = bu[c]!;
  }
  coef.set(g, own * units);
  return coef;
}

/** y - X b for each row. */
function blockResiduals(d: BlockDesign, coef: Float64Array, y: ArrayLike<number>): number[] {
  const { ownVal, slot: slotOf, extras, unitOf } = d;
  const { units, own, slots } = d;
  const at = own * units;
  const out = new Array<number>(y.length);
  for (let i = 0; i < y.length; i++) {
    const u = unitOf[i]!;
    let fit = 0;
    for (let c = 0; c < own; c++) fit += ownVal[i * own + c]! * coef[c * units + u]!;
    const s = slotOf[i]!;
    if (s >= 0) fit += coef[at + s]!;
    for (let k = 0; k < d.extras.length; k++) fit += extras[k]![i]! * coef[at + slots + k]!;
    out[i] = y[i]! - fit;
  }
  return out;
}

/** The sum of squared residuals (in row order) of each of `ys` on a block design, as residualizeBlocks's. */
export function residualSquares(d: BlockDesign, ys: readonly ArrayLike<number>[]): number[] {
  const f = factorBlocks(d);
  return ys.map((y) => blockResiduals(d, solveBlocks(f, y), y).reduce((a, e) => a + e * e, 0));
}

/** residualize on a block design (its extras included as columns; d.y unused). */
export function residualizeBlocks(d: BlockDesign, ys: readonly ArrayLike<number>[]): number[][] {
  const f = factorBlocks(d);
  return ys.map((y) => blockResiduals(d, solveBlocks(f, y), y));
}

/**
 * fitOls on a block design: the same coefficients, residuals, r2, df and robust errors, for
 * shared columns in `report` (indexes as in fitOls: own * units + slot, then the extras). For
 * each one, its row u of (X'X)^-1 dotted with a row x_i is r . (g_i - W_u' L_u^-1 f_i), r its
 * row of the shared block's inverse (the Schur complement's), f_i and g_i the row's own and
 * shared values; leverages (HAC and block errors) are |L^-1 x_i|^2 by the same blocks.
 */
export function fitBlocks(d: BlockDesign, report: readonly number[], errors: Errors): OlsFit {
  const f = factorBlocks(d);
  const { ownVal, slot: slotOf, extras, unitOf } = d;
  const { units, own, slots } = d;
  const { q, lu, w, lc, start, order } = f;
  const e = d.extras.length;
  const at = own * units;
  const n = d.y.length;
  const p = at + q;
  for (const j of report) if (j < at || j >= p) throw new Error(`fitBlocks: column ${j} is not a shared column`);
  const coef = solveBlocks(f, d.y);
  const residuals = blockResiduals(d, coef, d.y);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += d.y[i]!;
  mean /= Math.max(n, 1);
  let sst = 0;
  let ssr = 0;
  for (let i = 0; i < n; i++) {
    sst += (d.y[i]! - mean) ** 2;
    ssr += residuals[i]! ** 2;
  }
  const distinct = (v: Int32Array) => {
    let max = -1;
    for (let i = 0; i < v.length; i++) max = Math.max(max, v[i]!);
    const seen = new Uint8Array(max + 1);
    let count = 0;
    for (let i = 0; i < v.length; i++) {
      if (seen[v[i]!]) continue;
      seen[v[i]!] = 1;
      count++;
    }
    return count;
  };
  const unitCount = distinct(d.unitOf);
  const timeCount = distinct(d.time);
  const blockOf = errors.kind === 'blocks' ? Array.from(d.time, (t) => Math.floor(t / errors.weeks)) : [];
  const df =
    errors.kind === 'hac' ? Math.max(n - f.used, 1) : errors.kind === 'blocks' ? Math.max(new Set(blockOf).size - 1, 1) : Math.max(Math.min(unitCount, timeCount) - 1, 1);
  const t = t975(df);

  // t_i = L_u^-1 f_i for every row (own values each), kept for the scores.
  const ti = new Float64Array(n * own);
  for (let u = 0; u < units; u++) {
    for (let r = start[u]!; r < start[u + 1]!; r++) {
      const i = order[r]!;
      for (let c = 0; c < own; c++) ti[i * own + c] = ownVal[i * own + c]!;
      forward(lu, u * own * own, own, ti, i * own);
    }
  }
  // s_i = g_i - W_u' t_i (dense q), needed for leverages only.
  let leverage: Float64Array | undefined;
  if (errors.kind !== 'two-way') {
    leverage = new Float64Array(n);
    const s = new Float64Array(q);
    for (let i = 0; i < n; i++) {
      const u = unitOf[i]!;
      s.fill(0);
      if (slotOf[i]! >= 0) s[slotOf[i]!] = 1;
      for (let k = 0; k < e; k++) s[slots + k] = extras[k]![i]!;
      let h = 0;
      for (let c = 0; c < own; c++) {
        const tc = ti[i * own + c]!;
        h += tc * tc;
        if (tc === 0) continue;
        const o = (u * own + c) * q;
        for (let j = 0; j < q; j++) s[j]! -= w[o + j]! * tc;
      }
      forward(lc, 0, q, s, 0);
      for (let j = 0; j < q; j++) h += s[j]! ** 2;
      leverage[i] = h;
    }
  }
  const scoreBuffer = new Float64Array(n);
  const estimates = report.map((j) => {
    // r = row j - at of the shared block's inverse; omega_u = W_u r.
    const r = new Float64Array(q);
    r[j - at] = 1;
    forward(lc, 0, q, r, 0);
    backward(lc, 0, q, r, 0);
    const omega = new Float64Array(units * own);
    for (let u = 0; u < units; u++) {
      for (let c = 0; c < own; c++) {
        const o = (u * own + c) * q;
        let v = 0;
        for (let m = 0; m < q; m++) v += w[o + m]! * r[m]!;
        omega[u * own + c] = v;
      }
    }
    const scores = scoreBuffer;
    for (let i = 0; i < n; i++) {
      const u = unitOf[i]!;
      let ux = slotOf[i]! >= 0 ? r[slotOf[i]!]! : 0;
      for (let k = 0; k < e; k++) ux += r[slots + k]! * extras[k]![i]!;
      for (let c = 0; c < own; c++) ux -= omega[u * own + c]! * ti[i * own + c]!;
      scores[i] = (ux * residuals[i]!) / (leverage ? 1 - Math.min(leverage[i]!, 0.99) : 1);
    }
    const variance =
      errors.kind === 'hac' ? neweyWestAt(scores, d.time, errors.lags) : errors.kind === 'blocks' ? clustered(scores, blockOf) : twoWayDense(scores, d.unitOf, units, d.time);
    const se = Math.sqrt(Math.max(variance, 0));
    const beta = coef[j]!;
    return { beta, se, lower: beta - t * se, upper: beta + t * se };
  });
  return { estimates, coef: Array.from(coef), residuals, n, df, r2: sst > 0 ? 1 - ssr / sst : 0 };
}

/** twoWayAt for clusters numbered 0..units-1 and times 0..: sums in arrays, not maps. */
function twoWayDense(scores: ArrayLike<number>, unitOf: Int32Array, units: number, time: ArrayLike<number>): number {
  let times = 0;
  for (let i = 0; i < time.length; i++) times = Math.max(times, time[i]! + 1);
  const byUnit = new Float64Array(units);
  const byTime = new Float64Array(times);
  let het = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    byUnit[unitOf[i]!]! += s;
    byTime[time[i]!]! += s;
    het += s * s;
  }
  // Only the clusters with rows count (as the maps of twoWayAt hold only those).
  const seenUnit = new Uint8Array(units);
  const seenTime = new Uint8Array(times);
  for (let i = 0; i < scores.length; i++) {
    seenUnit[unitOf[i]!] = 1;
    seenTime[time[i]!] = 1;
  }
  const sumSq = (v: Float64Array, seen: Uint8Array) => {
    let a = 0;
    let g = 0;
    for (let k = 0; k < v.length; k++) {
      if (!seen[k]) continue;
      a += v[k]! ** 2;
      g++;
    }
    return g > 1 ? (a * g) / (g - 1) : a;
  };
  const u = sumSq(byUnit, seenUnit);
  const t = sumSq(byTime, seenTime);
  const v = u + t - het;
  // The two-way sum can go negative in small samples: fall back to the larger one-way variance.
  return v > 0 ? v : Math.max(u, t);
}
