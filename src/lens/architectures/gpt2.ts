// Reference: transformer_lens/pretrained/weight_conversions/gpt2.py; transformers/models/gpt2/modeling_gpt2.py
/**
 * GPT-2: Conv1D weights stored [in, out]; fused c_attn output axis ordered (qkv, head, dHead); learned positions;
 * sequential residual; unembedding tied to `wte`; `gelu_new`. Keys may carry a `transformer.` prefix.
 */
import * as tf from "@tensorflow/tfjs";
import type { ActFn, TransformerConfig } from "../config";
import { mapRead, perLayer, splitQkv, T } from "./convert";
import { num, numOr, str } from "./hfConfig";
import type { Architecture } from "./types";

/** A GPT-2 checkpoint tensor stored exactly as lens holds it: HF name, lens name, shape. */
export type Gpt2Direct = readonly [hf: string, lens: string, shape: (cfg: TransformerConfig) => number[]];

/**
 * The GPT-2 tensors that need no reshaping, both ways (read here, written by training/params.ts's `toHfGpt2`):
 * per layer (`h.L.` ↔ `blocks.L.`; the MLP part absent for attnOnly models) and global. The rest — the fused
 * `c_attn` (output axis ordered qkv, head, dHead) ↔ W_Q/W_K/W_V [H, D, d], `attn.c_proj` [H·d, D] ↔ W_O [H, d, D], and
 * `lm_head` [V, D] ↔ W_U [D, V] — are reshapes written out next to each other in both files.
 */
export const GPT2_DIRECT: { readonly attn: readonly Gpt2Direct[]; readonly mlp: readonly Gpt2Direct[]; readonly global: readonly Gpt2Direct[] } = {
  attn: [
    ["ln_1.weight", "ln1.w", (c) => [c.dModel]], ["ln_1.bias", "ln1.b", (c) => [c.dModel]],
    ["attn.c_proj.bias", "attn.b_O", (c) => [c.dModel]],
  ],
  mlp: [
    ["ln_2.weight", "ln2.w", (c) => [c.dModel]], ["ln_2.bias", "ln2.b", (c) => [c.dModel]],
    ["mlp.c_fc.weight", "mlp.W_in", (c) => [c.dModel, c.dMlp]], ["mlp.c_fc.bias", "mlp.b_in", (c) => [c.dMlp]],
    ["mlp.c_proj.weight", "mlp.W_out", (c) => [c.dMlp, c.dModel]], ["mlp.c_proj.bias", "mlp.b_out", (c) => [c.dModel]],
  ],
  global: [
    ["wte.weight", "embed.W_E", (c) => [c.dVocab, c.dModel]], ["wpe.weight", "pos_embed.W_pos", (c) => [c.nCtx, c.dModel]],
    ["ln_f.weight", "ln_final.w", (c) => [c.dModel]], ["ln_f.bias", "ln_final.b", (c) => [c.dModel]],
  ],
};

export const gpt2: Architecture = {
  modelType: "gpt2",
  hfArchitectures: ["GPT2LMHeadModel"],
  ignoredKeys: /(^|\.)attn\.(bias|masked_bias)$/,
  optionalPrefixes: ["transformer."],
  toConfig: (hf, modelName) => {
    if (hf.scale_attn_by_inverse_layer_idx === true) {
      throw new Error(`${modelName}/config.json: scale_attn_by_inverse_layer_idx is not supported yet (no released GPT-2 uses it)`);
    }
    const dModel = num(hf, modelName, "n_embd", "hidden_size");
    return {
      modelName, architecture: "gpt2",
      nLayers: num(hf, modelName, "n_layer", "num_hidden_layers"), dModel, nHeads: num(hf, modelName, "n_head", "num_attention_heads"),
      dMlp: numOr(hf, 4 * dModel, "n_inner"), nCtx: num(hf, modelName, "n_positions", "n_ctx"), dVocab: num(hf, modelName, "vocab_size"),
      actFn: str(hf, "activation_function", "gelu_new") as ActFn, eps: numOr(hf, 1e-5, "layer_norm_epsilon"),
      normalizationType: "LN", positionalEmbeddingType: "standard", rotaryBase: 10000,
      parallelAttnMlp: false, defaultPrependBos: true,
      attnOnly: hf.attn_only === true, // lens extension (bundled toy models): blocks without ln_2 / mlp
    };
  },
  toStateDict: (read, cfg) => {
    const { dModel: D, nHeads: H, dHead: d, dVocab: V } = cfg;
    const direct = (table: readonly Gpt2Direct[], hfPrefix: string) =>
      Object.fromEntries(table.map(([hf, lens, shape]) => [lens, read.read(`${hfPrefix}${hf}`, shape(cfg))]));
    const global = direct(GPT2_DIRECT.global, "");
    const W_U = read.has("lm_head.weight") ? T(read.read("lm_head.weight", [V, D])) : global["embed.W_E"]!.transpose();
    return perLayer(
      cfg,
      (l) => {
        const h = `h.${l}`;
        const W = splitQkv(mapRead(read.read(`${h}.attn.c_attn.weight`, [D, 3 * D]), (w) => w.reshape([D, 3, H, d]).transpose([1, 2, 0, 3])));
        const b = splitQkv(mapRead(read.read(`${h}.attn.c_attn.bias`, [3 * D]), (x) => x.reshape([3, H, d])));
        return {
          ...direct(GPT2_DIRECT.attn, `${h}.`),
          "attn.W_Q": W.q, "attn.W_K": W.k, "attn.W_V": W.v, "attn.b_Q": b.q, "attn.b_K": b.k, "attn.b_V": b.v,
          "attn.W_O": mapRead(read.read(`${h}.attn.c_proj.weight`, [D, D]), (w) => w.reshape([H, d, D])),
          ...(cfg.attnOnly ? {} : direct(GPT2_DIRECT.mlp, `${h}.`)),
        };
      },
      { ...global, "unembed.W_U": W_U, "unembed.b_U": tf.zeros([V]) },
    );
  },
};
