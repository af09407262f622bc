import { test } from "node:test";
import assert from "node:assert/strict";
import { eigenvaluesGeneral } from "../../src/lens/eigen";
import { qrThin, svdProduct, svdSmall } from "../../src/lens/linalg";
import { expectAllClose } from "../helpers";
import { TOLERANCES } from "../tolerances";

const TOL = TOLERANCES.float64;

/** Deterministic uniform(−1, 1) generator (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}
const randomMatrix = (m: number, n: number, seed: number): Float64Array => Float64Array.from({ length: m * n }, rng(seed));

/** Independent reference helpers (plain loops, not the module under test). */
function mm(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let l = 0; l < k; l++) c[i * n + j] += a[i * k + l] * b[l * n + j];
  return c;
}
function tr(a: ArrayLike<number>, m: number, n: number): Float64Array {
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
  return t;
}
const eye = (n: number): Float64Array => Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
/** A random orthogonal n×n matrix as a product of n Householder reflections. */
function orthogonal(n: number, seed: number): Float64Array {
  let q = eye(n);
  const r = rng(seed);
  for (let k = 0; k < n; k++) {
    const v = Float64Array.from({ length: n }, r);
    const vv = v.reduce((s, x) => s + x * x, 0);
    const h = Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0) - (2 * v[Math.floor(i / n)] * v[i % n]) / vv);
    q = mm(q, h, n, n, n);
  }
  return q;
}
/** Determinant by Gaussian elimination with partial pivoting. */
function det(a: ArrayLike<number>, n: number): number {
  const w = Float64Array.from(a);
  let d = 1;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(w[i * n + k]) > Math.abs(w[p * n + k])) p = i;
    if (p !== k) {
      d = -d;
      for (let j = 0; j < n; j++) [w[k * n + j], w[p * n + j]] = [w[p * n + j], w[k * n + j]];
    }
    d *= w[k * n + k];
    for (let i = k + 1; i < n; i++) {
      const f = w[i * n + k] / w[k * n + k];
      for (let j = k; j < n; j++) w[i * n + j] -= f * w[k * n + j];
    }
  }
  return d;
}

async function checkSvd(a: Float64Array, m: number, n: number, label: string): Promise<void> {
  const { U, S, V } = svdSmall(a, m, n);
  const r = Math.min(m, n);
  assert.equal(U.length, m * r);
  assert.equal(V.length, n * r);
  for (let j = 1; j < r; j++) assert.ok(S[j] <= S[j - 1], `${label}: S not descending at ${j}`);
  assert.ok(S.every((s) => s >= 0), `${label}: negative singular value`);
  const US = Float64Array.from(U, (x, i) => x * S[i % r]);
  await expectAllClose(mm(US, tr(V, n, r), m, r, n), a, TOL, `${label}: U·diag(S)·Vᵀ`);
  await expectAllClose(mm(tr(U, m, r), U, r, m, r), eye(r), TOL, `${label}: UᵀU`);
  await expectAllClose(mm(tr(V, n, r), V, r, n, r), eye(r), TOL, `${label}: VᵀV`);
  for (let j = 0; j < r; j++) {
    let big = 0;
    for (let i = 0; i < m; i++) if (Math.abs(U[i * r + j]) > Math.abs(big)) big = U[i * r + j];
    assert.ok(big >= 0, `${label}: sign convention (largest |U| entry positive) broken in column ${j}`);
  }
}

test("qrThin: Q·R = A, QᵀQ = I, R upper triangular (full rank, rank-deficient, zero)", async () => {
  const dup = randomMatrix(7, 4, 5);
  for (let i = 0; i < 7; i++) dup[i * 4 + 2] = dup[i * 4 + 0]; // repeated column
  const cases: [Float64Array, number, number, string][] = [
    [randomMatrix(7, 4, 1), 7, 4, "7×4"],
    [randomMatrix(5, 5, 2), 5, 5, "5×5"],
    [dup, 7, 4, "rank-deficient 7×4"],
    [new Float64Array(12), 4, 3, "zero 4×3"],
  ];
  for (const [a, m, n, label] of cases) {
    const { Q, R } = qrThin(a, m, n);
    await expectAllClose(mm(Q, R, m, n, n), a, TOL, `${label}: Q·R`);
    await expectAllClose(mm(tr(Q, m, n), Q, n, m, n), eye(n), TOL, `${label}: QᵀQ`);
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) assert.equal(R[i * n + j], 0, `${label}: R[${i}][${j}]`);
  }
  assert.throws(() => qrThin(randomMatrix(2, 3, 1), 2, 3), /m ≥ n/);
});

