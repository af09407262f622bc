import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { FactoredMatrix } from "../../src/lens/factoredMatrix";
import { eigenvaluesGeneral } from "../../src/lens/eigen";
import { svdSmall } from "../../src/lens/linalg";
import { expectAllClose } from "../helpers";
import { TOLERANCES } from "../tolerances";

const TOL = TOLERANCES.float32Invariant; // float32 tensor outputs against float64 references from the same data

/** Deterministic uniform(−1, 1) values (mulberry32). */
function rand(size: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: size }, () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  });
}
const randT = (shape: number[], seed: number): tf.Tensor => tf.tensor(rand(shape.reduce((x, y) => x * y, 1), seed), shape);

/** Float64 batched matmul of row-major data: a [nb, m, k] · b [nb, k, n] → [nb, m, n]. */
function bmm(a: ArrayLike<number>, b: ArrayLike<number>, nb: number, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(nb * m * n);
  for (let z = 0; z < nb; z++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let l = 0; l < k; l++) s += a[z * m * k + i * k + l] * b[z * k * n + l * n + j];
        c[z * m * n + i * n + j] = s;
      }
  return c;
}
function btr(a: ArrayLike<number>, nb: number, m: number, n: number): Float64Array {
  const t = new Float64Array(nb * m * n);
  for (let z = 0; z < nb; z++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[z * m * n + j * m + i] = a[z * m * n + i * n + j];
  return t;
}
const batchEye = (nb: number, r: number): Float64Array => Float64Array.from({ length: nb * r * r }, (_, i) => ((i % (r * r)) % (r + 1) === 0 ? 1 : 0));

/** Float64 reference product A·B of a FactoredMatrix, from its float32 data. */
async function refAB(fm: FactoredMatrix): Promise<Float64Array> {
  const nb = fm.batchShape.reduce((x, y) => x * y, 1);
  return bmm(await fm.A.data(), await fm.B.data(), nb, fm.ldim, fm.mdim, fm.rdim);
}

/** Compares fm.AB (disposed afterwards) with a reference. */
async function expectAB(fm: FactoredMatrix, expected: ArrayLike<number>, label: string): Promise<void> {
  const ab = fm.AB;
  try {
    await expectAllClose(ab, expected, TOL, label);
  } finally {
    ab.dispose();
  }
}

/** Runs fn, asserts it created exactly `count` tensors (those it returns), and hands back its result. */
async function creates<T>(count: number, label: string, fn: () => T | Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  assert.equal(tf.memory().numTensors - before, count, `${label}: expected ${count} new tensors`);
  return out;
}

const make = (batch: number[], m: number, k: number, n: number, seed: number): FactoredMatrix =>
  new FactoredMatrix(randT([...batch, m, k], seed), randT([...batch, k, n], seed + 1));

test("FactoredMatrix: dims, AB, BA, T and ownership", async () => {
  const start = tf.memory().numTensors;
  const fm = make([2, 3], 6, 4, 5, 1);
  assert.deepEqual([fm.ldim, fm.mdim, fm.rdim, fm.ndim], [6, 4, 5, 4]);
  assert.deepEqual(fm.shape, [2, 3, 6, 5]);
  assert.equal(String(fm), "FactoredMatrix: Shape([2,3,6,5]), Hidden Dim(4)");
  const ab = await creates(1, "AB", () => fm.AB);
  await expectAllClose(ab, await refAB(fm), TOL, "AB");
  assert.deepEqual(ab.shape, [2, 3, 6, 5]);
  const t = await creates(2, "T", () => fm.T);
  assert.deepEqual(t.shape, [2, 3, 5, 6]);
  const abT = await creates(1, "transpose", () => tf.transpose(ab, [0, 1, 3, 2]));
  await expectAB(t, await abT.data(), "T.AB = ABᵀ");
  assert.throws(() => fm.BA, /square product/);
  tf.dispose([ab, abT]);
  t.dispose();
  fm.dispose();
  const sq = make([2], 5, 3, 5, 3);
  const ba = await creates(1, "BA", () => sq.BA);
  assert.deepEqual(ba.shape, [2, 3, 3]);
  await expectAllClose(ba, bmm(await sq.B.data(), await sq.A.data(), 2, 3, 5, 3), TOL, "BA");
  ba.dispose();
  sq.dispose();
  assert.equal(tf.memory().numTensors, start, "dispose frees A and B");
});

test("FactoredMatrix: constructor broadcasts batch dims, casts to float32, validates", async () => {
  const start = tf.memory().numTensors;
  const fm = new FactoredMatrix(randT([3, 6, 4], 5), randT([2, 1, 4, 5], 6));
  assert.deepEqual(fm.shape, [2, 3, 6, 5]);
  assert.deepEqual(fm.A.shape, [2, 3, 6, 4]);
  fm.dispose();
  const ints = new FactoredMatrix(tf.tensor2d([[1, 2], [3, 4]], undefined, "int32"), tf.tensor2d([[1], [1]], undefined, "int32"));
  assert.equal(ints.A.dtype, "float32");
  await expectAB(ints, [3, 7], "int AB");
  ints.dispose();
  const x = randT([4, 4], 7);
  const xData = await x.data();
  const same = new FactoredMatrix(x, x); // the same tensor twice: B becomes its own handle, both disposable
  await expectAB(same, bmm(xData, xData, 1, 4, 4, 4), "x·x");
  same.dispose();
  assert.equal(tf.memory().numTensors, start);
  assert.throws(() => new FactoredMatrix(randT([3, 4], 1), randT([5, 2], 2)), /4 columns but B \[5,2\] has 5 rows/);
  assert.throws(() => new FactoredMatrix(randT([2, 3, 4], 1), randT([3, 4, 2], 2)), /do not broadcast/);
  assert.throws(() => new FactoredMatrix(randT([4], 1), randT([4, 2], 2)), /rank ≥ 2/);
});

test("FactoredMatrix.svd: agrees with svdSmall of the materialised product; orthonormal factors", async () => {
  const start = tf.memory().numTensors;
  // OV-like [L, H, D, d]·[L, H, d, D], a wide-inner case (k > m, n) and an unbatched one.
  for (const [batch, m, k, n, seed] of [[[2, 3], 16, 4, 16, 11], [[2], 5, 8, 3, 12], [[], 7, 3, 9, 13]] as const) {
    const fm = make([...batch], m, k, n, seed);
    const nb = (batch as readonly number[]).reduce((x, y) => x * y, 1);
    const r = Math.min(m, k, n);
    const { U, S, V } = await creates(3, "svd", () => fm.svd());
    assert.deepEqual([U.shape, S.shape, V.shape], [[...batch, m, r], [...batch, r], [...batch, n, r]]);
    const ab = await refAB(fm);
    const [u, s, v] = [await U.data(), await S.data(), await V.data()];
    const sRef = new Float64Array(nb * r);
    for (let z = 0; z < nb; z++) sRef.set(svdSmall(ab.subarray(z * m * n, (z + 1) * m * n), m, n).S.subarray(0, r), z * r);
    await expectAllClose(s, sRef, TOL, `S ${m}×${k}×${n}`);
    const us = Float64Array.from(u, (x, i) => x * s[Math.floor(i / (m * r)) * r + (i % r)]);
    await expectAllClose(bmm(us, btr(v, nb, n, r), nb, m, r, n), ab, TOL, "U·S·Vᵀ = AB");
    await expectAllClose(bmm(btr(u, nb, m, r), u, nb, r, m, r), batchEye(nb, r), TOL, "UᵀU = I");
    await expectAllClose(bmm(btr(v, nb, n, r), v, nb, r, n, r), batchEye(nb, r), TOL, "VᵀV = I");
    for (let z = 0; z < nb; z++) for (let j = 1; j < r; j++) assert.ok(s[z * r + j] <= s[z * r + j - 1], "S descending");
    // norm = Frobenius norm of AB
    const nrm = await creates(1, "norm", () => fm.norm());
    assert.deepEqual(nrm.shape, [...batch]);
    const fro = Array.from({ length: nb }, (_, z) => Math.hypot(...ab.subarray(z * m * n, (z + 1) * m * n)));
    await expectAllClose(nrm, fro, TOL, "norm");
    tf.dispose([U, S, V, nrm]);
    fm.dispose();
  }
  assert.equal(tf.memory().numTensors, start);
});

test("FactoredMatrix: makeEven, collapseL, collapseR reproduce AB", async () => {
  const start = tf.memory().numTensors;
  const fm = make([2, 2], 9, 3, 7, 21);
  const ab = await refAB(fm);
  const even = await creates(2, "makeEven", () => fm.makeEven());
  assert.deepEqual([even.A.shape, even.B.shape], [[2, 2, 9, 3], [2, 2, 3, 7]]);
  await expectAB(even, ab, "makeEven AB");
  const [ea, eb] = [await even.A.data(), await even.B.data()];
  await expectAllClose(bmm(btr(ea, 4, 9, 3), ea, 4, 3, 9, 3), bmm(eb, btr(eb, 4, 3, 7), 4, 3, 7, 3), TOL, "A'ᵀA' = B'B'ᵀ = diag(S)");
  const { U, S, V } = await fm.svd();
  const cl = await creates(1, "collapseL", () => fm.collapseL());
  const cr = await creates(1, "collapseR", () => fm.collapseR());
  assert.deepEqual([cl.shape, cr.shape], [[2, 2, 3, 7], [2, 2, 9, 3]]);
  await expectAllClose(bmm(await U.data(), await cl.data(), 4, 9, 3, 7), ab, TOL, "U·collapseL");
  await expectAllClose(bmm(await cr.data(), btr(await V.data(), 4, 7, 3), 4, 9, 3, 7), ab, TOL, "collapseR·Vᵀ");
  const rowNorms = tf.tidy(() => tf.sum(tf.square(cl), -1).sqrt());
  await expectAllClose(rowNorms, await S.data(), TOL, "rows of collapseL have norm S");
  rowNorms.dispose();
  tf.dispose([U, S, V, cl, cr]);
  even.dispose();
  fm.dispose();
  assert.equal(tf.memory().numTensors, start);
});

test("FactoredMatrix.eigenvalues: BA's eigenvalues are the non-zero eigenvalues of AB", async () => {
  const start = tf.memory().numTensors;
  const [m, k] = [10, 4];
  const fm = make([3], m, k, m, 31);
  const { re, im } = await creates(2, "eigenvalues", () => fm.eigenvalues());
  assert.deepEqual([re.shape, im.shape], [[3, k], [3, k]]);
  const ab = await refAB(fm);
  const [gr, gi] = [await re.data(), await im.data()];
  for (let z = 0; z < 3; z++) {
    const e = eigenvaluesGeneral(ab.subarray(z * m * m, (z + 1) * m * m), m); // sorted by |λ|: the k non-zero come first
    // 1e-12: float64 eigenvalues of an exactly rank-k float64 product (TOLERANCES.float64 is for O(1) values, these are zeros).
    for (let j = k; j < m; j++) assert.ok(Math.hypot(e.re[j], e.im[j]) < 1e-12, "AB has rank k");
    await expectAllClose(gr.subarray(z * k, (z + 1) * k), e.re.subarray(0, k), TOL, `re[${z}]`);
    await expectAllClose(gi.subarray(z * k, (z + 1) * k), e.im.subarray(0, k), TOL, `im[${z}]`);
    let trace = 0;
    for (let i = 0; i < m; i++) trace += ab[z * m * m + i * m + i];
    await expectAllClose(Array.from(gr.subarray(z * k, (z + 1) * k)).reduce((s, x) => s + x, 0), trace, TOL, "Σλ = trace AB");
  }
  tf.dispose([re, im]);
  const rect = make([], 4, 2, 5, 32);
  await assert.rejects(() => rect.eigenvalues(), /square product/);
  rect.dispose();
  fm.dispose();
  assert.equal(tf.memory().numTensors, start);
});

test("FactoredMatrix.getCorner: corner of AB, batch dims cut to k as in TL's get_corner", async () => {
  const start = tf.memory().numTensors;
  const fm = make([2, 3], 6, 4, 5, 41);
  const c = await creates(1, "getCorner", () => fm.getCorner(2));
  const ab = await refAB(fm);
  const want: number[] = [];
  for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) want.push(ab[((a * 3 + b) * 6 + i) * 5 + j]);
  assert.deepEqual(c.shape, [2, 2, 2, 2]);
  await expectAllClose(c, want, TOL, "corner");
  c.dispose();
  const small = make([], 2, 4, 5, 42);
  const c3 = await small.getCorner();
  assert.deepEqual(c3.shape, [2, 3]);
  const abs = await refAB(small);
  await expectAllClose(c3, [0, 1, 2, 5, 6, 7].map((i) => abs[i]), TOL, "default k = 3");
  c3.dispose();
  small.dispose();
  fm.dispose();
  assert.equal(tf.memory().numTensors, start);
});

