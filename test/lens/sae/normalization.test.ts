/**
 * Geometric-median b_dec init and expected_average_only_in input normalisation. The median is checked against a
 * float64 pattern search of Σ‖x_i − m‖ written here, the 1-D median of collinear points, and the invariant that it
 * beats the mean on skewed data; folding the scaling factor s is checked as folded(x) = unfolded(s·x)/s for every
 * architecture; the trainer estimates s = √d_in / mean‖x‖, folds it (the trained SAE reconstructs raw inputs), and
 * with lr 0 leaves b_dec at the geometric median of the raw data (median(s·x)/s = median(x)).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { test } from "node:test";
import { geometricMedian } from "../../../src/lens/sae/geometricMedian";
import { evaluateSae } from "../../../src/lens/sae/metrics";
import { SparseAutoencoder } from "../../../src/lens/sae/sae";
import { mulberry32 } from "../../../src/lens/sae/source";
import { trainSae } from "../../../src/lens/sae/trainer";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";

const dist = (pts: number[][], m: number[]) => pts.reduce((s, p) => s + Math.hypot(...p.map((v, i) => v - m[i]!)), 0);

/** Float64 compass search: ±step along each axis, halve the step when nothing improves. */
function patternSearchMedian(pts: number[][]): number[] {
  const d = pts[0]!.length;
  let m = Array.from({ length: d }, (_, i) => pts.reduce((s, p) => s + p[i]!, 0) / pts.length);
  let best = dist(pts, m), step = 10;
  while (step > 1e-10) {
    let improved = false;
    for (let i = 0; i < d; i++) for (const sgn of [1, -1]) {
      const c = m.slice();
      c[i]! += sgn * step;
      const v = dist(pts, c);
      if (v < best) { best = v; m = c; improved = true; }
    }
    if (!improved) step /= 2;
  }
  return m;
}

/** Skewed data: exponential magnitudes along the axes plus a few far outliers. */
function skewed(n: number, d: number, seed: number): number[][] {
  const r = mulberry32(seed);
  const pts = Array.from({ length: n }, () => Array.from({ length: d }, () => -Math.log(1 - r())));
  for (let i = 0; i < 5; i++) pts.push(Array.from({ length: d }, () => 50 + 10 * r()));
  return pts;
}

test("geometricMedian: matches a float64 pattern search, beats the mean on skewed data, 1-D median of collinear points; no leak", async () => {
  const before = tf.memory().numTensors;
  const pts = skewed(200, 3, 1);
  const x = tf.tensor2d(pts);
  const { median, objective, iterations, converged } = await geometricMedian(x, { maxIter: 500 });
  const m = Array.from(await median.data());
  const ref = patternSearchMedian(pts);
  assert.ok(converged && iterations > 1, `converged after ${iterations} iterations`);
  // 2e-3: the float64 pattern search stops at step 1e-3 (patternSearchMedian), so the reference itself is only that close.
  m.forEach((v, i) => assert.ok(Math.abs(v - ref[i]!) < 2e-3, `median[${i}] ${v} vs pattern search ${ref[i]}`));
  const mean = [0, 1, 2].map((i) => pts.reduce((s, p) => s + p[i]!, 0) / pts.length);
  // relative 1e-4: Σ distance is flat at its minimum, so a 2e-3 offset in the point changes it by far less than this.
  assert.ok(Math.abs(objective - dist(pts, ref)) < 1e-4 * dist(pts, ref), "objective reported");
  assert.ok(dist(pts, m) < 0.95 * dist(pts, mean), `Σ distance at median ${dist(pts, m)} < at mean ${dist(pts, mean)}`);
  tf.dispose([x, median]);
  // Collinear points: the geometric median is the ordinary median (the middle point).
  const line = tf.tensor2d([[0, 0], [1, 0], [2, 0], [10, 0], [11, 0]]);
  const l = await geometricMedian(line, { maxIter: 500 });
  // atol 1e-3: Weiszfeld's iteration approaches a median that is a data point only linearly (it is a kink of the objective).
  await expectAllClose(l.median, [2, 0], { atol: 1e-3, rtol: 0 }, "1-D median");
  tf.dispose([line, l.median]);
  assert.equal(tf.memory().numTensors, before);
  await assert.rejects(geometricMedian(tf.zeros([0, 3]) as tf.Tensor2D), /n > 0/);
});

function randomSae(arch: "standard" | "topk" | "jumprelu" | "gated", seed: number, rescale: boolean): SparseAutoencoder {
  const sae = new SparseAutoencoder({ dIn: 6, dSae: 10, architecture: arch, k: 3, rescaleActsByDecoderNorm: rescale, seed });
  let s = seed * 100;
  for (const v of Object.values(sae.params)) tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, "float32", s++)));
  if (arch === "jumprelu") tf.tidy(() => sae.params.log_threshold!.assign(sae.params.log_threshold!.sub(1.5)));
  return sae;
}