test("svdSmall: reconstruction, orthonormality, ordering on random shapes", async () => {
  const shapes = [[5, 3], [3, 5], [6, 6], [40, 17], [17, 40], [1, 4], [4, 1], [1, 1], [64, 64]];
  for (const [i, [m, n]] of shapes.entries()) await checkSvd(randomMatrix(m, n, 10 + i), m, n, `${m}×${n}`);
});

test("svdSmall: known singular values of Q1·diag(s)·Q2ᵀ, incl. a 1e10 condition number", async () => {
  const [m, n] = [9, 6];
  const s = [7, 3, 2.5, 1, 1e-3, 1e-9];
  const q1 = orthogonal(m, 21);
  const q2 = orthogonal(n, 22);
  const q1s = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) q1s[i * n + j] = q1[i * m + j] * s[j];
  const a = mm(q1s, tr(q2, n, n), m, n, n);
  await expectAllClose(svdSmall(a, m, n).S, s, TOL, "S");
  await expectAllClose(svdSmall(tr(a, m, n), n, m).S, s, TOL, "S of Aᵀ");
  await checkSvd(a, m, n, "graded");
});

test("svdSmall: matches numpy on a fixed rank-deficient and a full-rank matrix", async () => {
  // Golden: numpy 1.24.2, np.linalg.svd(A, compute_uv=False) with A[i][j] = sin(3i + 7j + 1), 4×3 (rank 2 since
  // sin(a+b) = sin a cos b + cos a sin b), and A[i][j] = sin(0.7i² + 1.3j + 0.1ij + 0.5), 6×4.
  const a1 = Float64Array.from({ length: 12 }, (_, k) => Math.sin(3 * Math.floor(k / 3) + 7 * (k % 3) + 1));
  await expectAllClose(svdSmall(a1, 4, 3).S, [2.8834276473327689, 0.29253712374852492, 1.1749276065220605e-16], TOL, "rank-2");
  await checkSvd(a1, 4, 3, "rank-2 sin matrix");
  const f = (i: number, j: number): number => Math.sin(0.7 * i * i + 1.3 * j + 0.1 * i * j + 0.5);
  const a2 = Float64Array.from({ length: 24 }, (_, k) => f(Math.floor(k / 4), k % 4));
  await expectAllClose(svdSmall(a2, 6, 4).S, [3.014730430854845, 1.9136591395324893, 0.3970744091658253, 0.17834785489822783], TOL, "6×4");
});

test("svdSmall: rank-deficient and zero matrices keep orthonormal U and V", async () => {
  const x = randomMatrix(8, 2, 31);
  const y = randomMatrix(2, 5, 32);
  const a = mm(x, y, 8, 2, 5); // rank 2
  const { S } = svdSmall(a, 8, 5);
  // 1e-14·σ₀: the zero singular values of an exactly rank-2 float64 matrix, a few ε (2.2e-16) times its scale.
  for (let j = 2; j < 5; j++) assert.ok(S[j] < 1e-14 * S[0], `S[${j}] = ${S[j]} should vanish`);
  await checkSvd(a, 8, 5, "rank-2 8×5");
  await checkSvd(tr(a, 8, 5), 5, 8, "rank-2 5×8");
  await checkSvd(new Float64Array(12), 4, 3, "zero 4×3");
  assert.deepEqual(Array.from(svdSmall(new Float64Array(12), 3, 4).S), [0, 0, 0]);
  assert.throws(() => svdSmall([1, 2, 3], 2, 2), /expected 2×2 = 4 values/);
  assert.throws(() => svdSmall([1, NaN, 3, 4], 2, 2), /non-finite/);
});

