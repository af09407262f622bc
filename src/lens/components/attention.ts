/**
 * Causal multi-head self-attention with TransformerLens's hook points:
 * `attn.hook_q/k/v` [batch, pos, head, dHead], `attn.hook_rot_q/rot_k` (rotary models), `attn.hook_attn_scores` and
 * `attn.hook_pattern` [batch, head, query, key], `attn.hook_z` [batch, pos, head, dHead] and, when `useAttnResult` is on,
 * `attn.hook_result` [batch, pos, head, dModel].
 */
import * as tf from "@tensorflow/tfjs";
import type { TransformerConfig } from "../config";
import type { HookRegistry } from "../hookPoint";
import { applyRotary } from "./rotary";
import type { ModelWeights } from "./weights";

/** Attention-mask data for padded batches (see `forward.ts`). */
export interface Padding {
  /** int32 `[batch, pos]`: each token's position, counting from the row's first real token. */
  readonly positions: tf.Tensor;
  /** float `[batch, pos]`: 1 for real tokens, 0 for padding. */
  readonly mask: tf.Tensor;
  /** Additive key mask `[batch, 1, 1, pos]`: 0 for real tokens, −∞ for padding. */
  readonly keyMask: tf.Tensor;
}

/**
 * `[dModel, nHeads·dHead]` projection and `[nHeads·dHead]` bias for Q, K or V, flattened once from the TL weights.
 * Three products with the bias fused in, rather than one Q|K|V product: slicing the fused output cost more (8% of
 * a wasm+BLAS forward, 40% on cpu) than the two extra matmul calls.
 */
function projection(w: ModelWeights, cfg: TransformerConfig, p: string, which: "Q" | "K" | "V"): { W: tf.Tensor; b: tf.Tensor } {
  const width = cfg.nHeads * cfg.dHead;
  const W = w.derived(`${p}.W_${which}_flat`, () => w.get(`${p}.W_${which}`).transpose([1, 0, 2]).reshape([cfg.dModel, width]));
  return { W, b: w.bias(`${p}.b_${which}`) };
}

/** Additive causal mask `[pos, pos]`: 0 on and below the diagonal, −∞ above. */
function causalMask(w: ModelWeights, cfg: TransformerConfig, pos: number): tf.Tensor {
  const full = w.derived("attn.causalMask", () => {
    const n = cfg.nCtx;
    const m = new Float32Array(n * n);
    for (let q = 0; q < n; q++) for (let k = q + 1; k < n; k++) m[q * n + k] = -Infinity;
    return tf.tensor2d(m, [n, n]);
  });
  return full.slice([0, 0], [pos, pos]);
}

/**
 * Each head's output `z_h·W_O[h]` (no b_O): z `[..., head, dHead]`, W_O `[head, dHead, dModel]` → `[..., head, dModel]`
 * (TransformerLens's `hook_result`).
 */
export function headResults(z: tf.Tensor, W_O: tf.Tensor): tf.Tensor {
  const [nHeads, dHead, dModel] = W_O.shape as [number, number, number];
  const lead = z.shape.slice(0, -2);
  const n = lead.reduce((a, b) => a * b, 1);
  // [head, n, dHead] · W_O [head, dHead, dModel] → [head, n, dModel] → [..., head, dModel]
  const perHead = tf.matMul(z.reshape([n, nHeads, dHead]).transpose([1, 0, 2]), W_O);
  return perHead.transpose([1, 0, 2]).reshape([...lead, nHeads, dModel]);
}

/** `x` is the LayerNorm output `[batch, pos, dModel]`; returns the attention output before `hook_attn_out`. */
export function attention(x: tf.Tensor, w: ModelWeights, cfg: TransformerConfig, layer: number, hooks: HookRegistry, pad?: Padding): tf.Tensor {
  const [batch, pos, dModel] = x.shape;
  const { nHeads, dHead } = cfg;
  const width = nHeads * dHead;
  const p = `blocks.${layer}.attn`;
  const flat = x.reshape([batch * pos, dModel]);
  const part = (which: "Q" | "K" | "V") => {
    const { W, b } = projection(w, cfg, p, which);
    return tf.fused.matMul({ a: flat, b: W, bias: b }).reshape([batch, pos, nHeads, dHead]);
  };
  let q = hooks.run(`${p}.hook_q`, part("Q"));
  let k = hooks.run(`${p}.hook_k`, part("K"));
  const v = hooks.run(`${p}.hook_v`, part("V"));
  if (cfg.positionalEmbeddingType === "rotary") {
    q = hooks.run(`${p}.hook_rot_q`, applyRotary(q, cfg, w, pad?.positions));
    k = hooks.run(`${p}.hook_rot_k`, applyRotary(k, cfg, w, pad?.positions));
  }
  const heads = (t: tf.Tensor) => t.transpose([0, 2, 1, 3]); // [batch, head, pos, dHead]
  const raw = tf.matMul(heads(q), heads(k), false, true).div(cfg.attnScale);
  const masked = raw.add(causalMask(w, cfg, pos));
  const scores = hooks.run(`${p}.hook_attn_scores`, pad ? masked.add(pad.keyMask) : masked);
  const probs = tf.softmax(scores, -1);
  // A pad query with only pad keys has an all −∞ row: its softmax is NaN, set to 0 (TransformerLens does the same).
  const pattern = hooks.run(`${p}.hook_pattern`, pad ? tf.where(tf.isNaN(probs), tf.zerosLike(probs), probs) : probs);
  const z = hooks.run(`${p}.hook_z`, tf.matMul(pattern, heads(v)).transpose([0, 2, 1, 3]));
  const b_O = w.get(`${p}.b_O`);
  if (cfg.useAttnResult) {
    const result = hooks.run(`${p}.hook_result`, headResults(z, w.get(`${p}.W_O`))); // [batch, pos, head, dModel]
    return result.sum(2).add(b_O);
  }
  const W_O = w.derived(`${p}.W_O_flat`, () => w.get(`${p}.W_O`).reshape([width, dModel]));
  return tf.fused.matMul({ a: z.reshape([batch * pos, width]), b: W_O, bias: w.bias(`${p}.b_O`) }).reshape([batch, pos, dModel]);
}
