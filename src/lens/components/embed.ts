/** Token and position embeddings and the unembedding. */
import * as tf from "@tensorflow/tfjs";
import type { ModelWeights } from "./weights";

/** `W_E[tokens]`: int32 `[batch, pos]` → `[batch, pos, dModel]`. */
export function embed(tokens: tf.Tensor2D, w: ModelWeights): tf.Tensor {
  return tf.gather(w.get("embed.W_E"), tokens);
}

/**
 * `W_pos[0..pos)` tiled over the batch: `[batch, pos, dModel]` (`[1, pos, dModel]` without `batch`, for broadcasting); with `positions` (int32 `[batch, pos]`, for
 * left padding) `W_pos[positions]`, zeroed where `mask` is 0 (as TransformerLens does at pad tokens).
 */
export function posEmbed(batch: number | undefined, pos: number, w: ModelWeights, positions?: tf.Tensor, mask?: tf.Tensor): tf.Tensor {
  const W_pos = w.get("pos_embed.W_pos");
  if (positions !== undefined && mask !== undefined) return tf.gather(W_pos, positions).mul(mask.expandDims(-1));
  const rows = W_pos.slice([0, 0], [pos, W_pos.shape[1] as number]).expandDims(0);
  return batch === undefined ? rows : rows.tile([batch, 1, 1]);
}

/** `x·W_U + b_U`: `[batch, pos, dModel]` → `[batch, pos, dVocabOut]` (W_U kept as [dModel, dVocab]: no transposed matmul). */
export function unembed(x: tf.Tensor, w: ModelWeights): tf.Tensor {
  const [batch, pos, dModel] = x.shape;
  const W_U = w.get("unembed.W_U");
  const logits = tf.fused.matMul({ a: x.reshape([batch * pos, dModel]), b: W_U, bias: w.bias("unembed.b_U") });
  return logits.reshape([batch, pos, W_U.shape[1] as number]);
}
