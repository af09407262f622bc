/**
 * Small dense float64 linear algebra in plain JS (tfjs has no SVD or eigen-solver). Matrices are row-major
 * `Float64Array`s (any `ArrayLike<number>` is accepted as input) with their dimensions passed alongside.
 * Meant for matrices up to a few hundred rows/columns (e.g. d_head × d_head cores of a FactoredMatrix).
 */

export const EPS = 2.220446049250313e-16;

/** Thin singular value decomposition A = U·diag(S)·Vᵀ of an m×n matrix, r = min(m, n). */
export interface SvdResult {
  /** m×r, row-major, orthonormal columns. */
  readonly U: Float64Array;
  /** r singular values, descending, ≥ 0. */
  readonly S: Float64Array;
  /** n×r, row-major, orthonormal columns. */
  readonly V: Float64Array;
}

export function checkInput(a: ArrayLike<number>, m: number, n: number, fn: string): void {
  if (!Number.isInteger(m) || !Number.isInteger(n) || m < 0 || n < 0) {
    throw new Error(`${fn}: dimensions must be non-negative integers, got ${m}×${n}`);
  }
  if (a.length !== m * n) throw new Error(`${fn}: expected ${m}×${n} = ${m * n} values, got ${a.length}; pass a row-major array`);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new Error(`${fn}: non-finite value ${a[i]} at flat index ${i}; clean the input first`);
  }
}

/** Row-major matrix product of a (m×k) and b (k×n). */
export function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < k; l++) {
      const x = a[i * k + l];
      if (x === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += x * b[l * n + j];
    }
  }
  return c;
}

/** Transpose of a row-major m×n matrix (returns n×m). */
export function transpose(a: ArrayLike<number>, m: number, n: number): Float64Array {
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
  return t;
}

/** Householder QR in factored form: reflectors H_k = I − β_k·v_k·v_kᵀ (v_k acting on rows k..m−1) and R. */
interface Householder {
  readonly m: number;
  readonly n: number;
  readonly vs: Float64Array[];
  readonly betas: Float64Array;
  readonly R: Float64Array;
}

function householder(a: ArrayLike<number>, m: number, n: number): Householder {
  const C = transpose(a, m, n); // column-major working copy: column j is C[j*m .. j*m+m)
  const vs: Float64Array[] = [];
  const betas = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const v = C.slice(k * m + k, k * m + m);
    const norm2 = dot(v, 0, v, 0, v.length);
    const alpha = v[0] >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    v[0] -= alpha;
    const vv = norm2 - 2 * alpha * (v[0] + alpha) + alpha * alpha; // |x − αe₁|²
    vs.push(v);
    if (norm2 === 0 || vv === 0) continue;
    betas[k] = 2 / vv;
    reflectColumns(C, m, v, betas[k], k, k, n);
  }
  const R = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) R[i * n + j] = C[j * m + i];
  return { m, n, vs, betas, R };
}

/** Q·[X; 0] for the n×c row-major X (m×c result); `identity` skips the known-zero work when X = I. */
function applyQ(h: Householder, X: ArrayLike<number>, c: number, identity = false): Float64Array {
  const { m, n, vs, betas } = h;
  const W = new Float64Array(m * c); // column-major
  for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) W[j * m + i] = X[i * c + j];
  for (let k = n - 1; k >= 0; k--) if (betas[k] !== 0) reflectColumns(W, m, vs[k], betas[k], k, identity ? k : 0, c);
  return transpose(W, c, m);
}

/**
 * Thin Householder QR of an m×n matrix with m ≥ n: A = Q·R, Q m×n with orthonormal columns, R n×n upper
 * triangular (diagonal signs are whatever the reflections give). Backward stable; rank-deficient input is fine.
 */
export function qrThin(a: ArrayLike<number>, m: number, n: number): { Q: Float64Array; R: Float64Array } {
  checkInput(a, m, n, "qrThin");
  if (m < n) throw new Error(`qrThin: needs m ≥ n, got ${m}×${n}; factor the transpose instead`);
  const h = householder(a, m, n);
  const eye = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  return { Q: applyQ(h, eye, n, true), R: h.R };
}

