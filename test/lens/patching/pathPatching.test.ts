/**
 * Path patching and ablation on the committed tiny GPT-2, against full-model runs with the activations rebuilt by hand
 * (slices + concat, no startAtLayer), plus invariants: a last-layer sender's path to the logits is its activation
 * patch; patching from an identical cache changes nothing; no tensor leaks.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { HookedTransformer, setBackend, type ActivationCache, type FwdHooks } from "../../../src/lens/index";
import * as P from "../../../src/lens/patching/index";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";
import { loadReference } from "../../fixtures";
import { expectNoLeak, memorySnapshot, TEST_BACKENDS } from "../../backends";
import { resolveConfig } from "../../../src/lens/config";
import { expectedParamShapes } from "../../../src/lens/architectures/convert";
import { seededNormal } from "../../../src/lens/training/params";

const ORIG = [[5, 17, 99, 3, 250, 41, 7], [12, 300, 8, 77, 401, 2, 64]];
const NEW = [[6, 18, 98, 3, 251, 40, 7], [13, 301, 9, 77, 400, 3, 64]];
const ANSWERS = [[10, 20], [30, 40]];

/** act with head `h` (dim 2) replaced by src's. */
function headFrom(act: tf.Tensor, src: tf.Tensor, h: number): tf.Tensor {
  const n = act.shape[2] as number;
  const part = (t: tf.Tensor, from: number, len: number) => t.slice([0, 0, from, 0], [-1, -1, len, -1]);
  return tf.concat([part(act, 0, h), part(src, h, 1), part(act, h + 1, n - h - 1)].filter((p) => p.shape[2] !== 0), 2);
}

