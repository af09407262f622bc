/**
 * Rotary position embeddings in GPT-NeoX's half-split form: the first `rotaryDim` dims of each head are split into
 * halves [x1, x2] and rotated as (x1·cos − x2·sin, x2·cos + x1·sin); the rest of the head passes through.
 * Reference: transformers/models/gpt_neox/modeling_gpt_neox.py (rotate_half); TL components/abstract_attention.py.
 */
import * as tf from "@tensorflow/tfjs";
import type { TransformerConfig } from "../config";
import type { ModelWeights } from "./weights";

/** cos and sin tables `[nCtx, rotaryDim]`, angles `pos·base^(−2i/rotaryDim)` repeated for both halves (float64 → float32). */
function tables(cfg: TransformerConfig): { cos: Float32Array; sin: Float32Array } {
  const half = cfg.rotaryDim / 2;
  const cos = new Float32Array(cfg.nCtx * cfg.rotaryDim);
  const sin = new Float32Array(cfg.nCtx * cfg.rotaryDim);
  for (let p = 0; p < cfg.nCtx; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * Math.pow(cfg.rotaryBase, (-2 * i) / cfg.rotaryDim);
      for (const j of [i, i + half]) {
        cos[p * cfg.rotaryDim + j] = Math.cos(angle);
        sin[p * cfg.rotaryDim + j] = Math.sin(angle);
      }
    }
  }
  return { cos, sin };
}

/**
 * Rotates `x` `[batch, pos, head, dHead]` for positions `0..pos)`, or for explicit int32 `positions` `[batch, pos]`
 * (left-padded batches, where each row's first real token is position 0).
 */
export function applyRotary(x: tf.Tensor, cfg: TransformerConfig, w: ModelWeights, positions?: tf.Tensor): tf.Tensor {
  const [batch, pos, nHeads, dHead] = x.shape;
  const rd = cfg.rotaryDim;
  const half = rd / 2;
  const shape: [number, number] = [cfg.nCtx, rd];
  let t: ReturnType<typeof tables> | undefined;
  const cosAll = w.derived("rotary.cos", () => tf.tensor2d((t ??= tables(cfg)).cos, shape));
  const sinAll = w.derived("rotary.sin", () => tf.tensor2d((t ??= tables(cfg)).sin, shape));
  const at = (table: tf.Tensor) =>
    positions === undefined ? table.slice([0, 0], [pos, rd]).reshape([1, pos, 1, rd]) : tf.gather(table, positions).reshape([batch, pos, 1, rd]);
  const cos = at(cosAll);
  const sin = at(sinAll);
  const xr = rd === dHead ? x : x.slice([0, 0, 0, 0], [batch, pos, nHeads, rd]);
  const x1 = xr.slice([0, 0, 0, 0], [batch, pos, nHeads, half]);
  const x2 = xr.slice([0, 0, 0, half], [batch, pos, nHeads, half]);
  const rotated = tf.concat([x2.neg(), x1], -1);
  const out = xr.mul(cos).add(rotated.mul(sin));
  if (rd === dHead) return out;
  return tf.concat([out, x.slice([0, 0, 0, rd], [batch, pos, nHeads, dHead - rd])], -1);
}
