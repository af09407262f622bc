/**
 * Head detectors and induction scores on the committed tiny GPT-2: known attention patterns are injected with a hook
 * on hook_pattern and the scores are checked against the TransformerLens formulas evaluated by hand in plain JS
 * (TransformerLens head_detector.py; docs/sources.md §8); the other heads are checked against the same formulas on their cached patterns.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { HookedTransformer, setBackend } from "../../../src/lens/index";
import * as A from "../../../src/lens/analysis/index";
import { repeatedRandomTokens } from "../../../src/lens/datasets/index";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";
import { loadReference } from "../../fixtures";

/** TransformerLens's score by hand: "mul" Σ(A⊙P)/ΣA, "abs" 1 − round(mean|A−P|·n, 3), with the exclusions. */
function scoreByHand(a: number[][], p: number[][], o: { excludeBos?: boolean; excludeCurrentToken?: boolean; errorMeasure?: "mul" | "abs" }): number {
  const n = a.length;
  const keep = (i: number, j: number) => !((o.excludeBos && j === 0) || (o.excludeCurrentToken && i === j));
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (!keep(i, j)) continue;
      if (o.errorMeasure === "abs") num += Math.abs(a[i]![j]! - p[i]![j]!);
      else (num += a[i]![j]! * p[i]![j]!), (den += a[i]![j]!);
    }
  }
  return o.errorMeasure === "abs" ? 1 - Math.round((num / (n * n)) * n * 1000) / 1000 : num / den;
}

/** Row-normalised lower-triangular pattern for head h: a blend that differs per head. */
function injected(n: number, h: number): number[][] {
  return Array.from({ length: n }, (_, i) => {
    const row = Array.from({ length: n }, (_, j) => (j <= i ? (h === 0 ? (j === Math.max(i - 1, 0) ? 1 : 0) : 1 + ((i * 7 + j * 3 + h) % 5)) : 0));
    const s = row.reduce((x, y) => x + y, 0);
    return row.map((x) => x / s);
  });
}

