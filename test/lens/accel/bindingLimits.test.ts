/**
 * WebGPU binding limits (accel/bindingLimits.ts): a weight or activation larger than the device's
 * maxStorageBufferBindingSize is refused before any work, with an Error giving the sizes (lens does not split tensors).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { activationBindings, checkBindings, weightBindings } from "../../../src/lens/accel/bindingLimits";
import { webgpuLimits } from "../../../src/lens/accel/dawnWebgpu";
import { resolveConfig } from "../../../src/lens/config";
import { HookedTransformer, setBackend } from "../../../src/lens/index";
import { loadReference } from "../../fixtures";
import { expectNoLeak, memorySnapshot, TEST_BACKENDS } from "../../backends";

const LAVAPIPE_BINDING = 128 * 2 ** 20; // Mesa 25 lavapipe's maxStorageBufferBindingSize

// GPT-2 small's shape (Hugging Face gpt2/config.json: n_embd 768, n_layer 12, n_head 12, vocab 50257, n_positions 1024).
const GPT2_SMALL = resolveConfig({
  modelName: "gpt2-small-shape", nLayers: 12, dModel: 768, nHeads: 12, dMlp: 3072, nCtx: 1024, dVocab: 50257,
  actFn: "gelu_new", normalizationType: "LN", positionalEmbeddingType: "standard", eps: 1e-5, defaultPrependBos: true,
} as Parameters<typeof resolveConfig>[0]);

test("checkBindings: sizes over the limit are listed with shapes and MiB; sizes under it pass", () => {
  assert.doesNotThrow(() => checkBindings([{ what: "x", shape: [1024, 1024] }], "ctx", LAVAPIPE_BINDING)); // 4 MiB
  assert.throws(
    () => checkBindings(weightBindings(GPT2_SMALL), "loading gpt2", LAVAPIPE_BINDING),
    /loading gpt2: W_E \[50257, 768\] = 147\.2 MiB; W_U \[768, 50257\] = 147\.2 MiB exceed this WebGPU device's maxStorageBufferBindingSize of 128\.0 MiB.*LENS_BACKEND=cpu/,
  );
  // 1×1024 tokens: logits 196 MiB; 4×128: 98 MiB (fits)
  assert.throws(() => checkBindings(activationBindings(GPT2_SMALL, 1, 1024), "forward", LAVAPIPE_BINDING), /logits \[1, 1024, 50257\] = 196\.3 MiB exceeds/);
  assert.doesNotThrow(() => checkBindings(activationBindings(GPT2_SMALL, 4, 128), "forward", LAVAPIPE_BINDING));
  assert.doesNotThrow(() => checkBindings(weightBindings(GPT2_SMALL), "no limit given, not on webgpu"));
});

for (const backend of TEST_BACKENDS) {
  test(`${backend}: a forward whose logits exceed the binding limit is refused before any work (webgpu), else runs`, async (t) => {
    await setBackend(backend);
    const model = await HookedTransformer.fromPretrained((await loadReference("tiny-gpt2")).folder);
    const limit = backend === "webgpu" ? webgpuLimits()?.maxStorageBufferBindingSize : undefined;
    const batch = limit === undefined ? 0 : Math.ceil(limit / (4 * 64 * 512)) + 1; // logits [batch, 64, 512] just over the limit
    try {
      if (limit === undefined || batch > 4096) return t.skip(`no binding limit to test on ${backend}`);
      const tokens = Array.from({ length: batch }, (_, b) => Array.from({ length: 64 }, (_, p) => (b * 7 + p) % 512));
      const before = await memorySnapshot();
      let fired = 0;
      const count = () => void fired++;
      await assert.rejects(model.runWithHooks(tokens, { fwdHooks: [["hook_embed", count]] }), new RegExp(`forward over \\[${batch}, 64\\] tokens: logits \\[${batch}, 64, 512\\] = [0-9.]+ MiB exceeds this WebGPU device's maxStorageBufferBindingSize`));
      await expectNoLeak(before, "refused forward");
      assert.equal(fired, 0, "refused before the model ran (no hook fired)");
      const ok = await model.forward(tokens.slice(0, 2)); // the same model still runs smaller inputs
      assert.deepEqual(ok.shape, [2, 64, 512]);
      ok.dispose();
    } finally {
      model.dispose();
    }
  });
}
