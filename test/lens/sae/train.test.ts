/**
 * Straight-through / top-k gradients against their defining formulas, and ground-truth recovery: SAEs trained on
 * planted sparse features (12 random unit directions in 16 dims, each present with p = 0.05, magnitude U[0,1]) find
 * them (mean max cosine similarity of decoder rows with the true features ≥ 0.99); resampling revives dead latents.
 * On every backend under test (test/backends.ts).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { test } from "node:test";
import { jumpRelu, jumpStep, topkRelu } from "../../../src/lens/sae/ops";
import { meanMaxCosineSimilarity } from "../../../src/lens/sae/metrics";
import { SparseAutoencoder } from "../../../src/lens/sae/sae";
import { mulberry32 } from "../../../src/lens/sae/source";
import { saeLrFactor, trainSae } from "../../../src/lens/sae/trainer";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";
import { setBackend } from "../../../src/lens/backend";
import { expectNoLeak, memorySnapshot, TEST_BACKENDS } from "../../backends";

for (const backend of TEST_BACKENDS) test(`JumpReLU and step STE gradients follow the rectangle-kernel formulas (${backend})`, async () => {
  await setBackend(backend);
  const eps = 0.1;
  const zv = [[0.05, 0.32, 0.28, 1.0], [0.31, -0.2, 0.5, 0.26]], th = [0.3, 0.3, 0.3, 0.3], w = [1, 2, 3, 4];
  const z = tf.tensor2d(zv), theta = tf.tensor1d(th), wt = tf.tensor1d(w);
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => jumpRelu(a as tf.Tensor2D, b as tf.Tensor1D, eps).mul(wt).sum())([z, theta]);
  const gs = tf.grads((a: tf.Tensor, b: tf.Tensor) => jumpStep(a as tf.Tensor2D, b as tf.Tensor1D, eps).mul(wt).sum())([z, theta]);
  const K = (u: number) => (u > -0.5 && u < 0.5 ? 1 : 0);
  const dz = zv.map((r) => r.map((v, j) => (v > th[j]! ? w[j]! : 0)));
  const dth = th.map((t, j) => zv.reduce((s, r) => s - w[j]! * (t / eps) * K((r[j]! - t) / eps), 0));
  const dthStep = th.map((t, j) => zv.reduce((s, r) => s - (w[j]! / eps) * K((r[j]! - t) / eps), 0));
  await expectAllClose(g[0]!, dz.flat(), TOLERANCES.exact, "∂J/∂z");
  await expectAllClose(g[1]!, dth, TOLERANCES.float32Invariant, "∂J/∂θ");
  await expectAllClose(gs[0]!, new Array(8).fill(0), TOLERANCES.exact, "∂H/∂z");
  await expectAllClose(gs[1]!, dthStep, TOLERANCES.float32Invariant, "∂H/∂θ");
  assert.ok(dth.some((v) => v !== 0), "the kernel window catches some entries");
  tf.dispose([z, theta, wt, ...g, ...gs]);
});

for (const backend of TEST_BACKENDS) test(`TopK activation: keeps the k largest positive entries; gradient is the mask (${backend})`, async () => {
  await setBackend(backend);
  const z = tf.tensor2d([[0.5, -1, 2, 0.1], [-3, -2, 0.4, -1]]), w = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]]);
  const f = topkRelu(z, 2);
  await expectAllClose(f, [0.5, 0, 2, 0, 0, 0, Math.fround(0.4), 0], TOLERANCES.exact, "topk relu"); // row 2: −1 is 2nd but negative
  const [g] = tf.grads((a: tf.Tensor) => topkRelu(a as tf.Tensor2D, 2).mul(w).sum())([z]);
  await expectAllClose(g!, [1, 0, 3, 0, 0, 0, 7, 0], TOLERANCES.exact, "grad");
  tf.dispose([z, w, f, g!]);
});

test("lr schedule: warm-up, constant, linear decay to 0", () => {
  assert.deepEqual([0, 1, 5, 8, 9].map((s) => saeLrFactor(s, 10, 2, 2)), [0.5, 1, 1, 1, 0.5]);
});

function planted(seed: number): { x: tf.Tensor2D; truth: tf.Tensor2D } {
  const nF = 12, d = 16, n = 8000, r = mulberry32(seed);
  const truth = tf.tidy(() => {
    const t = tf.randomNormal([nF, d], 0, 1, "float32", seed);
    return t.div(t.norm("euclidean", 1, true)) as tf.Tensor2D;
  });
  const c = new Float32Array(n * nF);
  for (let i = 0; i < c.length; i++) if (r() < 0.05) c[i] = r();
  return { x: tf.tidy(() => tf.tensor2d(c, [n, nF]).matMul(truth) as tf.Tensor2D), truth };
}

for (const backend of TEST_BACKENDS) test(`standard and TopK SAEs recover planted sparse features (MMCS ≥ 0.99); no tensors leak (${backend})`, async () => {
  await setBackend(backend);
  const { x, truth } = planted(7);
  const before = await memorySnapshot();
  for (const arch of ["standard", "topk"] as const) {
    const sae = new SparseAutoencoder({ dIn: 16, dSae: 24, architecture: arch, k: 2, seed: 1 });
    const rep = await trainSae(sae, x, { steps: 250, batchSize: 256, lr: 1e-2, l1Coefficient: 0.3, seed: 1, logEvery: 50, deadFeatureWindow: 100 });
    const mmcs = await meanMaxCosineSimilarity(sae.params.W_dec as tf.Tensor2D, truth);
    assert.ok(mmcs >= 0.99, `${arch}: MMCS ${mmcs}`);
    assert.ok(rep.final.explainedVariance > 0.8, `${arch}: explained variance ${rep.final.explainedVariance}`);
    assert.ok(rep.history.length === 5 && rep.activationsPerSecond > 0);
    sae.dispose();
  }
  await expectNoLeak(before, "SAE training");
  tf.dispose([x, truth]);
});

for (const backend of TEST_BACKENDS) test(`a long run with no log in between trains (webgpu: ~500 steps queued without a read crashed Dawn on lavapipe) (${backend})`, async () => {
  await setBackend(backend);
  const { x, truth } = planted(5);
  const sae = new SparseAutoencoder({ dIn: 16, dSae: 24, architecture: "standard", seed: 3 });
  const rep = await trainSae(sae, x, { steps: 640, batchSize: 256, lr: 1e-2, l1Coefficient: 0.3, seed: 3, logEvery: 640, deadFeatureWindow: 640 });
  const mmcs = await meanMaxCosineSimilarity(sae.params.W_dec as tf.Tensor2D, truth);
  assert.ok(mmcs >= 0.99 && rep.history.length === 1, `MMCS ${mmcs} after ${rep.steps} steps`);
  sae.dispose();
  tf.dispose([x, truth]);
});

for (const backend of TEST_BACKENDS) test(`resampling revives latents that never fire (encoder biases forced very negative) (${backend})`, async () => {
  await setBackend(backend);
  const { x, truth } = planted(3);
  const run = async (resample: boolean) => {
    const sae = new SparseAutoencoder({ dIn: 16, dSae: 24, architecture: "standard", seed: 2 });
    tf.tidy(() => sae.params.b_enc!.assign(tf.concat([tf.fill([12], -100), tf.zeros([12])])));
    const rep = await trainSae(sae, x, { steps: 150, batchSize: 256, lr: 1e-2, l1Coefficient: 0.3, seed: 2, logEvery: 150, deadFeatureWindow: 50, ...(resample ? { resample: { every: 50, window: 25 } } : {}) });
    const dead = Array.from(rep.featureDensity).filter((d) => d === 0).length;
    sae.dispose();
    return { dead, resampled: rep.resampled };
  };
  const off = await run(false), on = await run(true);
  assert.ok(off.dead >= 12 && off.resampled === 0, `without resampling: ${JSON.stringify(off)}`);
  assert.ok(on.resampled >= 12 && on.dead < off.dead, `with resampling: ${JSON.stringify(on)}`);
  tf.dispose([x, truth]);
});
