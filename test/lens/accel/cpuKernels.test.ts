/**
 * The cpu kernels (accel/cpuElementwise.ts, cpuReductions.ts) against tfjs-backend-cpu's own kernels: bit-identical
 * float32 results (NaN matches NaN; +0 and −0 are told apart) for the broadcast patterns a transformer uses, special
 * values (±∞, NaN, −0, tiny and huge numbers), reductions over trailing and leading axes, softmax with −∞ rows, and
 * gradients through LayerNorm, GELU and softmax. Each fast call is also checked not to decline to the stock kernel.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { CPU_ELEMENTWISE } from "../../../src/lens/accel/cpuElementwise";
import { cpuKernelsInstalled, CPU_KERNEL_NAMES, installCpuKernels, uninstallCpuKernels } from "../../../src/lens/accel/cpuKernels";
import { CPU_REDUCTIONS } from "../../../src/lens/accel/cpuReductions";
import type { KernelArgs, StockKernel } from "../../../src/lens/accel/tfjsInternals";
import { setBackend } from "../../../src/lens/backend";

const SPECIAL = [0, -0, 1, -1, Infinity, -Infinity, NaN, 1e-38, -3e38, 3e38, 1e-45, 0.5, 88.7, -104, 7.25, -0.3];

/** Deterministic values (an LCG), with the special values mixed in when `special`. */
function values(n: number, seed: number, special = true): Float32Array {
  const v = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = special && i % 7 === 3 ? SPECIAL[(s >>> 8) % SPECIAL.length] : (s / 2 ** 32 - 0.5) * 8;
  }
  return v;
}
const rand = (shape: number[], seed: number, special = true) => tf.tensor(values(shape.reduce((a, b) => a * b, 1), seed, special), shape);

/** Asserts identical float32 bit patterns (any NaN equals any NaN). */
async function sameBits(got: tf.Tensor, want: tf.Tensor, label: string): Promise<void> {
  assert.deepEqual(got.shape, want.shape, label);
  assert.equal(got.dtype, want.dtype, label);
  const g = await got.data();
  const w = await want.data();
  const gb = new Uint32Array(new Float32Array(g).buffer);
  const wb = new Uint32Array(new Float32Array(w).buffer);
  for (let i = 0; i < g.length; i++) {
    if (Number.isNaN(g[i]) && Number.isNaN(w[i])) continue;
    if (gb[i] !== wb[i]) assert.fail(`${label}: element ${i} is ${g[i]} (0x${gb[i].toString(16)}), stock gives ${w[i]} (0x${wb[i].toString(16)})`);
  }
}

const declines: StockKernel = () => {
  throw new Error("the fast kernel declined to the stock kernel");
};

/** Runs the replacement `name` directly (it must not decline), as a tensor. */
function fast(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}): tf.Tensor {
  const kernel = CPU_ELEMENTWISE[name] ?? CPU_REDUCTIONS[name];
  const args: KernelArgs = { inputs: Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, { dataId: t.dataId, shape: t.shape, dtype: t.dtype }])), backend: tf.backend(), attrs };
  const info = kernel(args, declines);
  assert.ok(info !== undefined && !Array.isArray(info), `${name} declined`);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** `f` with tfjs's own kernels. */
function stock<T extends tf.TensorContainer>(f: () => T): T {
  uninstallCpuKernels();
  try {
    return tf.tidy(f);
  } finally {
    installCpuKernels();
  }
}

test("cpu kernels are installed with the cpu backend (LENS_CPU_KERNELS unset)", async () => {
  await setBackend("cpu");
  assert.deepEqual(cpuKernelsInstalled().sort(), [...CPU_KERNEL_NAMES].sort());
});

test("binary ops: every broadcast pattern of a transformer forward, bit-identical to the stock kernels", async () => {
  await setBackend("cpu");
  const before = tf.memory().numTensors;
  const x = rand([2, 5, 24], 1);
  const cases: Array<[string, tf.Tensor, tf.Tensor]> = [
    ["same shape", x, rand([2, 5, 24], 2)],
    ["row vector (bias)", x, rand([24], 3)],
    ["column vector (LayerNorm scale)", x, rand([2, 5, 1], 4)],
    ["scalar", x, tf.scalar(1.7)],
    ["scalar first", tf.scalar(-0.25), x],
    ["[b,h,q,k] + [q,k] (causal mask)", rand([2, 3, 6, 6], 5), rand([6, 6], 6)],
    ["[b,1,1,k] key mask", rand([2, 3, 6, 6], 7), rand([2, 1, 1, 6], 8)],
    ["outer product [n,1]·[1,m]", rand([9, 1], 9), rand([1, 11], 10)],
    ["both broadcast in different dims", rand([4, 1, 5], 11), rand([1, 3, 5], 12)],
    ["empty", rand([0, 24], 13), rand([24], 14)],
    ["rank 0 with rank 0", tf.scalar(3), tf.scalar(-0)],
  ];
  for (const name of ["Add", "Sub", "Multiply", "RealDiv", "Maximum", "Minimum", "SquaredDifference"]) {
    for (const [label, a, b] of cases) {
      const want = stock(() => tf.engine().runKernel(name, { a, b }) as tf.Tensor);
      const got = fast(name, { a, b });
      await sameBits(got, want, `${name} ${label}`);
      tf.dispose([got, want]);
    }
  }
  // Through the public ops, with the kernels installed (dispatch reaches them; int32 declines to the stock kernel).
  const i = tf.tensor1d([5, -7, 9], "int32");
  const two = tf.scalar(2, "int32");
  const sum = tf.add(i, two);
  assert.equal(sum.dtype, "int32");
  assert.deepEqual(Array.from(await sum.data()), [7, -5, 11]);
  const [p, q] = [rand([3, 4], 1), rand([5], 2)];
  assert.throws(() => tf.add(p, q), /broadcast|shape/i, "incompatible shapes: the stock kernel's error");
  tf.dispose(cases.flatMap(([, a, b]) => [a, b]));
  tf.dispose([i, two, sum, p, q]);
  assert.equal(tf.memory().numTensors, before, "no tensors leaked");
});