test("FactoredMatrix: matmul / lmatmul / matvec / vecmat keep products equal and pick the smaller inner dim", async () => {
  const start = tf.memory().numTensors;
  const fm = make([2], 6, 4, 5, 51);
  const ab = await refAB(fm);
  const C = randT([5, 7], 52);
  const cData = await C.data();
  const cat = (x: Float64Array): Float64Array => Float64Array.from({ length: 2 * x.length }, (_, i) => x[i % x.length]);
  const r1 = await creates(2, "matmul tensor", () => fm.matmul(C));
  assert.deepEqual([r1.shape, r1.mdim], [[2, 6, 7], 4]); // rdim 5 > mdim 4: FactoredMatrix(A, B·C)
  await expectAB(r1, bmm(ab, cat(Float64Array.from(cData)), 2, 6, 5, 7), "(A·B)·C");
  const thin = make([], 6, 4, 3, 53);
  const C3 = randT([3, 2], 54);
  const r2 = thin.matmul(C3);
  assert.equal(r2.mdim, 3); // rdim 3 ≤ mdim 4: FactoredMatrix(A·B, C)
  await expectAB(r2, bmm(await refAB(thin), await C3.data(), 1, 6, 3, 2), "thin (A·B)·C");
  const other = make([], 5, 2, 7, 55);
  const r3 = await creates(2, "matmul FactoredMatrix", () => fm.matmul(other));
  assert.deepEqual([r3.shape, r3.mdim], [[2, 6, 7], 2]);
  await expectAB(r3, bmm(ab, cat(await refAB(other)), 2, 6, 5, 7), "FM·FM");
  const D = randT([8, 6], 56);
  const r4 = await creates(2, "lmatmul", () => fm.lmatmul(D));
  assert.deepEqual([r4.shape, r4.mdim], [[2, 8, 5], 4]);
  await expectAB(r4, bmm(cat(Float64Array.from(await D.data())), ab, 2, 8, 6, 5), "D·(A·B)");
  const v = randT([5], 57);
  const mv = await creates(1, "matvec", () => fm.matvec(v));
  assert.deepEqual(mv.shape, [2, 6]);
  await expectAllClose(mv, bmm(ab, cat(Float64Array.from(await v.data())), 2, 6, 5, 1), TOL, "matvec");
  const w = randT([6], 58);
  const vm = await creates(1, "vecmat", () => fm.vecmat(w));
  assert.deepEqual(vm.shape, [2, 5]);
  await expectAllClose(vm, bmm(cat(Float64Array.from(await w.data())), ab, 2, 1, 6, 5), TOL, "vecmat");
  assert.throws(() => fm.matmul(v), /use matvec/);
  assert.throws(() => fm.matmul(D), /needs 5 rows/);
  assert.throws(() => fm.lmatmul(C), /needs 6 columns/);
  tf.dispose([C, C3, D, v, w, mv, vm]);
  for (const x of [r1, r2, r3, r4, thin, other, fm]) x.dispose();
  assert.equal(tf.memory().numTensors, start);
});

test("FactoredMatrix: mul, index, unsqueeze", async () => {
  const start = tf.memory().numTensors;
  const fm = make([3, 2], 4, 2, 5, 61);
  const ab = await refAB(fm);
  const scaled = await creates(2, "mul", () => fm.mul(-2.5));
  await expectAB(scaled, Float64Array.from(ab, (x) => -2.5 * x), "mul");
  const i1 = await creates(2, "index", () => fm.index(1));
  assert.deepEqual(i1.shape, [2, 4, 5]);
  await expectAB(i1, ab.subarray(40, 80), "index(1)");
  const last = fm.index(-1);
  await expectAB(last, ab.subarray(80, 120), "index(-1)");
  const inner = last.index(0);
  assert.deepEqual(inner.shape, [4, 5]);
  assert.throws(() => inner.index(0), /no batch dim/);
  assert.throws(() => fm.index(3), /out of range/);
  const u = await creates(2, "unsqueeze", () => fm.unsqueeze(1));
  assert.deepEqual(u.shape, [3, 1, 2, 4, 5]);
  for (const x of [scaled, i1, last, inner, u, fm]) x.dispose();
  assert.equal(tf.memory().numTensors, start);
});
