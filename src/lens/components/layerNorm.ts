/** LayerNorm as TransformerLens computes it, firing `{prefix}.hook_scale` and `{prefix}.hook_normalized`. */
import * as tf from "@tensorflow/tfjs";
import type { HookRegistry } from "../hookPoint";

/**
 * `x − mean`, `scale = sqrt(mean(x²) + eps)`, `normalized = x/scale`, then `normalized·w + b` when the weights exist
 * (LN); LNPre models (after `foldLn`) pass no weights. `x` is `[..., dModel]`; the scale is `[..., 1]`. With `hooks`,
 * fires `{prefix}.hook_scale` and `{prefix}.hook_normalized`; without, it is the plain function (the logit lens).
 */
export function layerNorm(
  x: tf.Tensor,
  w: tf.Tensor | undefined,
  b: tf.Tensor | undefined,
  eps: number,
  hooks?: HookRegistry,
  prefix = "",
): tf.Tensor {
  const run = (name: string, t: tf.Tensor) => (hooks ? hooks.run(`${prefix}.${name}`, t) : t);
  const centred = x.sub(x.mean(-1, true));
  const scale = run("hook_scale", centred.square().mean(-1, true).add(eps).sqrt());
  const normalized = run("hook_normalized", centred.div(scale));
  if (w === undefined) return normalized;
  const out = normalized.mul(w);
  return b === undefined ? out : out.add(b);
}
