// Reference: transformer_lens/pretrained/weight_conversions/gpt2.py; transformers/models/gpt2/modeling_gpt2.py
/**
 * GPT-2: Conv1D weights stored [in, out]; fused c_attn output axis ordered (qkv, head, dHead); learned positions;
 * sequential residual; unembedding tied to `wte`; `gelu_new`. Keys may carry a `transformer.` prefix.
 */
import * as tf from "@tensorflow/tfjs";
import type { ActFn } from "../config";
import { lnParams, mapRead, perLayer, splitQkv, T } from "./convert";
import { num, numOr, str } from "./hfConfig";
import type { Architecture } from "./types";

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
    const { dModel: D, nHeads: H, dHead: d, dMlp: M, dVocab: V, nCtx } = cfg;
    const wte = read.read("wte.weight", [V, D]);
    const wpe = read.read("wpe.weight", [nCtx, D]);
    const W_U = read.has("lm_head.weight") ? T(read.read("lm_head.weight", [V, D])) : wte.transpose();
    return perLayer(
      cfg,
      (l) => {
        const h = `h.${l}`;
        const W = splitQkv(mapRead(read.read(`${h}.attn.c_attn.weight`, [D, 3 * D]), (w) => w.reshape([D, 3, H, d]).transpose([1, 2, 0, 3])));
        const b = splitQkv(mapRead(read.read(`${h}.attn.c_attn.bias`, [3 * D]), (x) => x.reshape([3, H, d])));
        return {
          ...lnParams(read, `${h}.ln_1`, "ln1", D),
          "attn.W_Q": W.q, "attn.W_K": W.k, "attn.W_V": W.v, "attn.b_Q": b.q, "attn.b_K": b.k, "attn.b_V": b.v,
          "attn.W_O": mapRead(read.read(`${h}.attn.c_proj.weight`, [D, D]), (w) => w.reshape([H, d, D])),
          "attn.b_O": read.read(`${h}.attn.c_proj.bias`, [D]),
          ...(cfg.attnOnly ? {} : {
            ...lnParams(read, `${h}.ln_2`, "ln2", D),
            "mlp.W_in": read.read(`${h}.mlp.c_fc.weight`, [D, M]), "mlp.b_in": read.read(`${h}.mlp.c_fc.bias`, [M]),
            "mlp.W_out": read.read(`${h}.mlp.c_proj.weight`, [M, D]), "mlp.b_out": read.read(`${h}.mlp.c_proj.bias`, [D]),
          }),
        };
      },
      {
        "embed.W_E": wte, "pos_embed.W_pos": wpe, ...lnParams(read, "ln_f", "ln_final", D),
        "unembed.W_U": W_U, "unembed.b_U": tf.zeros([V]),
      },
    );
  },
};
