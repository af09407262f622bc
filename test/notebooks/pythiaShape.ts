/**
 * A random checkpoint of Pythia-70M's shape in Hugging Face layout (GPT-NeoX: 6 layers, d_model 512, 8 heads,
 * d_mlp 2048, vocabulary 50304, rotary on 25% of each head, parallel residual, untied unembedding; config values as
 * in EleutherAI/pythia-70m's config.json), for running the course notebooks on a real-sized rotary model offline.
 * Pythia's own tokenizer cannot be downloaded here, so the folder carries a tokenizer with its special-token layout
 * built from the bundled GPT-2 one (neoxLayoutTokenizer): `<|endoftext|>` at id 0 (BOS, EOS and UNK, as in Pythia's
 * tokenizer_config.json) and the special `<|padding|>` at id 1, as in the GPT-NeoX-20B tokenizer Pythia uses, with
 * GPT-2's byte-level BPE shifted to ids 2…50257. The merges are GPT-2's, so English splits as GPT-2 splits it; what
 * this checks is that nothing assumes GPT-2's ids (50256 as BOS, ordinary tokens from 0). All ids fit in the
 * 50304-row embedding, which Pythia pads past its tokenizer anyway.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { writeSafetensors, type TensorsToWrite } from "../../src/lens/loading/safetensors";
import { GPT2_TOKENIZER_DIR } from "../fixtures";
import { randomData } from "../lens/loading/checkpoints";

export const PYTHIA_70M_SHAPE = { layers: 6, d: 512, heads: 8, mlp: 2048, vocab: 50304, ctx: 2048, rotaryPct: 0.25 } as const;

/** Writes the checkpoint (about 280 MB of float32 weights) and the Pythia-layout tokenizer into `dir`; returns `dir`. */
export async function writePythia70mShape(dir: string): Promise<string> {
  const { layers, d, heads, mlp, vocab, ctx, rotaryPct } = PYTHIA_70M_SHAPE;
  const rotaryDim = Math.round((d / heads) * rotaryPct);
  const tensors: TensorsToWrite = {};
  let seed = 1;
  // weights uniform in ±0.035 (std 0.02, Pythia's initializer_range); LayerNorm gains near 1
  const add = (name: string, shape: number[], kind: "weight" | "gain" | "bias" = "weight") => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = randomData(n, seed++, kind === "bias" ? 0.01 : 0.035);
    if (kind === "gain") data.forEach((x, j) => (data[j] = 1 + x));
    tensors[name] = { shape, data };
  };
  add("gpt_neox.embed_in.weight", [vocab, d]);
  for (let l = 0; l < layers; l++) {
    const p = `gpt_neox.layers.${l}`;
    add(`${p}.input_layernorm.weight`, [d], "gain");
    add(`${p}.input_layernorm.bias`, [d], "bias");
    add(`${p}.post_attention_layernorm.weight`, [d], "gain");
    add(`${p}.post_attention_layernorm.bias`, [d], "bias");
    add(`${p}.attention.query_key_value.weight`, [3 * d, d]);
    add(`${p}.attention.query_key_value.bias`, [3 * d], "bias");
    add(`${p}.attention.dense.weight`, [d, d]);
    add(`${p}.attention.dense.bias`, [d], "bias");
    tensors[`${p}.attention.rotary_emb.inv_freq`] = { shape: [rotaryDim / 2], data: Float32Array.from({ length: rotaryDim / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / rotaryDim)) };
    add(`${p}.mlp.dense_h_to_4h.weight`, [mlp, d]);
    add(`${p}.mlp.dense_h_to_4h.bias`, [mlp], "bias");
    add(`${p}.mlp.dense_4h_to_h.weight`, [d, mlp]);
    add(`${p}.mlp.dense_4h_to_h.bias`, [d], "bias");
  }
  add("gpt_neox.final_layer_norm.weight", [d], "gain");
  add("gpt_neox.final_layer_norm.bias", [d], "bias");
  add("embed_out.weight", [vocab, d]);
  const config = {
    architectures: ["GPTNeoXForCausalLM"], model_type: "gpt_neox", hidden_act: "gelu", hidden_size: d, intermediate_size: mlp,
    num_attention_heads: heads, num_hidden_layers: layers, max_position_embeddings: ctx, rotary_pct: rotaryPct, rotary_emb_base: 10000,
    layer_norm_eps: 1e-5, use_parallel_residual: true, tie_word_embeddings: false, vocab_size: vocab, bos_token_id: 0, eos_token_id: 0,
    attention_bias: true, torch_dtype: "float16",
  };
  await mkdir(dir, { recursive: true });
  await writeSafetensors(path.join(dir, "model.safetensors"), tensors);
  await writeFile(path.join(dir, "config.json"), JSON.stringify(config, null, 2));
  await writeNeoxLayoutTokenizer(dir);
  return dir;
}

/**
 * Writes the Pythia-layout tokenizer (neoxLayoutTokenizer) into the checkpoint folder `dir`, with the
 * tokenizer_config.json fields that matter here: one token, `<|endoftext|>`, for BOS, EOS and UNK, as Pythia's has.
 */
export async function writeNeoxLayoutTokenizer(dir: string): Promise<void> {
  const tokenizer = neoxLayoutTokenizer(JSON.parse(await readFile(path.join(GPT2_TOKENIZER_DIR, "tokenizer.json"), "utf8")));
  const eot = "<|endoftext|>";
  const config = { add_prefix_space: false, bos_token: eot, eos_token: eot, unk_token: eot, tokenizer_class: "GPTNeoXTokenizer" };
  await writeFile(path.join(dir, "tokenizer.json"), JSON.stringify(tokenizer));
  await writeFile(path.join(dir, "tokenizer_config.json"), JSON.stringify(config, null, 2));
}

interface TokenizerJson {
  added_tokens: { id: number; content: string; special: boolean; [k: string]: unknown }[];
  model: { vocab: Record<string, number>; [k: string]: unknown };
  [k: string]: unknown;
}

/**
 * GPT-2's tokenizer.json re-laid as GPT-NeoX-20B's special ids: `<|endoftext|>` 0, `<|padding|>` 1 (both added,
 * special), every other token's id + 2 (its merges unchanged, as BPE merges name tokens by their text).
 */
function neoxLayoutTokenizer(gpt2: TokenizerJson): TokenizerJson {
  const eot = "<|endoftext|>";
  const vocab: Record<string, number> = { [eot]: 0, "<|padding|>": 1 };
  for (const [tok, id] of Object.entries(gpt2.model.vocab)) if (tok !== eot) vocab[tok] = id + 2;
  const template = gpt2.added_tokens.find((t) => t.content === eot);
  if (!template) throw new Error(`the GPT-2 tokenizer.json has no added token ${eot}`);
  const added_tokens = [{ ...template, id: 0 }, { ...template, id: 1, content: "<|padding|>" }];
  return { ...gpt2, added_tokens, model: { ...gpt2.model, vocab } };
}
