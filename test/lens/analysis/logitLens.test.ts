/**
 * Logit lens, direct logit attribution and testPrompt against independent computations: the lens at layer 0 redone
 * with a hand-written LayerNorm and unembedding, the final layer against the model's own logits; DLA against the logit
 * difference (accumulated), linearity (layers sum to the final residual) and per-head z·W_O by hand; testPrompt's
 * numbers against a softmax of the model's logits and its printed format. And accumulatedResid({ applyLn: true })
 * re-runs ln_final on each residual, so its last row (final_post) unembedded gives the model's own logits, on
 * unprocessed models too, where ln_final has a weight and bias.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import * as tf from "@tensorflow/tfjs";
import { HookedTransformer, setBackend, type ActivationCache } from "../../../src/lens/index";
import * as A from "../../../src/lens/analysis/index";
import { logitDiff } from "../../../src/lens/patching/index";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";
import { FAMILIES, loadReference } from "../../fixtures";
import { tempDir, writeTinyGpt2WithTokenizer } from "../loading/checkpoints";

const TOKENS = [[5, 17, 99, 3, 250, 41, 7], [12, 300, 8, 77, 401, 2, 64]];
const ANSWERS = [[10, 20], [30, 40]];

function rankIn(row: ArrayLike<number>, id: number): number {
  let r = 0;
  for (let i = 0; i < row.length; i++) if (row[i]! > row[id]!) r++;
  return r;
}

describe("logit lens and attribution (tiny-gpt2, processed)", () => {
  let model: HookedTransformer;
  let cache: ActivationCache;
  let logits: tf.Tensor;

  before(async () => {
    await setBackend("cpu");
    model = await HookedTransformer.fromPretrained((await loadReference("tiny-gpt2")).folder);
    [logits, cache] = await model.runWithCache(TOKENS);
  });
  after(() => {
    tf.dispose(logits);
    cache.dispose();
    model.dispose();
  });

  test("logit lens: final_post reproduces the model's prediction; layer 0 equals a hand-written LN + unembed", async () => {
    const before = tf.memory().numTensors;
    const lens = await A.logitLens(model, cache, { pos: 4, batchIndex: 1, answer: 33, topK: 3 });
    assert.deepEqual(lens.map((l) => l.label), ["0_pre", "1_pre", "2_pre", "final_post"]);
    const row = ((await logits.array()) as number[][][])[1]![4]!;
    const last = lens[3]!;
    assert.equal(last.answerRank, rankIn(row, 33));
    assert.ok(Math.abs(last.answerLogit! - row[33]!) < TOLERANCES.scalarForward.atol);
    assert.deepEqual(last.topTokens, [...row.keys()].sort((a, b) => row[b]! - row[a]!).slice(0, 3));
    // layer 0 by hand: x = resid_pre[0][1, 4]; centre, divide by sqrt(mean(x²) + eps), · W_U + b_U
    const x = ((await cache.get("resid_pre", 0).array()) as number[][][])[1]![4]!;
    const mu = x.reduce((a, b) => a + b, 0) / x.length;
    const c = x.map((v) => v - mu);
    const scale = Math.sqrt(c.reduce((a, b) => a + b * b, 0) / c.length + model.cfg.eps);
    const WU = (await model.W_U.array()) as number[][];
    const bU = (await model.b_U.array()) as number[];
    const byHand = bU.map((b, v) => b + c.reduce((acc, ci, d) => acc + (ci / scale) * WU[d]![v]!, 0));
    assert.equal(lens[0]!.answerRank, rankIn(byHand, 33));
    assert.ok(Math.abs(lens[0]!.answerLogit! - byHand[33]!) < TOLERANCES.scalarForward.atol);
    assert.equal(lens[0]!.topTokens[0], [...byHand.keys()].sort((a, b) => byHand[b]! - byHand[a]!)[0]);
    assert.equal(tf.memory().numTensors, before);
  });

  test("DLA: accumulated final_post + Δb_U = logit diff; layer components sum to it; heads equal z·W_O by hand", async () => {
    cache.computeHeadResults(); // per-head results are stored in the cache (as TransformerLens), not leaked
    const before = tf.memory().numTensors;
    const acc = await A.directLogitAttribution(cache, ANSWERS, { by: "accumulated" });
    assert.deepEqual(acc.labels, ["0_pre", "0_mid", "1_pre", "1_mid", "2_pre", "2_mid", "final_post"]);
    const diff = logitDiff(logits, ANSWERS, { perPrompt: true });
    const bU = (await model.b_U.array()) as number[];
    const d = (await diff.array()) as number[];
    const final = ((await acc.perPrompt.array()) as number[][])[6]!;
    await expectAllClose(final.map((v, b) => v + bU[ANSWERS[b]![0]!]! - bU[ANSWERS[b]![1]!]!), d, TOLERANCES.float32Invariant, "final_post DLA");
    const layers = await A.directLogitAttribution(cache, ANSWERS, { by: "layer" });
    assert.deepEqual(layers.labels.slice(0, 4), ["embed", "pos_embed", "0_attn_out", "0_mlp_out"]);
    assert.ok(Math.abs(layers.mean.reduce((a, b) => a + b, 0) - acc.mean[6]!) < TOLERANCES.scalarForward.atol, "components sum to the final residual");
    const heads = await A.directLogitAttribution(cache, ANSWERS, { by: "head", pos: [2, 5] });
    assert.equal(heads.labels[5], "L1H1");
    // head L1H1 at (batch 0, pos 2) by hand
    const z = ((await cache.get("z", 1).array()) as number[][][][])[0]![2]![1]!;
    const WO = ((await model.param("blocks.1.attn.W_O").array()) as number[][][])[1]!;
    const out = WO[0]!.map((_, j) => z.reduce((a, zi, i) => a + zi * WO[i]![j]!, 0));
    const mu = out.reduce((a, b) => a + b, 0) / out.length;
    const scale = ((await cache.get("ln_final.hook_scale").array()) as number[][][])[0]![2]![0]!;
    const WU = (await model.W_U.array()) as number[][];
    const byHand = out.reduce((a, o, k) => a + ((o - mu) / scale) * (WU[k]![10]! - WU[k]![20]!), 0);
    assert.ok(Math.abs(((await heads.perPrompt.array()) as number[][])[5]![0]! - byHand) < TOLERANCES.scalarForward.atol, "per-head DLA");
    tf.dispose([acc.perPrompt, layers.perPrompt, heads.perPrompt, diff]);
    assert.equal(tf.memory().numTensors, before);
  });
});

test("testPrompt: ranks, logits and probabilities from the model's softmax, TransformerLens's printed format", async () => {
  await setBackend("cpu");
  const dir = await tempDir("testprompt");
  try {
    const model = await HookedTransformer.fromPretrained(await writeTinyGpt2WithTokenizer(dir));
    const lines: string[] = [];
    const res = await A.testPrompt(model, "After John and Mary went to the store, John gave", "Mary had", { topK: 3, print: (l) => lines.push(l) });
    assert.deepEqual(res.answerStrTokens, [" Mary", " had"]);
    assert.equal(res.promptStrTokens[0], "<|endoftext|>");
    const ids = [...model.tokenizer!.encode("After John and Mary went to the store, John gave"), ...model.tokenizer!.encode(" Mary had")];
    const logits = await model.forward([[model.tokenizer!.bosTokenId, ...ids]]);
    const P = res.promptStrTokens.length;
    for (let i = 0; i < 2; i++) {
      const row = ((await logits.array()) as number[][][])[0]![P - 1 + i]!;
      const m = Math.max(...row);
      const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
      const a = res.answers[i]!;
      assert.equal(a.rank, rankIn(row, a.token));
      assert.ok(Math.abs(a.prob - Math.exp(row[a.token]! - m) / z) < TOLERANCES.scalarUlps.atol && Math.abs(a.logit - row[a.token]!) < TOLERANCES.scalarReduced.atol);
      assert.ok(a.top[0]!.prob >= a.top[1]!.prob && a.top[1]!.prob >= a.top[2]!.prob);
    }
    logits.dispose();
    assert.match(lines[0]!, /^Tokenized prompt: \['<\|endoftext\|>', 'After', ' John'/);
    assert.equal(lines[1], "Tokenized answer: [' Mary', ' had']");
    assert.match(lines[3]!, /^Rank: \d+ +Logit: +-?\d+\.\d\d Prob: +\d+\.\d\d% Token: \| Mary\|$/);
    assert.match(lines[4]!, /^Top 0th token\. Logit: +-?\d+\.\d\d Prob: +\d+\.\d\d% Token: \|.*\|$/);
    assert.match(lines[lines.length - 1]!, /^Ranks of the answer tokens: \[\(' Mary', \d+\), \(' had', \d+\)\]$/);
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

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
