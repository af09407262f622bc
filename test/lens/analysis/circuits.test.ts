/**
 * Circuits on the committed tiny GPT-2 (vocab 512, so full circuits can be materialised and checked in JS):
 * factored OV/QK circuits against explicit products, batched top-k accuracy against a plain loop, eigenvalue copying
 * scores on matrices with known spectra, composition scores against materialised ‖L·R‖/(‖L‖‖R‖), and the random
 * baseline against a numpy value (provenance in the test).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { FactoredMatrix, HookedTransformer, setBackend } from "../../../src/lens/index";
import * as A from "../../../src/lens/analysis/index";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";
import { loadReference } from "../../fixtures";
import { expectNoLeak, memorySnapshot, TEST_BACKENDS } from "../../backends";

/** Top-k accuracy by a plain loop; row i's diagonal entry is column `first + i`. */
function topKByHand(m: number[][], k: number, first = 0): number {
  let hits = 0;
  m.forEach((row, r) => {
    const i = first + r;
    const greater = row.filter((v, j) => v > row[i]! || (v === row[i]! && j < i)).length;
    if (greater < k) hits++;
  });
  return hits / m.length;
}

for (const backend of TEST_BACKENDS) describe(`circuits (tiny-gpt2) on ${backend}`, () => {
  let model: HookedTransformer;
  const head = (name: string, l: number, h: number) => model.param(`blocks.${l}.attn.${name}`).slice([h], [1]).squeeze([0]);

  before(async () => {
    await setBackend(backend);
    model = await HookedTransformer.fromPretrained((await loadReference("tiny-gpt2")).folder);
    // The loader makes weights with tf.tensor(values) (host-side processing): webgpu keeps such values on the host
    // until a kernel first reads them, and that one-time upload would count as GPU bytes left by the first test that
    // reads a weight. Read each one once here (an add of ≥ 1000 values runs on the GPU), so tests measure their own.
    if (backend === "webgpu") for (const k of model.paramNames()) tf.tidy(() => void model.param(k).add(0));
  });
  after(() => model.dispose());

  test("full OV / QK circuits equal the explicit products; top-k accuracy in row batches equals a plain loop", async () => {
    const before = await memorySnapshot();
    const ov = A.fullOVCircuit(model, [1, 2]);
    const explicit = tf.tidy(() => model.W_E.matMul(head("W_V", 1, 2)).matMul(head("W_O", 1, 2)).matMul(model.W_U));
    const ab = ov.AB;
    await expectAllClose(ab, explicit, TOLERANCES.float32Invariant, "OV circuit");
    const m = (await explicit.array()) as number[][];
    for (const k of [1, 5]) assert.equal(await A.topKAccuracy(ov, { k, batchSize: 100 }), topKByHand(m, k), `top-${k}`);
    // a subset of rows counts only those rows, in any order and batching
    const subset = [7, 3, 200, 0, 511, 64];
    const subHits = subset.filter((r) => topKByHand([m[r]!], 5, r) === 1).length;
    assert.equal(await A.topKAccuracy(ov, { k: 5, batchSize: 4, rows: subset }), subHits / subset.length, "rows subset");
    await assert.rejects(A.topKAccuracy(ov, { rows: [m.length] }), /row 512 is not an index/);
    // effective circuit of two heads = sum of their circuits
    const eff = A.fullOVCircuit(model, [[1, 2], [2, 0]]);
    const other = A.fullOVCircuit(model, [2, 0]);
    const [effAB, otherAB] = [eff.AB, other.AB];
    const sum = tf.add(ab, otherAB);
    await expectAllClose(effAB, sum, TOLERANCES.float32Invariant, "effective circuit");
    const qk = A.fullQKCircuit(model, [0, 3]);
    const qkAB = qk.AB;
    const qkExplicit = tf.tidy(() => model.W_pos.matMul(head("W_Q", 0, 3)).matMul(head("W_K", 0, 3).transpose()).matMul(model.W_pos.transpose()));
    await expectAllClose(qkAB, qkExplicit, TOLERANCES.float32Invariant, "positional QK circuit");
    // a near-identity circuit copies perfectly
    const ident = new FactoredMatrix(tf.tidy(() => tf.eye(50, 8).mul(3)), tf.eye(8, 50));
    assert.equal(await A.topKAccuracy(ident, { k: 1, batchSize: 7 }), 8 / 50, "rows 8.. are all zero: argmax picks column 0, so only the 8 rank directions copy");
    tf.dispose([explicit, ab, effAB, otherAB, sum, qkAB, qkExplicit]);
    [ov, eff, other, qk, ident].forEach((f) => f.dispose());
    await expectNoLeak(before);
  });

  test("eigenvalue copying score: +1 for a positive map, −1 for a negative one, 0 for a rotation; per head on model.OV", async () => {
    const rot = tf.tensor2d([[0, 1], [-1, 0]]);
    const cases: Array<[FactoredMatrix, number]> = [
      [new FactoredMatrix(tf.tensor2d([[2, 0], [0, 1], [0, 0]]), tf.tensor2d([[1, 0, 0], [0, 3, 0]])), 1],
      [new FactoredMatrix(tf.tensor2d([[-2, 0], [0, -1], [0, 0]]), tf.tensor2d([[1, 0, 0], [0, 1, 0]])), -1],
      [new FactoredMatrix(tf.tensor2d([[1, 0], [0, 1], [0, 0]]), rot.matMul(tf.tensor2d([[1, 0, 0], [0, 1, 0]]))), 0],
    ];
    for (const [fm, expected] of cases) {
      const s = await A.eigenvalueCopyingScore(fm);
      assert.ok(Math.abs((await s.data())[0]! - expected) < TOLERANCES.scalarUlps.atol);
      s.dispose();
      fm.dispose();
    }
    rot.dispose();
    const ov = model.OV;
    const scores = await A.eigenvalueCopyingScore(ov);
    assert.deepEqual(scores.shape, [3, 4]);
    const v = (await scores.data()) as Float32Array;
    assert.ok(v.every((x) => x >= -1 - 1e-6 && x <= 1 + 1e-6));
    tf.dispose(scores);
    ov.dispose();
  });

  test("composition scores equal materialised ‖L·R‖/(‖L‖‖R‖), are 0 unless l1 < l2; tensor and factored forms agree", async () => {
    void [model.W_Q, model.W_K, model.W_V, model.W_O]; // the model's stacked views are built (and kept) on first read
    const before = await memorySnapshot();
    for (const mode of ["Q", "K", "V"] as const) {
      const all = await A.allCompositionScores(model, mode);
      assert.deepEqual(all.shape, [3, 4, 3, 4]);
      const s = (await all.array()) as number[][][][];
      for (const [l1, h1, l2, h2] of [[0, 1, 1, 2], [0, 3, 2, 0], [1, 2, 2, 3]]) {
        const expected = tf.tidy(() => {
          const left = head("W_V", l1!, h1!).matMul(head("W_O", l1!, h1!));
          const qk = head("W_Q", l2!, h2!).matMul(head("W_K", l2!, h2!).transpose());
          const right = mode === "Q" ? qk : mode === "K" ? qk.transpose() : head("W_V", l2!, h2!).matMul(head("W_O", l2!, h2!));
          const fro = (t: tf.Tensor) => t.square().sum().sqrt();
          return fro(left.matMul(right)).div(fro(left).mul(fro(right)));
        });
        const e = (await expected.data())[0]!;
        expected.dispose();
        assert.ok(Math.abs(s[l1!]![h1!]![l2!]![h2!]! - e) < TOLERANCES.scalarForward.atol * Math.max(1, e), `${mode} ${l1}.${h1}→${l2}.${h2}: ${s[l1!]![h1!]![l2!]![h2!]} vs ${e}`);
      }
      assert.equal(s[1]![0]![0]![1], 0);
      assert.equal(s[1]![0]![1]![1], 0);
      all.dispose();
    }
    const [L, R] = [tf.tensor2d([[1, 2, 0], [0, 1, 3]]), tf.tensor2d([[1, 0], [2, 1], [0, 1]])];
    const plain = await A.compositionScore(L, R);
    // by hand: L·R = [[5, 2], [2, 4]] → √49 = 7; ‖L‖ = √15; ‖R‖ = √7
    assert.ok(Math.abs((await plain.data())[0]! - 7 / Math.sqrt(15 * 7)) < TOLERANCES.scalarUlps.atol);
    const fl = new FactoredMatrix(L.clone(), tf.eye(3));
    const factored = await A.compositionScore(fl, R);
    await expectAllClose(factored, plain, TOLERANCES.float32Invariant, "factored composition score");
    tf.dispose([L, R, plain, factored]);
    fl.dispose();
    await expectNoLeak(before);
  });

  test("random composition baseline: GPT-2-small sizes give ≈ 0.036 (numpy: 0.03602 ± 0.00041 over 200 samples)", async () => {
    // Reference: /usr/bin/python3, numpy default_rng(0), uniform(−1, 1) factors [768,64]·[64,768], 200 samples:
    // mean 0.036024, std 0.000406 (same as the ARENA 1.2 figure 0.036; docs/sources.md §8).
    const { mean, std, samples } = await A.compositionBaseline({ dModel: 768, dHead: 64, samples: 20, seed: 1 });
    assert.equal(samples.length, 20);
    assert.ok(Math.abs(mean - 0.036024) < 0.0004, `mean ${mean}`);
    assert.ok(std > 0.0001 && std < 0.001, `std ${std}`);
    // numpy, dModel 64, dHead 16, 200 samples: 0.12537 ± 0.00695
    const small = await A.compositionBaseline({ dModel: 64, dHead: 16, samples: 100, seed: 2 });
    assert.ok(Math.abs(small.mean - 0.12537) < 0.003, `small mean ${small.mean}`);
  });
});
