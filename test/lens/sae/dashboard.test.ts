/**
 * Feature statistics and dashboards against a brute-force reference computed here: all activations of a random SAE
 * on the tiny-gpt2 fixture (one unbatched runWithCache + sae.encode), sorted per latent for the top contexts, counted
 * for the density and the histogram; logit weights as float64 dot products of W_dec rows with W_U columns. Batching
 * (uneven last batch), token exclusion, stopAtLayer (a later hook never runs), the HTML (token strings of the bundled
 * toy-ioi tokenizer) and tensor leaks.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { HookedTransformer } from "../../../src/lens/index";
import { featureDashboard, featureDashboards } from "../../../src/lens/sae/dashboard";
import { featureStats } from "../../../src/lens/sae/featureStats";
import { SparseAutoencoder } from "../../../src/lens/sae/sae";
import { mulberry32 } from "../../../src/lens/sae/source";
import { makeRng } from "../../../src/lens/datasets/prng";
import { tinyLanguageTokens } from "../../../src/lens/data/tinyLanguage";
import { loadReference } from "../../fixtures";
import { TOLERANCES } from "../../tolerances";

const HOOK = "blocks.1.hook_resid_pre";
let model: HookedTransformer;
before(async () => {
  model = await HookedTransformer.fromPretrained((await loadReference("tiny-gpt2")).folder);
});
after(() => model.dispose());

function randomTokens(nSeq: number, len: number, seed: number): number[][] {
  const r = mulberry32(seed);
  return Array.from({ length: nSeq }, () => Array.from({ length: len }, () => Math.floor(r() * 500)));
}

/** An SAE with random parameters (negative-leaning encoder biases, so densities vary between latents). */
function randomSae(arch: "standard" | "topk", seed: number): SparseAutoencoder {
  const sae = new SparseAutoencoder({ dIn: 64, dSae: 40, architecture: arch, k: 6, hookName: HOOK, seed });
  let s = seed * 10;
  for (const [k, v] of Object.entries(sae.params)) tf.tidy(() => v.assign(tf.randomNormal(v.shape, k === "b_enc" ? -0.6 : 0, k === "b_enc" ? 0.6 : 0.3, "float32", s++)));
  return sae;
}

/** All activations `[nSeq][pos][d_sae]` from one unbatched run. */
async function allActs(sae: SparseAutoencoder, tokens: number[][]): Promise<number[][][]> {
  const input = tf.tensor2d(tokens, undefined, "int32");
  const [out, cache] = await model.runWithCache(input, { namesFilter: [HOOK], prependBos: false });
  const f = await sae.encode(cache.get(HOOK));
  const v = (await f.array()) as number[][][];
  tf.dispose([input, out as tf.Tensor, f]);
  cache.dispose();
  return v;
}

const close = (a: number, b: number, tol: { atol: number; rtol: number } = TOLERANCES.float32Invariant) => Math.abs(a - b) <= tol.atol + tol.rtol * Math.abs(b);

for (const arch of ["standard", "topk"] as const) {
  test(`featureStats (${arch}) matches brute force: top contexts, windows, density, histogram, logit weights; no leak`, async () => {
    const tokens = randomTokens(7, 12, 11 + (arch === "topk" ? 1 : 0));
    const sae = randomSae(arch, arch === "topk" ? 2 : 1);
    const exclude = arch === "topk" ? [tokens[0]![0]!, tokens[3]![5]!] : [];
    const acts = await allActs(sae, tokens);
    const WU = (await model.W_U.array()) as number[][], Wdec = (await sae.params.W_dec!.array()) as number[][];
    const features = [0, 7, 19, 39];
    let hookRuns = 0;
    model.addHook("blocks.2.hook_resid_post", () => { hookRuns++; });
    const beforeN = tf.memory().numTensors;
    const stats = await featureStats(model, sae, features, { tokens, topK: 5, window: 2, nLogits: 4, bins: 6, batchSize: 3, excludeTokenIds: exclude });
    assert.equal(tf.memory().numTensors, beforeN, "no tensor leak");
    model.resetHooks();
    assert.equal(hookRuns, 0, "the model stops at the hook's layer (blocks.2 never runs)");
    let anyFiring = false;
    for (const [j, feat] of features.entries()) {
      const s = stats[j]!;
      const all: { seq: number; pos: number; v: number }[] = [];
      tokens.forEach((row, b) => row.forEach((t, p) => { if (!exclude.includes(t)) all.push({ seq: b, pos: p, v: acts[b]![p]![feat]! }); }));
      const nz = all.filter((a) => a.v !== 0);
      const ref = all.filter((a) => a.v > 0).sort((a, b) => b.v - a.v).slice(0, 5);
      assert.equal(s.nTokens, all.length);
      assert.equal(s.nFiring, nz.length, `feature ${feat} firing count`);
      assert.ok(close(s.density, nz.length / all.length, TOLERANCES.exact));
      anyFiring ||= nz.length > 0 && nz.length < all.length;
      assert.deepEqual(s.topContexts.map((c) => [c.seq, c.pos]), ref.map((r) => [r.seq, r.pos]), `feature ${feat} top positions`);
      for (const [i, c] of s.topContexts.entries()) {
        assert.ok(close(c.activation, ref[i]!.v), `feature ${feat} context ${i}: ${c.activation} vs ${ref[i]!.v}`);
        const start = Math.max(0, c.pos - 2), end = Math.min(12, c.pos + 3);
        assert.equal(c.start, start);
        assert.deepEqual(c.tokens, tokens[c.seq]!.slice(start, end));
        c.activations.forEach((a, k) => assert.ok(close(a, acts[c.seq]![start + k]![feat]!), "window activations"));
      }
      if (nz.length > 0) {
        const vs = nz.map((a) => a.v), lo = Math.min(...vs), hi = Math.max(...vs);
        assert.ok(close(s.maxActivation, hi) && close(s.histogram.edges[0]!, lo) && close(s.histogram.edges[6]!, hi));
        assert.equal(s.histogram.counts.reduce((a, b) => a + b, 0), nz.length);
        const refCounts = new Array(6).fill(0);
        for (const v of vs) refCounts[Math.min(5, Math.floor(((v - lo) / (hi - lo)) * 6))]++;
        assert.ok(s.histogram.counts.every((c, i) => Math.abs(c - refCounts[i]) <= 1), `histogram ${s.histogram.counts} vs ${refCounts}`);
      }
      const lw = Array.from({ length: WU[0]!.length }, (_, t) => Wdec[feat]!.reduce((acc, w, d) => acc + w * WU[d]![t]!, 0));
      const order = lw.map((v, t) => ({ v, t })).sort((a, b) => b.v - a.v);
      assert.deepEqual(s.topLogits.map((l) => l.token), order.slice(0, 4).map((o) => o.t), "top logit tokens");
      assert.deepEqual(s.bottomLogits.map((l) => l.token), order.slice(-4).reverse().map((o) => o.t), "bottom logit tokens");
      s.topLogits.forEach((l, i) => assert.ok(close(l.value, order[i]!.v), "logit weight value"));
    }
    assert.ok(anyFiring, "some latent fires on some but not all tokens (the test exercises the top-k)");
    await assert.rejects(featureStats(model, sae, [40], { tokens }), /out of range; the SAE has d_sae = 40/);
    await assert.rejects(featureStats(model, sae, [0], { tokens: [[1, 2], [3]] }), /different lengths/);
    sae.dispose();
  });
}

