/** The benchmark model: a random GPT-2-small-shaped checkpoint (Hugging Face layout) and the FLOPs of its forward. */
import { mkdir, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { writeSafetensors, type TensorsToWrite } from "../src/lens/loading/safetensors";

/** A GPT-2-style model's shape. */
export interface ModelShape {
  readonly nLayers: number;
  readonly dModel: number;
  readonly nHeads: number;
  readonly dMlp: number;
  readonly dVocab: number;
  readonly nCtx: number;
}

/** GPT-2 small's shape. */
export const SHAPE: ModelShape = { nLayers: 12, dModel: 768, nHeads: 12, dMlp: 3072, dVocab: 50257, nCtx: 1024 };

/** Deterministic uniform numbers in [−scale, scale) (an LCG: fast enough for 124 M values). */
function random(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 * 2 - 1) * scale;
  }
  return out;
}

/** Writes config.json + model.safetensors for a random GPT-2 small into `dir`. */
export async function writeGpt2Small(dir: string): Promise<void> {
  return writeGpt2(dir, SHAPE);
}

/** Writes config.json + model.safetensors for a random GPT-2 of `shape` into `dir`. */
export async function writeGpt2(dir: string, shape: ModelShape): Promise<void> {
  const { nLayers: L, dModel: D, dMlp: M, dVocab: V, nCtx: P } = shape;
  const shapes: Record<string, number[]> = { "wte.weight": [V, D], "wpe.weight": [P, D], "ln_f.weight": [D], "ln_f.bias": [D] };
  for (let l = 0; l < L; l++) {
    Object.assign(shapes, {
      [`h.${l}.ln_1.weight`]: [D], [`h.${l}.ln_1.bias`]: [D], [`h.${l}.attn.c_attn.weight`]: [D, 3 * D], [`h.${l}.attn.c_attn.bias`]: [3 * D],
      [`h.${l}.attn.c_proj.weight`]: [D, D], [`h.${l}.attn.c_proj.bias`]: [D], [`h.${l}.ln_2.weight`]: [D], [`h.${l}.ln_2.bias`]: [D],
      [`h.${l}.mlp.c_fc.weight`]: [D, M], [`h.${l}.mlp.c_fc.bias`]: [M], [`h.${l}.mlp.c_proj.weight`]: [M, D], [`h.${l}.mlp.c_proj.bias`]: [D],
    });
  }
  const tensors: TensorsToWrite = {};
  Object.entries(shapes).forEach(([k, shape], i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = random(n, 1000 + i, 0.05);
    if (k.endsWith("ln_1.weight") || k.endsWith("ln_2.weight") || k === "ln_f.weight") data.forEach((v, j) => (data[j] = 1 + v));
    tensors[k] = { shape, data };
  });
  await mkdir(dir, { recursive: true });
  await writeSafetensors(path.join(dir, "model.safetensors"), tensors);
  const config = {
    architectures: ["GPT2LMHeadModel"], model_type: "gpt2", activation_function: "gelu_new", layer_norm_epsilon: 1e-5,
    n_ctx: P, n_positions: P, n_embd: D, n_head: shape.nHeads, n_layer: L, n_inner: null, vocab_size: V,
    bos_token_id: 50256, eos_token_id: 50256, tie_word_embeddings: true, scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false, reorder_and_upcast_attn: false, torch_dtype: "float32",
  };
  await writeFile(path.join(dir, "config.json"), JSON.stringify(config, null, 2));
}

/** FLOPs of one forward over `batch × pos` tokens (matmuls and full, unmasked attention products). */
export function forwardFlops(batch: number, pos: number, shape: ModelShape = SHAPE): number {
  const { nLayers: L, dModel: D, dMlp: M, dVocab: V } = shape;
  const perToken = L * 2 * (D * 3 * D + D * D + 2 * D * M) + 2 * D * V;
  return batch * pos * perToken + L * batch * 4 * pos * pos * D;
}

/** FLOPs of a full head sweep: each of the nLayers·nHeads runs starts at its layer (startAtLayer) and unembeds. */
export function headSweepFlops(batch: number, pos: number, s: ModelShape = SHAPE): number {
  const unembed = forwardFlops(batch, pos, { ...s, nLayers: 0 });
  const block = (forwardFlops(batch, pos, s) - unembed) / s.nLayers;
  let total = 0;
  for (let l = 0; l < s.nLayers; l++) total += s.nHeads * ((s.nLayers - l) * block + unembed);
  return total;
}

/** FLOPs of one SAE training step (forward 2 products, backward 4). */
export function saeFlops(batch: number, dIn: number, dSae: number): number {
  return 6 * 2 * batch * dIn * dSae;
}

/** Deterministic token ids `[batch][pos]` in [0, dVocab). */
export function benchTokens(batch: number, pos: number, dVocab = SHAPE.dVocab): number[][] {
  let s = 12345;
  return Array.from({ length: batch }, () => Array.from({ length: pos }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % dVocab)));
}