test("unary ops and select: bit-identical to the stock kernels on special values", async () => {
  await setBackend("cpu");
  const x = rand([3, 7, 40], 21);
  for (const name of ["Sigmoid", "Tanh", "Exp", "Log", "Square", "Sqrt", "Rsqrt", "Reciprocal", "Neg", "Abs", "Relu", "Erf"]) {
    const want = stock(() => tf.engine().runKernel(name, { x }) as tf.Tensor);
    const got = fast(name, { x });
    await sameBits(got, want, name);
    tf.dispose([got, want]);
  }
  const e = rand([3, 7, 40], 22);
  const condition = tf.greater(x, e);
  const want = stock(() => tf.where(condition, x, e));
  const got = fast("Select", { condition, t: x, e });
  await sameBits(got, want, "Select");
  const nanRows = stock(() => tf.where(tf.isNaN(x), tf.zerosLike(x), x));
  const nanRowsFast = tf.tidy(() => tf.where(tf.isNaN(x), tf.zerosLike(x), x));
  await sameBits(nanRowsFast, nanRows, "where(isNaN) as attention uses it");
  tf.dispose([x, e, condition, want, got, nanRows, nanRowsFast]);
});

test("Sum, Mean, Max over trailing and leading axes, and Softmax (with −∞ and NaN rows): bit-identical", async () => {
  await setBackend("cpu");
  const x = rand([4, 6, 30], 31);
  const plain = rand([4, 6, 30], 32, false);
  const red: Array<[string, Record<string, unknown>]> = [
    ["last axis, keepDims", { axis: [-1], keepDims: true }],
    ["last two axes", { axis: [1, 2], keepDims: false }],
    ["leading axis (bias gradient)", { axis: [0], keepDims: false }],
    ["leading two axes", { axis: [0, 1], keepDims: true }],
    ["all axes", { axis: [0, 1, 2], keepDims: false }],
    ["no axes", { axis: [], keepDims: false }],
  ];
  for (const t of [x, plain]) {
    for (const name of ["Sum", "Mean", "Max"]) {
      for (const [label, attrs] of red) {
        if (name === "Max" && label === "no axes") continue;
        const a = name === "Max" ? { reductionIndices: attrs.axis, keepDims: attrs.keepDims } : attrs;
        const want = stock(() => tf.engine().runKernel(name, { x: t }, a as tf.NamedAttrMap) as tf.Tensor);
        const got = fast(name, { x: t }, a);
        await sameBits(got, want, `${name} ${label}`);
        tf.dispose([got, want]);
      }
    }
  }
  const scores = tf.tidy(() => {
    const s = rand([2, 3, 8, 8], 33, false).mul(6);
    const mask = tf.tensor2d(Array.from({ length: 64 }, (_, i) => (i % 8 > Math.floor(i / 8) ? -Infinity : 0)), [8, 8]);
    const rows = Array.from({ length: 8 * 8 }, (_, i) => (i < 8 ? -Infinity : i < 16 ? NaN : 0));
    return s.add(mask).add(tf.tensor2d(rows, [8, 8]));
  });
  for (const t of [scores, plain]) {
    const want = stock(() => tf.softmax(t));
    const got = fast("Softmax", { logits: t }, { dim: -1 });
    await sameBits(got, want, "Softmax");
    tf.dispose([got, want]);
  }
  tf.dispose([x, plain, scores]);
});

test("gradients through LayerNorm, both GELUs, softmax and a bias add equal the stock kernels' bit for bit", async () => {
  await setBackend("cpu");
  const x = rand([3, 5, 16], 41, false);
  const w = rand([16], 42, false);
  const f = (x: tf.Tensor, w: tf.Tensor): tf.Scalar => {
    const c = x.sub(x.mean(-1, true));
    const n = c.div(c.square().mean(-1, true).add(1e-5).sqrt()).mul(w).add(w);
    const geluTanh = n.mul(tf.sigmoid(n.square().mul(0.0713548).add(1.5957691).mul(n)));
    const geluErf = n.mul(n.mul(Math.SQRT1_2).erf().add(1)).mul(0.5);
    const att = tf.softmax(geluTanh.reshape([3, 5, 4, 4]).add(geluErf.reshape([3, 5, 4, 4])), -1);
    return att.mul(tf.tanh(n.reshape([3, 5, 4, 4]))).sum() as tf.Scalar;
  };
  const g = tf.grads(f);
  const want = stock(() => g([x, w]));
  const got = tf.tidy(() => g([x, w]));
  await sameBits(got[0], want[0], "d/dx");
  await sameBits(got[1], want[1], "d/dw");
  tf.dispose([x, w, ...want, ...got]);
});
