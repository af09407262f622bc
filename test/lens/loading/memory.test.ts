/**
 * Memory you can see: `model.weightBytes` against the state dict's own sizes, `weightBytesOf(cfg)` (from the config
 * alone) against the loaded model, and `estimateRunWithCacheBytes` against a real `runWithCache`: the cache part must
 * equal the cached tensors' bytes exactly (tolerance 0: it is a sum of shapes), for several filters; its derived-weight
 * part must match what the first forward keeps within 10%. (tfjs's own byte counts, tf.memory() and tf.profile, count a
 * reshaped view as new bytes, so they cannot check the forward's transient part; bench/large.ts reports peak RSS.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { estimateRunWithCacheBytes, HookedTransformer, setBackend, weightBytesOf } from "../../../src/lens/index";
import { loadPretrained } from "../../../src/lens/loading/fromPretrained";
import { TEST_BACKENDS } from "../../backends";
import { GPT2_FIXTURE, NEOX_FIXTURE } from "./checkpoints";

const FILTERS: Array<[string, Parameters<typeof estimateRunWithCacheBytes>[2]]> = [
  ["everything", {}],
  ["one name", { namesFilter: "blocks.0.attn.hook_pattern" }],
  ["a list", { namesFilter: ["hook_embed", "blocks.1.hook_resid_post", "blocks.2.attn.hook_z"] }],
  ["a predicate", { namesFilter: (n: string) => n.endsWith("hook_resid_post") || n.includes("mlp.hook_") }],
];

for (const backend of TEST_BACKENDS) {
  for (const [family, folder] of [["GPT-2", GPT2_FIXTURE], ["GPT-NeoX", NEOX_FIXTURE]] as const) {
    test(`[${backend}] ${family}: weightBytes and estimateRunWithCacheBytes against the real cache`, async () => {
      await setBackend(backend);
      const loaded = await loadPretrained(folder, { progress: false, useAttnResult: true });
      let own = 0;
      for (const t of loaded.stateDict.values()) own += t.size * 4;
      assert.equal(loaded.weightBytes, own);
      assert.equal(loaded.backend.name, backend);
      const model = new HookedTransformer(loaded.cfg, loaded.stateDict, loaded.tokenizer);
      try {
        assert.equal(model.weightBytes, own);
        assert.equal(weightBytesOf(model.cfg), model.weightBytes, "the config predicts the loaded weights exactly");
        const tokens = [[1, 5, 9, 3, 7, 2, 8], [4, 4, 6, 1, 0, 2, 3]];
        const start = tf.memory().numBytes;
        (await model.forward(tokens)).dispose();
        const kept = tf.memory().numBytes - start;
        const derived = estimateRunWithCacheBytes(model, [2, 7]).derivedWeightBytes;
        assert.ok(Math.abs(kept - derived) <= 0.1 * kept, `the first forward kept ${kept} B, the estimate says ${derived} B`);
        for (const [label, opts] of FILTERS) {
          const est = estimateRunWithCacheBytes(model, [2, 7], opts);
          const [logits, cache] = await model.runWithCache(tokens, opts);
          let bytes = 0;
          for (const t of cache.values()) bytes += t.size * 4;
          assert.ok(est.cachedHooks > 0);
          assert.equal(bytes, est.cacheBytes, `${label}: cache bytes`);
          assert.equal(cache.size, est.cachedHooks, `${label}: cached hooks`);
          assert.equal(est.totalBytes, est.cacheBytes + est.forwardBytes + est.derivedWeightBytes);
          logits.dispose();
          cache.dispose();
        }
      } finally {
        model.dispose();
      }
    });
  }
}

test("estimateRunWithCacheBytes from a config: gpt2-xl's full cache for 1×1024 tokens, by hand", () => {
  // gpt2-xl: 48 layers, d_model 1600, 25 heads of 64, d_mlp 6400 (its config.json on the Hugging Face Hub).
  const cfg = { nLayers: 48, dModel: 1600, nHeads: 25, dHead: 64, dMlp: 6400, dVocab: 50257, dVocabOut: 50257, nCtx: 1024,
    positionalEmbeddingType: "standard", normalizationType: "LNPre", attnOnly: false, parallelAttnMlp: false, useAttnResult: false } as never;
  const P = 1024;
  // Per layer: 5 residual-sized hooks (resid_pre/mid/post, attn_out, mlp_out) + 2 ln.hook_normalized; q, k, v, z;
  // scores and pattern; mlp pre/post; 2 ln.hook_scale. Plus hook_embed, hook_pos_embed, ln_final (scale, normalized).
  const perLayer = 7 * P * 1600 + 4 * P * 1600 + 2 * 25 * P * P + 2 * P * 6400 + 2 * P;
  const expected = 4 * (48 * perLayer + 3 * P * 1600 + P);
  const est = estimateRunWithCacheBytes(cfg, [1, 1024]);
  assert.equal(est.cacheBytes, expected);
  assert.ok(est.cacheBytes > 13e9, "gpt2-xl's full cache of 1024 tokens is over 13 GB: notebooks should warn first");
  assert.throws(() => estimateRunWithCacheBytes(cfg, [1]), /tokensShape must be \[batch, pos\]/);
});
