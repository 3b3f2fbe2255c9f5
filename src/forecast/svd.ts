/**
 * Low-rank smoothing of a (rows x cols) matrix: the per-department store x week SVD that was
 * the core of the Walmart competition's winning entry. Sales of one department move together
 * across stores (same seasonality, same promotions); keeping the top `rank` components keeps
 * that shared signal and drops store-week noise.
 *
 * Implementation: eigen-decomposition of the small Gram matrix A Aᵀ (stores x stores, <= 45)
 * by cyclic Jacobi, then A_k = U_k U_kᵀ A. Deterministic, dependency-free, fast for these sizes.
 */

/** Symmetric eigen-decomposition (cyclic Jacobi). `a` is n x n row-major; returns eigenpairs sorted descending. */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += (m[p * n + q] as number) ** 2;
    if (off < 1e-22 * (1 + frob(m))) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const app = m[p * n + p] as number;
        const aqq = m[q * n + q] as number;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p] as number;
          const mkq = m[k * n + q] as number;
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k] as number;
          const mqk = m[q * n + k] as number;
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p] as number;
          const vkq = v[k * n + q] as number;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => (m[j * n + j] as number) - (m[i * n + i] as number));
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n); // column k = k-th eigenvector
  order.forEach((src, k) => {
    values[k] = m[src * n + src] as number;
    for (let r = 0; r < n; r++) vectors[r * n + k] = v[r * n + src] as number;
  });
  return { values, vectors };
}

function frob(m: Float64Array): number {
  let s = 0;
  for (const x of m) s += x * x;
  return s;
}

/**
 * Rank-`rank` approximation of `a` (rows x cols, row-major). Returns a new matrix. When
 * rank >= rows the input is returned unchanged (copied).
 */
export function lowRank(a: Float64Array, rows: number, cols: number, rank: number): Float64Array {
  if (rank >= rows || rows === 0) return Float64Array.from(a);
  const g = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    for (let j = i; j < rows; j++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += (a[i * cols + c] as number) * (a[j * cols + c] as number);
      g[i * rows + j] = s;
      g[j * rows + i] = s;
    }
  }
  const { vectors } = symmetricEigen(g, rows);
  // P = U_k U_kᵀ (rows x rows), then P A.
  const p = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      let s = 0;
      for (let k = 0; k < rank; k++) s += (vectors[i * rows + k] as number) * (vectors[j * rows + k] as number);
      p[i * rows + j] = s;
    }
  }
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      const pij = p[i * rows + j] as number;
      if (pij === 0) continue;
      for (let c = 0; c < cols; c++) out[i * cols + c] = (out[i * cols + c] as number) + pij * (a[j * cols + c] as number);
    }
  }
  return out;
}

/**
 * Chains with thousands of stores: a department's matrix has more stores than weeks, and the
 * store x store Gram above (Jacobi, O(stores³) per sweep) would take minutes per department.
 * The same projection comes from the week side: A_k = A V_k V_kᵀ, with V_k the top
 * eigenvectors of the week x week Gram AᵀA. That Gram is accumulated once over all stores
 * (gramOfRows), and the Gram of the data up to any origin o is its leading (o+1) x (o+1)
 * block, so training at 30 origins never re-reads the stores.
 */

/** Adds rowᵀ row to the upper triangle of `g` (cols x cols): one store's contribution to AᵀA. */
export function addToGram(g: Float64Array, row: ArrayLike<number>, cols: number): void {
  for (let i = 0; i < cols; i++) {
    const v = row[i] as number;
    if (v === 0) continue;
    const base = i * cols;
    for (let j = i; j < cols; j++) g[base + j] = (g[base + j] as number) + v * (row[j] as number);
  }
}

/** Deterministic start vectors (no Math.random: same data, same basis). */
function startVectors(n: number, p: number): Float64Array {
  const q = new Float64Array(n * p);
  let s = 0x9e3779b9;
  for (let i = 0; i < q.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    q[i] = s / 2 ** 32 - 0.5;
  }
  return q;
}

