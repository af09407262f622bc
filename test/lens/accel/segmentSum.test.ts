/**
 * The wasm `UnsortedSegmentSum` lens adds (training/kernels.ts, through accel/tfjsInternals.ts; tfjs-backend-wasm has
 * none): against a float64 sum in JS with the float32 recursive-summation bound |Δ| ≤ (m−1)·2⁻²⁴·Σ|x| for m terms, and
 * exactly for int32; ids outside [0, numSegments) are dropped, as in TensorFlow and tfjs's cpu kernel.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { registerTrainingKernels } from "../../../src/lens/training/kernels";
import { setBackend } from "../../../src/lens/backend";

test("wasm UnsortedSegmentSum: float32 within the summation bound of a float64 sum, int32 exact, out-of-range ids dropped", async () => {
  await setBackend("wasm");
  registerTrainingKernels();
  const before = tf.memory().numTensors;
  const rows = 40, inner = 12, segments = 7;
  const ids = Array.from({ length: rows }, (_, i) => (i * 5) % 9 - 1); // values −1..7: −1, 7 and 8 are out of range
  const xs = Array.from({ length: rows * inner }, (_, i) => Math.sin(i * 1.3) * 10 ** ((i % 5) - 2));
  const x = tf.tensor2d(xs, [rows, inner]);
  const seg = tf.tensor1d(ids, "int32");
  const sum = tf.unsortedSegmentSum(x, seg, segments);
  const got = await sum.data();
  const xf = new Float32Array(xs);
  for (let s = 0; s < segments; s++) {
    for (let j = 0; j < inner; j++) {
      let ref = 0, abs = 0, m = 0;
      for (let i = 0; i < rows; i++) if (ids[i] === s) { ref += xf[i * inner + j]; abs += Math.abs(xf[i * inner + j]); m++; }
      const bound = Math.max(0, m - 1) * 2 ** -24 * abs;
      assert.ok(Math.abs(got[s * inner + j] - ref) <= bound, `segment ${s}, column ${j}: ${got[s * inner + j]} vs ${ref} (bound ${bound})`);
    }
  }
  const xi = tf.tensor2d(xs.map((v) => Math.round(v * 100)), [rows, inner], "int32");
  const sumI = tf.unsortedSegmentSum(xi, seg, segments);
  const gi = await sumI.data();
  for (let s = 0; s < segments; s++) {
    let ref = 0;
    for (let i = 0; i < rows; i++) if (ids[i] === s) ref += Math.round(xs[i * inner] * 100);
    assert.equal(gi[s * inner], ref, `int32 segment ${s}`);
  }
  // The gradient it exists for: tf.gather's, on the embedding.
  const W = tf.tensor2d(xs.slice(0, 10 * inner), [10, inner]);
  const rowsOfGrad = tf.tidy(() => tf.grad((w: tf.Tensor) => tf.gather(w, tf.tensor1d([3, 3, 9, 0], "int32")).sum())(W).sum(1));
  assert.deepEqual(Array.from(await rowsOfGrad.data()), [inner, 0, 0, 2 * inner, 0, 0, 0, 0, 0, inner]);
  tf.dispose([x, seg, sum, xi, sumI, W, rowsOfGrad]);
  assert.equal(tf.memory().numTensors, before);
});
