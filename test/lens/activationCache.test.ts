/**
 * ActivationCache invariants on the processed (LNPre, centred) fixture models, both families: TransformerLens short
 * names, namesFilter, removeBatchDim, and the analysis helpers checked against what the model itself cached (the
 * decompositions must sum to the residual stream, LayerNorm-scaled stacks to hook_normalized, logit attributions to
 * the logits), per-head results against the independent numpy reference, and tensor bookkeeping. On every backend
 * under test (test/backends.ts).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { ActivationCache, HookedTransformer, setBackend, type NamesFilter } from "../../src/lens/index";
import { expectNoLeak, memorySnapshot, TEST_BACKENDS } from "../backends";
import { expectAllClose } from "../helpers";
import { TOLERANCES, type Tolerance } from "../tolerances";
import { FAMILIES, loadReference, UNEMBED_HOOKS, type Reference } from "../fixtures";

const ACT = TOLERANCES.activations;
const INV = TOLERANCES.float32Invariant;
const EXACT = TOLERANCES.exact;

/** Component `i` of a stack (new tensor). */
const row = (stack: tf.Tensor, i: number) => tf.tidy(() => tf.gather(stack, i).reshape(stack.shape.slice(1)));
/** Sums a stack over its components and checks it against `expected`, freeing what it made. */
async function expectSumsTo(stack: tf.Tensor, expected: tf.Tensor | number[], tol: Tolerance, label: string): Promise<void> {
  const s = stack.sum(0);
  await expectAllClose(s, expected, tol, label);
  s.dispose();
}
/** Runs `fn`, asserting it leaves only its returned tensor (plus entries it adds to the cache), then frees it. */
function expectOnlyReturned(cache: ActivationCache, label: string, fn: () => tf.Tensor | [tf.Tensor, string[]]): void {
  const before = tf.memory().numTensors;
  const size0 = cache.size;
  const out = fn();
  const added = cache.size - size0;
  assert.equal(tf.memory().numTensors - before, 1 + added, `${label}: tensors left besides the result`);
  (Array.isArray(out) ? out[0] : out).dispose();
  assert.equal(tf.memory().numTensors, before + added, `${label}: tensors left after disposing the result`);
}