/** Modified Gram-Schmidt on the p columns of q (n x p, row-major), in place; a null column becomes 0. */
function orthonormalize(q: Float64Array, n: number, p: number): void {
  for (let j = 0; j < p; j++) {
    for (let k = 0; k < j; k++) {
      let d = 0;
      for (let r = 0; r < n; r++) d += (q[r * p + j] as number) * (q[r * p + k] as number);
      for (let r = 0; r < n; r++) q[r * p + j] = (q[r * p + j] as number) - d * (q[r * p + k] as number);
    }
    let norm = 0;
    for (let r = 0; r < n; r++) norm += (q[r * p + j] as number) ** 2;
    norm = Math.sqrt(norm);
    for (let r = 0; r < n; r++) q[r * p + j] = norm > 1e-300 ? (q[r * p + j] as number) / norm : 0;
  }
}

/** y = G q, G the leading n x n block of the symmetric matrix `g` (both triangles filled, leading dimension ld). */
function gramTimes(g: Float64Array, ld: number, n: number, q: Float64Array, p: number, y: Float64Array): void {
  y.fill(0);
  for (let i = 0; i < n; i++) {
    const yi = i * p;
    for (let j = 0; j < n; j++) {
      const gij = g[i * ld + j] as number;
      if (gij === 0) continue;
      const qj = j * p;
      for (let c = 0; c < p; c++) y[yi + c] = (y[yi + c] as number) + gij * (q[qj + c] as number);
    }
  }
}

/** Copies the upper triangle of `g` (n x n, addToGram) into the lower one. */
export function symmetrize(g: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) g[i * n + j] = g[j * n + i] as number;
}

/** c = a (n x p) times b (p x p). */
function timesSmall(a: Float64Array, n: number, p: number, b: Float64Array): Float64Array {
  const c = new Float64Array(n * p);
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < p; k++) {
      const v = a[r * p + k] as number;
      if (v === 0) continue;
      for (let j = 0; j < p; j++) c[r * p + j] = (c[r * p + j] as number) + v * (b[k * p + j] as number);
    }
  }
  return c;
}

/**
 * Top-`k` eigenvectors of the leading n x n block of a symmetric PSD matrix `g` (leading
 * dimension ld): subspace iteration with Rayleigh-Ritz on k+8 vectors until every wanted Ritz
 * pair's residual is below 1e-6 of the largest eigenvalue, or 80 steps (O(n² k) per step
 * instead of Jacobi's O(n³) per sweep). Components that close to the noise floor smooth the
 * same either way. Returns n x k, column j = j-th vector.
 */
export function topEigenvectors(g: Float64Array, ld: number, n: number, k: number): Float64Array {
  const p = Math.min(n, k + 8);
  let q = startVectors(n, p);
  orthonormalize(q, n, p);
  const y = new Float64Array(n * p);
  for (let iter = 0; iter < 80; iter++) {
    gramTimes(g, ld, n, q, p, y);
    const h = new Float64Array(p * p); // qᵀ G q
    for (let a = 0; a < p; a++) {
      for (let b = a; b < p; b++) {
        let s = 0;
        for (let r = 0; r < n; r++) s += (q[r * p + a] as number) * (y[r * p + b] as number);
        h[a * p + b] = s;
        h[b * p + a] = s;
      }
    }
    const { values, vectors } = symmetricEigen(h, p);
    const x = timesSmall(q, n, p, vectors); // Ritz vectors
    const gx = timesSmall(y, n, p, vectors); // G x
    const top = Math.max(values[0] as number, 1e-300);
    let worst = 0;
    for (let j = 0; j < Math.min(k, p); j++) {
      let r2 = 0;
      for (let r = 0; r < n; r++) r2 += ((gx[r * p + j] as number) - (values[j] as number) * (x[r * p + j] as number)) ** 2;
      worst = Math.max(worst, Math.sqrt(r2) / top);
    }
    if (worst < 1e-6 || iter === 79) {
      const out = new Float64Array(n * k);
      for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) out[r * k + j] = j < p ? (x[r * p + j] as number) : 0;
      return out;
    }
    q = gx;
    orthonormalize(q, n, p);
  }
  throw new Error('unreachable');
}

/** row V Vᵀ for one row of `len` values (unknown = 0), V = len x k (topEigenvectors). */
export function projectRow(row: ArrayLike<number>, len: number, basis: Float64Array, k: number): Float64Array {
  const coef = new Float64Array(k);
  for (let c = 0; c < len; c++) {
    const v = row[c] as number;
    if (v === 0) continue;
    for (let j = 0; j < k; j++) coef[j] = (coef[j] as number) + v * (basis[c * k + j] as number);
  }
  const out = new Float64Array(len);
  for (let c = 0; c < len; c++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += (coef[j] as number) * (basis[c * k + j] as number);
    out[c] = s;
  }
  return out;
}
