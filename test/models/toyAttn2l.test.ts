// The bundled toy-attn-2l model (data/models/toy-attn-2l, trained by `npm run train -- toy-attn-2l`) must show
// induction on repeated random tokens drawn from its non-special vocabulary, on seeds training never saw.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { test } from "node:test";
import { SPECIAL_TOKENS } from "../../src/lens/data/vocab";
import { HookedTransformer } from "../../src/lens/hookedTransformer";
import { measureInduction } from "../../src/lens/training/evaluation";
import { INDUCTION_SEQ_LEN } from "../../src/lens/training/recipes";

test("toy-attn-2l loads offline by name and is attention-only", async () => {
  const model = await HookedTransformer.fromPretrained("toy-attn-2l");
  assert.equal(model.cfg.nLayers, 2);
  assert.equal(model.cfg.attnOnly, true);
  const names = model.hookNames();
  assert.ok(names.includes("blocks.1.attn.hook_pattern"));
  assert.ok(!names.some((n) => /mlp|ln2|resid_mid/.test(n)), "no MLP, ln2 or resid_mid hooks");
  const [logits, cache] = await model.runWithCache("When Mary and John went to the store");
  assert.deepEqual(cache.keys().filter((k) => k.startsWith("blocks.0.")).at(-1), "blocks.0.hook_resid_post");
  tf.dispose(logits);
  cache.dispose();
  model.dispose();
});

for (const seed of [7, 8]) {
  test(`toy-attn-2l: induction on repeated random tokens (seed ${seed})`, async () => {
    const model = await HookedTransformer.fromPretrained("toy-attn-2l");
    tf.dispose(await model.forward([[0, 2, 3]])); // first run builds the cached derived weights (flattened W_Q/W_K/W_V/W_O, masks)
    const before = tf.memory().numTensors;
    const r = await measureInduction(model, { seqLen: INDUCTION_SEQ_LEN, batch: 10, seed, low: SPECIAL_TOKENS.length });
    assert.equal(tf.memory().numTensors, before, "measurement leaves no tensors");
    const msg = JSON.stringify(r, (k, v) => (k.endsWith("Scores") ? undefined : v));
    // chance level on the first copy: ln(dVocab − 2) ≈ 5.6 nats
    assert.ok(r.firstHalfLoss > 0.8 * Math.log(model.cfg.dVocab - 2), `first copy is unpredictable: ${msg}`);
    assert.ok(r.lossRatio <= 0.2, `second-repeat loss ≤ 20% of the first: ${msg}`);
    assert.ok(r.prevTokenScore >= 0.8, `layer-0 previous-token head: ${msg}`);
    assert.ok(r.inductionScore >= 0.6, `layer-1 induction head: ${msg}`);
    model.dispose();
  });
}
