/**
 * Activation patching against independent computations on the committed tiny GPT-2 (and NeoX for resid_pre):
 * each sweep entry is recomputed by running the full corrupted input with the activation rebuilt by hand (slices +
 * concat, no masks, no startAtLayer), plus the TransformerLens invariants clean→clean = 1 and corrupted→corrupted = 0
 * under the normalised metric, shapes of the "every" sweeps, explicit indices, progress and memory.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { HookedTransformer, setBackend, type ActivationCache } from "../../../src/lens/index";
import * as P from "../../../src/lens/patching/index";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";
import { loadReference } from "../../fixtures";
import { expectNoLeak, memorySnapshot, TEST_BACKENDS } from "../../backends";

const CLEAN = [[5, 17, 99, 3, 250, 41, 7], [12, 300, 8, 77, 401, 2, 64]];
const CORRUPT = [[5, 17, 99, 200, 250, 41, 7], [12, 300, 8, 150, 401, 2, 64]]; // position 3 differs
const ANSWERS = [[10, 20], [30, 40]];

/** act with act[:, pos] (dim 1) or act[:, :, head] (dim 2) replaced by clean's, built by slicing and concatenating. */
function spliceByHand(act: tf.Tensor, clean: tf.Tensor, dim: number, index: number): tf.Tensor {
  const n = act.shape[dim] as number;
  const part = (t: tf.Tensor, from: number, len: number) => {
    const begin = act.shape.map((_, i) => (i === dim ? from : 0));
    const size = act.shape.map((d, i) => (i === dim ? len : (d as number)));
    return tf.slice(t, begin, size);
  };
  const pieces = [part(act, 0, index), part(clean, index, 1), part(act, index + 1, n - index - 1)].filter((p) => p.shape[dim] !== 0);
  return tf.concat(pieces, dim);
}

async function metricOf(logits: tf.Tensor): Promise<number> {
  const d = P.logitDiff(logits, ANSWERS);
  const v = (await d.data())[0];
  d.dispose();
  return v;
}

