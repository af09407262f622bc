/**
 * Eigenvalues of small general real matrices in float64 (tfjs has no eigen-solver): balancing, Householder reduction
 * to Hessenberg form, Francis double-shift QR. Used by `FactoredMatrix.eigenvalues()`.
 */
import { applyReflectionRows, checkInput, dot, EPS } from "./linalg";

/** Eigenvalues of a real square matrix as separate real and imaginary parts. */
export interface EigenvaluesResult {
  readonly re: Float64Array;
  readonly im: Float64Array;
}

/**
 * All eigenvalues of a general real n×n matrix: power-of-two balancing, Householder reduction to upper
 * Hessenberg form, then Francis double-shift QR iterations (eigenvalues only, no vectors). Complex eigenvalues
 * come as exact conjugate pairs. Order: descending |λ|, then descending re, then descending im (so a pair is
 * listed +im first). Throws if the iteration fails to converge (not observed in practice).
 */
export function eigenvaluesGeneral(a: ArrayLike<number>, n: number): EigenvaluesResult {
  checkInput(a, n, n, "eigenvaluesGeneral");
  const H = Float64Array.from(a);
  balance(H, n);
  toHessenberg(H, n);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  francisQr(H, n, re, im);
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (x, y) => Math.hypot(re[y], im[y]) - Math.hypot(re[x], im[x]) || re[y] - re[x] || im[y] - im[x] || x - y,
  );
  return { re: Float64Array.from(order, (i) => re[i]), im: Float64Array.from(order, (i) => im[i]) };
}

/** Diagonal similarity by powers of two making row and column off-diagonal 1-norms comparable (exact in fp). */
function balance(H: Float64Array, n: number): void {
  for (let pass = 0, changed = true; changed && pass < 100; pass++) {
    changed = false;
    for (let i = 0; i < n; i++) {
      let c = 0;
      let r = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        c += Math.abs(H[j * n + i]);
        r += Math.abs(H[i * n + j]);
      }
      if (c === 0 || r === 0) continue;
      const f = 2 ** Math.round(Math.log2(r / c) / 2);
      if (f === 1 || c * f + r / f >= 0.95 * (c + r)) continue;
      changed = true;
      for (let j = 0; j < n; j++) H[j * n + i] *= f;
      for (let j = 0; j < n; j++) H[i * n + j] /= f;
    }
  }
}

/** In-place Householder similarity reduction to upper Hessenberg form (entries below the subdiagonal zeroed). */
function toHessenberg(H: Float64Array, n: number): void {
  const s = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    const len = n - k - 1;
    const v = new Float64Array(len);
    let norm2 = 0;
    for (let i = 0; i < len; i++) {
      v[i] = H[(k + 1 + i) * n + k];
      norm2 += v[i] * v[i];
    }
    if (norm2 === 0) continue;
    const alpha = v[0] >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    v[0] -= alpha;
    const beta = 2 / dot(v, 0, v, 0, len);
    applyReflectionRows(H, v, beta, k + 1, n, k, n, n, s); // H ← P·H
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let j = 0; j < len; j++) d += H[i * n + k + 1 + j] * v[j];
      d *= beta;
      for (let j = 0; j < len; j++) H[i * n + k + 1 + j] -= d * v[j];
    } // H ← H·P
    H[(k + 1) * n + k] = alpha;
    for (let i = k + 2; i < n; i++) H[i * n + k] = 0;
  }
}

/** Eigenvalues of the upper Hessenberg H (destroyed) by implicit double-shift QR with deflation. */
function francisQr(H: Float64Array, n: number, re: Float64Array, im: Float64Array): void {
  const h = (i: number, j: number): number => H[i * n + j];
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(H[i]));
  let hi = n - 1;
  let iter = 0;
  while (hi >= 0) {
    let l = hi;
    for (; l > 0; l--) {
      const s = Math.abs(h(l - 1, l - 1)) + Math.abs(h(l, l)) || scale;
      if (Math.abs(h(l, l - 1)) <= EPS * s) {
        H[l * n + l - 1] = 0;
        break;
      }
    }
    if (l === hi) {
      re[hi] = h(hi, hi);
      hi -= 1;
      iter = 0;
      continue;
    }
    if (l === hi - 1) {
      const [a, b, c, d] = [h(hi - 1, hi - 1), h(hi - 1, hi), h(hi, hi - 1), h(hi, hi)];
      const p = 0.5 * (a - d);
      const disc = p * p + b * c;
      if (disc >= 0) {
        const z = p + (p >= 0 ? Math.sqrt(disc) : -Math.sqrt(disc));
        re[hi - 1] = d + z;
        re[hi] = z !== 0 ? d - (b * c) / z : d + z;
      } else {
        re[hi - 1] = re[hi] = d + p;
        im[hi - 1] = Math.sqrt(-disc);
        im[hi] = -im[hi - 1];
      }
      hi -= 2;
      iter = 0;
      continue;
    }
    iter += 1;
    if (iter > 200) throw new Error(`eigenvaluesGeneral: QR iteration did not converge (n=${n}); check the input`);
    let sum: number; // trace and determinant of the shift pair
    let det: number;
    if (iter % 10 === 0) {
      const w = Math.abs(h(hi, hi - 1)) + Math.abs(h(hi - 1, hi - 2));
      const x = h(hi, hi) + 0.75 * w;
      sum = 2 * x;
      det = x * x + 0.4375 * w * w;
    } else {
      sum = h(hi - 1, hi - 1) + h(hi, hi);
      det = h(hi - 1, hi - 1) * h(hi, hi) - h(hi - 1, hi) * h(hi, hi - 1);
    }
    let x = h(l, l) * h(l, l) + h(l, l + 1) * h(l + 1, l) - sum * h(l, l) + det;
    let y = h(l + 1, l) * (h(l, l) + h(l + 1, l + 1) - sum);
    let z = h(l + 1, l) * h(l + 2, l + 1);
    for (let k = l; k <= hi - 1; k++) {
      const len = k <= hi - 2 ? 3 : 2;
      const v = len === 3 ? [x, y, z] : [x, y];
      const norm = Math.hypot(...v);
      if (norm !== 0) {
        const alpha = x >= 0 ? -norm : norm;
        v[0] -= alpha;
        let vv = 0;
        for (const t of v) vv += t * t;
        const beta = 2 / vv;
        const c0 = Math.max(l, k - 1);
        for (let j = c0; j <= hi; j++) {
          let d = 0;
          for (let i = 0; i < len; i++) d += v[i] * H[(k + i) * n + j];
          d *= beta;
          for (let i = 0; i < len; i++) H[(k + i) * n + j] -= d * v[i];
        }
        const r1 = Math.min(k + 3, hi);
        for (let i = l; i <= r1; i++) {
          let d = 0;
          for (let j = 0; j < len; j++) d += H[i * n + k + j] * v[j];
          d *= beta;
          for (let j = 0; j < len; j++) H[i * n + k + j] -= d * v[j];
        }
        if (k > l) {
          H[k * n + k - 1] = alpha;
          for (let i = 1; i < len; i++) H[(k + i) * n + k - 1] = 0;
        }
      }
      if (k < hi - 1) {
        x = h(k + 1, k);
        y = h(k + 2, k);
        z = k + 3 <= hi ? h(k + 3, k) : 0;
      }
    }
  }
}
