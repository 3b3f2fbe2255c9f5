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
  const l = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    let d = xtx[j * p + j]! + ridge;
    for (let k = 0; k < j; k++) d -= l[j * p + k]! ** 2;
    const ljj = Math.sqrt(Math.max(d, ridge));
    l[j * p + j] = ljj;
    for (let i = j + 1; i < p; i++) {
      let v = xtx[i * p + j]!;
      for (let k = 0; k < j; k++) v -= l[i * p + k]! * l[j * p + k]!;
      l[i * p + j] = v / ljj;
    }
  }
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
  const order = rows.map((r, i) => [r.time, scores[i]!] as const).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
  let v = order.reduce((a, s) => a + s * s, 0);
  for (let l = 1; l <= lags; l++) {
    let c = 0;
    for (let i = l; i < order.length; i++) c += order[i]! * order[i - l]!;
    v += 2 * (1 - l / (lags + 1)) * c;
  }
  return v;
}

/** Cluster-robust variance of a sum of scores, with the small-sample factor G/(G-1). */
function clustered(scores: readonly number[], cluster: readonly number[]): number {
  const sums = new Map<number, number>();
  scores.forEach((s, i) => sums.set(cluster[i]!, (sums.get(cluster[i]!) ?? 0) + s));
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
  const byUnit = new Map<number, number>();
  const byTime = new Map<number, number>();
  let het = 0;
  rows.forEach((r, i) => {
    const s = scores[i]!;
    byUnit.set(r.unit, (byUnit.get(r.unit) ?? 0) + s);
    byTime.set(r.time, (byTime.get(r.time) ?? 0) + s);
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
