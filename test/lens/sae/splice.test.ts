/**
 * ActivationStore against a direct runWithCache of the same packed sequences; SAE splicing: the error term restores
 * the clean logits exactly, an exactly-reconstructing SAE (W_enc = [I, −I], W_dec = [I; −I], ReLU: x = ReLU(x) −
 * ReLU(−x)) scores ce_loss_score 1 and KL 0, latent edits move the output, and steering adds coeff·W_dec[i].
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { HookedTransformer } from "../../../src/lens/index";
import { ActivationStore } from "../../../src/lens/sae/activationStore";
import { SparseAutoencoder } from "../../../src/lens/sae/sae";
import { runWithSaes, spliceMetrics, steeringHook } from "../../../src/lens/sae/splice";
import { loadReference } from "../../fixtures";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";

let model: HookedTransformer;
before(async () => {
  model = await HookedTransformer.fromPretrained((await loadReference("tiny-gpt2")).folder);
});
after(() => model.dispose?.());

const HOOK = "blocks.1.hook_resid_pre";
const docs = [[5, 6, 7], [8, 9, 10, 11, 12], [13, 14], [15, 16, 17, 18, 19, 20, 21]];

test("ActivationStore: packed sequences with BOS, BOS rows dropped, rows equal the hook activations; mixing batches", async () => {
  const store = new ActivationStore(model, { hookName: HOOK, contextSize: 6, tokens: docs, storeBatchSizePrompts: 2, prependBos: true, excludeTokenIds: [0], bufferSize: 16, seed: 1 });
  const chunk = await store.nextChunk();
  // BOS = 0 (the fixture has no tokenizer): sequences [0,5,6,7,0,8], [0,9,10,11,12,0] → non-BOS positions.
  const seqs = [[0, 5, 6, 7, 0, 8], [0, 9, 10, 11, 12, 0]];
  const [out, cache] = await model.runWithCache(tf.tensor2d(seqs, [2, 6], "int32"), { namesFilter: [HOOK], prependBos: false });
  const full = await cache.get(HOOK).data();
  const keep = seqs.flat().map((t, i) => [t, i] as const).filter(([t]) => t !== 0).map(([, i]) => i);
  const expected = keep.flatMap((i) => Array.from(full.slice(i * 64, (i + 1) * 64)));
  assert.deepEqual(chunk.shape, [keep.length, 64]);
  await expectAllClose(chunk, expected, TOLERANCES.float32Invariant, "chunk rows");
  tf.dispose([chunk, out as tf.Tensor]);
  cache.dispose();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) {
    const b = await store.nextBatch(8);
    assert.deepEqual(b.shape, [8, 64]);
    b.dispose();
  }
  store.dispose();
  assert.equal(tf.memory().numTensors, before);
});

function exactSae(): SparseAutoencoder {
  const d = 64;
  const eye = tf.eye(d);
  const sae = new SparseAutoencoder({ dIn: d, dSae: 2 * d, architecture: "standard", hookName: HOOK }, {
    W_enc: tf.concat([eye, eye.neg()], 1),
    W_dec: tf.concat([eye, eye.neg()], 0),
    b_enc: tf.zeros([2 * d]),
    b_dec: tf.zeros([d]),
  });
  eye.dispose();
  return sae;
}

test("runWithSaes: error term gives the clean logits; an exact SAE scores CE 1 and KL 0; latent edits change logits; steering adds coeff·W_dec[i]", async () => {
  const tokens = tf.tensor2d([[0, 5, 6, 7, 8, 9, 10, 11], [0, 12, 13, 14, 15, 16, 17, 18]], [2, 8], "int32");
  const clean = await model.forward(tokens, { prependBos: false }) as tf.Tensor;
  const random = new SparseAutoencoder({ dIn: 64, dSae: 32, architecture: "standard", hookName: HOOK, seed: 3 });
  const withErr = await runWithSaes(model, tokens, [random], { useErrorTerm: true, prependBos: false });
  await expectAllClose(withErr, clean, TOLERANCES.float32Invariant, "error term");
  const spliced = await runWithSaes(model, tokens, [random], { prependBos: false });
  const diff = tf.tidy(() => spliced.sub(clean).abs().max());
  assert.ok((await diff.data())[0]! > 1e-3, "a random SAE changes the logits");
  const exact = exactSae();
  const m = await spliceMetrics(model, exact, tokens);
  // ceLossScore is a ratio (ce_ablation − ce_sae) / (ce_ablation − ce_clean) whose denominator is small on this random fixture: 1e-3.
  assert.ok(Math.abs(m.ceLossScore - 1) < 1e-3 && Math.abs(m.klWithSae) < TOLERANCES.scalarReduced.atol, JSON.stringify(m));
  assert.ok(m.ceWithAblation !== m.ceClean && m.klWithAblation > 1e-4, JSON.stringify(m)); // random fixture: ablation may lower CE
  const edited = await runWithSaes(model, tokens, [exact], { useErrorTerm: true, edits: [{ ablate: [0, 1, 2, 64, 65, 66] }], prependBos: false });
  const d2 = tf.tidy(() => edited.sub(clean).abs().max());
  assert.ok((await d2.data())[0]! > 1e-4, "ablating latents with the error term changes the logits");
  const act = tf.randomNormal([2, 3, 64], 0, 1, "float32", 2);
  const steered = tf.tidy(() => steeringHook(random, 5, 2.5)(act, { name: HOOK } as never) as tf.Tensor);
  const expected = tf.tidy(() => act.add(random.params.W_dec!.slice([5, 0], [1, 64]).reshape([64]).mul(2.5)));
  await expectAllClose(steered, expected, TOLERANCES.exact, "steering adds 2.5·W_dec[5]");
  tf.dispose([tokens, clean, withErr, spliced, diff, edited, d2, act, steered, expected]);
  random.dispose();
  exact.dispose();
});
