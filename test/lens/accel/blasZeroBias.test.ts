/** OpenBLAS fused matMul with an all-zero bias (skipped: no pre-fill, beta 0) against the unfused product + bias. */
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { loadBlas } from "../../../src/lens/accel/blas";
import { blasMatMulInstalled } from "../../../src/lens/accel/blasKernels";
import { setBackend } from "../../../src/lens/backend";
import assert from "node:assert/strict";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";

const blas = loadBlas();
const skip = blas.available ? false : `OpenBLAS unavailable: ${blas.reason}`;

for (const backend of ["cpu", "wasm"] as const) {
  test(`${backend}: fused matMul with a zero bias, a -0 bias and a bias non-zero only in its last element`, { skip }, async () => {
    await setBackend(backend);
    assert.ok(blasMatMulInstalled(backend));
    const before = tf.memory().numTensors;
    const a = tf.tensor2d(Array.from({ length: 6 * 9 }, (_, i) => Math.sin(i)), [6, 9]);
    const w = tf.tensor2d(Array.from({ length: 9 * 13 }, (_, i) => Math.cos(i)), [9, 13]);
    const lastOnly = new Float32Array(13);
    lastOnly[12] = 2.5;
    for (const [label, bias] of [["zeros", tf.zeros([13])], ["-0", tf.fill([13], -0)], ["last element only", tf.tensor1d(lastOnly)], ["scalar zero", tf.zeros([1])]] as const) {
      // Twice: the second product reuses the first one's freed memory, so a skipped pre-fill cannot pass by luck.
      for (let rep = 0; rep < 2; rep++) {
        const got = tf.fused.matMul({ a, b: w, bias, activation: "relu" });
        const want = tf.tidy(() => tf.relu(tf.matMul(a, w).add(bias)));
        await expectAllClose(got, want, TOLERANCES.blasMatmul, `${backend} fused, bias ${label}`);
        tf.dispose([got, want]);
      }
      bias.dispose();
    }
    tf.dispose([a, w]);
    assert.equal(tf.memory().numTensors, before);
  });
}
