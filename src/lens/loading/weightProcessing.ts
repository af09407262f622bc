/**
 * TransformerLens's weight processing as state-dict transforms (TL layout, weights multiply on the right):
 * foldLayerNorm → centerWritingWeights → centerUnembed → foldValueBiases. Each replaces entries of the map it is given
 * (disposing the tensors it replaces) and returns the config that now describes the weights.
 * Reference: transformer_lens/weight_processing.py; the math is written out in docs/sources.md §2.
 * These are the public, synchronous tf versions; `fromPretrained` uses hostProcessing.ts (the same steps in plain
 * loops, layer by layer: minutes faster on the cpu backend for large models), tested equal to these.
 */
import * as tf from "@tensorflow/tfjs";
import type { TransformerConfig } from "../config";
import type { StateDict } from "../components/weights";

/** The processing steps, as options of `fromPretrained` (all on by default, as in TransformerLens). */
export interface ProcessingOptions {
  readonly foldLn?: boolean;
  readonly centerWritingWeights?: boolean;
  readonly centerUnembed?: boolean;
  readonly foldValueBiases?: boolean;
}

function take(sd: StateDict, key: string): tf.Tensor {
  const t = sd.get(key);
  if (t === undefined) throw new Error(`weight processing: the state dict has no "${key}"`);
  return t;
}

/** Replaces `key` with `f(old)` computed in a tidy, disposing the old tensor. */
function update(sd: StateDict, key: string, f: (t: tf.Tensor) => tf.Tensor): void {
  const old = take(sd, key);
  sd.set(key, tf.tidy(() => f(old)));
  old.dispose();
}

function remove(sd: StateDict, key: string): tf.Tensor {
  const t = take(sd, key);
  sd.delete(key);
  return t;
}

/**
 * `v·W` over the dModel axis of W, which is always the second-to-last one here (W_Q [H, D, d], W_in / W_U [D, X]):
 * a (batched) row-vector product, so no large transpose or non-last-axis reduction (slow on tfjs's cpu backend).
 * Returns W's shape with that axis reduced to 1.
 */
function rowVectorTimes(v: tf.Tensor, W: tf.Tensor): tf.Tensor {
  const batch = W.shape.slice(0, -2);
  const row = v.reshape([...batch.map(() => 1), 1, -1]);
  return tf.matMul(batch.length ? row.tile([...batch, 1, 1]) : row, W);
}

/** Folds LayerNorm `ln` (weights w, b) into the matrices that read its output (their dModel axis is second-to-last). */
function foldInto(sd: StateDict, ln: string, readers: ReadonlyArray<readonly [string, string]>): void {
  const w = remove(sd, `${ln}.w`);
  const b = remove(sd, `${ln}.b`);
  for (const [W, bias] of readers) {
    const Wt = take(sd, W);
    // bias += Σ_D b[D]·W[.., D, :], with the unscaled W.
    update(sd, bias, (old) => old.add(rowVectorTimes(b, Wt).reshape(old.shape)));
    // W ← W·w (per dModel row), then centred over dModel. The old W is freed before the centred one is built, so
    // processing needs one extra copy of the largest matrix (W_U), not two.
    const scaled = tf.tidy(() => Wt.mul(w.reshape([-1, 1])));
    Wt.dispose();
    const dModel = scaled.shape[scaled.rank - 2];
    sd.set(W, tf.tidy(() => scaled.sub(rowVectorTimes(tf.fill([dModel], 1 / dModel), scaled))));
    scaled.dispose();
  }
  w.dispose();
  b.dispose();
}

/** Folds every LayerNorm's weight and bias into the following weights; the model becomes "LNPre". */
export function foldLayerNorm(sd: StateDict, cfg: TransformerConfig): TransformerConfig {
  if (cfg.normalizationType !== "LN") return cfg;
  for (let l = 0; l < cfg.nLayers; l++) {
    const a = `blocks.${l}.attn`;
    foldInto(sd, `blocks.${l}.ln1`, [[`${a}.W_Q`, `${a}.b_Q`], [`${a}.W_K`, `${a}.b_K`], [`${a}.W_V`, `${a}.b_V`]]);
    if (!cfg.attnOnly) foldInto(sd, `blocks.${l}.ln2`, [[`blocks.${l}.mlp.W_in`, `blocks.${l}.mlp.b_in`]]);
  }
  foldInto(sd, "ln_final", [["unembed.W_U", "unembed.b_U"]]);
  return { ...cfg, normalizationType: "LNPre" };
}

const centreLast = (t: tf.Tensor) => t.sub(t.mean(-1, true));

/** Removes the mean over dModel from everything that writes to the residual stream (LayerNorm makes it invisible). */
export function centerWritingWeights(sd: StateDict, cfg: TransformerConfig): TransformerConfig {
  update(sd, "embed.W_E", centreLast);
  if (sd.has("pos_embed.W_pos")) update(sd, "pos_embed.W_pos", centreLast);
  for (let l = 0; l < cfg.nLayers; l++) {
    const mlp = cfg.attnOnly ? [] : [`blocks.${l}.mlp.W_out`, `blocks.${l}.mlp.b_out`];
    for (const k of [`blocks.${l}.attn.W_O`, `blocks.${l}.attn.b_O`, ...mlp]) update(sd, k, centreLast);
  }
  return cfg;
}

/** Removes the mean over the vocabulary from W_U and b_U: logits shift by a constant, log-probs are unchanged. */
export function centerUnembed(sd: StateDict, cfg: TransformerConfig): TransformerConfig {
  update(sd, "unembed.W_U", centreLast);
  update(sd, "unembed.b_U", centreLast);
  return cfg;
}

/** Moves the value bias into the output bias: b_O += Σ_h b_V[h]·W_O[h]; b_V = 0 (exact, since patterns sum to 1). */
export function foldValueBiases(sd: StateDict, cfg: TransformerConfig): TransformerConfig {
  for (let l = 0; l < cfg.nLayers; l++) {
    const a = `blocks.${l}.attn`;
    const b_V = take(sd, `${a}.b_V`);
    const W_O = take(sd, `${a}.W_O`);
    update(sd, `${a}.b_O`, (b_O) => b_O.add(b_V.reshape([1, -1]).matMul(W_O.reshape([-1, cfg.dModel])).reshape([cfg.dModel])));
    update(sd, `${a}.b_V`, (t) => tf.zerosLike(t));
  }
  return cfg;
}

/** Applies the enabled steps in TransformerLens's order; returns the config describing the processed weights. */
export function processWeights(sd: StateDict, cfg: TransformerConfig, opts: ProcessingOptions): TransformerConfig {
  let c = cfg;
  if (opts.foldLn ?? true) c = foldLayerNorm(sd, c);
  if (opts.centerWritingWeights ?? true) c = centerWritingWeights(sd, c);
  if (opts.centerUnembed ?? true) c = centerUnembed(sd, c);
  if (opts.foldValueBiases ?? true) c = foldValueBiases(sd, c);
  return c;
}