/**
 * Thin SVD of the product A·B (A m×k, B k×n, row-major) without forming the m×n matrix: Householder QR of A
 * and of Bᵀ where they are taller than k, SVD (svdSmall) of the small core R_A·R_Bᵀ, then the reflections are
 * applied to its singular vectors. r = min(m, k, n); same conventions as svdSmall.
 */
export function svdProduct(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): SvdResult {
  checkInput(a, m, k, "svdProduct");
  checkInput(b, k, n, "svdProduct");
  const bt = transpose(b, k, n);
  const left = m > k ? householder(a, m, k) : null;
  const right = n > k ? householder(bt, n, k) : null;
  const p = left ? k : m;
  const q = right ? k : n;
  const core = matmul(left ? left.R : a, transpose(right ? right.R : bt, q, k), p, k, q);
  const c = svdSmall(core, p, q);
  const r = Math.min(p, q);
  const U = left ? applyQ(left, c.U, r) : c.U;
  const V = right ? applyQ(right, c.V, r) : c.V;
  for (let j = 0; j < r; j++) fixSign(U, V, m, n, r, j);
  return { U, S: c.S, V };
}

/** Applies (I − β·v·vᵀ), v acting on rows k..m−1, to columns j0..j1−1 of a column-major matrix with m rows. */
function reflectColumns(C: Float64Array, m: number, v: Float64Array, beta: number, k: number, j0: number, j1: number): void {
  const len = m - k;
  for (let j = j0; j < j1; j++) {
    const o = j * m + k;
    let d = 0;
    for (let i = 0; i < len; i++) d += v[i] * C[o + i];
    d *= beta;
    if (d !== 0) for (let i = 0; i < len; i++) C[o + i] -= d * v[i];
  }
}

/** Applies (I − β·v·vᵀ) to rows r0..r1−1, columns c0..c1−1 of a row-major matrix with `stride` columns. */
export function applyReflectionRows(
  w: Float64Array, v: Float64Array, beta: number, r0: number, r1: number, c0: number, c1: number, stride: number,
  s: Float64Array,
): void {
  s.fill(0, c0, c1);
  for (let i = r0; i < r1; i++) {
    const vi = v[i - r0];
    if (vi === 0) continue;
    for (let j = c0, o = i * stride; j < c1; j++) s[j] += vi * w[o + j];
  }
  for (let i = r0; i < r1; i++) {
    const f = beta * v[i - r0];
    if (f === 0) continue;
    for (let j = c0, o = i * stride; j < c1; j++) w[o + j] -= f * s[j];
  }
}

/**
 * Thin SVD of an m×n matrix by one-sided (Hestenes) Jacobi, after a Householder QR when m > n (the transpose
 * when m < n). Relative accuracy ~1e-13 on well-conditioned input. Returns U (m×r), S (r, descending, ≥ 0),
 * V (n×r), r = min(m, n). Columns of U for (numerically) zero singular values are an orthonormal completion, so
 * UᵀU = VᵀV = I always, also for rank-deficient and zero matrices. Sign convention: the largest-magnitude entry
 * of each U column (the first one on ties) is positive.
 */
