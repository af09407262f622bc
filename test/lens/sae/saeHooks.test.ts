/**
 * SAE hook points (`<hook>.hook_sae_*`) through runWithCacheWithSaes on the tiny-gpt2 fixture, for every
 * architecture: hook_sae_input equals the clean hook activation, acts_post equals sae.encode(input), input = recons +
 * error, the output with the error term is the input (clean logits); standard: acts_post = ReLU(acts_pre). Hooks on
 * acts_post intervene (zeroing a latent equals the `edits` ablation); names filters; spliceMetrics and the cached
 * run leave no tensors behind.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { HookedTransformer } from "../../../src/lens/index";
import { SparseAutoencoder } from "../../../src/lens/sae/sae";
import { SAE_HOOK_POINTS } from "../../../src/lens/sae/saeHooks";
import { runWithCacheWithSaes, runWithSaes, spliceMetrics } from "../../../src/lens/sae/splice";
import { loadReference } from "../../fixtures";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";

const HOOK = "blocks.1.hook_resid_pre";
let model: HookedTransformer;
let tokens: tf.Tensor2D;
before(async () => {
  model = await HookedTransformer.fromPretrained((await loadReference("tiny-gpt2")).folder);
  tokens = tf.tensor2d([[0, 5, 6, 7, 8, 9], [0, 12, 13, 14, 15, 16]], [2, 6], "int32");
});
after(() => {
  tokens.dispose();
  model.dispose();
});

function randomSae(arch: "standard" | "topk" | "jumprelu" | "gated", seed: number): SparseAutoencoder {
  const sae = new SparseAutoencoder({ dIn: 64, dSae: 48, architecture: arch, k: 5, rescaleActsByDecoderNorm: true, hookName: HOOK, seed });
  let s = seed * 10;
  for (const v of Object.values(sae.params)) tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.2, "float32", s++)));
  if (arch === "jumprelu") tf.tidy(() => sae.params.log_threshold!.assign(tf.fill([48], Math.log(0.1))));
  return sae;
}

test("SAE hook points: input = clean act, acts_post = encode(input), input = recons + error, output = input; all architectures", async () => {
  const [cleanLogits, cleanCache] = await model.runWithCache(tokens, { namesFilter: [HOOK], prependBos: false });
  for (const [i, arch] of (["standard", "topk", "jumprelu", "gated"] as const).entries()) {
    const sae = randomSae(arch, i + 1);
    const [logits, cache] = await runWithCacheWithSaes(model, tokens, [sae], { useErrorTerm: true, prependBos: false });
    for (const p of SAE_HOOK_POINTS) assert.ok(cache.has(`${HOOK}.${p}`), `${arch}: ${p} cached`);
    const get = (p: string) => cache.get(`${HOOK}.${p}`);
    assert.deepEqual(get("hook_sae_acts_post").shape, [2, 6, 48]);
    await expectAllClose(get("hook_sae_input"), cleanCache.get(HOOK), TOLERANCES.exact, `${arch} input`);
    const enc = await sae.encode(get("hook_sae_input"));
    await expectAllClose(get("hook_sae_acts_post"), enc, TOLERANCES.float32Invariant, `${arch} acts_post = encode(input)`);
    const fires = tf.tidy(() => tf.notEqual(enc, 0).cast("float32").mean());
    const rate = (await fires.data())[0]!;
    assert.ok(rate > 0 && rate < 1, `${arch}: some latents fire (${rate})`);
    const sum = tf.tidy(() => get("hook_sae_recons").add(get("hook_sae_error")));
    await expectAllClose(sum, get("hook_sae_input"), TOLERANCES.float32Invariant, `${arch} input = recons + error`);
    await expectAllClose(get("hook_sae_output"), get("hook_sae_input"), TOLERANCES.float32Invariant, `${arch} output`);
    await expectAllClose(cache.get(HOOK), get("hook_sae_output"), TOLERANCES.exact, `${arch}: the model hook is cached after splicing`);
    await expectAllClose(logits, cleanLogits, TOLERANCES.float32Invariant, `${arch} logits`);
    if (arch === "standard") {
      const relu = tf.tidy(() => tf.relu(get("hook_sae_acts_pre")));
      await expectAllClose(get("hook_sae_acts_post"), relu, TOLERANCES.exact, "standard: acts_post = ReLU(acts_pre)");
      relu.dispose();
    }
    tf.dispose([logits, enc, fires, sum]);
    cache.dispose();
    sae.dispose();
  }
  tf.dispose(cleanLogits as tf.Tensor);
  cleanCache.dispose();
});

test("hooks on hook_sae_acts_post intervene like edits; names filters; no tensors leak", async () => {
  const sae = randomSae("standard", 7);
  const beforeN = tf.memory().numTensors;
  const post = `${HOOK}.hook_sae_acts_post`;
  const mask = tf.tensor1d(Array.from({ length: 48 }, (_, j) => (j === 3 || j === 10 ? 0 : 1)));
  const viaHook = await runWithSaes(model, tokens, [sae], { useErrorTerm: true, prependBos: false, saeHooks: [[post, (f) => f.mul(mask)]] });
  const viaEdit = await runWithSaes(model, tokens, [sae], { useErrorTerm: true, prependBos: false, edits: [{ ablate: [3, 10] }] });
  await expectAllClose(viaHook, viaEdit, TOLERANCES.exact, "hook ablation = edit ablation");
  const [logits, cache] = await runWithCacheWithSaes(model, tokens, [sae], { namesFilter: [post, "blocks.0.hook_resid_post"], prependBos: false });
  assert.deepEqual(cache.keys().sort(), ["blocks.0.hook_resid_post", post].sort());
  const [l2, c2] = await runWithCacheWithSaes(model, tokens, [sae], { namesFilter: (n) => n.includes("hook_sae_"), prependBos: false });
  assert.deepEqual(c2.keys(), SAE_HOOK_POINTS.filter((p) => p !== "hook_sae_error").map((p) => `${HOOK}.${p}`), "no error point without the error term; firing order");
  // The error term stays the clean act − decode(encode(act)) when a hook edits the input or the pre-activations
  // (the splice reuses the latents it computed only when no hook replaced them).
  const errName = `${HOOK}.hook_sae_error`;
  const [l3, c3] = await runWithCacheWithSaes(model, tokens, [sae], { useErrorTerm: true, prependBos: false, namesFilter: [errName, `${HOOK}.hook_sae_input`] });
  for (const point of ["hook_sae_input", "hook_sae_acts_pre"]) {
    const [l4, c4] = await runWithCacheWithSaes(model, tokens, [sae], { useErrorTerm: true, prependBos: false, namesFilter: [errName], saeHooks: [[`${HOOK}.${point}`, (a) => a.add(0.5)]] });
    await expectAllClose(c4.get(errName), c3.get(errName), TOLERANCES.exact, `clean error with a hook on ${point}`);
    l4.dispose();
    c4.dispose();
  }
  tf.dispose(l3);
  c3.dispose();
  await assert.rejects(runWithCacheWithSaes(model, tokens, [sae], { namesFilter: [`${HOOK}.hook_sae_wobbly`] }), /neither a model hook nor an SAE hook point/);
  await assert.rejects(runWithSaes(model, tokens, [sae, sae]), /two SAEs read/);
  tf.dispose([viaHook, viaEdit, logits, l2, mask]);
  cache.dispose();
  c2.dispose();
  assert.equal(tf.memory().numTensors, beforeN, "no tensor leak");
  const m0 = tf.memory().numTensors;
  const m = await spliceMetrics(model, sae, tokens);
  assert.ok(Number.isFinite(m.ceLossScore) && Number.isFinite(m.klDivScore));
  assert.equal(tf.memory().numTensors, m0, "spliceMetrics leaves no tensors behind");
  sae.dispose();
});
