/**
 * Bad inputs to forward / runWithHooks / runWithCache on the tiny GPT-2 fixture (dVocab 512, nCtx 64, no
 * tokenizer.json): each gives an Error naming the problem and the fix, and afterwards no hook is left attached, no
 * tensor is leaked, and the model's logits still equal those of a freshly loaded model.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { ensureBackend, HookedTransformer, type ModelInput } from "../../src/lens/index";
import { expectAllClose } from "../helpers";
import { TOLERANCES } from "../tolerances";
import { FIXTURES, loadReference } from "../fixtures";

const FOLDER = path.join(FIXTURES, "tiny-gpt2");
let model: HookedTransformer;
let tokens: number[][];
/** Logits of a freshly loaded model on `tokens` (2×9). */
let fresh: Float32Array;

async function logitsOf(m: HookedTransformer, input: ModelInput): Promise<Float32Array> {
  const t = await m.forward(input);
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

before(async () => {
  await ensureBackend();
  tokens = (await loadReference("tiny-gpt2")).tokens;
  const other = await HookedTransformer.fromPretrained(FOLDER);
  fresh = await logitsOf(other, tokens);
  other.dispose();
  model = await HookedTransformer.fromPretrained(FOLDER);
  (await model.forward([[0]])).dispose(); // the first forward caches derived weights (flattened W_Q/W_K/W_V/W_O, mask) for good
});
after(() => model.dispose());

/**
 * Asserts `run()` rejects with an Error matching every pattern; then: no hook attached, tensor count unchanged
 * (create tensor inputs before calling this), and a following forward equals the fresh model's.
 */
async function expectInputError(run: () => Promise<unknown>, patterns: RegExp[]): Promise<void> {
  const count = tf.memory().numTensors;
  await assert.rejects(run, (e: unknown) => {
    assert.ok(e instanceof Error, `not an Error: ${String(e)}`);
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
  assert.equal(model.hooks.count(), 0, "hooks left attached");
  assert.equal(tf.memory().numTensors, count, "tensors leaked");
  await expectAllClose(await logitsOf(model, tokens), fresh, TOLERANCES.exact, "logits after the error");
}

/** Calls `fn` with an int32 tensor made from `values`, disposing it afterwards. */
async function withIntTensor(values: number[] | number[][], fn: (t: tf.Tensor) => Promise<void>): Promise<void> {
  const t = tf.tensor(values, undefined, "int32");
  try {
    await fn(t);
  } finally {
    t.dispose();
  }
}

describe("token ids", () => {
  test("the valid range is [0, dVocab): 0 and 511 run", async () => {
    const logits = await model.forward([[0, 511]]);
    assert.deepEqual(logits.shape, [1, 2, 512]);
    logits.dispose();
  });

  test("id ≥ dVocab in number[][] and number[]", async () => {
    const range = [/token id 512 is out of range/, /integers in \[0, 512\)/, /dVocab = 512/];
    await expectInputError(() => model.forward([[1, 2], [3, 512]]), range);
    await expectInputError(() => model.forward([3, 600]), [/token id 600 is out of range/]);
  });

  test("negative id in number[][]", () => expectInputError(() => model.forward([[-1, 2]]), [/token id -1 is out of range/, /\[0, 512\)/]));

  test("out of range and negative in int32 tensors", async () => {
    await withIntTensor([[5, 512]], (t) => expectInputError(() => model.forward(t), [/token id 512 is out of range/]));
    await withIntTensor([[5, 6], [7, 100000]], (t) => expectInputError(() => model.forward(t), [/token id 100000 is out of range/]));
    await withIntTensor([-3, 4], (t) => expectInputError(() => model.forward(t), [/token id -3 is out of range/]));
  });

  test("non-integer ids", async () => {
    await expectInputError(() => model.forward([[1.5, 2]]), [/token id 1\.5 is out of range: ids must be integers/]);
    await expectInputError(() => model.forward([[1, NaN]]), [/token id NaN/, /integers/]);
  });

  test("ragged rows", () =>
    expectInputError(() => model.forward([[1, 2, 3], [1, 2]]), [/token rows must all have length 3; row 1 differs \(pad them\)/]));

  test("a float32 tensor without startAtLayer", async () => {
    const ids = tf.tensor2d([[1, 2, 3]]);
    const resid = tf.zeros([1, 3, 64]);
    const want = [/dtype float32/, /pass int32 ids/, /needs startAtLayer/];
    await expectInputError(() => model.forward(ids), want);
    await expectInputError(() => model.forward(resid), want);
    tf.dispose([ids, resid]);
  });

  test("longer than nCtx = 64 (64 runs, 65 throws)", async () => {
    const ok = await model.forward([Array.from({ length: 64 }, (_, i) => i)]);
    assert.deepEqual(ok.shape, [1, 64, 512]);
    ok.dispose();
    const long = Array.from({ length: 65 }, (_, i) => i % 512);
    const want = [/input is 65 tokens long but the model's context is nCtx = 64/, /shorten it, or tokenize with truncate: true/];
    await expectInputError(() => model.forward([long, long]), want);
    await withIntTensor([long], (t) => expectInputError(() => model.forward(t), want));
  });

  test("a bad opts.tokens (loss targets) after a good input frees the input's tokens", () =>
    expectInputError(() => model.forward([[1, 2, 3]], { returnType: "loss", tokens: [[1, 2, 999]] }), [/token id 999 is out of range/]));
});

describe("hooks", () => {
  const observe = () => undefined;

  test("an unknown hook name suggests close names; hooks attached before it are removed", async () => {
    const want = [/unknown hook name "blocks\.0\.hook_pattern"/, /did you mean "blocks\.0\.attn\.hook_pattern"/, /model\.hookNames\(\)/];
    await expectInputError(() => model.runWithHooks(tokens, { fwdHooks: [["blocks.0.hook_pattern", observe]] }), want);
    await expectInputError(
      () => model.runWithHooks(tokens, { fwdHooks: [["blocks.0.attn.hook_q", observe], ["blocks.0.hook_pattern", observe]] }),
      want,
    );
    await expectInputError(
      () => model.runWithCache(tokens, { namesFilter: "blocks.7.hook_resid_pre" }),
      [/unknown hook name "blocks\.7\.hook_resid_pre"/, /did you mean "blocks\.0\.hook_resid_pre"/],
    );
  });

  test("a hook returning the wrong shape names the hook and both shapes", async () => {
    const shorter = (x: tf.Tensor) => x.slice([0, 0, 0], [2, 8, 64]);
    const want = [/hook at "blocks\.1\.hook_resid_pre" returned shape \[2,8,64\] but the activation has shape \[2,9,64\]/, /same shape/];
    await expectInputError(() => model.runWithHooks(tokens, { fwdHooks: [["blocks.1.hook_resid_pre", shorter]] }), want);
    // With a cache: the activations cached before the failing hook are freed too.
    await expectInputError(() => model.runWithCache(tokens, { fwdHooks: [["blocks.1.hook_resid_pre", shorter]] }), want);
    await expectInputError(
      () => model.runWithHooks(tokens, { fwdHooks: [["blocks.0.attn.hook_pattern", () => tf.zeros([2, 4, 9])]] }),
      [/hook at "blocks\.0\.attn\.hook_pattern" returned shape \[2,4,9\] but the activation has shape \[2,4,9,9\]/],
    );
  });

  test("a hook that throws: its error propagates, nothing is left behind", () =>
    expectInputError(
      () => model.runWithHooks(tokens, {
        fwdHooks: [[(n) => n.endsWith("hook_resid_post"), (x, hook) => {
          if (hook.layer === 2) throw new Error("boom in hook");
          return x.mul(1);
        }]],
      }),
      [/boom in hook/],
    ));
});

describe("text without tokenizer.json", () => {
  const want = [/has no tokenizer/, /add tokenizer\.json to its folder, or pass token ids instead of text/];
  test("forward(text) and forward([texts]) say to add tokenizer.json", async () => {
    await expectInputError(() => model.forward("Hello world"), want);
    await expectInputError(() => model.forward(["Hello", "world"]), want);
    await expectInputError(() => model.runWithHooks("Hello", { fwdHooks: [["hook_embed", () => undefined]] }), want);
  });

  test("toTokens says the same", () => {
    assert.throws(() => model.toTokens("Hello"), (e: Error) => want.every((re) => re.test(e.message)));
  });
});
