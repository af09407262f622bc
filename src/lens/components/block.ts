/**
 * A transformer block's residual wiring, from `cfg.parallelAttnMlp`: GPT-2 is sequential (attention, then the MLP
 * reads `resid_mid`); GPT-NeoX is parallel (both read `resid_pre`, no `hook_resid_mid`).
 */
import type * as tf from "@tensorflow/tfjs";
import type { TransformerConfig } from "../config";
import type { HookRegistry } from "../hookPoint";
import { attention, type Padding } from "./attention";
import { layerNorm } from "./layerNorm";
import { mlp } from "./mlp";
import type { ModelWeights } from "./weights";

/** `[batch, pos, dModel]` → `[batch, pos, dModel]`, firing every `blocks.{layer}.*` hook in TransformerLens order. */
export function block(resid: tf.Tensor, w: ModelWeights, cfg: TransformerConfig, layer: number, hooks: HookRegistry, pad?: Padding): tf.Tensor {
  const p = `blocks.${layer}`;
  const ln = (x: tf.Tensor, name: "ln1" | "ln2") =>
    layerNorm(x, w.maybe(`${p}.${name}.w`), w.maybe(`${p}.${name}.b`), cfg.eps, hooks, `${p}.${name}`);
  const residPre = hooks.run(`${p}.hook_resid_pre`, resid);
  const attnOut = hooks.run(`${p}.hook_attn_out`, attention(ln(residPre, "ln1"), w, cfg, layer, hooks, pad));
  if (cfg.attnOnly) return hooks.run(`${p}.hook_resid_post`, residPre.add(attnOut));
  if (cfg.parallelAttnMlp) {
    const mlpOut = hooks.run(`${p}.hook_mlp_out`, mlp(ln(residPre, "ln2"), w, cfg, layer, hooks));
    return hooks.run(`${p}.hook_resid_post`, residPre.add(attnOut).add(mlpOut));
  }
  const residMid = hooks.run(`${p}.hook_resid_mid`, residPre.add(attnOut));
  const mlpOut = hooks.run(`${p}.hook_mlp_out`, mlp(ln(residMid, "ln2"), w, cfg, layer, hooks));
  return hooks.run(`${p}.hook_resid_post`, residMid.add(mlpOut));
}
