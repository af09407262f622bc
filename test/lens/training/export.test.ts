import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { resolveConfig } from "../../../src/lens/config";
import { tinyTokenizerConfig, tinyTokenizerJson } from "../../../src/lens/data/tinyTokenizer";
import { vocabulary } from "../../../src/lens/data/vocab";
import { runModel } from "../../../src/lens/forward";
import { HookedTransformer } from "../../../src/lens/hookedTransformer";
import { HookRegistry } from "../../../src/lens/hookPoint";
import { writeSafetensors } from "../../../src/lens/loading/safetensors";
import { disposeParams, hfGpt2Config, initParams, toHfGpt2, trainableWeights } from "../../../src/lens/training/params";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";

for (const attnOnly of [true, false]) {
  test(`trained parameters saved as a GPT-2 checkpoint load back with the same logits (attnOnly=${attnOnly})`, async () => {
    const cfg = resolveConfig({
      modelName: "t", architecture: "gpt2", nLayers: 2, dModel: 16, nHeads: 4, dMlp: 32, nCtx: 12, dVocab: vocabulary().length,
      actFn: "gelu_new", eps: 1e-5, normalizationType: "LN", positionalEmbeddingType: "standard", rotaryBase: 10000,
      parallelAttnMlp: false, defaultPrependBos: true, attnOnly,
    });
    const params = initParams(cfg, 11);
    for (const v of params.values()) if (v.trainable) tf.tidy(() => v.assign(v.add(tf.randomNormal(v.shape, 0, 0.3, "float32", 2))));
    const dir = mkdtempSync(path.join(os.tmpdir(), "lens-export-"));
    try {
      await writeSafetensors(path.join(dir, "model.safetensors"), await toHfGpt2(params, cfg));
      writeFileSync(path.join(dir, "config.json"), JSON.stringify(hfGpt2Config(cfg)));
      writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(tinyTokenizerJson()));
      writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(tinyTokenizerConfig()));
      const text = "When Mary and John went to the store , John gave";
      const model = await HookedTransformer.fromPretrainedNoProcessing(dir);
      const processed = await HookedTransformer.fromPretrained(dir);
      assert.equal(model.cfg.attnOnly, attnOnly);
      const names = model.hookNames();
      assert.equal(names.some((n) => n.includes("mlp") || n.includes("ln2") || n.includes("resid_mid")), !attnOnly, "MLP/ln2/resid_mid hooks exist iff the model has MLPs");
      const ids = [[0, ...model.tokenizer!.encode(text)]];
      const expected = tf.tidy(() => runModel(trainableWeights(params), cfg, new HookRegistry(() => []), { tokens: tf.tensor2d(ids, undefined, "int32") }));
      const got = await model.forward(text);
      await expectAllClose(got, expected, TOLERANCES.logits, "logits after save/load");
      const lp = (t: tf.Tensor) => tf.tidy(() => tf.logSoftmax(t, -1));
      const gotP = await processed.forward(text);
      const [a, b] = [lp(gotP), lp(expected)];
      await expectAllClose(a, b, TOLERANCES.float32Invariant, "log-probs after weight processing");
      tf.dispose([expected, got, gotP, a, b]);
      model.dispose();
      processed.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      disposeParams(params);
    }
  });
}
