/**
 * The one-pass GELUs (accel/cpuFused.ts) against the unfused chains of activations.ts run op by op on the cpu kernels:
 * bit-identical, on special values and a dense sweep; not used under a gradient tape (gradients equal the unfused
 * chain's bit for bit); no tensors leaked.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { geluErf, geluNew } from "../../../src/lens/activations";
import { cpuGeluErf, cpuGeluNew } from "../../../src/lens/accel/cpuFused";
import { setBackend } from "../../../src/lens/backend";

const C = 2 * Math.sqrt(2 / Math.PI);
const unfusedNew = (x: tf.Tensor) => tf.tidy(() => x.mul(tf.sigmoid(x.square().mul(C * 0.044715).add(C).mul(x))));
const unfusedErf = (x: tf.Tensor) => tf.tidy(() => x.mul(x.mul(Math.SQRT1_2).erf().add(1)).mul(0.5));

async function sameBits(got: tf.Tensor, want: tf.Tensor, label: string): Promise<void> {
  const g = new Uint32Array((await got.data() as Float32Array).slice().buffer);
  const w = new Uint32Array((await want.data() as Float32Array).slice().buffer);
  const gf = new Float32Array(g.buffer);
  assert.equal(g.length, w.length, label);
  for (let i = 0; i < g.length; i++) {
    if (Number.isNaN(gf[i]) && Number.isNaN(new Float32Array(w.buffer)[i])) continue;
    if (g[i] !== w[i]) assert.fail(`${label}: element ${i}: 0x${g[i].toString(16)} vs unfused 0x${w[i].toString(16)}`);
  }
}

test("fused geluNew and geluErf equal the unfused chains bit for bit (special values and 2^20 values in [-60, 60])", async () => {
  await setBackend("cpu");
  const before = tf.memory().numTensors;
  const n = 1 << 20;
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = -60 + (120 * i) / n + ((i * 7919) % 997) * 1e-6;
  v.set([0, -0, NaN, Infinity, -Infinity, 1e-38, -1e-38, 3e38, -3e38, 1e-45, 0.5, -0.5, 5.9, -5.9]);
  const x = tf.tensor(v, [1024, 1024]);
  for (const [label, fused, unfused] of [
    ["gelu_new", () => cpuGeluNew(x, C, C * 0.044715), () => unfusedNew(x)],
    ["gelu (erf)", () => cpuGeluErf(x, Math.SQRT1_2), () => unfusedErf(x)],
    ["activations.geluNew", () => geluNew(x), () => unfusedNew(x)],
    ["activations.geluErf", () => geluErf(x), () => unfusedErf(x)],
  ] as const) {
    const got = fused();
    assert.ok(got !== undefined, `${label}: fused path not taken`);
    const want = unfused();
    await sameBits(got, want, label);
    tf.dispose([got, want]);
  }
  x.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensors leaked");
});

test("under a gradient tape the fused path is skipped, and gradients equal the unfused chain's", async () => {
  await setBackend("cpu");
  const x = tf.tensor(Array.from({ length: 96 }, (_, i) => (i - 48) / 7), [8, 12]);
  let inside: tf.Tensor | undefined;
  const g = tf.grad((t: tf.Tensor) => {
    inside = cpuGeluNew(t, C, C * 0.044715);
    return geluNew(t).add(geluErf(t)).sum();
  })(x);
  assert.equal(inside, undefined, "fused GELU ran under tf.grad");
  const want = tf.grad((t: tf.Tensor) => unfusedNew(t).add(unfusedErf(t)).sum())(x);
  await sameBits(g, want, "d/dx");
  tf.dispose([x, g, want]);
});
