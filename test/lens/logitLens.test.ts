/**
 * The logit lens: accumulatedResid({ applyLn: true }) re-runs ln_final on each residual, so its last row (final_post)
 * unembedded must give the model's own logits — on unprocessed models too, where ln_final has a weight and bias.
 */
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { HookedTransformer, setBackend } from "../../src/lens/index";
import { expectAllClose } from "../helpers";
import { TOLERANCES } from "../tolerances";
import { FAMILIES, loadReference } from "../fixtures";

for (const family of FAMILIES) {
  for (const processed of [false, true]) {
    test(`logit lens of final_post reproduces the logits (${family}, ${processed ? "processed" : "unprocessed"})`, async () => {
      await setBackend("cpu");
      const ref = await loadReference(family);
      const load = processed ? HookedTransformer.fromPretrained : HookedTransformer.fromPretrainedNoProcessing;
      const model = await load(ref.folder);
      const [logits, cache] = await model.runWithCache(ref.tokens);
      const lens = tf.tidy(() => {
        const stack = cache.accumulatedResid({ applyLn: true }); // [layers + 1, batch, pos, dModel]
        const last = stack.slice([stack.shape[0] - 1], [1]).squeeze([0]);
        const [b, p, d] = last.shape;
        return last.reshape([b * p, d]).matMul(model.W_U).add(model.b_U).reshape(logits.shape);
      });
      await expectAllClose(lens, logits, TOLERANCES.float32Invariant, "unembedded final_post");
      tf.dispose([lens, logits]);
      cache.dispose();
      model.dispose();
    });
  }
}
