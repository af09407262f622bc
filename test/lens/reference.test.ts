/**
 * The model against the independent float64 numpy reference (scripts/reference/make_fixtures.py → test/fixtures):
 * every hook in firing order, logits and loss, for GPT-2 and GPT-NeoX, unprocessed and with TransformerLens's weight
 * processing, with `useAttnResult` on and off, on every backend under test (test/backends.ts: cpu, wasm; webgpu with
 * LENS_TEST_WEBGPU). Reports the first divergent hook.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { HookedTransformer, setBackend } from "../../src/lens/index";
import { compareClose, expectAllClose } from "../helpers";
import { TOLERANCES } from "../tolerances";
import { FAMILIES, loadReference, UNEMBED_HOOKS } from "../fixtures";
import { memorySnapshot, expectNoLeak, TEST_BACKENDS } from "../backends";

const maxDiffs: string[] = [];

for (const backend of TEST_BACKENDS) {
  for (const family of FAMILIES) {
    for (const variant of ["raw", "processed"] as const) {
      describe(`${family} ${variant} on ${backend}`, () => {
        for (const useAttnResult of [true, false]) test(`every hook, in firing order, matches the reference (useAttnResult ${useAttnResult})`, async () => {
          await setBackend(backend);
          const ref = await loadReference(family);
          const load = variant === "raw" ? HookedTransformer.fromPretrainedNoProcessing : HookedTransformer.fromPretrained;
          const before = await memorySnapshot();
          const model = await load(ref.folder, { useAttnResult });
          const [logits, cache] = await model.runWithCache(ref.tokens);
          try {
            const expectedOrder = [...ref.hookOrder, ...UNEMBED_HOOKS];
            // attn.hook_result fires between hook_z and hook_attn_out when useAttnResult is on.
            if (useAttnResult) for (const extra of ref.extraHooks) expectedOrder.splice(expectedOrder.indexOf(extra.replace("hook_result", "hook_z")) + 1, 0, extra);
            assert.deepEqual(cache.keys(), expectedOrder);
            let worst = 0;
            for (const name of expectedOrder) {
              if ((UNEMBED_HOOKS as readonly string[]).includes(name)) continue; // not in the reference: checked below
              const actual = cache.get(name);
              const expected = ref.tensor(`${variant}/${name}`);
              assert.deepEqual(actual.shape, expected.shape, `${name}: shape`);
              const r = compareClose(await actual.data(), await expected.data(), TOLERANCES.activations);
              expected.dispose();
              assert.ok(r.ok, `first divergence at ${name} (max |Δ| = ${r.maxAbs.toExponential(2)}: ${r.actual} vs ${r.expected})`);
              worst = Math.max(worst, r.maxAbs);
            }
            const expectedLogits = ref.tensor(`${variant}/logits`);
            const dl = await expectAllClose(logits, expectedLogits, TOLERANCES.logits, "logits");
            await expectAllClose(cache.get("unembed.hook_out"), logits, TOLERANCES.exact, "unembed.hook_out = the logits");
            // unembed.hook_in = ln_final's output: hook_normalized·w + b (LN), or hook_normalized itself (LNPre).
            const lnOut = tf.tidy(() => {
              const n = cache.get("ln_final.hook_normalized");
              return model.cfg.normalizationType === "LN" ? n.mul(model.param("ln_final.w")).add(model.param("ln_final.b")) : n.clone();
            });
            await expectAllClose(cache.get("unembed.hook_in"), lnOut, TOLERANCES.float32Invariant, "unembed.hook_in = ln_final output");
            lnOut.dispose();
            expectedLogits.dispose();
            maxDiffs.push(`${backend} ${family} ${variant} useAttnResult=${useAttnResult}: activations max |Δ| ${worst.toExponential(2)}, logits ${dl.toExponential(2)}`);
          } finally {
            cache.dispose();
            logits.dispose();
            model.dispose();
          }
          await expectNoLeak(before, "load, runWithCache and dispose");
        });

        test("loss and per-token loss match the reference", async () => {
          await setBackend(backend);
          const ref = await loadReference(family);
          const load = variant === "raw" ? HookedTransformer.fromPretrainedNoProcessing : HookedTransformer.fromPretrained;
          const model = await load(ref.folder);
          const { logits, loss } = await model.forward(ref.tokens, { returnType: "both" });
          const perToken = await model.forward(ref.tokens, { returnType: "loss", lossPerToken: true });
          await expectAllClose(loss, ref.values(`${variant}/loss`)[0], TOLERANCES.loss, "loss");
          await expectAllClose(perToken, ref.values(`${variant}/loss_per_token`), TOLERANCES.loss, "loss per token");
          assert.deepEqual(perToken.shape, [2, 8]);
          tf.dispose([logits, loss, perToken]);
          model.dispose();
        });
      });
    }
  }
}

after(() => console.log(`reference max differences:\n  ${maxDiffs.join("\n  ")}`));
