// Reference: transformer_lens/pretrained/weight_conversions/neox.py; transformers/models/gpt_neox/modeling_gpt_neox.py
/**
 * GPT-NeoX / Pythia: nn.Linear weights stored [out, in]; fused query_key_value output axis ordered
 * (head, qkv, dHead) — not (qkv, head, dHead) as in GPT-2; rotary on the first `rotary_pct` of each head (half-split);
 * parallel attention + MLP; untied `embed_out`; exact-erf GELU; no BOS by default.
 */
import * as tf from "@tensorflow/tfjs";
import type { ActFn } from "../config";
import { lnParams, mapRead, perLayer, splitQkv, T } from "./convert";
import { num, numOr, str } from "./hfConfig";
import type { Architecture, HfConfig } from "./types";

function ropeParam(hf: HfConfig, key: string): number | undefined {
  const rp = hf.rope_parameters ?? hf.rope_scaling;
  const v = typeof rp === "object" && rp !== null ? (rp as Record<string, unknown>)[key] : undefined;
  return typeof v === "number" ? v : undefined;
}

export const gptNeox: Architecture = {
  modelType: "gpt_neox",
  hfArchitectures: ["GPTNeoXForCausalLM"],
  ignoredKeys: /(^|\.)attention\.(rotary_emb\.inv_freq|bias|masked_bias)$/,
  optionalPrefixes: [],
  toConfig: (hf, modelName) => ({
    modelName, architecture: "gpt_neox",
    nLayers: num(hf, modelName, "num_hidden_layers"), dModel: num(hf, modelName, "hidden_size"),
    nHeads: num(hf, modelName, "num_attention_heads"), dMlp: num(hf, modelName, "intermediate_size"),
    nCtx: num(hf, modelName, "max_position_embeddings"), dVocab: num(hf, modelName, "vocab_size"),
    actFn: str(hf, "hidden_act", "gelu") as ActFn, eps: numOr(hf, 1e-5, "layer_norm_eps"),
    normalizationType: "LN", positionalEmbeddingType: "rotary",
    rotaryPct: numOr(hf, ropeParam(hf, "partial_rotary_factor") ?? 1, "rotary_pct", "partial_rotary_factor"),
    rotaryBase: numOr(hf, ropeParam(hf, "rope_theta") ?? 10000, "rotary_emb_base", "rope_theta"),
    parallelAttnMlp: hf.use_parallel_residual !== false, defaultPrependBos: false,
  }),
  toStateDict: (read, cfg) => {
    const { dModel: D, nHeads: H, dHead: d, dMlp: M, dVocab: V } = cfg;
    return perLayer(
      cfg,
      (l) => {
        const a = `gpt_neox.layers.${l}.attention`;
        const mlp = `gpt_neox.layers.${l}.mlp`;
        const W = splitQkv(mapRead(read.read(`${a}.query_key_value.weight`, [3 * D, D]), (w) => w.reshape([H, 3, d, D]).transpose([1, 0, 3, 2])));
        const b = splitQkv(
          read.has(`${a}.query_key_value.bias`)
            ? mapRead(read.read(`${a}.query_key_value.bias`, [3 * D]), (x) => x.reshape([H, 3, d]).transpose([1, 0, 2]))
            : tf.zeros([3, H, d]),
        );
        return {
          ...lnParams(read, `gpt_neox.layers.${l}.input_layernorm`, "ln1", D),
          "attn.W_Q": W.q, "attn.W_K": W.k, "attn.W_V": W.v, "attn.b_Q": b.q, "attn.b_K": b.k, "attn.b_V": b.v,
          "attn.W_O": mapRead(read.read(`${a}.dense.weight`, [D, D]), (w) => w.reshape([D, H, d]).transpose([1, 2, 0])),
          "attn.b_O": read.has(`${a}.dense.bias`) ? read.read(`${a}.dense.bias`, [D]) : tf.zeros([D]),
          ...lnParams(read, `gpt_neox.layers.${l}.post_attention_layernorm`, "ln2", D),
          "mlp.W_in": T(read.read(`${mlp}.dense_h_to_4h.weight`, [M, D])), "mlp.b_in": read.read(`${mlp}.dense_h_to_4h.bias`, [M]),
          "mlp.W_out": T(read.read(`${mlp}.dense_4h_to_h.weight`, [D, M])), "mlp.b_out": read.read(`${mlp}.dense_4h_to_h.bias`, [D]),
        };
      },
      {
        "embed.W_E": read.read("gpt_neox.embed_in.weight", [V, D]),
        ...lnParams(read, "gpt_neox.final_layer_norm", "ln_final", D),
        "unembed.W_U": T(read.read("embed_out.weight", [V, D])), "unembed.b_U": tf.zeros([V]),
      },
    );
  },
};
