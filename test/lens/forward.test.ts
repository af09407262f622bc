/**
 * The one cross-entropy (`lmCrossEntropy`, also `nextTokenLoss` for training): its value against log-softmax computed
 * in JS, its gradient against autodiff of the one-hot form (softmax − onehot per row), masks, and memory.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../../src/lens/index";
import { lmCrossEntropy } from "../../src/lens/forward";
import { nextTokenLoss } from "../../src/lens/training/trainer";
import { expectAllClose } from "../helpers";
import { TOLERANCES } from "../tolerances";
import { expectNoLeak, memorySnapshot, TEST_BACKENDS } from "../backends";

const TOKENS = [[1, 2, 3, 4, 5], [6, 0, 1, 2, 3]];

for (const backend of TEST_BACKENDS) describe(`lmCrossEntropy on ${backend}`, () => {
  test("per-token NLL equals −log softmax read in JS; the gradient equals the one-hot form's; nextTokenLoss is its mean", async () => {
    await setBackend(backend);
    const logits = tf.randomNormal([2, 5, 7], 0, 1, "float32", 1);
    const tokens = tf.tensor2d(TOKENS, undefined, "int32");
    const l = (await logits.array()) as number[][][];
    const expected = TOKENS.map((row, b) => row.slice(1).map((t, p) => {
      const xs = l[b]![p]!;
      const m = Math.max(...xs);
      return Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0)) + m - xs[t]!;
    }));
    const before = await memorySnapshot();
    const per = lmCrossEntropy(logits, tokens, true);
    await expectAllClose(per, expected.flat(), TOLERANCES.float32Invariant, "per-token NLL");
    const mean = nextTokenLoss(logits, tokens);
    await expectAllClose(mean, expected.flat().reduce((a, b) => a + b, 0) / 8, TOLERANCES.float32Invariant, "mean");
    // Left padding: predictions of a pad target count 0; the mean is over the 4 + 3 real targets.
    const mask = tf.tensor2d([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]]);
    const masked = lmCrossEntropy(logits, tokens, false, mask);
    await expectAllClose(masked, [...expected[0]!, ...expected[1]!.slice(1)].reduce((a, b) => a + b, 0) / 7, TOLERANCES.float32Invariant, "masked mean");
    const oneHot = (x: tf.Tensor) => tf.logSoftmax(x.slice([0, 0, 0], [2, 4, 7]), -1).mul(tf.oneHot(tokens.slice([0, 1], [2, 4]), 7)).sum(-1).mean().neg() as tf.Scalar;
    const gWant = tf.grad(oneHot)(logits);
    const gGot = tf.grad((x: tf.Tensor) => nextTokenLoss(x, tokens))(logits);
    await expectAllClose(gGot, gWant, TOLERANCES.float32Invariant, "gradient");
    tf.dispose([per, mean, mask, masked, gWant, gGot]);
    await expectNoLeak(before, "loss and gradients");
    assert.throws(() => lmCrossEntropy(logits.slice([0, 0, 0], [2, 1, 7]), tokens.slice([0, 0], [2, 1]), false), /at least 2 positions/);
    tf.dispose([logits, tokens]);
  });
});