describe("head detectors (tiny-gpt2)", () => {
  let model: HookedTransformer;
  const TOKENS = [3, 50, 7, 50, 7, 9, 3, 50, 7];

  before(async () => {
    await setBackend("cpu");
    model = await HookedTransformer.fromPretrained((await loadReference("tiny-gpt2")).folder);
  });
  after(() => model.dispose());

  test("detection patterns match the hand-written ones", () => {
    assert.deepEqual(A.previousTokenPattern(3), [[0, 0, 0], [1, 0, 0], [0, 1, 0]]);
    assert.deepEqual(A.duplicateTokenPattern([7, 8, 7, 8]), [[0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]]);
    assert.deepEqual(A.inductionPattern([7, 8, 7, 8]), [[0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]);
  });

  test("scores of injected patterns (layer 1) and cached patterns (layers 0, 2) equal the formulas by hand", async () => {
    const n = TOKENS.length;
    const pattern = Array.from({ length: 4 }, (_, h) => injected(n, h));
    model.addHook("blocks.1.attn.hook_pattern", () => tf.tensor4d([pattern]));
    try {
      const [l, cache] = await model.runWithCache([TOKENS], { namesFilter: (x) => x.endsWith("hook_pattern") });
      l.dispose();
      const cached = await Promise.all([0, 1, 2].map(async (layer) => ((await cache.get("pattern", layer).array()) as number[][][][])[0]!));
      cache.dispose();
      assert.deepEqual(cached[1]!.map((r) => r.map((x) => x.map((v) => Math.round(v * 1e6)))), pattern.map((r) => r.map((x) => x.map((v) => Math.round(v * 1e6)))), "the hook injected the pattern");
      const kinds: Array<[A.HeadName, number[][]]> = [
        ["previous_token_head", A.previousTokenPattern(n)], ["duplicate_token_head", A.duplicateTokenPattern(TOKENS)], ["induction_head", A.inductionPattern(TOKENS)],
      ];
      for (const [kind, det] of kinds) {
        for (const o of [{}, { excludeBos: true }, { excludeCurrentToken: true, excludeBos: true }, { errorMeasure: "abs" as const }, { errorMeasure: "abs" as const, excludeBos: true }]) {
          const scores = await A.detectHead(model, TOKENS, kind, o);
          const expected = cached.flatMap((layer) => layer.map((a) => scoreByHand(a, det, o)));
          await expectAllClose(scores, expected, TOLERANCES.float32Invariant, `${kind} ${JSON.stringify(o)}`);
          scores.dispose();
        }
      }
      // head 0 of layer 1 is a perfect previous-token head except row 0 (which can only attend to itself)
      const prev = await A.detectHead(model, TOKENS, "previous_token_head");
      assert.ok(Math.abs(((await prev.array()) as number[][])[1]![0]! - (n - 1) / n) < TOLERANCES.scalarUlps.atol);
      prev.dispose();
    } finally {
      model.resetHooks();
    }
  });

  test("head selection gives −1 elsewhere; several prompts average; a custom pattern must fit and be lower triangular", async () => {
    const before = tf.memory().numTensors;
    const sel = await A.detectHead(model, TOKENS, "previous_token_head", { heads: [[0, 1], [2, 3]] });
    const all = await A.detectHead(model, TOKENS, "previous_token_head");
    const [s, a] = [(await sel.array()) as number[][], (await all.array()) as number[][]];
    assert.equal(s[0]![1], a[0]![1]);
    assert.equal(s[2]![3], a[2]![3]);
    assert.equal(s[1]![2], -1);
    const other = [9, 9, 4, 4, 2];
    const second = await A.detectHead(model, other, "previous_token_head");
    const both = await A.detectHead(model, [TOKENS, other], "previous_token_head");
    const mean = tf.tidy(() => all.add(second).div(2));
    await expectAllClose(both, mean, TOLERANCES.float32Invariant, "mean over prompts");
    const custom = await A.detectHead(model, TOKENS, A.previousTokenPattern(TOKENS.length));
    await expectAllClose(custom, all, TOLERANCES.exact, "custom pattern = named pattern");
    tf.dispose([sel, all, second, both, mean, custom]);
    await assert.rejects(A.detectHead(model, TOKENS, A.previousTokenPattern(3)), /3×3 but the prompt has 9/);
    await assert.rejects(A.detectHead(model, TOKENS, [[0, 1], [0, 0]]), /lower triangular/);
    assert.equal(tf.memory().numTensors, before);
  });

  test("inductionScores: a perfect injected induction head scores 1; the rest and the loss curve match by-hand values", async () => {
    const S = 10;
    const tokens = repeatedRandomTokens(model, { seqLen: S, batch: 3, seed: 5 });
    assert.deepEqual(tokens, repeatedRandomTokens(model, { seqLen: S, batch: 3, seed: 5 }), "seeded");
    assert.notDeepEqual(tokens, repeatedRandomTokens(model, { seqLen: S, batch: 3, seed: 6 }));
    assert.ok(tokens.every((r) => r.length === 2 * S && r.slice(0, S).every((t, i) => t === r[S + i])), "[r, r] without BOS (no tokenizer)");
    const T = 2 * S;
    const ideal = Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (j === Math.max(i - (S - 1), 0) ? 1 : 0)));
    model.addHook("blocks.2.attn.hook_pattern", (act) => {
      const rows = (act.arraySync() as number[][][][]).map((b) => b.map((h, hi) => (hi === 3 ? ideal : h)));
      return tf.tensor4d(rows);
    });
    try {
      const before = tf.memory().numTensors;
      const res = await A.inductionScores(model, { seqLen: S, batch: 3, seed: 5 });
      const sc = (await res.scores.array()) as number[][];
      assert.ok(Math.abs(sc[2]![3]! - 1) < TOLERANCES.scalarUlps.atol, `injected head scores ${sc[2]![3]}`);
      const [loss, cache] = await model.runWithCache(tokens, { namesFilter: (x) => x.endsWith("hook_pattern"), returnType: "loss", lossPerToken: true });
      for (let l = 0; l < 3; l++) {
        const p = (await cache.get("pattern", l).array()) as number[][][][];
        for (let h = 0; h < 4; h++) {
          let sum = 0, count = 0;
          for (const b of p) for (let i = S - 1; i < T; i++) (sum += b[h]![i]![i - (S - 1)]!), count++;
          assert.ok(Math.abs(sc[l]![h]! - sum / count) < TOLERANCES.scalarReduced.atol, `L${l}H${h}: ${sc[l]![h]} vs ${sum / count}`);
        }
      }
      const perToken = (await loss.array()) as number[][];
      const curve = perToken[0]!.map((_, i) => perToken.reduce((acc, r) => acc + r[i]!, 0) / perToken.length);
      await expectAllClose(res.lossPerToken, curve, TOLERANCES.loss, "per-token loss curve");
      const avg = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
      assert.ok(Math.abs(res.firstHalfLoss - avg(curve.slice(0, S - 1))) < TOLERANCES.scalarReduced.atol && Math.abs(res.secondHalfLoss - avg(curve.slice(S - 1))) < TOLERANCES.scalarReduced.atol);
      tf.dispose([loss, res.scores]);
      cache.dispose();
      assert.equal(tf.memory().numTensors, before);
    } finally {
      model.resetHooks();
    }
  });
});
