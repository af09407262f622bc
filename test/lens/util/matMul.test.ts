/**
 * matMulBroadcast against a float64 reference written here (NumPy's matmul broadcasting rule), on cpu and wasm, and a
 * pin of the tfjs 4.22 behaviour it works around: the stock BatchMatMul kernel indexes each operand's flattened batch
 * by `i % batchSize`, so [3, 1] against [1, 5] batches comes out wrong. That pin runs where matmuls use the backend's
 * own kernel (LENS_BLAS=0, which CI runs); if it fails after a tfjs upgrade, tfjs fixed the kernel.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { backendInfo, setBackend } from "../../../src/lens/index";
import { broadcastBatchShape, matMulBroadcast } from "../../../src/lens/util/matMul";
import { webgpuKernelsInstalled } from "../../../src/lens/accel/webgpuKernels";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";
import { TEST_BACKENDS } from "../../backends";

/** Deterministic values in [-1, 1). */
const values = (n: number, seed: number) => Float64Array.from({ length: n }, (_, i) => (((i + 1) * 7919 * (seed + 3)) % 2003) / 1001.5 - 1);

/** float64 matmul with NumPy's broadcasting of batch dims (a [..., m, k], b [..., k, n]). */
function reference(a: Float64Array, sa: number[], b: Float64Array, sb: number[]): Float64Array {
  const [m, k] = sa.slice(-2), [, n] = sb.slice(-2);
  const full = broadcastBatchShape(sa.slice(0, -2), sb.slice(0, -2));
  const index = (dims: number[], at: number[]) => {
    const pad = [...new Array(full.length - dims.length).fill(1), ...dims];
    return pad.reduce((acc, d, i) => acc * d + (d === 1 ? 0 : at[i]!), 0);
  };
  const total = full.reduce((x, y) => x * y, 1);
  const out = new Float64Array(total * m * n);
  for (let bi = 0; bi < total; bi++) {
    const at: number[] = [];
    for (let r = bi, i = full.length - 1; i >= 0; i--) { at[i] = r % full[i]!; r = Math.floor(r / full[i]!); }
    const ia = index(sa.slice(0, -2), at) * m * k, ib = index(sb.slice(0, -2), at) * k * n;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[ia + i * k + t]! * b[ib + t * n + j]!;
      out[bi * m * n + i * n + j] = s;
    }
  }
  return out;
}

const CASES: [number[], number[]][] = [
  [[3, 1, 2, 4], [1, 5, 4, 2]], // the composition-score pattern: [H, 1] against [1, M]
  [[3, 1, 2, 4], [3, 5, 4, 2]],
  [[1, 5, 2, 4], [3, 1, 4, 2]],
  [[2, 3, 2, 4], [2, 1, 4, 2]],
  [[3, 5, 2, 4], [5, 4, 2]], // suffix: the stock kernel is right here
  [[3, 2, 4], [1, 4, 2]],
  [[2, 4], [3, 4, 2]],
];

for (const backend of TEST_BACKENDS) {
  describe(`matMulBroadcast on ${backend}`, () => {
    test("equals the float64 broadcasting reference for every batch pattern", async () => {
      await setBackend(backend);
      for (const [sa, sb] of CASES) {
        const av = values(sa.reduce((x, y) => x * y, 1), 1), bv = values(sb.reduce((x, y) => x * y, 1), 2);
        const before = tf.memory().numTensors;
        const [a, b] = [tf.tensor(Float32Array.from(av), sa), tf.tensor(Float32Array.from(bv), sb)];
        const out = matMulBroadcast(a, b);
        const full = broadcastBatchShape(sa.slice(0, -2), sb.slice(0, -2));
        assert.deepEqual(out.shape, [...full, sa.at(-2), sb.at(-1)]);
        await expectAllClose(out, reference(av, sa, bv, sb), TOLERANCES.float32Invariant, `[${sa}]·[${sb}]`);
        tf.dispose([a, b, out]);
        assert.equal(tf.memory().numTensors, before, "no tensors leaked");
      }
    });

    test("the workaround is still needed: tfjs's own kernel mis-broadcasts [3, 1] against [1, 5]", async (t) => {
      await setBackend(backend);
      if (backendInfo().matmul?.via !== "backend") return t.skip(`matmuls run through ${backendInfo().matmul?.via} here (LENS_BLAS=0 runs this)`);
      if (backend === "webgpu" && webgpuKernelsInstalled()) return t.skip("on webgpu lens wraps BatchMatMul itself (accel/webgpuKernels.ts, tested there)");
      const [sa, sb] = CASES[0]!;
      const av = values(24, 1), bv = values(40, 2);
      const wrong = tf.tidy(() => tf.matMul(tf.tensor(Float32Array.from(av), sa), tf.tensor(Float32Array.from(bv), sb)));
      const got = await wrong.data();
      wrong.dispose();
      const ref = reference(av, sa, bv, sb);
      let maxErr = 0;
      got.forEach((v, i) => (maxErr = Math.max(maxErr, Number.isNaN(v) ? Infinity : Math.abs(v - ref[i]!))));
      assert.ok(maxErr > 0.1, `tf.matMul now broadcasts [${sa}]·[${sb}] correctly (max |Δ| ${maxErr}); matMulBroadcast's explicit broadcast can go`);
    });

    test("incompatible batch dims throw an Error naming both shapes", () => {
      assert.throws(() => broadcastBatchShape([2, 3], [4, 3]), /batch dims \[2,3\] and \[4,3\] do not broadcast/);
    });
  });
}
