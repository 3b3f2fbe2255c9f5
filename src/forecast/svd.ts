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
