/**
 * Batched patching sweeps (several patched runs per forward, patching/batched.ts) against the one-forward-per-index
 * sweep (`maxBatchCells: 1`, TransformerLens's loop, itself checked against hand-spliced full runs in
 * patchers.test.ts): head (all positions and by position), resid_pre, attn_out and mlp_out sweeps, with a batch size
 * that does not divide the cells, explicit indices over several layers, a left-padded input with its attention mask
 * (learned and rotary positions), the number of forwards the budget allows, and no leaked tensors.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { HookedTransformer, setBackend, type ActivationCache } from "../../../src/lens/index";
import * as P from "../../../src/lens/patching/index";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";
import { FAMILIES, loadReference, modelWithCache } from "../../fixtures";
import { expectNoLeak, memorySnapshot, TEST_BACKENDS } from "../../backends";

const CLEAN = [[5, 17, 99, 3, 250, 41, 7], [12, 300, 8, 77, 401, 2, 64]];
const CORRUPT = [[5, 17, 99, 200, 250, 41, 7], [12, 300, 8, 150, 401, 2, 64]]; // position 3 differs
const ANSWERS = [[10, 20], [30, 40]];

/** Counts the forwards `run` makes through `model.runWithHooks`, and checks every metric call sees `[batch, pos, dVocab]`. */
async function countForwards<T>(model: HookedTransformer, run: () => Promise<T>): Promise<{ result: T; forwards: number }> {
  const original = model.runWithHooks.bind(model);
  let forwards = 0;
  (model as { runWithHooks: typeof original }).runWithHooks = ((...args: Parameters<typeof original>) => {
    forwards++;
    return original(...args);
  }) as typeof original;
  try {
    return { result: await run(), forwards };
  } finally {
    delete (model as { runWithHooks?: unknown }).runWithHooks; // back to the prototype's method
  }
}

/** Runs `sweep` one cell per forward and batched with `opts`; asserts equal values, no leak, and returns the forward counts. */
async function compare(model: HookedTransformer, label: string, sweep: (o: P.ActPatchOptions) => Promise<tf.Tensor>, opts: P.ActPatchOptions): Promise<[number, number]> {
  const one = await countForwards(model, () => sweep({ ...opts, maxBatchCells: 1 }));
  const before = await memorySnapshot();
  const many = await countForwards(model, () => sweep(opts));
  assert.deepEqual(many.result.shape, one.result.shape, `${label}: shape`);
  await expectAllClose(many.result, one.result, TOLERANCES.float32Invariant, `${label}: batched vs one at a time`);
  many.result.dispose();
  await expectNoLeak(before, `${label} (batched)`);
  one.result.dispose();
  return [one.forwards, many.forwards];
}

