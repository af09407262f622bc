/**
 * The loader's weight processing: the same four steps as weightProcessing.ts (foldLayerNorm → centerWritingWeights →
 * centerUnembed → foldValueBiases, TransformerLens's math, docs/sources.md §2), computed with plain loops over each
 * tensor's float32 values, layer by layer. Each parameter is replaced by a new tensor as soon as it is processed and
 * the old one is freed, so processing needs one extra parameter of memory, never a second model. Plain loops
 * matter on the cpu backend, whose broadcasting kernels take minutes for a gpt2-xl-sized model (bench/RESULTS.md);
 * sums are accumulated in float64. The steps commute across layers (each touches its own layer's tensors), so doing
 * all four per layer gives the same weights as TL's step-by-step order.
 */
import * as tf from "@tensorflow/tfjs";
import type { StateDict } from "../components/weights";
import type { TransformerConfig } from "../config";
import type { ProcessingOptions } from "./weightProcessing";

/**
 * `key`'s tensor and its float32 values, which the caller may overwrite: on cpu `data()` hands out the tensor's own
 * array, so processing works in place (a fresh multi-GB array costs page faults: ~3 ms per MB measured on a 2-core VM,
 * bench/RESULTS.md); when another entry of `sd` shares the tensor's data (a reshape of it), a copy.
 */
async function values(sd: StateDict, key: string): Promise<{ t: tf.Tensor; v: Float32Array }> {
  const t = sd.get(key);
  if (t === undefined) throw new Error(`weight processing: the state dict has no "${key}"`);
  const v = (await t.data()) as Float32Array;
  let sharers = 0;
  for (const u of sd.values()) if (u.dataId === t.dataId) sharers++;
  return { t, v: sharers > 1 ? v.slice() : v };
}

/** Puts `data` (shape of the old tensor; may be the old tensor's own array) in place of `key` and frees the old tensor. */
function replace(sd: StateDict, key: string, old: tf.Tensor, data: Float32Array | Float64Array): void {
  sd.set(key, tf.tensor(data instanceof Float32Array ? data : Float32Array.from(data), old.shape, "float32"));
  old.dispose();
}

/** Each row of `v` (rows of length `n`) minus its mean, in place. */
function centreRows(v: Float32Array, n: number): Float32Array {
  for (let r = 0; r < v.length; r += n) {
    const end = r + n;
    let s = 0;
    for (let i = r; i < end; i++) s += v[i];
    const m = s / n;
    for (let i = r; i < end; i++) v[i] -= m;
  }
  return v;
}

async function centreLast(sd: StateDict, key: string): Promise<void> {
  const { t, v } = await values(sd, key);
  replace(sd, key, t, centreRows(v, t.shape[t.rank - 1]));
}

/**
 * Folds LayerNorm `ln` into matrices W [..., D, X] that read its output, with their biases [..., X]:
 * bias += Σ_D b[D]·W[.., D, :]; W ← W·w (per dModel row), then centred over dModel. Removes `ln`'s parameters.
 */
async function foldInto(sd: StateDict, ln: string, readers: ReadonlyArray<readonly [string, string]>): Promise<void> {
  const lw = await values(sd, `${ln}.w`);
  const lb = await values(sd, `${ln}.b`);
  for (const [W, bias] of readers) {
    const { t: Wt, v: w } = await values(sd, W);
    const { t: bt, v: b } = await values(sd, bias);
    const D = Wt.shape[Wt.rank - 2];
    const X = Wt.shape[Wt.rank - 1];
    const newBias = Float64Array.from(b);
    const mean = new Float64Array(X);
    for (let blk = 0; blk < w.length / (D * X); blk++) {
      mean.fill(0);
      const bo = blk * X;
      for (let i = 0; i < D; i++) {
        const off = (blk * D + i) * X;
        const scale = lw.v[i];
        const shift = lb.v[i];
        for (let x = 0; x < X; x++) {
          const val = w[off + x];
          newBias[bo + x] += shift * val;
          const s = val * scale;
          w[off + x] = s; // in place (see values)
          mean[x] += s;
        }
      }
      for (let x = 0; x < X; x++) mean[x] /= D;
      for (let i = 0; i < D; i++) {
        const off = (blk * D + i) * X;
        for (let x = 0; x < X; x++) w[off + x] -= mean[x];
      }
    }
    replace(sd, W, Wt, w);
    replace(sd, bias, bt, newBias);
  }
  sd.delete(`${ln}.w`);
  sd.delete(`${ln}.b`);
  lw.t.dispose();
  lb.t.dispose();
}

/** b_O += Σ_{h,d} b_V[h, d]·W_O[h, d, :]; b_V ← 0. */
async function foldValueBias(sd: StateDict, a: string, dModel: number): Promise<void> {
  const bV = await values(sd, `${a}.b_V`);
  const WO = await values(sd, `${a}.W_O`);
  const bO = await values(sd, `${a}.b_O`);
  const acc = Float64Array.from(bO.v);
  for (let j = 0; j < bV.v.length; j++) {
    const c = bV.v[j];
    if (c === 0) continue;
    const off = j * dModel;
    for (let x = 0; x < dModel; x++) acc[x] += c * WO.v[off + x];
  }
  replace(sd, `${a}.b_O`, bO.t, acc);
  replace(sd, `${a}.b_V`, bV.t, bV.v.fill(0));
}

/**
 * Applies the enabled steps (all on by default, as in TransformerLens) to `sd` in place, layer by layer; `onLayer`
 * is told after each layer (for progress). Returns the config that now describes the weights.
 */
export async function processWeightsLayerwise(
  sd: StateDict,
  cfg: TransformerConfig,
  opts: ProcessingOptions,
  onLayer?: (layer: number) => void,
): Promise<TransformerConfig> {
  const fold = (opts.foldLn ?? true) && cfg.normalizationType === "LN";
  const centre = opts.centerWritingWeights ?? true;
  const foldVB = opts.foldValueBiases ?? true;
  for (let l = 0; l < cfg.nLayers; l++) {
    const a = `blocks.${l}.attn`;
    const mlp = `blocks.${l}.mlp`;
    if (fold) {
      await foldInto(sd, `blocks.${l}.ln1`, [[`${a}.W_Q`, `${a}.b_Q`], [`${a}.W_K`, `${a}.b_K`], [`${a}.W_V`, `${a}.b_V`]]);
      if (!cfg.attnOnly) await foldInto(sd, `blocks.${l}.ln2`, [[`${mlp}.W_in`, `${mlp}.b_in`]]);
    }
    if (centre) {
      for (const k of [`${a}.W_O`, `${a}.b_O`, ...(cfg.attnOnly ? [] : [`${mlp}.W_out`, `${mlp}.b_out`])]) await centreLast(sd, k);
    }
    if (foldVB) await foldValueBias(sd, a, cfg.dModel);
    onLayer?.(l);
  }
  if (fold) await foldInto(sd, "ln_final", [["unembed.W_U", "unembed.b_U"]]);
  if (centre) {
    await centreLast(sd, "embed.W_E");
    if (sd.has("pos_embed.W_pos")) await centreLast(sd, "pos_embed.W_pos");
  }
  if (opts.centerUnembed ?? true) {
    await centreLast(sd, "unembed.W_U");
    await centreLast(sd, "unembed.b_U");
  }
  return fold ? { ...cfg, normalizationType: "LNPre" } : cfg;
}
