/**
 * Helpers for the loading tests: temp folders, rewritten copies of the committed fixture checkpoints, a tiny random
 * GPT-2 with the real 50257-token vocabulary, logits as plain arrays, and a leak-checking "load must fail" assertion.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, readFile, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { HookedTransformer } from "../../../src/lens/index";
import { readSafetensors, writeSafetensors, type TensorsToWrite } from "../../../src/lens/loading/safetensors";
import { FIXTURES, GPT2_TOKENIZER_DIR } from "../../fixtures";

export const GPT2_FIXTURE = path.join(FIXTURES, "tiny-gpt2");
export const NEOX_FIXTURE = path.join(FIXTURES, "tiny-neox");
export const NEOX_FILES = ["config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];

/** A writable copy of a checkpoint's tensors. */
export type Tensors = Record<string, { shape: number[]; data: Float32Array }>;

/** A fresh folder under os.tmpdir(); the caller removes it. */
export function tempDir(tag: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `lens-${tag}-`));
}

/** The fixture GPT-2 checkpoint's tensors, as float32 copies. */
export async function gpt2Tensors(): Promise<Tensors> {
  const out: Tensors = {};
  for (const [k, v] of await readSafetensors(path.join(GPT2_FIXTURE, "model.safetensors"))) out[k] = { shape: [...v.shape], data: Float32Array.from(v.data) };
  return out;
}

/** Writes `tensors` as `dir/model.safetensors` and `config` (default: the fixture's) as `dir/config.json`. */
export async function writeGpt2Folder(dir: string, tensors: TensorsToWrite, config?: Record<string, unknown>): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeSafetensors(path.join(dir, "model.safetensors"), tensors);
  if (config) await writeFile(path.join(dir, "config.json"), JSON.stringify(config, null, 2));
  else await copyFile(path.join(GPT2_FIXTURE, "config.json"), path.join(dir, "config.json"));
  return dir;
}

/** Copies the sharded GPT-NeoX fixture into `dir`, optionally editing its config.json. */
export async function copyNeoxFolder(dir: string, editConfig?: (c: Record<string, unknown>) => void): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const f of NEOX_FILES) await copyFile(path.join(NEOX_FIXTURE, f), path.join(dir, f));
  if (editConfig) {
    const cfg = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8"));
    editConfig(cfg);
    await writeFile(path.join(dir, "config.json"), JSON.stringify(cfg, null, 2));
  }
  return dir;
}

/** Deterministic uniform numbers in [−scale, scale) (mulberry32). */
export function randomData(n: number, seed: number, scale = 0.1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 2 ** 32 * 2 - 1) * scale;
  }
  return out;
}

/**
 * A random GPT-2 with the real vocabulary (50257), n_embd 8, n_head 2, n_layer 1, n_positions 32, keys as in the
 * fixture (no prefix, with the `attn.bias` buffer), plus the shared GPT-2 tokenizer files copied into `dir`.
 */
export async function writeTinyGpt2WithTokenizer(dir: string): Promise<string> {
  const [V, D, P, M] = [50257, 8, 32, 32];
  const shapes: Record<string, number[]> = {
    "wte.weight": [V, D], "wpe.weight": [P, D], "h.0.ln_1.weight": [D], "h.0.ln_1.bias": [D],
    "h.0.attn.c_attn.weight": [D, 3 * D], "h.0.attn.c_attn.bias": [3 * D], "h.0.attn.c_proj.weight": [D, D], "h.0.attn.c_proj.bias": [D],
    "h.0.ln_2.weight": [D], "h.0.ln_2.bias": [D], "h.0.mlp.c_fc.weight": [D, M], "h.0.mlp.c_fc.bias": [M],
    "h.0.mlp.c_proj.weight": [M, D], "h.0.mlp.c_proj.bias": [D], "ln_f.weight": [D], "ln_f.bias": [D],
  };
  const tensors: Tensors = {};
  Object.entries(shapes).forEach(([k, shape], i) => {
    const data = randomData(shape.reduce((a, b) => a * b, 1), 1000 + i);
    if (/ln_\d\.weight|ln_f\.weight/.test(k)) data.forEach((x, j) => (data[j] = 1 + x));
    tensors[k] = { shape, data };
  });
  const mask = new Float32Array(P * P).map((_, i) => (i % P <= Math.floor(i / P) ? 1 : 0));
  tensors["h.0.attn.bias"] = { shape: [1, 1, P, P], data: mask };
  const config = {
    model_type: "gpt2", architectures: ["GPT2LMHeadModel"], activation_function: "gelu_new", layer_norm_epsilon: 1e-5,
    n_embd: D, n_head: 2, n_layer: 1, n_positions: P, n_ctx: P, n_inner: null, vocab_size: V, bos_token_id: 50256, eos_token_id: 50256,
  };
  await writeGpt2Folder(dir, tensors, config);
  await copyGpt2Tokenizer(dir);
  return dir;
}