for (const backend of TEST_BACKENDS) describe(`path patching and ablation (tiny-gpt2) on ${backend}`, () => {
  let model: HookedTransformer;
  let origCache: ActivationCache;
  let newCache: ActivationCache;
  const metric = (l: tf.Tensor) => P.logitDiff(l, ANSWERS);
  const value = async (logits: tf.Tensor) => {
    const v = await P.metricValue(metric, logits);
    logits.dispose();
    return v;
  };

  before(async () => {
    await setBackend(backend);
    model = await HookedTransformer.fromPretrained((await loadReference("tiny-gpt2")).folder);
    let l: tf.Tensor;
    [l, origCache] = await model.runWithCache(ORIG);
    l.dispose();
    [l, newCache] = await model.runWithCache(NEW);
    l.dispose();
  });
  after(() => {
    origCache.dispose();
    newCache.dispose();
    model.dispose();
  });

  test("head → final residual: matches a hand-built frozen run; last layer equals activation patching", async () => {
    const before = await memorySnapshot();
    const grid = await P.getPathPatchHeadToFinalResid(model, metric, { origTokens: ORIG, origCache, newCache });
    assert.deepEqual(grid.shape, [3, 4]);
    const g = (await grid.array()) as number[][];
    for (const [sl, sh] of [[0, 1], [1, 3]] as const) {
      const hooks: FwdHooks = [0, 1, 2].map((l) => {
        const name = `blocks.${l}.attn.hook_z`;
        return [name, () => (l === sl ? headFrom(origCache.get(name), newCache.get(name), sh) : origCache.get(name).clone())] as const;
      });
      const byHand = await value(await model.runWithHooks(ORIG, { fwdHooks: hooks }));
      assert.ok(Math.abs(g[sl]![sh]! - byHand) < TOLERANCES.scalarForward.atol, `sender ${sl}.${sh}: ${g[sl]![sh]} vs ${byHand}`);
    }
    const act = await P.getActPatchAttnHeadOutAllPos(model, ORIG, newCache, metric);
    const [a, b] = [grid.slice([2], [1]), act.slice([2], [1])];
    await expectAllClose(a, b, TOLERANCES.float32Invariant, "last-layer path = activation patch");
    tf.dispose([grid, act, a, b]);
    const same = await P.getPathPatchHeadToFinalResid(model, metric, { origTokens: ORIG, origCache, newCache: origCache });
    const base = await value(await model.forward(ORIG));
    await expectAllClose(same, new Array(12).fill(base), TOLERANCES.float32Invariant, "patching from the same cache");
    same.dispose();
    await expectNoLeak(before, "tensors leaked");
  });

  test("head → heads' values: matches the two hand-built runs (freeze + capture, then patch receivers)", async () => {
    const before = await memorySnapshot();
    const receivers: P.HeadRef[] = [[2, 1], [2, 3]];
    const grid = await P.getPathPatchHeadToHeads(model, metric, { receivers, receiverInput: "v", origTokens: ORIG, origCache, newCache });
    assert.deepEqual(grid.shape, [2, 4]);
    const g = (await grid.array()) as number[][];
    for (const [sl, sh] of [[0, 2], [1, 0]] as const) {
      let captured: tf.Tensor | undefined;
      const hooks: FwdHooks = [
        ...[0, 1].map((l) => {
          const name = `blocks.${l}.attn.hook_z`;
          return [name, () => (l === sl ? headFrom(origCache.get(name), newCache.get(name), sh) : origCache.get(name).clone())] as const;
        }),
        ["blocks.2.attn.hook_v", (act: tf.Tensor) => void (captured = tf.keep(act.clone()))] as const,
      ];
      (await model.runWithHooks(ORIG, { fwdHooks: hooks })).dispose();
      const patch = (act: tf.Tensor) => headFrom(headFrom(act, captured!, 1), captured!, 3);
      const byHand = await value(await model.runWithHooks(ORIG, { fwdHooks: [["blocks.2.attn.hook_v", patch]] }));
      captured!.dispose();
      assert.ok(Math.abs(g[sl]![sh]! - byHand) < TOLERANCES.scalarForward.atol, `sender ${sl}.${sh}: ${g[sl]![sh]} vs ${byHand}`);
    }
    grid.dispose();
    await expectNoLeak(before, "tensors leaked");
    await assert.rejects(P.getPathPatchHeadToHeads(model, metric, { receivers: [[5, 0]], receiverInput: "q", origTokens: ORIG, origCache, newCache }), /does not exist/);
  });

  test("zero and mean ablation hooks equal hand-built replacements; ablation scores are differences from the clean metric", async () => {
    const name = "blocks.1.attn.hook_z";
    const zeroed = await value(await model.runWithHooks(ORIG, { fwdHooks: P.headAblationHooks([[1, 2]], { mode: "zero" }) }));
    const zeroByHand = await value(await model.runWithHooks(ORIG, { fwdHooks: [[name, (a) => headFrom(a, tf.zerosLike(a), 2)]] }));
    assert.ok(Math.abs(zeroed - zeroByHand) < TOLERANCES.scalarReduced.atol, "zero ablation");
    // mean over NEW's batch, computed in JS
    const z = (await newCache.get(name).array()) as number[][][][];
    const mean = z[0]!.map((row, p) => row.map((head, h) => head.map((x, d) => (x + z[1]![p]![h]![d]!) / 2)));
    const meanT = tf.tensor([mean, mean]);
    const meaned = await value(await model.runWithHooks(ORIG, { fwdHooks: P.headAblationHooks([[1, 2]], { mode: "mean", meanCache: newCache }) }));
    const meanByHand = await value(await model.runWithHooks(ORIG, { fwdHooks: [[name, (a) => headFrom(a, meanT, 2)]] }));
    meanT.dispose();
    assert.ok(Math.abs(meaned - meanByHand) < TOLERANCES.scalarForward.atol, `mean ablation ${meaned} vs ${meanByHand}`);
    const before = await memorySnapshot();
    const scores = await P.getAblationScores(model, ORIG, metric, { mode: "zero" });
    assert.deepEqual(scores.shape, [3, 4]);
    const base = await value(await model.forward(ORIG));
    assert.ok(Math.abs(((await scores.array()) as number[][])[1]![2]! - (zeroByHand - base)) < TOLERANCES.scalarForward.atol, "score = ablated − clean");
    scores.dispose();
    await expectNoLeak(before, "tensors leaked");
    const mlp = await value(await model.runWithHooks(ORIG, { fwdHooks: P.activationAblationHooks(["blocks.0.hook_mlp_out"], { mode: "zero" }) }));
    const mlpByHand = await value(await model.runWithHooks(ORIG, { fwdHooks: [["blocks.0.hook_mlp_out", (a) => tf.zerosLike(a)]] }));
    assert.equal(mlp, mlpByHand);
  });
});