test("svdProduct: SVD of A·B without forming it equals svdSmall of the product", async () => {
  // [m, k, n]: tall-thin factors (OV-like), inner dim larger than both outer dims, one outer dim ≤ k, rank-deficient A.
  const lowRankA = mm(randomMatrix(12, 2, 70), randomMatrix(2, 4, 71), 12, 2, 4);
  const cases: [Float64Array, Float64Array, number, number, number, string][] = [
    [randomMatrix(30, 5, 72), randomMatrix(5, 25, 73), 30, 5, 25, "30·5·25"],
    [randomMatrix(4, 9, 74), randomMatrix(9, 6, 75), 4, 9, 6, "4·9·6"],
    [randomMatrix(3, 5, 76), randomMatrix(5, 11, 77), 3, 5, 11, "3·5·11"],
    [lowRankA, randomMatrix(4, 10, 78), 12, 4, 10, "rank-2 A"],
  ];
  for (const [a, b, m, k, n, label] of cases) {
    const p = mm(a, b, m, k, n);
    const r = Math.min(m, k, n);
    const got = svdProduct(a, b, m, k, n);
    assert.deepEqual([got.U.length, got.S.length, got.V.length], [m * r, r, n * r], `${label}: sizes`);
    await expectAllClose(got.S, svdSmall(p, m, n).S.subarray(0, r), TOL, `${label}: S`);
    const US = Float64Array.from(got.U, (x, i) => x * got.S[i % r]);
    await expectAllClose(mm(US, tr(got.V, n, r), m, r, n), p, TOL, `${label}: U·diag(S)·Vᵀ`);
    await expectAllClose(mm(tr(got.U, m, r), got.U, r, m, r), eye(r), TOL, `${label}: UᵀU`);
    await expectAllClose(mm(tr(got.V, n, r), got.V, r, n, r), eye(r), TOL, `${label}: VᵀV`);
  }
});

function sortKey(re: ArrayLike<number>, im: ArrayLike<number>): [number, number][] {
  return Array.from(re, (r, i): [number, number] => [r, im[i]]).sort(
    (x, y) => Math.hypot(...y) - Math.hypot(...x) || y[0] - x[0] || y[1] - x[1],
  );
}

async function expectEigen(a: ArrayLike<number>, n: number, expected: [number, number][], tol = TOL, label = "λ"): Promise<void> {
  const { re, im } = eigenvaluesGeneral(a, n);
  const want = sortKey(expected.map((e) => e[0]), expected.map((e) => e[1]));
  await expectAllClose(re, want.map((e) => e[0]), tol, `${label} re`);
  await expectAllClose(im, want.map((e) => e[1]), tol, `${label} im`);
}

test("eigenvaluesGeneral: rotation, companion matrix with known roots, numpy golden", async () => {
  const th = 0.7;
  await expectEigen([Math.cos(th), -Math.sin(th), Math.sin(th), Math.cos(th)], 2, [[Math.cos(th), Math.sin(th)], [Math.cos(th), -Math.sin(th)]], TOL, "rotation");
  // p(x) = Π (x − root); the companion matrix has ones on the subdiagonal and −c_i (monic coefficients) in the last column.
  const roots: [number, number][] = [[3, 0], [-2, 0], [1, 0], [0.5, 0], [-1, 2], [-1, -2], [0.25, 0.75], [0.25, -0.75]];
  let poly: [number, number][] = [[1, 0]]; // complex coefficients, highest degree first
  for (const [rr, ri] of roots) {
    const next: [number, number][] = [...poly.map((c): [number, number] => [c[0], c[1]]), [0, 0]];
    for (let i = 0; i < poly.length; i++) {
      next[i + 1][0] -= poly[i][0] * rr - poly[i][1] * ri;
      next[i + 1][1] -= poly[i][0] * ri + poly[i][1] * rr;
    }
    poly = next;
  }
  const n = roots.length;
  const comp = new Float64Array(n * n);
  for (let i = 1; i < n; i++) comp[i * n + i - 1] = 1;
  for (let i = 0; i < n; i++) comp[i * n + n - 1] = -poly[n - i][0];
  await expectEigen(comp, n, roots, TOL, "companion");
  // Golden: numpy 1.24.2 np.linalg.eigvals(B), B[i][j] = sin(0.7i² + 1.3j + 0.1ij + 0.5), 6×6, same sort order.
  const b = Float64Array.from({ length: 36 }, (_, k) => Math.sin(0.7 * Math.floor(k / 6) ** 2 + 1.3 * (k % 6) + 0.1 * Math.floor(k / 6) * (k % 6) + 0.5));
  const gold: [number, number][] = [[0.7051789151763865, 0.7925501523426612], [0.7051789151763865, -0.7925501523426612], [-1.0120515148506701, 0], [0.6246720436228029, 0], [-0.21900097032219942, 0], [-0.001169862926507086, 0]];
  const got = eigenvaluesGeneral(b, 6);
  await expectAllClose(got.re, gold.map((g) => g[0]), TOL, "numpy re");
  await expectAllClose(got.im, gold.map((g) => g[1]), TOL, "numpy im");
});