for (const backend of TEST_BACKENDS) describe(`activation patching (tiny-gpt2) on ${backend}`, () => {
  let model: HookedTransformer;
  let cleanCache: ActivationCache;
  let corruptCache: ActivationCache;
  let cleanValue: number;
  let corruptValue: number;
  const metric = (logits: tf.Tensor) => P.logitDiff(logits, ANSWERS);

  before(async () => {
    await setBackend(backend);
    model = await HookedTransformer.fromPretrained((await loadReference("tiny-gpt2")).folder);
    let logits: tf.Tensor;
    [logits, cleanCache] = await model.runWithCache(CLEAN);
    cleanValue = await metricOf(logits);
    logits.dispose();
    [logits, corruptCache] = await model.runWithCache(CORRUPT);
    corruptValue = await metricOf(logits);
    logits.dispose();
  });
  after(() => {
    cleanCache.dispose();
    corruptCache.dispose();
    model.dispose();
  });

  test("logitDiff equals logit(correct) − logit(incorrect) at the last position, read from the array", async () => {
    const logits = await model.forward(CLEAN);
    const arr = (await logits.array()) as number[][][];
    const per = P.logitDiff(logits, ANSWERS, { perPrompt: true });
    const expected = ANSWERS.map(([c, w], b) => arr[b]![6]![c]! - arr[b]![6]![w]!);
    await expectAllClose(per, expected, TOLERANCES.float32Invariant, "per-prompt logit diff");
    const atPos = P.logitDiff(logits, ANSWERS, { pos: [2, 4], perPrompt: true });
    await expectAllClose(atPos, ANSWERS.map(([c, w], b) => arr[b]![[2, 4][b]!]![c]! - arr[b]![[2, 4][b]!]![w]!), TOLERANCES.float32Invariant, "per-prompt positions");
    tf.dispose([logits, per, atPos]);
    const norm = P.normalizedMetric(metric, { clean: cleanValue, corrupted: corruptValue });
    const [c, k] = [await model.forward(CLEAN), await model.forward(CORRUPT)];
    assert.ok(Math.abs((await norm(c)) - 1) < TOLERANCES.scalarUlps.atol && Math.abs(await norm(k)) < TOLERANCES.scalarUlps.atol, "normalised metric is 1 on clean and 0 on corrupted");
    tf.dispose([c, k]);
  });

  test("getActPatchResidPre matches the full model run with resid_pre replaced by hand, and leaks nothing", async () => {
    const before = await memorySnapshot();
    const calls: number[] = [];
    const grid = await P.getActPatchResidPre(model, CORRUPT, cleanCache, metric, { onProgress: (d) => calls.push(d) });
    assert.deepEqual(grid.shape, [3, 7]);
    assert.equal(calls.length, 21, "one progress call per run");
    const expected: number[] = [];
    for (let l = 0; l < 3; l++) {
      for (let p = 0; p < 7; p++) {
        const name = `blocks.${l}.hook_resid_pre`;
        const logits = await model.runWithHooks(CORRUPT, { fwdHooks: [[name, (act) => spliceByHand(act, cleanCache.get(name), 1, p)]] });
        expected.push(await metricOf(logits));
        logits.dispose();
      }
    }
    await expectAllClose(grid, expected, TOLERANCES.float32Invariant, "resid_pre patching");
    // Positions that do not differ and are before the corruption change nothing at layer 0.
    const g = (await grid.array()) as number[][];
    assert.ok(Math.abs(g[0]![0]! - corruptValue) < TOLERANCES.scalarReduced.atol, "patching an identical position leaves the corrupted metric");
    grid.dispose();
    await expectNoLeak(before, "tensors leaked by the sweep");
  });

  test("getActPatchAttnHeadOutAllPos and VByPos match hand-spliced hook_z / hook_v runs", async () => {
    const heads = await P.getActPatchAttnHeadOutAllPos(model, CORRUPT, cleanCache, metric);
    const vByPos = await P.getActPatchAttnHeadVByPos(model, CORRUPT, cleanCache, metric);
    assert.deepEqual(heads.shape, [3, 4]);
    assert.deepEqual(vByPos.shape, [3, 7, 4]);
    const expHeads: number[] = [];
    for (let l = 0; l < 3; l++) {
      for (let h = 0; h < 4; h++) {
        const name = `blocks.${l}.attn.hook_z`;
        const logits = await model.runWithHooks(CORRUPT, { fwdHooks: [[name, (act) => spliceByHand(act, cleanCache.get(name), 2, h)]] });
        expHeads.push(await metricOf(logits));
        logits.dispose();
      }
    }
    await expectAllClose(heads, expHeads, TOLERANCES.float32Invariant, "head output patching");
    // v at (layer 1, pos 3, head 2) by hand: position slice then head slice.
    const name = "blocks.1.attn.hook_v";
    const hook = (act: tf.Tensor) => {
      const clean = cleanCache.get(name);
      const row = spliceByHand(act.slice([0, 3], [-1, 1]), clean.slice([0, 3], [-1, 1]), 2, 2);
      return tf.concat([act.slice([0, 0], [-1, 3]), row, act.slice([0, 4], [-1, 3])], 1);
    };
    const logits = await model.runWithHooks(CORRUPT, { fwdHooks: [[name, hook]] });
    const v = (await vByPos.array()) as number[][][];
    assert.ok(Math.abs(v[1]![3]![2]! - (await metricOf(logits))) < TOLERANCES.scalarForward.atol, "v by pos entry");
    tf.dispose([heads, vByPos, logits]);
  });

  test("clean→clean patching gives 1 and corrupted→corrupted gives 0 everywhere (normalised metric)", async () => {
    // 2 × 4 tokens (the corruption is at position 3), so the by-position sweeps stay short
    const [clean4, corrupt4] = [CLEAN.map((r) => r.slice(0, 4)), CORRUPT.map((r) => r.slice(0, 4))];
    const [cl, cleanCache4] = await model.runWithCache(clean4);
    const [kl, corruptCache4] = await model.runWithCache(corrupt4);
    const norm = P.normalizedMetric(metric, { clean: await metricOf(cl), corrupted: await metricOf(kl) });
    tf.dispose([cl, kl]);
    const cases: Array<[string, (m: HookedTransformer, t: number[][], c: ActivationCache, f: P.PatchMetric, o?: P.ProgressOptions) => Promise<tf.Tensor>]> = [
      ["attn_out", P.getActPatchAttnOut], ["mlp_out", P.getActPatchMlpOut], ["resid_mid", P.getActPatchResidMid],
      ["q all pos", P.getActPatchAttnHeadQAllPos], ["pattern all pos", P.getActPatchAttnHeadPatternAllPos], ["z by pos", P.getActPatchAttnHeadOutByPos],
    ];
    for (const [label, fn] of cases) {
      const ones = await fn(model, clean4, cleanCache4, norm, { silent: true });
      await expectAllClose(ones, new Array(ones.size).fill(1), TOLERANCES.float32Invariant, `${label}: clean→clean`);
      const zeros = await fn(model, corrupt4, corruptCache4, norm, { silent: true });
      await expectAllClose(zeros, new Array(zeros.size).fill(0), TOLERANCES.float32Invariant, `${label}: corrupted→corrupted`);
      tf.dispose([ones, zeros]);
    }
    cleanCache4.dispose();
    corruptCache4.dispose();
  });

  test("pattern dest/src patching: shape [L, H, P, P], entries above the diagonal change nothing", async () => {
    const short = [CORRUPT[0]!.slice(0, 5)];
    const [, shortClean] = await model.runWithCache([CLEAN[0]!.slice(0, 5)]).then(([l, c]) => (l.dispose(), [null, c] as const));
    const m = (logits: tf.Tensor) => tf.tidy(() => logits.slice([0, 4, 10], [1, 1, 1]).sum());
    const grid = await P.getActPatchAttnHeadPatternDestSrcPos(model, short, shortClean, m);
    assert.deepEqual(grid.shape, [3, 4, 5, 5]);
    const base = await model.forward(short);
    const baseValue = (await base.slice([0, 4, 10], [1, 1, 1]).data())[0]!;
    const g = (await grid.array()) as number[][][][];
    for (let d = 0; d < 5; d++) for (let s = d + 1; s < 5; s++) assert.ok(Math.abs(g[1]![2]![d]![s]! - baseValue) < TOLERANCES.scalarReduced.atol, `masked entry (${d}, ${s}) is 0 in both runs`);
    // One real entry by hand: layer 2, head 1, dest 4, src 3 (the corrupted position).
    const name = "blocks.2.attn.hook_pattern";
    // (a hook must not read values synchronously: webgpu has no dataSync in Node)
    const one = tf.buffer([1, 4, 5, 5], "bool");
    one.set(true, 0, 1, 4, 3);
    const entry = one.toTensor();
    const hook = (act: tf.Tensor) => tf.where(entry, shortClean.get(name), act);
    const byHand = await model.runWithHooks(short, { fwdHooks: [[name, hook]] });
    entry.dispose();
    assert.ok(Math.abs(g[2]![1]![4]![3]! - (await byHand.slice([0, 4, 10], [1, 1, 1]).data())[0]!) < TOLERANCES.scalarReduced.atol, "dest/src entry");
    tf.dispose([grid, base, byHand]);
    shortClean.dispose();
  });

  test("the every-sweeps stack the single sweeps; explicit indices give a flat result", async () => {
    const every = await P.getActPatchAttnHeadAllPosEvery(model, CORRUPT, cleanCache, metric);
    assert.deepEqual(every.shape, [5, 3, 4]);
    const v = await P.getActPatchAttnHeadVAllPos(model, CORRUPT, cleanCache, metric);
    await expectAllClose(every.slice([3], [1]).squeeze([0]), v, TOLERANCES.exact, "every[3] = v all pos");
    // by-pos sweeps on a 1×3 input (5·3·3·4 runs), corrupted at position 2
    const [short, shortCorrupt] = [[CLEAN[0]!.slice(0, 3)], [[5, 17, 123]]];
    const [sl, shortCache] = await model.runWithCache(short);
    sl.dispose();
    const m1 = (l: tf.Tensor) => P.logitDiff(l, [ANSWERS[0]!]);
    const byPos = await P.getActPatchAttnHeadByPosEvery(model, shortCorrupt, shortCache, m1);
    assert.deepEqual(byPos.shape, [5, 3, 3, 4]);
    const pat = await P.getActPatchAttnHeadPatternByPos(model, shortCorrupt, shortCache, m1);
    const q = await P.getActPatchAttnHeadQByPos(model, shortCorrupt, shortCache, m1);
    await expectAllClose(byPos.slice([1], [1]).squeeze([0]), q, TOLERANCES.exact, "by-pos every[1] = q by pos");
    q.dispose();
    shortCache.dispose();
    await expectAllClose(byPos.slice([4], [1]).squeeze([0]), pat.transpose([0, 2, 1]), TOLERANCES.exact, "by-pos every[4] = pattern [layer, dest, head]");
    const block = await P.getActPatchBlockEvery(model, CORRUPT, cleanCache, metric);
    assert.deepEqual(block.shape, [3, 3, 7]);
    const flat = await P.genericActivationPatch(model, CORRUPT, cleanCache, metric, {
      activationName: "z", axes: ["layer", "head"], setter: P.layerHeadVectorSetter, indices: [[2, 1], [0, 3]],
    });
    const grid = (await every.array()) as number[][][];
    // The grid ran its 4 heads of a layer in one forward, each explicit index alone (one layer each): the same
    // arithmetic on a taller batch, which matmul kernels may block differently (float32 rounding).
    await expectAllClose(flat, [grid[0]![2]![1]!, grid[0]![0]![3]!], TOLERANCES.float32Invariant, "explicit indices");
    tf.dispose([every, v, byPos, pat, block, flat]);
  });

  test("errors: a metric returning a non-scalar, a cache of another length", async () => {
    const before = await memorySnapshot();
    await assert.rejects(P.getActPatchResidPre(model, CORRUPT, cleanCache, (l) => l.sum(-1)), /scalar/);
    const [l, other] = await model.runWithCache([[1, 2, 3], [4, 5, 6]]);
    await assert.rejects(P.getActPatchAttnOut(model, CORRUPT, other, metric), /same batch size and length|out of range/);
    tf.dispose(l);
    other.dispose();
    await expectNoLeak(before);
  });
});

for (const backend of TEST_BACKENDS) test(`resid_pre patching on the parallel GPT-NeoX fixture matches hand-spliced runs (${backend})`, async () => {
  await setBackend(backend);
  const model = await HookedTransformer.fromPretrained((await loadReference("tiny-neox")).folder);
  const [l, cache] = await model.runWithCache(CLEAN);
  l.dispose();
  const grid = await P.getActPatchResidPre(model, CORRUPT, cache, (x) => P.logitDiff(x, ANSWERS));
  const expected: number[] = [];
  for (let layer = 0; layer < 3; layer++) {
    for (let p = 0; p < 7; p++) {
      const name = `blocks.${layer}.hook_resid_pre`;
      const logits = await model.runWithHooks(CORRUPT, { fwdHooks: [[name, (act) => spliceByHand(act, cache.get(name), 1, p)]] });
      expected.push(await metricOf(logits));
      logits.dispose();
    }
  }
  await expectAllClose(grid, expected, TOLERANCES.float32Invariant, "neox resid_pre patching");
  tf.dispose(grid);
  cache.dispose();
  model.dispose();
});