test("featureDashboard on toy-ioi: HTML has the token strings, the max token, histogram and logits; tensor input; no leak", async () => {
  const ioi = await HookedTransformer.fromPretrained("toy-ioi");
  const rng = makeRng(5);
  const tokens = Array.from({ length: 20 }, () => tinyLanguageTokens(rng, 32));
  const sae = new SparseAutoencoder({ dIn: 64, dSae: 256, architecture: "standard", hookName: "blocks.1.hook_resid_pre", seed: 4 });
  const [s] = await featureStats(ioi, sae, [3], { tokens, excludeTokenIds: [0] }); // also builds the model's lazy weight cache
  const beforeN = tf.memory().numTensors;
  const t0 = performance.now();
  const view = await featureDashboard(ioi, sae, 3, { tokens, excludeTokenIds: [0], title: "toy-ioi L1 feature 3" });
  const ms = performance.now() - t0;
  assert.equal(tf.memory().numTensors, beforeN, "no tensor leak");
  assert.equal(view.kind, "lens-html-view");
  assert.ok(view.html.includes("toy-ioi L1 feature 3"));
  assert.ok(s!.topContexts.length > 0 && s!.density > 0, `feature 3 fires (density ${s!.density})`);
  const top = s!.topContexts[0]!;
  const maxWord = ioi.tokenizer!.idToString(tokens[top.seq]![top.pos]!);
  assert.ok(view.html.includes(`lens-sae-max" style="background:rgb(8,48,107);color:#fff" title="seq ${top.seq} pos ${top.pos}`), "max token outlined, darkest colour");
  assert.ok(view.html.includes(`>${maxWord}</span>`), `the max token "${maxWord}" is in the HTML`);
  for (const id of top.tokens) assert.ok(view.html.includes(`>${ioi.tokenizer!.idToString(id)}</span>`), `context token ${id}`);
  assert.ok(view.html.includes(`>${ioi.tokenizer!.idToString(s!.topLogits[0]!.token)}</td>`), "top logit token");
  assert.equal((view.html.match(/<rect /g) ?? []).length, 40, "40 histogram bins");
  assert.ok(!/<script/.test(view.html), "static HTML");
  // A tensor input gives the same statistics; several features in one pass agree with single calls.
  const tt = tf.tensor2d(tokens, undefined, "int32");
  const [fromTensor] = await featureStats(ioi, sae, [3], { tokens: tt, excludeTokenIds: [0], batchSize: 7 });
  assert.deepEqual(fromTensor!.topContexts.map((c) => [c.seq, c.pos]), s!.topContexts.map((c) => [c.seq, c.pos]));
  assert.equal(fromTensor!.nFiring, s!.nFiring);
  const views = await featureDashboards(ioi, sae, [3, 4], { tokens: tt, excludeTokenIds: [0] });
  assert.equal(views.length, 2);
  tt.dispose();
  console.log(`featureStats + featureDashboard, toy-ioi 20×32 tokens, d_sae 256: ${ms.toFixed(0)} ms for one featureDashboard call`);
  sae.dispose();
  ioi.dispose();
});