test("eigenvaluesGeneral: symmetric matrices agree with singular values", async () => {
  const n = 12;
  const x = randomMatrix(n, n, 41);
  const psd = mm(tr(x, n, n), x, n, n, n);
  const e = eigenvaluesGeneral(psd, n);
  await expectAllClose(e.re, svdSmall(psd, n, n).S, TOLERANCES.float64, "PSD λ = σ");
  await expectAllClose(e.im, new Float64Array(n), TOL, "PSD im");
  const sym = Float64Array.from(x, (v, k) => v + x[(k % n) * n + Math.floor(k / n)]);
  const es = eigenvaluesGeneral(sym, n);
  await expectAllClose(Float64Array.from(es.re, Math.abs), svdSmall(sym, n, n).S, TOL, "symmetric |λ| = σ");
});

test("eigenvaluesGeneral: random matrices — Σλ = trace, Πλ = det, conjugate pairs, σ_min(A − λI) ≈ 0", async () => {
  for (const [n, seed] of [[5, 51], [12, 52], [30, 53]]) {
    const a = randomMatrix(n, n, seed);
    const { re, im } = eigenvaluesGeneral(a, n);
    let trace = 0;
    for (let i = 0; i < n; i++) trace += a[i * n + i];
    await expectAllClose(re.reduce((s, v) => s + v, 0), trace, TOL, `n=${n} Σ re`);
    await expectAllClose(im.reduce((s, v) => s + v, 0), 0, TOL, `n=${n} Σ im`);
    let [pr, pi] = [1, 0];
    for (let i = 0; i < n; i++) [pr, pi] = [pr * re[i] - pi * im[i], pr * im[i] + pi * re[i]];
    const d = det(a, n);
    await expectAllClose([pr, pi], [d, 0], { atol: TOL.atol * Math.abs(d), rtol: TOL.rtol }, `n=${n} Π λ (|det| = ${d})`);
    for (let i = 1; i < n; i++) assert.ok(Math.hypot(re[i], im[i]) <= Math.hypot(re[i - 1], im[i - 1]), "descending |λ|");
    for (let i = 0; i < n; i++) {
      if (im[i] === 0) continue;
      assert.ok(im[i] > 0 ? re[i + 1] === re[i] && im[i + 1] === -im[i] : re[i - 1] === re[i] && im[i - 1] === -im[i], "exact conjugate pair, +im first");
    }
    if (n > 12) continue;
    for (let i = 0; i < n; i++) {
      // Real 2n×2n embedding [[A − re·I, im·I], [−im·I, A − re·I]] of A − λI: its smallest singular value is σ_min(A − λI).
      const e = new Float64Array(4 * n * n);
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < n; c++) {
          const v = a[r * n + c] - (r === c ? re[i] : 0);
          e[r * 2 * n + c] = e[(r + n) * 2 * n + c + n] = v;
        }
        e[r * 2 * n + r + n] = im[i];
        e[(r + n) * 2 * n + r] = -im[i];
      }
      const s = svdSmall(e, 2 * n, 2 * n).S;
      // 1e-12: A − λI is singular to float64 rounding of O(1) entries (a few hundred ε).
      assert.ok(s[2 * n - 1] < 1e-12, `n=${n}: σ_min(A − λ_${i}I) = ${s[2 * n - 1]}`);
    }
  }
});