export function svdSmall(a: ArrayLike<number>, m: number, n: number): SvdResult {
  checkInput(a, m, n, "svdSmall");
  if (m < n) {
    const t = svdSmall(transpose(a, m, n), n, m);
    const r = m;
    const U = Float64Array.from(t.V);
    const V = Float64Array.from(t.U);
    for (let j = 0; j < r; j++) fixSign(U, V, m, n, r, j);
    return { U, S: t.S, V };
  }
  const qr = m > n ? householder(a, m, n) : null;
  const rows = qr ? n : m;
  const G = transpose(qr ? qr.R : a, rows, n); // column-major: column j of G is G[j*rows .. j*rows+rows)
  const Vc = new Float64Array(n * n);
  for (let j = 0; j < n; j++) Vc[j * n + j] = 1;
  const norm2 = new Float64Array(n); // squared column norms, exact at each sweep start, then updated per rotation
  for (let sweep = 0; sweep < 80; sweep++) {
    for (let j = 0; j < n; j++) norm2[j] = dot(G, j * rows, G, j * rows, rows);
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const alpha = norm2[p];
        const beta = norm2[q];
        const gamma = dot(G, p * rows, G, q * rows, rows);
        if (gamma === 0 || Math.abs(gamma) <= EPS * Math.sqrt(alpha) * Math.sqrt(beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.hypot(1, zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotateColumns(G, p * rows, q * rows, rows, c, s);
        rotateColumns(Vc, p * n, q * n, n, c, s);
        norm2[p] = Math.max(0, alpha - t * gamma);
        norm2[q] = Math.max(0, beta + t * gamma);
      }
    }
    if (!rotated) break;
  }
  const S0 = Float64Array.from({ length: n }, (_, j) => Math.sqrt(dot(G, j * rows, G, j * rows, rows)));
  const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => S0[y] - S0[x] || x - y);
  const smax = n > 0 ? S0[order[0]] : 0;
  const tiny = smax * Math.max(m, n) * EPS;
  const S = new Float64Array(n);
  const Ur = new Float64Array(rows * n); // row-major rows×n
  const V = new Float64Array(n * n);
  const deficient: number[] = [];
  order.forEach((src, j) => {
    S[j] = S0[src];
    for (let i = 0; i < n; i++) V[i * n + j] = Vc[src * n + i];
    if (S[j] > tiny && S[j] > 0) for (let i = 0; i < rows; i++) Ur[i * n + j] = G[src * rows + i] / S[j];
    else deficient.push(j);
  });
  completeOrthonormal(Ur, rows, n, deficient);
  const U = qr ? applyQ(qr, Ur, n) : Ur;
  for (let j = 0; j < n; j++) fixSign(U, V, m, n, n, j);
  return { U, S, V };
}

export function dot(x: Float64Array, ox: number, y: Float64Array, oy: number, len: number): number {
  let d = 0;
  for (let i = 0; i < len; i++) d += x[ox + i] * y[oy + i];
  return d;
}

function rotateColumns(G: Float64Array, op: number, oq: number, len: number, c: number, s: number): void {
  for (let i = 0; i < len; i++) {
    const x = G[op + i];
    const y = G[oq + i];
    G[op + i] = c * x - s * y;
    G[oq + i] = s * x + c * y;
  }
}

/** Fills the listed columns of a row-major rows×n matrix with unit vectors orthogonal to all other columns. */
function completeOrthonormal(U: Float64Array, rows: number, n: number, missing: number[]): void {
  const isMissing = new Set(missing);
  const done = Array.from({ length: n }, (_, j) => j).filter((j) => !isMissing.has(j));
  for (const j of missing) {
    let best: Float64Array | null = null;
    let bestNorm = -1;
    for (let e = 0; e < rows && bestNorm < 0.5; e++) {
      const v = new Float64Array(rows);
      v[e] = 1;
      for (let pass = 0; pass < 2; pass++) {
        for (const c of done) {
          let d = 0;
          for (let i = 0; i < rows; i++) d += U[i * n + c] * v[i];
          for (let i = 0; i < rows; i++) v[i] -= d * U[i * n + c];
        }
      }
      const nv = dot(v, 0, v, 0, rows);
      if (nv > bestNorm) [best, bestNorm] = [v, nv];
    }
    const norm = Math.sqrt(bestNorm);
    for (let i = 0; i < rows; i++) U[i * n + j] = (best as Float64Array)[i] / norm;
    done.push(j);
  }
}

/** Flips column j of U (m×r) and V (n×r) so that U's largest-magnitude entry in that column is positive. */
function fixSign(U: Float64Array, V: Float64Array, m: number, n: number, r: number, j: number): void {
  let big = 0;
  for (let i = 0; i < m; i++) if (Math.abs(U[i * r + j]) > Math.abs(big)) big = U[i * r + j];
  if (big >= 0) return;
  for (let i = 0; i < m; i++) U[i * r + j] = -U[i * r + j];
  for (let i = 0; i < n; i++) V[i * r + j] = -V[i * r + j];
}
