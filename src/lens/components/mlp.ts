/** The MLP: `W_in`/`b_in` → activation → `W_out`/`b_out`, firing `mlp.hook_pre` and `mlp.hook_post`. */
import * as tf from "@tensorflow/tfjs";
import { ACTIVATIONS } from "../activations";
import type { TransformerConfig } from "../config";
import type { HookRegistry } from "../hookPoint";
import type { ModelWeights } from "./weights";

/** `x` is `[batch, pos, dModel]`; returns `[batch, pos, dModel]` (before `hook_mlp_out`). */
export function mlp(x: tf.Tensor, w: ModelWeights, cfg: TransformerConfig, layer: number, hooks: HookRegistry): tf.Tensor {
  const [batch, pos, dModel] = x.shape;
  const p = `blocks.${layer}.mlp`;
  const flat = x.reshape([batch * pos, dModel]);
  // fused matMul + bias: one pass over the output (OpenBLAS kernels start from the bias, see accel/blasKernels.ts)
  const pre = hooks.run(`${p}.hook_pre`, tf.fused.matMul({ a: flat, b: w.get(`${p}.W_in`), bias: w.bias(`${p}.b_in`) }).reshape([batch, pos, cfg.dMlp]));
  const post = hooks.run(`${p}.hook_post`, ACTIVATIONS[cfg.actFn](pre));
  return tf.fused.matMul({ a: post.reshape([batch * pos, cfg.dMlp]), b: w.get(`${p}.W_out`), bias: w.bias(`${p}.b_out`) }).reshape([batch, pos, dModel]);
}
