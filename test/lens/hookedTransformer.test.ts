/**
 * Invariants of the hooked model that need no fixture values: attention patterns, residual wiring, hooks
 * (no-op, replacement, lifecycle, errors), weight processing preserving log-probs, start/stop layers, memory.
 * Models: the committed tiny checkpoints (test/fixtures/README.md). On every backend under test (test/backends.ts).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { canonicalHookOrder, HookedTransformer, setBackend, type HookFn } from "../../src/lens/index";
import { expectAllClose } from "../helpers";
import { TOLERANCES } from "../tolerances";
import { FAMILIES, loadReference } from "../fixtures";
import { expectNoLeak, memorySnapshot, TEST_BACKENDS } from "../backends";

for (const backend of TEST_BACKENDS) for (const family of FAMILIES) {
  describe(`HookedTransformer invariants (${family} on ${backend})`, () => {
    let model: HookedTransformer;
    let raw: HookedTransformer;
    let tokens: number[][];

    before(async () => {
      await setBackend(backend);
      const ref = await loadReference(family);
      tokens = ref.tokens;
      model = await HookedTransformer.fromPretrained(ref.folder);
      raw = await HookedTransformer.fromPretrainedNoProcessing(ref.folder);
    });
    after(() => {
      model.dispose();
      raw.dispose();
    });

    test("pattern rows sum to 1 and are 0 above the diagonal", async () => {
      const [logits, cache] = await model.runWithCache(tokens, { namesFilter: (n) => n.endsWith("hook_pattern") });
      assert.equal(cache.size, model.cfg.nLayers);
      for (const p of cache.values()) {
        const [b, h, q, k] = p.shape;
        const v = await p.data();
        for (let i = 0; i < b * h * q; i++) {
          let sum = 0;
          for (let j = 0; j < k; j++) {
            const x: number = v[i * k + j];
            if (j > i % q) assert.equal(x, 0, "attention above the diagonal");
            sum += x;
          }
          assert.ok(Math.abs(sum - 1) < TOLERANCES.scalarReduced.atol, `row sum ${sum}`);
        }
      }
      cache.dispose();
      logits.dispose();
    });

    test("resid_post[l] equals resid_pre[l+1], and cache keys follow canonical firing order", async () => {
      const [logits, cache] = await model.runWithCache(tokens);
      assert.deepEqual(cache.keys(), canonicalHookOrder(model.cfg));
      for (let l = 0; l + 1 < model.cfg.nLayers; l++) {
        await expectAllClose(cache.get("resid_post", l), cache.get("resid_pre", l + 1), TOLERANCES.exact, `layer ${l}`);
      }
      cache.dispose();
      logits.dispose();
    });

    test("no-op hooks on every point give exactly forward's logits, and each hook fires once per forward", async () => {
      const plain = await model.forward(tokens);
      const counts = new Map<string, number>();
      const observe: HookFn = (_act, hook) => void counts.set(hook.name, (counts.get(hook.name) ?? 0) + 1);
      const hooked = await model.runWithHooks(tokens, { fwdHooks: [[() => true, observe]] });
      await expectAllClose(hooked, plain, TOLERANCES.exact, "logits with no-op hooks");
      assert.deepEqual([...counts.keys()], canonicalHookOrder(model.cfg));
      assert.ok([...counts.values()].every((c) => c === 1));
      assert.equal(model.hooks.count(), 0, "hooks removed after runWithHooks");
      tf.dispose([plain, hooked]);
    });

    test("a replacing hook changes what follows: zeroing resid_post of the last block leaves only biases", async () => {
      const last = model.cfg.nLayers - 1;
      const zero = await model.runWithHooks(tokens, { fwdHooks: [[`blocks.${last}.hook_resid_post`, (a) => tf.zerosLike(a)]] });
      // ln_final of a zero residual is 0 (LNPre), so every logit is b_U.
      const expected = tf.tidy(() => model.b_U.reshape([1, 1, -1]).tile([tokens.length, tokens[0].length, 1]));
      await expectAllClose(zero, expected, TOLERANCES.float32Invariant, "logits from a zeroed residual");
      tf.dispose([zero, expected]);
    });

    test("hook context carries name and layer; withHooks removes its hooks even when the body throws", async () => {
      const seen: Array<[string, number | undefined]> = [];
      await model.withHooks([["blocks.1.attn.hook_z", (_a, h) => void seen.push([h.name, h.layer])]], async () => {
        tf.dispose(await model.forward(tokens));
        assert.equal(model.hooks.count(), 1);
      });
      assert.deepEqual(seen, [["blocks.1.attn.hook_z", 1]]);
      assert.equal(model.hooks.count(), 0);
      await assert.rejects(model.withHooks([["hook_embed", () => undefined]], async () => { throw new Error("body failed"); }), /body failed/);
      assert.equal(model.hooks.count(), 0);
    });

    test("a throwing hook propagates, leaves no hooks and no tensors behind", async () => {
      tf.dispose(await model.forward(tokens)); // builds the derived weights once
      const before = await memorySnapshot();
      await assert.rejects(model.runWithHooks(tokens, { fwdHooks: [["blocks.0.hook_attn_out", () => { throw new Error("hook boom"); }]] }), /hook boom/);
      await assert.rejects(model.runWithCache(tokens, { fwdHooks: [["blocks.1.hook_resid_pre", () => { throw new Error("boom2"); }]] }), /boom2/);
      assert.equal(model.hooks.count(), 0);
      await expectNoLeak(before, "throwing hooks");
    });

    test("wrong-shaped hook result and unknown hook names are clear errors", async () => {
      await assert.rejects(
        model.runWithHooks(tokens, { fwdHooks: [["blocks.0.attn.hook_pattern", (a) => a.sum(-1)]] }),
        /blocks\.0\.attn\.hook_pattern.*\[2,4,9\].*\[2,4,9,9\]/,
      );
      await assert.rejects(model.runWithHooks(tokens, { fwdHooks: [["blocks.0.attn.hook_patern", () => undefined]] }), /unknown hook name.*hook_pattern/);
      assert.equal(model.hooks.count(), 0);
    });

    test("permanent hooks survive resetHooks until includingPermanent", async () => {
      let calls = 0;
      model.addHook("hook_embed", () => void calls++, { isPermanent: true });
      model.addHook("hook_embed", () => void calls++);
      model.resetHooks();
      tf.dispose(await model.forward(tokens));
      assert.equal(calls, 1);
      model.resetHooks({ includingPermanent: true });
      assert.equal(model.hooks.count(), 0);
    });

    test("weight processing leaves log-probs and loss unchanged", async () => {
      const a = await model.forward(tokens);
      const b = await raw.forward(tokens);
      const [la, lb] = tf.tidy(() => [tf.logSoftmax(a), tf.logSoftmax(b)]);
      await expectAllClose(la, lb, TOLERANCES.float32Invariant, "log-probs processed vs raw");
      const ref = await loadReference(family);
      for (const opt of ["foldLn", "centerWritingWeights", "centerUnembed", "foldValueBiases"] as const) {
        const one = await HookedTransformer.fromPretrained(ref.folder, {
          foldLn: opt === "foldLn", centerWritingWeights: opt === "centerWritingWeights",
          centerUnembed: opt === "centerUnembed", foldValueBiases: opt === "foldValueBiases",
        });
        const logits = await one.forward(tokens);
        const lp = tf.tidy(() => tf.logSoftmax(logits));
        await expectAllClose(lp, lb, TOLERANCES.float32Invariant, `log-probs with only ${opt}`);
        tf.dispose([logits, lp]);
        one.dispose();
      }
      tf.dispose([a, b, la, lb]);
    });

    test("stopAtLayer returns resid_pre of that block; startAtLayer resumes from it", async () => {
      const [logits, cache] = await model.runWithCache(tokens, { namesFilter: "blocks.1.hook_resid_pre" });
      const resid = await model.forward(tokens, { stopAtLayer: 1 });
      await expectAllClose(resid, cache.get("resid_pre", 1), TOLERANCES.exact, "stopAtLayer 1");
      const resumed = await model.forward(resid, { startAtLayer: 1 });
      await expectAllClose(resumed, logits, TOLERANCES.exact, "startAtLayer 1");
      const loss = await model.forward(resid, { startAtLayer: 1, returnType: "loss", tokens });
      const full = await model.forward(tokens, { returnType: "loss" });
      await expectAllClose(loss, full, TOLERANCES.exact, "loss from startAtLayer");
      const embedOnly = await model.forward(tokens, { stopAtLayer: 0 });
      assert.deepEqual(embedOnly.shape, [2, 9, model.cfg.dModel]);
      await assert.rejects(model.forward(tokens, { stopAtLayer: 1, returnType: "loss" }), /stopAtLayer/);
      tf.dispose([logits, resid, resumed, loss, full, embedOnly]);
      cache.dispose();
    });

    test("left padding with an attention mask gives the unpadded logits and loss at real positions", async () => {
      const real = tokens[1].slice(0, 6);
      const padded = [tokens[0], [7, 7, 7, ...real]];
      const attentionMask = [Array(9).fill(1), [0, 0, 0, 1, 1, 1, 1, 1, 1]];
      const both = await model.forward(padded, { attentionMask });
      const alone = await model.forward([real]);
      const first = await model.forward([tokens[0]]);
      const rows = tf.tidy(() => [both.slice([1, 3, 0], [1, 6, -1]), both.slice([0, 0, 0], [1, 9, -1])]);
      await expectAllClose(rows[0], alone, TOLERANCES.float32Invariant, "left-padded row");
      await expectAllClose(rows[1], first, TOLERANCES.float32Invariant, "unpadded row in the same batch");
      const lossPadded = await model.forward(padded, { attentionMask, returnType: "loss", lossPerToken: true });
      const lossAlone = await model.forward([real], { returnType: "loss", lossPerToken: true });
      const tail = tf.tidy(() => lossPadded.slice([1, 3], [1, 5]));
      await expectAllClose(tail, lossAlone, TOLERANCES.float32Invariant, "per-token loss of the padded row");
      tf.dispose([both, alone, first, ...rows, lossPadded, lossAlone, tail]);
    });

    test("left padding with startAtLayer: a residual input takes the attention mask (and checks its shape)", async () => {
      const real = tokens[1].slice(0, 6);
      const padded = [tokens[0], [7, 7, 7, ...real]];
      const attentionMask = [Array(9).fill(1), [0, 0, 0, 1, 1, 1, 1, 1, 1]];
      const full = await model.forward(padded, { attentionMask });
      const resid = await model.forward(padded, { attentionMask, stopAtLayer: 1 });
      const resumed = await model.forward(resid, { startAtLayer: 1, attentionMask });
      await expectAllClose(resumed, full, TOLERANCES.exact, "resumed at layer 1 with the mask");
      // Without the mask the padded row attends to its pads (and, with rotary, counts them as positions): it differs.
      const unmasked = await model.forward(resid, { startAtLayer: 1 });
      const gap = tf.tidy(() => unmasked.sub(full).abs().max());
      assert.ok((await gap.data())[0]! > 1e-3, "the mask changes the padded row");
      const lossFull = await model.forward(padded, { attentionMask, returnType: "loss", lossPerToken: true });
      const lossResumed = await model.forward(resid, { startAtLayer: 1, attentionMask, tokens: padded, returnType: "loss", lossPerToken: true });
      await expectAllClose(lossResumed, lossFull, TOLERANCES.exact, "per-token loss resumed at layer 1");
      await assert.rejects(model.forward(resid, { startAtLayer: 1, attentionMask: [[1, 1]] }), /attentionMask has shape \[1,2\] but the tokens are \[2,9\]/);
      tf.dispose([full, resid, resumed, unmasked, gap, lossFull, lossResumed]);
    });

    test("tf.memory().numTensors is unchanged over many rounds of forward, runWithHooks and runWithCache", async () => {
      const warm = await model.forward(tokens); // builds the derived weights once
      warm.dispose();
      const before = await memorySnapshot();
      for (let i = 0; i < 20; i++) {
        tf.dispose(await model.forward(tokens, { returnType: i % 2 ? "loss" : "logits" }));
        const both = await model.forward(tokens, { returnType: "both" });
        tf.dispose([both.logits, both.loss]);
        tf.dispose(await model.runWithHooks(tokens, { fwdHooks: [["blocks.0.hook_resid_post", (a) => a.mul(2)]] }));
        const ids = tf.tensor2d(tokens, undefined, "int32");
        const [out, cache] = await model.runWithCache(ids, { returnType: "both" });
        ids.dispose();
        cache.dispose();
        tf.dispose([out.logits, out.loss]);
      }
      await expectNoLeak(before, "20 rounds of forward, runWithHooks and runWithCache");
    });
  });
}
