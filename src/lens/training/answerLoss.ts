/**
 * A next-token loss that weighs some targets more: the prediction of a name right after a given token (for the IOI
 * models, "to": the answer of an IOI sentence, and of filler sentences like "N said hello to M"). Used by recipes whose
 * behaviour is a rare token in running text, so that its gradient is not drowned by the filler text's.
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Mean cross-entropy with weight `weight` on targets in `targetIds` that follow `afterId`, weight 1 elsewhere
 * (normalised by the total weight). Gather-free (one-hot products), so it trains on wasm and cpu alike.
 */
export function weightedAnswerLoss(afterId: number, targetIds: readonly number[], weight: number): (logits: tf.Tensor, tokens: tf.Tensor2D) => tf.Scalar {
  if (!(weight >= 1)) throw new Error(`weightedAnswerLoss: weight must be ≥ 1, got ${weight}`);
  return (logits, tokens) => tf.tidy(() => {
    const [batch, pos, vocab] = logits.shape as [number, number, number];
    const logProbs = tf.logSoftmax(logits.slice([0, 0, 0], [batch, pos - 1, vocab]), -1);
    const targets = tf.oneHot(tokens.slice([0, 1], [batch, pos - 1]).cast("int32"), vocab);
    const nll = logProbs.mul(targets).sum(-1).neg(); // [batch, pos − 1]
    const isTarget = targets.mul(tf.oneHot(tf.tensor1d([...targetIds], "int32"), vocab).sum(0)).sum(-1); // 1 where the target is in targetIds
    const isAfter = tokens.slice([0, 0], [batch, pos - 1]).equal(afterId).cast("float32");
    const w = isTarget.mul(isAfter).mul(weight - 1).add(1);
    return nll.mul(w).sum().div(w.sum()) as tf.Scalar;
  });
}
