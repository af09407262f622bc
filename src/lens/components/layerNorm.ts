/** LayerNorm as TransformerLens computes it, firing `{prefix}.hook_scale` and `{prefix}.hook_normalized`. */
import * as tf from "@tensorflow/tfjs";
import type { HookRegistry } from "../hookPoint";

/**
 * `x − mean`, `scale = sqrt(mean(x²) + eps)`, `normalized = x/scale`, then `normalized·w + b` when the weights exist
 * (LN); LNPre models (after `foldLn`) pass no weights. `x` is `[..., dModel]`; the scale is `[..., 1]`.
 */
export function layerNorm(
  x: tf.Tensor,
  w: tf.Tensor | undefined,
  b: tf.Tensor | undefined,
  eps: number,
  hooks: HookRegistry,
  prefix: string,
): tf.Tensor {
  const centred = x.sub(x.mean(-1, true));
  const scale = hooks.run(`${prefix}.hook_scale`, centred.square().mean(-1, true).add(eps).sqrt());
  const normalized = hooks.run(`${prefix}.hook_normalized`, centred.div(scale));
  if (w === undefined) return normalized;
  const out = normalized.mul(w);
  return b === undefined ? out : out.add(b);
}