for (const backend of TEST_BACKENDS) for (const family of FAMILIES) {
  test(`${family} unprocessed on ${backend} (LN with weights, b_V ≠ 0): decompositions still sum to the residual; head results match the reference`, async () => {
    await setBackend(backend);
    const ref = await loadReference(family);
    const model = await HookedTransformer.fromPretrainedNoProcessing(ref.folder);
    const [out, cache] = await model.runWithCache(ref.tokens);
    const L = model.cfg.nLayers;
    const [stack, heads] = [cache.decomposeResid(), cache.stackHeadResults({ inclRemainder: true })];
    await expectSumsTo(stack, cache.get("resid_post", L - 1), ACT, "decomposeResid");
    await expectSumsTo(heads, cache.get("resid_post", L - 1), ACT, "stackHeadResults");
    for (let l = 0; l < L; l++) {
      const expected = ref.tensor(`raw/blocks.${l}.attn.hook_result`);
      await expectAllClose(cache.get("result", l), expected, ACT, `result ${l} vs reference`);
      expected.dispose();
    }
    tf.dispose([stack, heads, out]);
    cache.dispose();
    model.dispose();
  });

  describe(`ActivationCache on ${family} (processed) on ${backend}`, () => {
    let ref: Reference;
    let model: HookedTransformer;
    let logits: tf.Tensor;
    let cache: ActivationCache;
    let L = 0;
    let H = 0;
    let gpt2 = false;
    before(async () => {
      await setBackend(backend);
      ref = await loadReference(family);
      model = await HookedTransformer.fromPretrained(ref.folder);
      [logits, cache] = await model.runWithCache(ref.tokens);
      ({ nLayers: L, nHeads: H } = model.cfg);
      gpt2 = model.cfg.positionalEmbeddingType === "standard";
    });
    after(() => {
      cache.dispose();
      logits.dispose();
      model.dispose();
    });

    test("get: TL short names, negative layers and LayerNorm types resolve to the very same cached tensor", () => {
      assert.equal(cache.get("pattern", 1), cache.get("blocks.1.attn.hook_pattern"));
      assert.equal(cache.get("attn", 1), cache.get("blocks.1.attn.hook_pattern"));
      assert.equal(cache.get("resid_pre", -1), cache.get(`blocks.${L - 1}.hook_resid_pre`));
      assert.equal(cache.get("q", -L), cache.get("blocks.0.attn.hook_q"));
      assert.equal(cache.get("scale", 0, "ln1"), cache.get("blocks.0.ln1.hook_scale"));
      assert.equal(cache.get("normalized", 2, "ln2"), cache.get("blocks.2.ln2.hook_normalized"));
      assert.equal(cache.get("scale"), cache.get("ln_final.hook_scale"));
      assert.equal(cache.get("embed"), cache.get("hook_embed"));
      assert.equal(cache.get("k1"), cache.get("blocks.1.attn.hook_k"));
      assert.ok(cache.has("z", 0) && !cache.has("result", 0));
      assert.throws(() => cache.get("scale", 0), /ln1/);
      assert.throws(() => cache.get("resid_pre", L), /"blocks\.\d+\.hook_resid_pre" is not in the cache \(\d+ entries/);
      assert.throws(() => cache.get("result", 0), /hook_result" is not in the cache.*namesFilter/);
    });

    test("namesFilter as string / string[] / predicate caches exactly those names, in firing order, with the same values", async () => {
      const filters: [NamesFilter, readonly string[]][] = [
        ["blocks.1.attn.hook_pattern", ["blocks.1.attn.hook_pattern"]],
        [["ln_final.hook_scale", "hook_embed", "blocks.0.attn.hook_q"], ["hook_embed", "blocks.0.attn.hook_q", "ln_final.hook_scale"]],
        [(n: string) => n.endsWith("hook_resid_post"), ref.hookOrder.filter((n) => n.endsWith("hook_resid_post"))],
        [() => true, [...ref.hookOrder, ...UNEMBED_HOOKS]],
      ];
      for (const [namesFilter, expected] of filters) {
        const [out, c] = await model.runWithCache(ref.tokens, { namesFilter });
        try {
          assert.deepEqual(c.keys(), expected);
          for (const k of expected) await expectAllClose(c.get(k), cache.get(k), EXACT, k);
          if (expected.length <= 3) {
            // the error names the missing hook and lists what is cached
            assert.throws(() => c.get("blocks.0.hook_resid_pre"), (e: unknown) =>
              e instanceof Error && e.message.includes("blocks.0.hook_resid_pre") && expected.every((k) => e.message.includes(k)));
          }
        } finally {
          c.dispose();
          out.dispose();
        }
      }
      const before = tf.memory().numTensors;
      await assert.rejects(model.runWithCache(ref.tokens, { namesFilter: "blocks.0.hook_resid_middle" }), /unknown hook name/);
      assert.equal(tf.memory().numTensors, before, "a rejected namesFilter leaves nothing allocated");
    });

    test("removeBatchDim: batch 1 drops the dim (same values, no tensor leaked); batch 2 throws and changes nothing", async () => {
      const before = tf.memory().numTensors;
      const [out, single] = await model.runWithCache([ref.tokens[0]], { removeBatchDim: true });
      assert.equal(single.hasBatchDim, false);
      assert.equal(tf.memory().numTensors - before, single.size + 1, "the squeezed originals are freed");
      for (const k of single.keys()) {
        const full = cache.get(k);
        assert.deepEqual(single.get(k).shape, full.shape.slice(1), k);
        const first = row(full, 0);
        await expectAllClose(single.get(k), first, INV, k);
        first.dispose();
      }
      // the analysis helpers work without the batch dim
      const [stack, labels] = single.decomposeResid({ returnLabels: true });
      assert.deepEqual(stack.shape, [labels.length, ref.tokens[0].length, model.cfg.dModel]);
      await expectSumsTo(stack, single.get("resid_post", -1), ACT, "batchless decomposeResid");
      const heads = single.stackHeadResults({ inclRemainder: true });
      await expectSumsTo(heads, single.get("resid_post", -1), ACT, "batchless stackHeadResults");
      const attrs = single.logitAttrs(stack, 5);
      assert.deepEqual(attrs.shape, [labels.length, ref.tokens[0].length]);
      tf.dispose([stack, heads, attrs, out]);
      single.dispose();
      assert.equal(tf.memory().numTensors, before);

      const shapes = cache.values().map((t) => t.shape);
      assert.throws(() => cache.removeBatchDim(), /batch size 1/);
      assert.equal(cache.hasBatchDim, true);
      assert.deepEqual(cache.values().map((t) => t.shape), shapes);
    });

    test("stackActivation: [layers, ...activation shape], each slice the cached tensor", async () => {
      const s = cache.stackActivation("resid_pre");
      assert.deepEqual(s.shape, [L, 2, 9, model.cfg.dModel]);
      for (let l = 0; l < L; l++) {
        const r = row(s, l);
        await expectAllClose(r, cache.get("resid_pre", l), EXACT, `resid_pre ${l}`);
        r.dispose();
      }
      const p = cache.stackActivation("pattern", 2);
      const sc = cache.stackActivation("scale", -1, "ln1");
      assert.deepEqual(p.shape, [2, 2, H, 9, 9]);
      assert.deepEqual(sc.shape, [L, 2, 9, 1]);
      tf.dispose([s, p, sc]);
    });

    test("decomposeResid: labels, mode counts, and the components sum to the residual stream at each layer", async () => {
      const embeds = gpt2 ? ["embed", "pos_embed"] : ["embed"];
      const [all, labels] = cache.decomposeResid({ returnLabels: true });
      const perLayer = Array.from({ length: L }, (_, l) => [`${l}_attn_out`, `${l}_mlp_out`]).flat();
      assert.deepEqual(labels, [...embeds, ...perLayer]);
      await expectSumsTo(all, cache.get("resid_post", L - 1), ACT, "all components = final resid_post");
      const [minus1, labelsMinus1] = cache.decomposeResid({ layer: -1, returnLabels: true });
      assert.deepEqual(labelsMinus1, labels, "layer -1 means nLayers, as in TransformerLens");
      for (let k = 0; k < L; k++) {
        const [s, lab] = cache.decomposeResid({ layer: k, returnLabels: true });
        assert.deepEqual(lab, [...embeds, ...perLayer.slice(0, 2 * k)]);
        await expectSumsTo(s, cache.get("resid_pre", k), ACT, `layer ${k} = resid_pre ${k}`);
        s.dispose();
      }
      for (const mode of ["attn", "mlp"] as const) {
        const [s, lab] = cache.decomposeResid({ mode, returnLabels: true });
        assert.deepEqual(lab, [...embeds, ...Array.from({ length: L }, (_, l) => `${l}_${mode}_out`)]);
        assert.equal(s.shape[0], embeds.length + L);
        s.dispose();
      }
      const [noEmb, noEmbLabels] = cache.decomposeResid({ inclEmbeds: false, returnLabels: true });
      assert.deepEqual(noEmbLabels, perLayer);
      if (gpt2) {
        const [s, lab] = cache.decomposeResid({ layer: 1, mlpInput: true, returnLabels: true });
        assert.deepEqual(lab, [...embeds, "0_attn_out", "0_mlp_out", "1_attn_out"]);
        await expectSumsTo(s, cache.get("resid_mid", 1), ACT, "mlpInput at layer 1 = resid_mid 1");
        s.dispose();
      }
      tf.dispose([all, minus1, noEmb]);
    });

    test("accumulatedResid: labels, values are the cached residuals; applyLn recomputes at the end, uses the cached scale before", async () => {
      const [acc, labels] = cache.accumulatedResid({ returnLabels: true });
      assert.deepEqual(labels, [...Array.from({ length: L }, (_, l) => `${l}_pre`), "final_post"]);
      const cached = (label: string) =>
        label === "final_post" ? cache.get("resid_post", L - 1) : cache.get(label.endsWith("_pre") ? "resid_pre" : "resid_mid", Number(label.split("_")[0]));
      for (const [i, label] of labels.entries()) {
        const r = row(acc, i);
        await expectAllClose(r, cached(label), EXACT, label);
        r.dispose();
      }
      assert.deepEqual(cache.accumulatedResid({ layer: -1, returnLabels: true })[1], labels, "layer -1 means nLayers");
      assert.deepEqual(cache.accumulatedResid({ layer: 1, returnLabels: true })[1], ["0_pre", "1_pre"]);
      if (gpt2) {
        const [mid, midLabels] = cache.accumulatedResid({ inclMid: true, returnLabels: true });
        assert.deepEqual(midLabels, ["0_pre", "0_mid", "1_pre", "1_mid", "2_pre", "2_mid", "final_post"]);
        for (const [i, label] of midLabels.entries()) {
          const r = row(mid, i);
          await expectAllClose(r, cached(label), EXACT, label);
          r.dispose();
        }
        mid.dispose();
        assert.deepEqual(cache.accumulatedResid({ layer: 1, mlpInput: true, returnLabels: true })[1], ["0_pre", "1_pre", "1_mid"]);
      } else {
        const before = tf.memory().numTensors;
        assert.throws(() => cache.accumulatedResid({ inclMid: true }), /resid_mid/, "parallel blocks have no resid_mid");
        assert.equal(tf.memory().numTensors, before);
      }
      // logit lens: every component through its own LayerNorm = what each ln1 / ln_final normalised
      const lens = cache.accumulatedResid({ applyLn: true });
      const lensRows = tf.unstack(lens);
      for (let l = 0; l < L; l++) await expectAllClose(lensRows[l], cache.get("normalized", l, "ln1"), ACT, `lens ${l}_pre`);
      await expectAllClose(lensRows[L], cache.get("normalized"), ACT, "lens final_post");
      // before the end: all divided by blocks.1.ln1's cached scale, so component 0 · scale₁ = normalized₀ · scale₀
      const at1 = cache.accumulatedResid({ layer: 1, applyLn: true });
      const [r0, r1] = tf.unstack(at1);
      await expectAllClose(r1, cache.get("normalized", 1, "ln1"), ACT, "layer-1 stack, 1_pre");
      const [lhs, rhs] = tf.tidy(() => [r0.mul(cache.get("scale", 1, "ln1")), cache.get("normalized", 0, "ln1").mul(cache.get("scale", 0, "ln1"))]);
      await expectAllClose(lhs, rhs, ACT, "layer-1 stack, 0_pre");
      tf.dispose([acc, lens, ...lensRows, at1, r0, r1, lhs, rhs]);
    });

    test("applyLnToStack: the LayerNorm-scaled decomposition sums to that LayerNorm's hook_normalized", async () => {
      for (let k = 0; k <= L; k++) {
        const stack = cache.decomposeResid({ layer: k });
        const scaled = cache.applyLnToStack(stack, { layer: k });
        await expectSumsTo(scaled, k === L ? cache.get("normalized") : cache.get("normalized", k, "ln1"), ACT, `layer ${k}`);
        if (k < L && !gpt2) {
          // parallel blocks: ln2 also reads resid_pre
          const s2 = cache.applyLnToStack(stack, { layer: k, mlpInput: true });
          await expectSumsTo(s2, cache.get("normalized", k, "ln2"), ACT, `layer ${k} ln2`);
          s2.dispose();
        }
        tf.dispose([stack, scaled]);
      }
      const full = cache.decomposeResid({ applyLn: true });
      await expectSumsTo(full, cache.get("normalized"), ACT, "decomposeResid({ applyLn })");
      const stack = cache.decomposeResid();
      const minus1 = cache.applyLnToStack(stack, { layer: -1 });
      await expectSumsTo(minus1, cache.get("normalized"), ACT, "layer -1 is ln_final");
      if (gpt2) {
        const mid = cache.decomposeResid({ layer: 1, mlpInput: true, applyLn: true });
        await expectSumsTo(mid, cache.get("normalized", 1, "ln2"), ACT, "mlpInput → ln2");
        mid.dispose();
      }
      tf.dispose([full, stack, minus1]);
    });

    test("head results: per-head sums + b_O = attn_out; computeHeadResults = the reference and the hook_result the model fires", async () => {
      const [heads, labels] = cache.stackHeadResults({ returnLabels: true, inclRemainder: true });
      assert.deepEqual(labels, [...Array.from({ length: L * H }, (_, i) => `L${Math.floor(i / H)}H${i % H}`), "remainder"]);
      await expectSumsTo(heads, cache.get("resid_post", L - 1), ACT, "heads + remainder");
      const [h1, l1] = cache.stackHeadResults({ layer: 1, inclRemainder: true, returnLabels: true });
      assert.deepEqual(l1, ["L0H0", "L0H1", "L0H2", "L0H3", "remainder"]);
      await expectSumsTo(h1, cache.get("resid_pre", 1), ACT, "layer 1: heads + remainder");
      const h0 = cache.stackHeadResults({ layer: 0, inclRemainder: true });
      assert.deepEqual(h0.shape, [1, ...cache.get("resid_pre", 0).shape]);
      await expectAllClose(h0, await cache.get("resid_pre", 0).data(), EXACT, "layer 0: the remainder is resid_pre 0");
      const [firedOut, fired] = await (async () => {
        model.setUseAttnResult(true);
        try {
          return await model.runWithCache(ref.tokens, { namesFilter: (n) => n.endsWith("attn.hook_result") });
        } finally {
          model.setUseAttnResult(false);
        }
      })();
      for (let l = 0; l < L; l++) {
        const result = cache.get("result", l);
        const bO = model.blocks[l].attn.b_O;
        const summed = tf.tidy(() => result.sum(-2).add(bO));
        await expectAllClose(summed, cache.get("attn_out", l), ACT, `Σ_h result + b_O, layer ${l}`);
        summed.dispose();
        const expected = ref.tensor(`processed/blocks.${l}.attn.hook_result`);
        await expectAllClose(result, expected, ACT, `result ${l} vs reference`);
        await expectAllClose(result, fired.get("result", l), INV, `result ${l} vs fired hook_result`);
        for (let h = 0; h < H; h++) {
          const fromStack = row(heads, l * H + h);
          const fromCache = tf.tidy(() => tf.gather(result, h, 2));
          await expectAllClose(fromStack, fromCache, EXACT, `L${l}H${h}`);
          tf.dispose([fromStack, fromCache]);
        }
        expected.dispose();
      }
      const before = tf.memory().numTensors;
      cache.computeHeadResults();
      assert.equal(tf.memory().numTensors, before, "computeHeadResults is idempotent");
      tf.dispose([heads, h1, h0, firedOut]);
      fired.dispose();
    });

    test("logitAttrs: Σ over components = logit − b_U (exact algebra with LNPre), also for logit differences", async () => {
      const [B, P, V] = logits.shape;
      const lg = await logits.data();
      const bU = await model.b_U.data();
      const stack = cache.decomposeResid();
      const tok = 7;
      const a1 = cache.logitAttrs(stack, tok);
      assert.deepEqual(a1.shape, [stack.shape[0], B, P]);
      const exp1 = Array.from({ length: B * P }, (_, i) => lg[i * V + tok] - bU[tok]);
      await expectSumsTo(a1, exp1, INV, "single token");
      const correct = ref.tokens;
      const wrong = correct.map((r) => r.map((t) => (t * 7 + 3) % V));
      const [correctT, wrongT] = [tf.tensor2d(correct, undefined, "int32"), tf.tensor2d(wrong, undefined, "int32")];
      const a2 = cache.logitAttrs(stack, correctT, { incorrectTokens: wrongT });
      const exp2 = Array.from({ length: B * P }, (_, i) => {
        const [c, w] = [correct[Math.floor(i / P)][i % P], wrong[Math.floor(i / P)][i % P]];
        return lg[i * V + c] - lg[i * V + w] - (bU[c] - bU[w]);
      });
      await expectSumsTo(a2, exp2, INV, "logit difference");
      const heads = cache.stackHeadResults({ inclRemainder: true });
      const a3 = cache.logitAttrs(heads, tok);
      await expectSumsTo(a3, exp1, INV, "head decomposition");
      const perPos = Array.from({ length: P }, (_, p) => (p * 31) % V);
      const a4 = cache.logitAttrs(stack, perPos, { incorrectTokens: 11 });
      const exp4 = Array.from({ length: B * P }, (_, i) => lg[i * V + perPos[i % P]] - lg[i * V + 11] - (bU[perPos[i % P]] - bU[11]));
      await expectSumsTo(a4, exp4, INV, "per-position tokens vs one incorrect token");
      tf.dispose([stack, a1, a2, heads, a3, a4, correctT, wrongT]);
    });

    test("memory: each method leaves only what it returns; cache.dispose() returns to the baseline", async () => {
      await model.forward(ref.tokens).then((t) => t.dispose()); // derived weights are built on first use
      const settled = await memorySnapshot();
      const baseline = settled.numTensors;
      const [out, c] = await model.runWithCache(ref.tokens);
      assert.equal(tf.memory().numTensors - baseline, c.size + 1, "runWithCache: the cache entries and the logits");
      const stack = c.decomposeResid();
      expectOnlyReturned(c, "stackActivation", () => c.stackActivation("resid_pre"));
      expectOnlyReturned(c, "accumulatedResid", () => c.accumulatedResid({ returnLabels: true }));
      expectOnlyReturned(c, "accumulatedResid applyLn", () => c.accumulatedResid({ applyLn: true }));
      expectOnlyReturned(c, "accumulatedResid layer 1 applyLn", () => c.accumulatedResid({ layer: 1, applyLn: true }));
      expectOnlyReturned(c, "decomposeResid", () => c.decomposeResid({ returnLabels: true }));
      expectOnlyReturned(c, "decomposeResid applyLn", () => c.decomposeResid({ layer: 2, applyLn: true }));
      expectOnlyReturned(c, "applyLnToStack", () => c.applyLnToStack(stack));
      expectOnlyReturned(c, "stackHeadResults (computes the head results)", () => c.stackHeadResults({ inclRemainder: true, applyLn: true }));
      assert.ok(c.has("result", 0));
      expectOnlyReturned(c, "stackHeadResults", () => c.stackHeadResults({ layer: 1 }));
      expectOnlyReturned(c, "logitAttrs", () => c.logitAttrs(stack, 3));
      expectOnlyReturned(c, "logitAttrs tokens[]", () => c.logitAttrs(stack, [1, 2, 3, 4, 5, 6, 7, 8, 9], { incorrectTokens: 4 }));
      const before = tf.memory().numTensors;
      c.get("pattern", 0);
      assert.throws(() => c.get("pattern", 9));
      assert.throws(() => c.stackActivation("mid", 2), /mlp\.hook_mid/);
      assert.equal(tf.memory().numTensors, before, "get and failing calls allocate nothing");
      stack.dispose();
      c.dispose();
      assert.equal(c.size, 0);
      out.dispose();
      await expectNoLeak(settled, "runWithCache, the cache methods and dispose");
    });
  });
}
