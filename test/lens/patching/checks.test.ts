/**
 * Every public patching function refuses a missing or wrong argument with an Error (not a TypeError from inside a
 * hook) that names the function and the option, before any run.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import type { ActivationCache, HookedTransformer } from "../../../src/lens/index";
import * as P from "../../../src/lens/patching/index";
import { modelWithCache } from "../../fixtures";
import { expectNoLeak, memorySnapshot, TEST_BACKENDS } from "../../backends";

const TOKENS = [[5, 17, 99, 3], [12, 300, 8, 77]];
const ANSWERS = [[10, 20], [30, 40]];

/** Asserts `run` throws (or rejects with) a plain Error whose message matches every pattern. */
async function refuses(run: () => unknown, ...patterns: RegExp[]): Promise<void> {
  let err: unknown;
  try {
    await run();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
  assert.equal(err.constructor, Error, `expected a plain Error naming the option, got ${err.constructor.name}: ${err.message}`);
  for (const p of patterns) assert.match(err.message, p);
}

for (const backend of TEST_BACKENDS) describe(`patching option checks on ${backend}`, () => {
  let model: HookedTransformer;
  let cache: ActivationCache;
  const metric = (l: tf.Tensor) => P.logitDiff(l, ANSWERS);
  const none = undefined as never;

  before(async () => {
    ({ model, cache } = await modelWithCache(backend, TOKENS));
  });
  after(() => {
    cache.dispose();
    model.dispose();
  });

  test("activation patching: model, tokens, cleanCache, metric, setter, activationName, axes", async () => {
    const snap = await memorySnapshot();
    await refuses(() => P.getActPatchResidPre(model, TOKENS, none, metric), /genericActivationPatch\(resid_pre\)/, /cleanCache must be an ActivationCache/);
    await refuses(() => P.getActPatchAttnHeadOutAllPos(model, TOKENS, cache, none), /metric must be a function/);
    await refuses(() => P.getActPatchAttnHeadVByPos(none, TOKENS, cache, metric), /first argument must be a HookedTransformer/);
    await refuses(() => P.getActPatchMlpOut(model, none, cache, metric), /corruptedTokens must be text, token ids/);
    await refuses(() => P.getActPatchBlockEvery(model, TOKENS, {} as ActivationCache, metric), /cleanCache must be an ActivationCache .*got an object/);
    await refuses(() => P.getActPatchAttnHeadAllPosEvery(model, TOKENS, none, metric), /cleanCache/);
    await refuses(() => P.getActPatchAttnHeadByPosEvery(model, TOKENS, cache, "logitDiff" as never), /metric must be a function/);
    const base = { activationName: "z", axes: ["layer", "head"] as P.AxisName[], setter: P.layerHeadVectorSetter };
    await refuses(() => P.genericActivationPatch(model, TOKENS, cache, metric, { ...base, setter: none }), /opts\.setter must be a function/);
    await refuses(() => P.genericActivationPatch(model, TOKENS, cache, metric, { ...base, activationName: none }), /opts\.activationName must be a short hook name/);
    await refuses(() => P.genericActivationPatch(model, TOKENS, cache, metric, { ...base, axes: none }), /opts\.axes must be a list/);
    await refuses(() => P.genericActivationPatch(model, TOKENS, cache, metric, none), /opts must be an options object/);
    const [l, unbatched] = await model.runWithCache([TOKENS[0]!], { removeBatchDim: true });
    await refuses(() => P.getActPatchResidPre(model, [TOKENS[0]!], unbatched, metric), /cleanCache has no batch dimension; record it without removeBatchDim/);
    l.dispose();
    unbatched.dispose();
    await expectNoLeak(snap, "refused calls");
  });

  test("path patching: origTokens, origCache, newCache, receivers, receiverInput", async () => {
    const inputs = { origTokens: TOKENS, origCache: cache, newCache: cache };
    await refuses(() => P.getPathPatchHeadToFinalResid(model, metric, { ...inputs, origCache: none }), /getPathPatchHeadToFinalResid: origCache must be an ActivationCache/);
    await refuses(() => P.getPathPatchHeadToFinalResid(model, metric, { ...inputs, newCache: none }), /newCache must be an ActivationCache/);
    await refuses(() => P.getPathPatchHeadToFinalResid(model, metric, { ...inputs, origTokens: none }), /origTokens must be text/);
    await refuses(() => P.getPathPatchHeadToFinalResid(model, metric, none), /third argument must be an options object/);
    await refuses(() => P.getPathPatchHeadToFinalResid(model, none, inputs), /metric must be a function/);
    const r = { ...inputs, receivers: [[2, 1]] as P.HeadRef[], receiverInput: "v" as const };
    await refuses(() => P.getPathPatchHeadToHeads(model, metric, { ...r, origCache: none }), /getPathPatchHeadToHeads: origCache/);
    await refuses(() => P.getPathPatchHeadToHeads(model, metric, { ...r, receivers: none }), /receivers must list at least one receiver head/);
    await refuses(() => P.getPathPatchHeadToHeads(model, metric, { ...r, receiverInput: "z" as never }), /receiverInput must be "q", "k" or "v"/);
    await refuses(() => P.getPathPatchHeadToHeads(model, metric, { ...r, receivers: [[1, 9]] }), /receiver head \[1,9\] does not exist/);
  });

  test("ablation and metrics: how, meanCache, names, baseline, logits", async () => {
    await refuses(() => P.getAblationScores(model, TOKENS, metric, { mode: "mean" } as never), /getAblationScores: how\.meanCache must be an ActivationCache/);
    await refuses(() => P.getAblationScores(model, TOKENS, metric, none), /how must be an options object/);
    await refuses(() => P.getAblationScores(model, TOKENS, metric, { mode: "half" } as never), /how\.mode must be "zero" or "mean"/);
    await refuses(() => P.headAblationHooks([[0, 1]], { mode: "mean" } as never), /headAblationHooks: how\.meanCache/);
    await refuses(() => P.headAblationHooks(none, { mode: "zero" }), /heads must be a list of \[layer, head\] pairs/);
    await refuses(() => P.activationAblationHooks(["blocks.0.hook_mlp_out", 3 as never], { mode: "zero" }), /names must be a list of hook names/);
    await refuses(() => P.normalizedMetric(metric, { clean: 1 } as never), /baseline\.corrupted must be a finite number/);
    await refuses(() => P.normalizedMetric(none, { clean: 1, corrupted: 0 }), /normalizedMetric: metric must be a function/);
    await refuses(() => P.logitDiff(none, ANSWERS), /logitDiff: logits must be a tensor/);
    const logits = await model.forward(TOKENS);
    await refuses(() => P.logitDiff(logits, none), /answerTokens must be \[batch, 2\]/);
    logits.dispose();
  });
});