/** A random GPT-2-layout model with 6 layers (weights N(0, 0.3²), seeded) large enough for heads to matter. */
function sixLayerModel(): HookedTransformer {
  const cfg = resolveConfig({
    modelName: "random-6l", architecture: "gpt2", nLayers: 6, dModel: 16, nHeads: 4, dMlp: 32, nCtx: 16, dVocab: 500,
    actFn: "gelu_new", eps: 1e-5, normalizationType: "LN", positionalEmbeddingType: "standard", rotaryBase: 10000,
    parallelAttnMlp: false, defaultPrependBos: true,
  });
  const sd = new Map<string, tf.Tensor>();
  let seed = 1;
  for (const [name, shape] of expectedParamShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const leaf = name.slice(name.lastIndexOf(".") + 1);
    const values = leaf === "w" ? new Float32Array(n).fill(1) : seededNormal(n, 0.3, seed++);
    sd.set(name, tf.tensor(values, shape, "float32"));
  }
  return new HookedTransformer(cfg, sd);
}

/**
 * Path patching into receivers by hand, on full runs from the tokens (no startAtLayer): (1) every hook_z frozen to
 * the original except the sender's head, which takes the new value; record every receiver layer's input; (2) the
 * original run with the receivers' heads of that input replaced by the recorded values.
 */
async function byHandHeadToHeads(model: HookedTransformer, metric: (l: tf.Tensor) => Promise<number>, c: { orig: ActivationCache; neu: ActivationCache },
  sender: readonly [number, number], receivers: readonly P.HeadRef[], input: "q" | "k" | "v"): Promise<number> {
  const recorded = new Map<number, tf.Tensor>();
  const layers = [...new Set(receivers.map(([l]) => l))];
  const freeze: FwdHooks = Array.from({ length: model.cfg.nLayers }, (_, l) => {
    const name = `blocks.${l}.attn.hook_z`;
    return [name, () => (l === sender[0] ? headFrom(c.orig.get(name), c.neu.get(name), sender[1]) : c.orig.get(name).clone())] as const;
  });
  const capture: FwdHooks = layers.map((l) => [`blocks.${l}.attn.hook_${input}`, (act: tf.Tensor) => void recorded.set(l, tf.keep(act.clone()))] as const);
  (await model.runWithHooks(ORIG, { fwdHooks: [...freeze, ...capture] })).dispose();
  const patch: FwdHooks = layers.map((l) => [`blocks.${l}.attn.hook_${input}`, (act: tf.Tensor) => {
    let out = act;
    for (const [rl, rh] of receivers) if (rl === l) out = headFrom(out, recorded.get(l)!, rh);
    return out;
  }] as const);
  const v = await metric(await model.runWithHooks(ORIG, { fwdHooks: patch }));
  tf.dispose([...recorded.values()]);
  return v;
}

for (const backend of TEST_BACKENDS) test(`path patching into receivers spread over 6 layers equals the by-hand two-step patch (${backend})`, async () => {
  await setBackend(backend);
  const model = sixLayerModel();
  const metric = (l: tf.Tensor) => P.logitDiff(l, ANSWERS);
  const value = async (logits: tf.Tensor) => {
    const v = await P.metricValue(metric, logits);
    logits.dispose();
    return v;
  };
  const [l1, orig] = await model.runWithCache(ORIG);
  const [l2, neu] = await model.runWithCache(NEW);
  tf.dispose([l1, l2]);
  const base = await value(await model.forward(ORIG));
  const before = await memorySnapshot();
  // Receivers in layers 1, 3 and 5 (given out of order): senders in layers 1..4 sit between them.
  const receivers: P.HeadRef[] = [[5, 1], [1, 0], [3, 2], [5, 3]];
  for (const input of ["q", "k", "v"] as const) {
    for (const order of [receivers, [...receivers].reverse()]) {
      const grid = await P.getPathPatchHeadToHeads(model, metric, { receivers: order, receiverInput: input, origTokens: ORIG, origCache: orig, newCache: neu, silent: true });
      assert.deepEqual(grid.shape, [5, 4]);
      const g = (await grid.array()) as number[][];
      grid.dispose();
      const senders: Array<[number, number]> = input === "q" ? [[0, 1], [1, 2], [2, 0], [4, 3]] : [[0, 3], [2, 1], [3, 3]];
      for (const s of senders) {
        const byHand = await byHandHeadToHeads(model, value, { orig, neu }, s, order, input);
        await expectAllClose(g[s[0]]![s[1]]!, byHand, TOLERANCES.float32Invariant, `${input} receivers, sender ${s}`);
      }
      // Senders in layers 1..4 reach only the later receivers; they still move the metric (the check can fail).
      assert.ok(g.slice(1).flat().some((v) => Math.abs(v - base) > 1e-3), `${input}: senders after layer 0 change the metric`);
    }
  }
  await expectNoLeak(before, "path patching on 6 layers");
  orig.dispose();
  neu.dispose();
  model.dispose();
});