/** Copies the bundled real GPT-2 tokenizer (tokenizer.json, tokenizer_config.json) into the checkpoint folder `dir`. */
export async function copyGpt2Tokenizer(dir: string): Promise<void> {
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) await copyFile(path.join(GPT2_TOKENIZER_DIR, f), path.join(dir, f));
}

/** The model's logits for `input`, as a plain array (the tensor is disposed). */
export async function logitsOf(model: HookedTransformer, input: Parameters<HookedTransformer["forward"]>[0]): Promise<Float32Array> {
  const t = await model.forward(input);
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/** Asserts `load()` rejects with an Error matching every pattern, and that no tensor was left allocated. */
export async function expectLoadError(load: () => Promise<unknown>, patterns: RegExp[]): Promise<void> {
  const before = tf.memory().numTensors;
  let message = "";
  await assert.rejects(load, (e: unknown) => {
    assert.ok(e instanceof Error, `not an Error: ${String(e)}`);
    message = e.message;
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
  assert.equal(tf.memory().numTensors, before, `tensors leaked by the failed load (${message})`);
}

/** gpt2-xl's shape (its config.json on the Hugging Face Hub): 48 layers, d_model 1600, 25 heads, vocab 50257, 1024 positions. */
export const GPT2_XL = { nLayers: 48, dModel: 1600, nHeads: 25, dVocab: 50257, nCtx: 1024 } as const;

/**
 * A GPT-2 checkpoint folder of a given shape whose model.safetensors has a real header but a sparse data section
 * (ftruncate: the file's size is right, no data is written, nothing is read unless a loader reads it). Costs a few
 * kB of disk for a 6.2 GB gpt2-xl-shaped file: for tests that must refuse a model before reading its weights.
 */
export async function writeSparseGpt2(dir: string, s: { nLayers: number; dModel: number; nHeads: number; dVocab: number; nCtx: number } = GPT2_XL): Promise<string> {
  const { nLayers: L, dModel: D, dVocab: V, nCtx: P } = s;
  const shapes: Array<[string, number[]]> = [["wte.weight", [V, D]], ["wpe.weight", [P, D]], ["ln_f.weight", [D]], ["ln_f.bias", [D]]];
  for (let l = 0; l < L; l++) {
    const h = `h.${l}`;
    shapes.push([`${h}.ln_1.weight`, [D]], [`${h}.ln_1.bias`, [D]], [`${h}.attn.c_attn.weight`, [D, 3 * D]], [`${h}.attn.c_attn.bias`, [3 * D]],
      [`${h}.attn.c_proj.weight`, [D, D]], [`${h}.attn.c_proj.bias`, [D]], [`${h}.ln_2.weight`, [D]], [`${h}.ln_2.bias`, [D]],
      [`${h}.mlp.c_fc.weight`, [D, 4 * D]], [`${h}.mlp.c_fc.bias`, [4 * D]], [`${h}.mlp.c_proj.weight`, [4 * D, D]], [`${h}.mlp.c_proj.bias`, [D]]);
  }
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [k, shape] of shapes) {
    const n = 4 * shape.reduce((a, b) => a * b, 1);
    header[k] = { dtype: "F32", shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, "model.safetensors");
  await writeFile(file, Buffer.concat([len, json]));
  await truncate(file, 8 + json.length + offset);
  const config = {
    architectures: ["GPT2LMHeadModel"], model_type: "gpt2", activation_function: "gelu_new", layer_norm_epsilon: 1e-5,
    n_ctx: P, n_positions: P, n_embd: D, n_head: s.nHeads, n_layer: L, n_inner: null, vocab_size: V, tie_word_embeddings: true,
  };
  await writeFile(path.join(dir, "config.json"), JSON.stringify(config));
  return dir;
}
