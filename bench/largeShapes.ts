/**
 * Random checkpoints with the real shapes of gpt2-xl (F32, 6.2 GB) and Pythia-2.8B (F16, as EleutherAI ships it,
 * 5.6 GB), in Hugging Face layout, for bench/large.ts. Written tensor by tensor (one tensor in memory at a time),
 * atomically (temporary name, then rename). Shapes are the models' config.json values on the Hugging Face Hub.
 */
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import type { ModelShape } from "./checkpoint";

/** A model shape (as bench/checkpoint.ts's) with its family and file dtype. */
export interface LargeShape extends ModelShape {
  readonly id: string;
  readonly family: "gpt2" | "gpt_neox";
  readonly dtype: "F32" | "F16";
}

export const LARGE_SHAPES: Record<string, LargeShape> = {
  "gpt2-xl": { id: "gpt2-xl", family: "gpt2", dtype: "F32", nLayers: 48, dModel: 1600, nHeads: 25, dMlp: 6400, dVocab: 50257, nCtx: 1024 },
  "pythia-2.8b": { id: "pythia-2.8b", family: "gpt_neox", dtype: "F16", nLayers: 32, dModel: 2560, nHeads: 32, dMlp: 10240, dVocab: 50304, nCtx: 2048 },
  // Two-layer versions to check the script and the lens-vs-numpy agreement in seconds (BENCH_LARGE_SHAPES=smoke-gpt2,smoke-neox; not written to RESULTS.md).
  "smoke-gpt2": { id: "smoke-gpt2", family: "gpt2", dtype: "F32", nLayers: 2, dModel: 256, nHeads: 4, dMlp: 1024, dVocab: 50257, nCtx: 1024 },
  "smoke-neox": { id: "smoke-neox", family: "gpt_neox", dtype: "F16", nLayers: 2, dModel: 256, nHeads: 4, dMlp: 1024, dVocab: 50304, nCtx: 2048 },
};

/** HF tensor names and shapes, in file order. */
export function hfTensors(s: LargeShape): Array<[string, number[]]> {
  const { nLayers: L, dModel: D, dMlp: M, dVocab: V, nCtx: P } = s;
  const out: Array<[string, number[]]> = [];
  if (s.family === "gpt2") {
    out.push(["wte.weight", [V, D]], ["wpe.weight", [P, D]]);
    for (let l = 0; l < L; l++) {
      const h = `h.${l}`;
      out.push([`${h}.ln_1.weight`, [D]], [`${h}.ln_1.bias`, [D]], [`${h}.attn.c_attn.weight`, [D, 3 * D]], [`${h}.attn.c_attn.bias`, [3 * D]],
        [`${h}.attn.c_proj.weight`, [D, D]], [`${h}.attn.c_proj.bias`, [D]], [`${h}.ln_2.weight`, [D]], [`${h}.ln_2.bias`, [D]],
        [`${h}.mlp.c_fc.weight`, [D, M]], [`${h}.mlp.c_fc.bias`, [M]], [`${h}.mlp.c_proj.weight`, [M, D]], [`${h}.mlp.c_proj.bias`, [D]]);
    }
    out.push(["ln_f.weight", [D]], ["ln_f.bias", [D]]);
  } else {
    out.push(["gpt_neox.embed_in.weight", [V, D]]);
    for (let l = 0; l < L; l++) {
      const p = `gpt_neox.layers.${l}`;
      out.push([`${p}.input_layernorm.weight`, [D]], [`${p}.input_layernorm.bias`, [D]], [`${p}.post_attention_layernorm.weight`, [D]],
        [`${p}.post_attention_layernorm.bias`, [D]], [`${p}.attention.query_key_value.weight`, [3 * D, D]], [`${p}.attention.query_key_value.bias`, [3 * D]],
        [`${p}.attention.dense.weight`, [D, D]], [`${p}.attention.dense.bias`, [D]], [`${p}.mlp.dense_h_to_4h.weight`, [M, D]],
        [`${p}.mlp.dense_h_to_4h.bias`, [M]], [`${p}.mlp.dense_4h_to_h.weight`, [D, M]], [`${p}.mlp.dense_4h_to_h.bias`, [D]]);
    }
    out.push(["gpt_neox.final_layer_norm.weight", [D]], ["gpt_neox.final_layer_norm.bias", [D]], ["embed_out.weight", [V, D]]);
  }
  return out;
}

