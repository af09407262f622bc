/** SAELens format round trips, cfg.json layouts, foldWDecNorm invariance, and metrics against hand-computed values. */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { parseSaeConfig } from "../../../src/lens/sae/config";
import { densityStats, reconstructionMetrics } from "../../../src/lens/sae/metrics";
import { SparseAutoencoder } from "../../../src/lens/sae/sae";
import { readSafetensors } from "../../../src/lens/loading/safetensors";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";

const ARCHS = ["standard", "topk", "jumprelu", "gated"] as const;

/** An SAE with random (non-init) parameters so that every term matters. */
function randomSae(arch: (typeof ARCHS)[number], seed: number, rescale = false): SparseAutoencoder {
  const sae = new SparseAutoencoder({ dIn: 6, dSae: 10, architecture: arch, k: 3, rescaleActsByDecoderNorm: rescale, hookName: "blocks.0.hook_resid_pre", seed });
  let s = seed * 100;
  for (const v of Object.values(sae.params)) tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, v.name.includes("log_threshold") ? 0.3 : 0.5, "float32", s++)));
  if (arch === "jumprelu") tf.tidy(() => sae.params.log_threshold!.assign(sae.params.log_threshold!.sub(1.5)));
  return sae;
}

test("save → load is the identity (parameters, encodings, cfg) for every architecture; sparsity file", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "lens-sae-"));
  const before = tf.memory().numTensors;
  try {
    for (const [i, arch] of ARCHS.entries()) {
      const sae = randomSae(arch, i + 1);
      const x = tf.randomNormal([7, 6], 0, 1, "float32", 9);
      const folder = path.join(dir, arch);
      await sae.save(folder, { sparsity: Float32Array.from({ length: 10 }, (_, j) => -j) });
      const again = await SparseAutoencoder.load(folder);
      assert.equal(again.cfg.architecture, arch);
      assert.equal(again.cfg.hookName, "blocks.0.hook_resid_pre");
      assert.deepEqual(Object.keys(again.params).sort(), Object.keys(sae.params).sort());
      for (const k of Object.keys(sae.params)) await expectAllClose(again.params[k]!, sae.params[k]!, arch === "jumprelu" && k === "log_threshold" ? TOLERANCES.float32Invariant : TOLERANCES.exact, `${arch} ${k}`);
      const [a, b] = [await sae.encode(x), await again.encode(x)];
      await expectAllClose(b, a, TOLERANCES.float32Invariant, `${arch} encode`);
      const saved = await readSafetensors(path.join(folder, "sae_weights.safetensors"));
      assert.deepEqual(saved.get("W_enc")!.shape, [6, 10]);
      assert.deepEqual(saved.get("W_dec")!.shape, [10, 6]);
      if (arch === "jumprelu") assert.ok(saved.has("threshold") && !saved.has("log_threshold"));
      if (arch === "gated") assert.ok(["b_gate", "r_mag", "b_mag"].every((k) => saved.has(k)) && !saved.has("b_enc"));
      assert.deepEqual(Array.from((await readSafetensors(path.join(folder, "sparsity.safetensors"))).get("sparsity")!.data).slice(0, 3), [-0, -1, -2]);
      tf.dispose([x, a, b]);
      sae.dispose();
      again.dispose();
    }
    assert.equal(tf.memory().numTensors, before);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("cfg.json: v6 nested metadata and pre-6.0 flat layouts (hook_point, activation_fn topk)", async () => {
  const v6 = parseSaeConfig({ d_in: 768, d_sae: 24576, architecture: "jumprelu", metadata: { hook_name: "blocks.8.hook_resid_pre", context_size: 128 } });
  assert.deepEqual([v6.architecture, v6.hookName, v6.metadata?.context_size], ["jumprelu", "blocks.8.hook_resid_pre", 128]);
  const flat = parseSaeConfig({ d_in: 768, d_sae: 24576, hook_point: "blocks.8.hook_resid_pre", hook_point_layer: 8, model_name: "gpt2-small", context_size: 128 });
  assert.deepEqual([flat.architecture, flat.hookName, flat.metadata?.model_name, flat.applyBDecToInput], ["standard", "blocks.8.hook_resid_pre", "gpt2-small", true]);
  const topk = parseSaeConfig({ d_in: 768, d_sae: 32768, hook_name: "blocks.6.hook_resid_post", activation_fn: "topk", activation_fn_kwargs: { k: 32 }, normalize_activations: true });
  assert.deepEqual([topk.architecture, topk.k, topk.normalizeActivations], ["topk", 32, "expected_average_only_in"]);
  assert.throws(() => parseSaeConfig({ d_in: 4, d_sae: 8, architecture: "wobbly" }), /unknown architecture "wobbly"/);
  // A hand-written old-layout folder loads.
  const dir = await mkdtemp(path.join(tmpdir(), "lens-sae-old-"));
  try {
    const sae = randomSae("standard", 5);
    await sae.save(dir);
    await writeFile(path.join(dir, "cfg.json"), JSON.stringify({ d_in: 6, d_sae: 10, hook_point: "blocks.3.hook_resid_pre", hook_point_layer: 3 }));
    const again = await SparseAutoencoder.load(dir);
    assert.equal(again.cfg.hookName, "blocks.3.hook_resid_pre");
    await expectAllClose(again.params.W_enc!, sae.params.W_enc!, TOLERANCES.exact, "W_enc");
    sae.dispose();
    again.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("foldWDecNorm: unit decoder rows, reconstructions unchanged, for every architecture (TopK with rescaling)", async () => {
  for (const [i, arch] of ARCHS.entries()) {
    const sae = randomSae(arch, 10 + i, arch === "topk");
    const x = tf.randomNormal([9, 6], 0, 1, "float32", 4);
    const before = await sae.forward(x);
    sae.foldWDecNorm();
    const after = await sae.forward(x);
    await expectAllClose(after, before, TOLERANCES.float32Invariant, `${arch} reconstruction`);
    const norms = tf.tidy(() => sae.params.W_dec!.norm("euclidean", 1));
    await expectAllClose(norms, new Array(10).fill(1), TOLERANCES.float32Invariant, `${arch} row norms`);
    tf.dispose([x, before, after, norms]);
    sae.dispose();
  }
  const plain = randomSae("topk", 3);
  assert.throws(() => plain.foldWDecNorm(), /rescaleActsByDecoderNorm/);
  plain.dispose();
});

test("metrics: L0, MSE, explained variance against hand-computed values; density stats", async () => {
  // x rows (1,0), (3,0): mean (2,0), Σ‖x − x̄‖² = 2 → mean 1. x̂ rows (1,1), (3,0): errors 1 and 0 → MSE 0.5, EV 0.5.
  const x = tf.tensor2d([[1, 0], [3, 0]]), xHat = tf.tensor2d([[1, 1], [3, 0]]), f = tf.tensor2d([[0, 2, 0], [1, 1, 0]]);
  const m = await reconstructionMetrics(x, xHat, f);
  assert.equal(m.l0, 1.5);
  assert.equal(m.mse, 0.5);
  assert.equal(m.explainedVariance, 0.5);
  assert.equal(m.explainedVarianceLegacy, 0.5); // (1 − 1/1 + 1 − 0/1)/2
  assert.ok(Math.abs(m.l2Ratio - (Math.SQRT2 + 1) / 2) < TOLERANCES.scalarUlps.atol);
  tf.dispose([x, xHat, f]);
  const d = densityStats([0, 1e-6, 0.5, 0.01], { bins: 10 });
  assert.equal(d.deadFraction, 0.25);
  assert.equal(d.denseFraction, 0.25);
  // 1e-12: densityStats's mean of log10s is float64 JS arithmetic on both sides.
  assert.ok(Math.abs(d.meanLog10Density - (-10 + Math.log10(1e-6 + 1e-10) + Math.log10(0.5 + 1e-10) + Math.log10(0.01 + 1e-10)) / 4) < 1e-12);
  // log10(d + 1e-10) = −10, −5.99996, −0.30, −1.99999 → bins floor(l + 10) = 0, 4, 9, 8 (width 1 from −10).
  assert.deepEqual(d.histogram.counts, [1, 0, 0, 0, 1, 0, 0, 0, 1, 1]);
});

test("SAELens attribute names: W_enc, W_dec, b_enc, b_dec, threshold (a stable view), gated b_gate/r_mag/b_mag", async () => {
  const before = tf.memory().numTensors;
  for (const [i, arch] of ARCHS.entries()) {
    const sae = randomSae(arch, 30 + i);
    assert.equal(sae.W_enc, sae.params.W_enc);
    assert.equal(sae.W_dec, sae.params.W_dec);
    assert.equal(sae.b_dec, sae.params.b_dec);
    assert.deepEqual([sae.W_enc.shape, sae.W_dec.shape, sae.b_dec.shape], [[6, 10], [10, 6], [6]]);
    if (arch === "gated") {
      assert.throws(() => sae.b_enc, /a "gated" SAE has no b_enc; it has W_enc, W_dec, b_gate, r_mag, b_mag, b_dec/);
      assert.deepEqual([sae.b_gate, sae.r_mag, sae.b_mag], [sae.params.b_gate, sae.params.r_mag, sae.params.b_mag]);
    } else assert.equal(sae.b_enc, sae.params.b_enc);
    if (arch !== "jumprelu") {
      assert.throws(() => sae.threshold, /has no log_threshold/);
      sae.dispose();
      continue;
    }
    const theta = sae.threshold;
    const n = tf.memory().numTensors;
    for (let r = 0; r < 20; r++) assert.equal(sae.threshold, theta, "the same tensor on every read");
    assert.equal(tf.memory().numTensors, n, "reads allocate nothing");
    const lt = await sae.log_threshold.data();
    await expectAllClose(theta, Array.from(lt, Math.exp), TOLERANCES.float32Invariant, "threshold = exp(log_threshold)");
    tf.tidy(() => sae.log_threshold.assign(sae.log_threshold.add(1)));
    await expectAllClose(sae.threshold, Array.from(lt, (v) => Math.exp(v + 1)), TOLERANCES.float32Invariant, "threshold follows log_threshold");
    assert.ok(theta.isDisposed, "the stale view was freed");
    sae.dispose();
  }
  assert.equal(tf.memory().numTensors, before, "dispose frees the threshold view too");
});