test("foldActivationNormScalingFactor: folded SAE on raw x = unfolded SAE on s·x, rescaled by 1/s (every architecture)", async () => {
  const cases = [["standard", false], ["topk", false], ["topk", true], ["jumprelu", false], ["gated", false]] as const;
  for (const [i, [arch, rescale]] of cases.entries()) {
    const a = randomSae(arch, i + 1, rescale);
    const b = new SparseAutoencoder({ ...a.cfg, normalizeActivations: "expected_average_only_in" }, Object.fromEntries(Object.entries(a.params).map(([k, v]) => [k, v.clone()])));
    const s = 0.37, x = tf.randomNormal([9, 6], 0, 3, "float32", 11 + i);
    b.foldActivationNormScalingFactor(s);
    assert.equal(b.cfg.normalizeActivations, "none");
    const folded = await b.forward(x);
    const sx = tf.tidy(() => x.mul(s));
    const unfolded = await a.forward(sx);
    const expected = tf.tidy(() => unfolded.div(s));
    const nonzero = tf.tidy(() => tf.notEqual(a.encodeSync(sx), 0).any());
    assert.ok((await nonzero.data())[0], `${arch}: some latent fires`);
    await expectAllClose(folded, expected, TOLERANCES.float32Invariant, `${arch}${rescale ? " (rescaled)" : ""}`);
    tf.dispose([x, sx, folded, unfolded, expected, nonzero]);
    a.dispose();
    b.dispose();
  }
});

function planted(seed: number, n: number): tf.Tensor2D {
  const nF = 12, d = 16, r = mulberry32(seed);
  const c = new Float32Array(n * nF);
  for (let i = 0; i < c.length; i++) if (r() < 0.05) c[i] = r();
  return tf.tidy(() => {
    const t = tf.randomNormal([nF, d], 0, 1, "float32", seed);
    return tf.tensor2d(c, [n, nF]).matMul(t.div(t.norm("euclidean", 1, true))).mul(40).add(3) as tf.Tensor2D;
  });
}

test("trainSae with expected_average_only_in: s = √d_in / mean‖x‖ (4 batches = one epoch of all rows), folded at the end (raw inputs reconstruct); geometric-median b_dec", async () => {
  const n = 2000, x = planted(3, n);
  const norms = await tf.tidy(() => x.norm("euclidean", 1)).data();
  const expectedScale = Math.sqrt(16) / (Array.from(norms).reduce((s, v) => s + v, 0) / n);
  const sae = new SparseAutoencoder({ dIn: 16, dSae: 24, architecture: "standard", normalizeActivations: "expected_average_only_in", seed: 1 });
  const rep = await trainSae(sae, x, { steps: 120, batchSize: n / 4, lr: 1e-2, l1Coefficient: 0.3, seed: 1, logEvery: 40, normEstimateBatches: 4, bDecInit: "geometric_median" });
  // relative 1e-5: the same mean of 2000 float32 norms, summed in float32 by the trainer and in float64 here.
  assert.ok(Math.abs(rep.normScalingFactor! - expectedScale) < 1e-5 * expectedScale, `scale ${rep.normScalingFactor} vs ${expectedScale}`);
  assert.equal(sae.cfg.normalizeActivations, "none");
  const ev = await evaluateSae(sae, x);
  assert.ok(ev.explainedVariance > 0.8 && Math.abs(ev.explainedVariance - rep.final.explainedVariance) < 0.05, `raw-input EV ${ev.explainedVariance}, training EV ${rep.final.explainedVariance}`);
  sae.dispose();
  // lr 0: parameters stay at their init, so b_dec is the median of the first (scaled) batch, folded back: median(x).
  const still = new SparseAutoencoder({ dIn: 16, dSae: 24, architecture: "standard", normalizeActivations: "expected_average_only_in", seed: 2 });
  await trainSae(still, x, { steps: 1, batchSize: n, lr: 0, seed: 2, logEvery: 1, normEstimateBatches: 1, bDecInit: "geometric_median" });
  const gm = await geometricMedian(x);
  // atol 1e-3: two runs of the iterative geometric median (on scaled then folded back, and on raw x) stop at their own tolerance.
  await expectAllClose(still.params.b_dec!, gm.median, { atol: 1e-3, rtol: 1e-4 }, "b_dec = geometric median of raw x");
  const mean = tf.tidy(() => x.mean(0));
  const diff = tf.tidy(() => mean.sub(gm.median).abs().max());
  assert.ok((await diff.data())[0]! > 0.1, "the median differs from the mean here (the check can fail)");
  tf.dispose([x, gm.median, mean, diff]);
  still.dispose();
});