export function configJson(s: LargeShape): Record<string, unknown> {
  if (s.family === "gpt2") {
    return {
      architectures: ["GPT2LMHeadModel"], model_type: "gpt2", activation_function: "gelu_new", layer_norm_epsilon: 1e-5,
      n_ctx: s.nCtx, n_positions: s.nCtx, n_embd: s.dModel, n_head: s.nHeads, n_layer: s.nLayers, n_inner: null, vocab_size: s.dVocab,
      tie_word_embeddings: true, scale_attn_by_inverse_layer_idx: false, torch_dtype: "float32",
    };
  }
  return {
    architectures: ["GPTNeoXForCausalLM"], model_type: "gpt_neox", hidden_act: "gelu", hidden_size: s.dModel,
    num_attention_heads: s.nHeads, num_hidden_layers: s.nLayers, intermediate_size: s.dMlp, max_position_embeddings: s.nCtx,
    vocab_size: s.dVocab, rotary_pct: 0.25, rotary_emb_base: 10000, use_parallel_residual: true, layer_norm_eps: 1e-5,
    tie_word_embeddings: false, torch_dtype: "float16",
  };
}

const isLnWeight = (k: string) => /(ln_\d|ln_f|layernorm|layer_norm)\.weight$/.test(k);

/** Deterministic values: LayerNorm weights in 1 ± 0.05, everything else uniform in ±0.02 (an LCG per tensor). */
function fill(n: number, seed: number, ln: boolean): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = (s / 2 ** 32) * 2 - 1;
    out[i] = ln ? 1 + 0.05 * u : 0.02 * u;
  }
  return out;
}

/** float32 → float16 bits, round to nearest even; normal and subnormal range (the values here are small and finite). */
function toHalf(x: Float32Array): Uint16Array {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const b = bits[i];
    const sign = (b >>> 16) & 0x8000;
    const exp = ((b >>> 23) & 0xff) - 127 + 15;
    const mant = b & 0x7fffff;
    if (exp >= 31) out[i] = sign | 0x7c00;
    else if (exp <= 0) {
      if (exp < -10) out[i] = sign;
      else {
        const m = (mant | 0x800000) >>> (1 - exp);
        out[i] = sign | ((m + 0x1000) >>> 13);
      }
    } else {
      let h = sign | (exp << 10) | (mant >>> 13);
      const rest = mant & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
      out[i] = h;
    }
  }
  return out;
}

/** Writes config.json + model.safetensors for `s` into `dir`; returns the weight file's bytes. */
export async function writeLargeCheckpoint(dir: string, s: LargeShape): Promise<number> {
  await mkdir(dir, { recursive: true });
  const tensors = hfTensors(s);
  const bytes = s.dtype === "F32" ? 4 : 2;
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [k, shape] of tensors) {
    const n = shape.reduce((a, b) => a * b, 1) * bytes;
    header[k] = { dtype: s.dtype, shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const file = path.join(dir, "model.safetensors");
  const tmp = `${file}.partial`;
  const out = createWriteStream(tmp);
  const write = (b: Uint8Array) => new Promise<void>((res, rej) => (out.write(b, (e) => (e ? rej(e) : res()))));
  try {
    await write(len);
    await write(Buffer.from(json, "utf8"));
    for (const [i, [k, shape]] of tensors.entries()) {
      const v = fill(shape.reduce((a, b) => a * b, 1), 1000 + i, isLnWeight(k));
      const data = s.dtype === "F32" ? v : toHalf(v);
      await write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
    await rename(tmp, file);
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
  await writeFile(path.join(dir, "config.json"), JSON.stringify(configJson(s), null, 2));
  return 8 + Buffer.byteLength(json) + offset;
}
