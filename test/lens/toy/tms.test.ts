/**
 * Toy Models of Superposition: 5 features in 2 dimensions at feature probability 0.025 form a regular pentagon.
 * Reference (docs/sources.md §8: a numpy re-run of ARENA 1.5.4's setup, 16 instances): ‖W‖²_F median 6.64, every feature of
 * norm ≈ 1.15, angular gaps 72.0°, D_i = 0.400; dense data (p = 1) represents only ≈ 2 dimensions' worth (‖W‖²_F 2.02).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { test } from "node:test";
import { ToyModel, generateToyBatch } from "../../../src/lens/toy/index";

test("toy data: feature probability and U[0,1] magnitudes (E[x] = p/2, E[x²] = p/3)", async () => {
  const t = generateToyBatch({ nInst: 2, nFeatures: 5, dHidden: 2, featureProbability: [0.5, 0.1] }, 20000, 3);
  const x = Array.from(await t.data());
  t.dispose();
  for (const [i, p] of [[0, 0.5], [1, 0.1]] as const) {
    const part = x.slice(i * 100000, (i + 1) * 100000);
    const frac = part.filter((v) => v > 0).length / part.length;
    const mean = part.reduce((s, v) => s + v, 0) / part.length, sq = part.reduce((s, v) => s + v * v, 0) / part.length;
    assert.ok(Math.abs(frac - p) < 0.01, `instance ${i}: fraction present ${frac} vs ${p}`);
    assert.ok(Math.abs(mean - p / 2) < 0.005 && Math.abs(sq - p / 3) < 0.005, `instance ${i}: moments ${mean}, ${sq}`);
  }
});

test("toy model at p = 0.025 learns a pentagon in every instance; at p = 1 ‖W‖²_F ≈ 2", async () => {
  const before = tf.memory().numTensors;
  const m = new ToyModel({ nInst: 6, nFeatures: 5, dHidden: 2, featureProbability: [0.025, 0.025, 0.025, 0.025, 1, 1] }, 0);
  const loss = await m.train({ steps: 2000, batchSize: 512, lr: 1e-2, seed: 1 });
  const geo = await m.geometry();
  for (const [i, g] of geo.slice(0, 4).entries()) {
    const gaps = g.angleGaps.map((a) => a.toFixed(1)).join(", ");
    assert.ok(g.norms.every((n) => n > 1.0 && n < 1.3), `instance ${i}: feature norms ${g.norms}`);
    assert.ok(g.angleGaps.every((a) => Math.abs(a - 72) < 3), `instance ${i}: angle gaps ${gaps} (pentagon: 72°)`);
    assert.ok(g.dimensionality.every((d) => Math.abs(d - 0.4) < 0.03), `instance ${i}: D_i ${g.dimensionality}`);
    assert.ok(g.frobeniusSq > 6 && g.frobeniusSq < 7, `instance ${i}: ‖W‖²_F = ${g.frobeniusSq} (reference 6.64)`);
    assert.ok(loss[i]! < 2e-3, `instance ${i}: loss ${loss[i]}`);
  }
  for (const g of geo.slice(4)) {
    // Equal importances: which directions carry the 2 dimensions varies with the backend's init, ‖W‖²_F does not.
    assert.ok(Math.abs(g.frobeniusSq - 2) < 0.2, `dense: ‖W‖²_F = ${g.frobeniusSq} (reference 2.02; norms ${g.norms})`);
  }
  m.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("ToyModel init: the seed fixes W (also seed 0), Xavier-normal scale, no tensors leak", async () => {
  const before = tf.memory().numTensors;
  const cfg = { nInst: 4, nFeatures: 50, dHidden: 20, featureProbability: 0.1 };
  const [a, b, c] = [new ToyModel(cfg, 0), new ToyModel(cfg, 0), new ToyModel(cfg, 1)];
  const [wa, wb, wc] = await Promise.all([a.W.data(), b.W.data(), c.W.data()]);
  assert.deepEqual(Array.from(wa), Array.from(wb), "same seed, same W");
  assert.notDeepEqual(Array.from(wa), Array.from(wc), "another seed, another W");
  const va = Array.from(wa), n = va.length;
  const mean = va.reduce((s, v) => s + v, 0) / n, sd = Math.sqrt(va.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
  const xavier = Math.sqrt(2 / (20 + 50)); // 4000 draws: the sample sd is within ~2.2% (1σ) of it
  assert.ok(Math.abs(mean) < 0.02 && Math.abs(sd / xavier - 1) < 0.08, `mean ${mean}, sd ${sd} vs ${xavier}`);
  for (const m of [a, b, c]) m.dispose();
  assert.equal(tf.memory().numTensors, before);
});
