/**
 * Trainable parameters in TransformerLens layout: a `tf.Variable` per state-dict entry, built from a config with a
 * seeded GPT-2-style initialisation, wrapped as `ModelWeights` (derived cache off) so `runModel` is the differentiable
 * forward. `toHfGpt2` writes them back as a Hugging Face GPT-2 checkpoint (the layout `architectures/gpt2.ts` reads).
 */
import * as tf from "@tensorflow/tfjs";
import { expectedParamShapes } from "../architectures/convert";
import { GPT2_DIRECT, type Gpt2Direct } from "../architectures/gpt2";
import { ModelWeights } from "../components/weights";
import type { TransformerConfig } from "../config";
import { makeRng, normalSamples } from "../datasets/prng";
import type { TensorsToWrite } from "../loading/safetensors";

/** Parameters by TL state-dict name. */
export type ParamSet = Map<string, tf.Variable>;

/** Keys that are never trained: GPT-2 has no unembedding bias (the loader sets it to zero). */
export const FROZEN_KEYS = new Set(["unembed.b_U"]);

/** Seeded N(0, std²) values (Box–Muller over mulberry32), identical on every backend and machine. */
export function seededNormal(n: number, std: number, seed: number): Float32Array {
  return normalSamples(n, std, makeRng(seed).next);
}

/**
 * A fresh parameter set for `cfg` (GPT-2 initialisation: weights N(0, 0.02²), output projections scaled by
 * 1/√(2·nLayers), biases 0, LayerNorm weights 1), seeded: the same seed gives the same values everywhere.
 */
export function initParams(cfg: TransformerConfig, seed: number): ParamSet {
  const out: ParamSet = new Map();
  let k = 0;
  for (const [name, shape] of expectedParamShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const leaf = name.slice(name.lastIndexOf(".") + 1);
    let values: Float32Array;
    if (name.includes(".ln") || name.startsWith("ln_final")) values = new Float32Array(n).fill(leaf === "w" ? 1 : 0);
    else if (leaf.startsWith("b_")) values = new Float32Array(n);
    else {
      const std = leaf === "W_O" || name.endsWith("mlp.W_out") ? 0.02 / Math.sqrt(2 * cfg.nLayers) : 0.02;
      values = seededNormal(n, std, (seed * 1000 + k) >>> 0);
    }
    k++;
    out.set(name, tf.tidy(() => tf.variable(tf.tensor(values, shape, "float32"), !FROZEN_KEYS.has(name))));
  }
  return out;
}

/** `ModelWeights` over the variables for a differentiable `runModel` (no derived cache: QKV is fused per call). */
export function trainableWeights(params: ParamSet): ModelWeights {
  return new ModelWeights(params as Map<string, tf.Tensor>, false);
}

/** The trainable variables (everything but `FROZEN_KEYS`), in state-dict order. */
export function trainableVariables(params: ParamSet): tf.Variable[] {
  return [...params].filter(([k]) => !FROZEN_KEYS.has(k)).map(([, v]) => v);
}

/** Frees every variable. */
export function disposeParams(params: ParamSet): void {
  for (const v of params.values()) v.dispose();
}

/** Parameter count (trainable and frozen). */
export function paramCount(params: ParamSet): number {
  let n = 0;
  for (const v of params.values()) n += v.size;
  return n;
}

/** A Hugging Face GPT-2 `config.json` for `cfg` (with the lens extension `attn_only` when set). */
export function hfGpt2Config(cfg: TransformerConfig, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ["GPT2LMHeadModel"], model_type: "gpt2",
    n_layer: cfg.nLayers, n_embd: cfg.dModel, n_head: cfg.nHeads, n_inner: cfg.dMlp, n_positions: cfg.nCtx, n_ctx: cfg.nCtx,
    vocab_size: cfg.dVocab, activation_function: cfg.actFn, layer_norm_epsilon: cfg.eps,
    bos_token_id: 0, eos_token_id: 0, tie_word_embeddings: false,
    ...(cfg.attnOnly ? { attn_only: true } : {}),
    ...extra,
  };
}

/** The parameters as GPT-2 checkpoint tensors (Conv1D [in, out] layout, fused c_attn, untied lm_head): the inverse of architectures/gpt2.ts (its GPT2_DIRECT table plus the reshapes). */
export async function toHfGpt2(params: ParamSet, cfg: TransformerConfig): Promise<TensorsToWrite> {
  const { dModel: D, nHeads: H, dHead: d } = cfg;
  const out: TensorsToWrite = {};
  const put = async (name: string, t: tf.Tensor) => {
    out[name] = { shape: t.shape, data: (await t.data()) as Float32Array };
    t.dispose();
  };
  const p = (k: string) => {
    const v = params.get(k);
    if (v === undefined) throw new Error(`toHfGpt2: parameter ${k} is missing`);
    return v;
  };
  const direct = async (table: readonly Gpt2Direct[], lensPrefix: string, hfPrefix: string) => {
    for (const [hf, lens] of table) await put(`${hfPrefix}${hf}`, p(`${lensPrefix}${lens}`).clone());
  };
  await direct(GPT2_DIRECT.global, "", "");
  for (let l = 0; l < cfg.nLayers; l++) {
    const b = `blocks.${l}`, h = `h.${l}`;
    await direct(GPT2_DIRECT.attn, `${b}.`, `${h}.`);
    // c_attn.weight [D, 3D], output axis ordered (qkv, head, dHead); TL W_Q is [H, D, d]
    await put(`${h}.attn.c_attn.weight`, tf.tidy(() => tf.concat(["W_Q", "W_K", "W_V"].map((x) => p(`${b}.attn.${x}`).transpose([1, 0, 2]).reshape([D, H * d])), 1)));
    await put(`${h}.attn.c_attn.bias`, tf.tidy(() => tf.concat(["b_Q", "b_K", "b_V"].map((x) => p(`${b}.attn.${x}`).reshape([H * d])), 0)));
    await put(`${h}.attn.c_proj.weight`, p(`${b}.attn.W_O`).reshape([H * d, D]));
    if (!cfg.attnOnly) await direct(GPT2_DIRECT.mlp, `${b}.`, `${h}.`);
  }
  await put("lm_head.weight", p("unembed.W_U").transpose());
  return out;
}