for (const backend of TEST_BACKENDS) describe(`batched patching sweeps (tiny-gpt2) on ${backend}`, () => {
  let model: HookedTransformer;
  let cleanCache: ActivationCache;
  const seen: number[][] = [];
  const metric = (logits: tf.Tensor) => {
    seen.push(logits.shape);
    return P.logitDiff(logits, ANSWERS);
  };

  before(async () => {
    ({ model, cache: cleanCache } = await modelWithCache(backend, CLEAN));
  });
  after(() => {
    cleanCache.dispose();
    model.dispose();
  });

  test("head sweeps (z all positions, z by position, v all positions) equal the one-at-a-time sweep", async () => {
    const [L, H, pos] = [model.cfg.nLayers, model.cfg.nHeads, 7];
    // 3 cells per forward: 4 heads per layer → chunks of 3 and 1.
    let [one, many] = await compare(model, "z all pos", (o) => P.getActPatchAttnHeadOutAllPos(model, CORRUPT, cleanCache, metric, o), { maxBatchCells: 3 });
    assert.equal(one, L * H);
    assert.equal(many, L * Math.ceil(H / 3), "forwards of a 3-cell batch");
    // Default budget: a layer's whole grid in one forward.
    [, many] = await compare(model, "z by pos", (o) => P.getActPatchAttnHeadOutByPos(model, CORRUPT, cleanCache, metric, o), {});
    assert.equal(many, L, "the default budget runs each layer's pos × head cells in one forward");
    [, many] = await compare(model, "v all pos", (o) => P.getActPatchAttnHeadVAllPos(model, CORRUPT, cleanCache, metric, o), { maxBatchCells: 4 });
    assert.equal(many, L);
    assert.ok(seen.every((s) => s[0] === 2 && s[1] === pos && s[2] === model.cfg.dVocabOut), "the metric always gets [batch, pos, dVocab] logits");
  });

  test("resid_pre, attn_out and mlp_out sweeps equal the one-at-a-time sweep (5 cells per forward over 7 positions)", async () => {
    const L = model.cfg.nLayers;
    for (const [label, f] of [["resid_pre", P.getActPatchResidPre], ["attn_out", P.getActPatchAttnOut], ["mlp_out", P.getActPatchMlpOut]] as const) {
      const [one, many] = await compare(model, label, (o) => f(model, CORRUPT, cleanCache, metric, o), { maxBatchCells: 5 });
      assert.equal(one, L * 7);
      assert.equal(many, L * 2, `${label}: chunks of 5 and 2 per layer`);
    }
  });

  test("explicit indices over several layers come back in their order; a metric that reads back works batched", async () => {
    const indices = [[2, 1], [0, 3], [2, 0], [1, 2], [0, 1]];
    const read = async (l: tf.Tensor) => {
      const d = P.logitDiff(l, ANSWERS);
      const v = (await d.data())[0]!;
      d.dispose();
      return v;
    };
    const sweep = (o: P.ActPatchOptions) =>
      P.genericActivationPatch(model, CORRUPT, cleanCache, read, { ...o, activationName: "z", axes: ["layer", "head"], setter: P.layerHeadVectorSetter, indices });
    const [, many] = await compare(model, "explicit indices", sweep, {});
    assert.equal(many, 3, "one forward per layer named");
    const grid = await P.getActPatchAttnHeadOutAllPos(model, CORRUPT, cleanCache, metric, { maxBatchCells: 1 });
    const g = (await grid.array()) as number[][];
    grid.dispose();
    const flat = await sweep({ maxBatchCells: 2 });
    await expectAllClose(flat, indices.map(([l, h]) => g[l!]![h!]!), TOLERANCES.float32Invariant, "explicit indices pick the grid's entries");
    flat.dispose();
  });

  test("the memory budget sets the cells per forward; bad batching options are refused", async () => {
    const cfg = model.cfg;
    const full = P.patchedRunBytes(cfg, 2, 7, cfg.nLayers);
    assert.equal(P.sweepBatchCells(cfg, 2, 7, 0, { batchBudgetBytes: 3.5 * full }), 3);
    assert.equal(P.sweepBatchCells(cfg, 2, 7, 0, { batchBudgetBytes: full / 2 }), 1, "a cell over the budget still runs alone");
    assert.equal(P.sweepBatchCells(cfg, 2, 7, 0, { batchBudgetBytes: 100 * full, maxBatchCells: 2 }), 2);
    // Later layers run fewer blocks, so more of their cells fit.
    assert.ok(P.sweepBatchCells(cfg, 2, 7, 2, { batchBudgetBytes: 3.5 * full }) > 3);
    const [, many] = await compare(model, "budget", (o) => P.getActPatchAttnHeadOutAllPos(model, CORRUPT, cleanCache, metric, o), { batchBudgetBytes: 2.5 * full });
    const expected = [0, 1, 2].reduce((n, l) => n + Math.ceil(4 / P.sweepBatchCells(cfg, 2, 7, l, { batchBudgetBytes: 2.5 * full })), 0);
    assert.equal(many, expected);
    // The default: 1 GiB, on wasm at most half the heap that live tensors leave free (4 GiB heap).
    const free = 4 * 2 ** 30 - tf.memory().numBytes;
    assert.equal(P.defaultBatchBudgetBytes(), backend === "wasm" ? Math.min(2 ** 30, free / 2) : 2 ** 30);
    const before = await memorySnapshot();
    await assert.rejects(P.getActPatchResidPre(model, CORRUPT, cleanCache, metric, { maxBatchCells: 0 }), /maxBatchCells must be a whole number/);
    await assert.rejects(P.getActPatchResidPre(model, CORRUPT, cleanCache, metric, { batchBudgetBytes: -1 }), /batchBudgetBytes must be a positive/);
    await expectNoLeak(before, "refused options");
  });
});

const PADDED_CLEAN = [[5, 17, 99, 3, 250, 41, 7], [0, 0, 12, 300, 8, 77, 401]];
const PADDED_CORRUPT = [[5, 17, 99, 200, 250, 41, 7], [0, 0, 12, 300, 8, 150, 401]]; // row 1 is left-padded by 2
const MASK = [[1, 1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1, 1]];

for (const backend of TEST_BACKENDS) for (const family of FAMILIES) describe(`batched sweeps of a left-padded batch (${family} on ${backend})`, () => {
  test("resid_pre and head sweeps with an attention mask (rows and tensor) equal the one-at-a-time sweep", async () => {
    await setBackend(backend);
    const model = await HookedTransformer.fromPretrained((await loadReference(family)).folder);
    const [l, cleanCache] = await model.runWithCache(PADDED_CLEAN, { attentionMask: MASK });
    l.dispose();
    const metric = (logits: tf.Tensor) => tf.tidy(() => P.logitDiff(logits, ANSWERS, { perPrompt: true }).sum());
    const maskTensor = tf.tensor2d(MASK, undefined, "int32");
    await compare(model, "padded resid_pre", (o) => P.getActPatchResidPre(model, PADDED_CORRUPT, cleanCache, metric, o), { attentionMask: MASK, maxBatchCells: 3 });
    await compare(model, "padded z by pos", (o) => P.getActPatchAttnHeadOutByPos(model, PADDED_CORRUPT, cleanCache, metric, o), { attentionMask: maskTensor });
    // The mask matters here: without it the batched runs would differ from the masked sweep.
    const masked = await P.getActPatchResidPre(model, PADDED_CORRUPT, cleanCache, metric, { attentionMask: MASK, maxBatchCells: 1 });
    const unmasked = await P.getActPatchResidPre(model, PADDED_CORRUPT, cleanCache, metric, { maxBatchCells: 3 });
    const [a, b] = [(await masked.data()) as Float32Array, (await unmasked.data()) as Float32Array];
    assert.ok(Math.max(...a.map((v, i) => Math.abs(v - b[i]!))) > 1e-3, "the mask changes this sweep");
    tf.dispose([masked, unmasked, maskTensor]);
    cleanCache.dispose();
    model.dispose();
  });
});