test("eigenvaluesGeneral: defective Jordan block and a badly scaled similarity", async () => {
  // Q·(J₄(2) ⊕ diag(−1, 5))·Qᵀ: the 4-fold defective eigenvalue is perturbed by ~ε^(1/4) ≈ 1e-4, its mean is not.
  const n = 6;
  const j = new Float64Array(n * n);
  for (let i = 0; i < 4; i++) j[i * n + i] = 2;
  for (let i = 0; i < 3; i++) j[i * n + i + 1] = 1;
  j[4 * n + 4] = -1;
  j[5 * n + 5] = 5;
  const q = orthogonal(n, 61);
  const a = mm(mm(q, j, n, n, n), tr(q, n, n), n, n, n);
  const { re, im } = eigenvaluesGeneral(a, n);
  // 1e-9 (TOLERANCES.float64) for simple eigenvalues; a 4-fold defective cluster is only determined to ~ε^(1/4) ≈ 1e-4, so 1e-2.
  assert.ok(Math.abs(re[0] - 5) < 1e-9 && im[0] === 0, `λ₀ = ${re[0]} + ${im[0]}i`);
  const cluster = [1, 2, 3, 4];
  for (const i of cluster) assert.ok(Math.hypot(re[i] - 2, im[i]) < 1e-2, `clustered λ_${i} = ${re[i]} + ${im[i]}i`);
  await expectAllClose(cluster.reduce((s, i) => s + re[i], 0) / 4, 2, TOL, "cluster mean");
  assert.ok(Math.abs(re[5] + 1) < 1e-9, `λ₅ = ${re[5]}`);
  // D·(Q·C·Qᵀ)·D⁻¹ with C the companion matrix of known roots and D = diag(1e-7, 1e-5, ..., 1e7): entries span
  // 28 orders of magnitude, so without balancing the errors are ~ε·1e14 ≈ 1e-2.
  const m = 8;
  const c = new Float64Array(m * m);
  const roots = [4, -3, 2.5, 2, -1.5, 1, 0.5, 0.25]; // companion of Π(x − r), built via the recurrence below
  let coef = [1];
  for (const r of roots) coef = [...coef, 0].map((v, i) => v - (i > 0 ? r * coef[i - 1] : 0));
  for (let i = 1; i < m; i++) c[i * m + i - 1] = 1;
  for (let i = 0; i < m; i++) c[i * m + m - 1] = -coef[m - i];
  const q2 = orthogonal(m, 62);
  const dense = mm(mm(q2, c, m, m, m), tr(q2, m, m), m, m, m);
  const scaled = Float64Array.from(dense, (v, k) => (v * 10 ** (2 * Math.floor(k / m) - 7)) / 10 ** (2 * (k % m) - 7));
  await expectEigen(scaled, m, roots.map((r): [number, number] => [r, 0]), TOL, "badly scaled");
});

test("eigenvaluesGeneral: trivial sizes, zero matrix, input validation", async () => {
  assert.deepEqual(eigenvaluesGeneral([], 0), { re: new Float64Array(0), im: new Float64Array(0) });
  assert.deepEqual(Array.from(eigenvaluesGeneral([-3.5], 1).re), [-3.5]);
  assert.deepEqual(Array.from(eigenvaluesGeneral(new Float64Array(16), 4).re), [0, 0, 0, 0]);
  await expectEigen([0, 1, -1, 0], 2, [[0, 1], [0, -1]], TOL, "90° rotation");
  assert.throws(() => eigenvaluesGeneral([1, 2, 3], 2), /expected 2×2 = 4 values/);
  assert.throws(() => eigenvaluesGeneral([1, Infinity, 3, 4], 2), /non-finite/);
});
