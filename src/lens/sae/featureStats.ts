/**
 * Feature statistics for SAE dashboards (the numbers behind `featureDashboard`): for each requested latent, the
 * top-activating contexts (sequence, position, activation, and the tokens/activations of a window around it), the
 * histogram of its non-zero activations, its density (fraction of counted tokens where it fires, f ≠ 0) and its
 * logit weights W_dec[i] · W_U (top and bottom tokens). The model runs only up to the hook's layer (stopAtLayer), in
 * batches of sequences; per batch only the requested latents' columns are read back, and a running top-k per latent
 * is kept, so the activations of all latents over all tokens are never held.
 */
import * as tf from "@tensorflow/tfjs";
import type { HookedTransformer } from "../hookedTransformer";
import { hookActivation } from "./activationStore";
import { packedSequences, type DocumentSource } from "../datasets/documents";
import type { SparseAutoencoder } from "./sae";

/** Options of `featureStats` (and of `featureDashboard`). */
export interface FeatureStatsOptions {
  /** Token ids `[nSeq, seqLen]` (rectangular), run as given (no BOS is added) … */
  readonly tokens?: number[][] | tf.Tensor2D;
  /**
   * … or a stream of documents (a `HubDataset`, or an iterable of texts or token arrays), packed into `nSequences`
   * sequences of `contextSize` tokens as `ActivationStore` packs them (SAELens's `context_size`, `prepend_bos`).
   */
  readonly dataset?: DocumentSource;
  /** Tokens per packed sequence of `dataset` (default 128, SAELens's default `context_size`). */
  readonly contextSize?: number;
  /** BOS first in each packed sequence and between documents (default the model's defaultPrependBos). */
  readonly prependBos?: boolean;
  /** Packed sequences taken from `dataset` (default 256). */
  readonly nSequences?: number;
  /** Hook the SAE reads (default: the SAE's own `cfg.hookName`). */
  readonly hookName?: string;
  /** Top-activating contexts kept per latent (default 10). */
  readonly topK?: number;
  /** Tokens shown on either side of each top activation (default 8). */
  readonly window?: number;
  /** Top and bottom logit-weight tokens (default 10 each). */
  readonly nLogits?: number;
  /** Bins of the histogram of non-zero activations (default 40). */
  readonly bins?: number;
  /** Sequences per model call (default: as many as keep batch·seqLen·d_sae under 2^24 floats, at least 1). */
  readonly batchSize?: number;
  /** Token ids whose positions are not counted (top-k, histogram, density), e.g. [BOS]; default none ([BOS] for a prepended-BOS `dataset`). */
  readonly excludeTokenIds?: readonly number[];
}

/** One top-activating context. */
export interface FeatureContext {
  /** Index of the sequence in `tokens`, and the position of the activation in it. */
  readonly seq: number;
  readonly pos: number;
  readonly activation: number;
  /** First position of the window; `tokens` / `activations` cover positions start … start + length − 1. */
  readonly start: number;
  readonly tokens: number[];
  readonly activations: number[];
}

/** A token and its logit weight. */
export interface LogitWeight {
  readonly token: number;
  readonly value: number;
}

/** Statistics of one latent. */
export interface FeatureStats {
  readonly feature: number;
  readonly hookName: string;
  /** Best first (ties: earlier sequence, then earlier position); only activations > 0. */
  readonly topContexts: FeatureContext[];
  readonly maxActivation: number;
  /** Counted tokens, tokens where f ≠ 0, their ratio, and log10(density + 1e-10) (SAELens sparsity convention). */
  readonly nTokens: number;
  readonly nFiring: number;
  readonly density: number;
  readonly log10Density: number;
  /** Equal-width histogram of the non-zero activations between their min and max (`edges` has bins + 1 entries). */
  readonly histogram: { readonly edges: number[]; readonly counts: number[] };
  /** W_dec[i] · W_U, largest and smallest first (empty when d_in ≠ d_model, e.g. hook_z or MLP-neuron SAEs). */
  readonly topLogits: LogitWeight[];
  readonly bottomLogits: LogitWeight[];
}

/** Indices of the k largest (or smallest) entries, best first (ties: lower index first). */
function extremes(v: Float32Array, k: number, smallest: boolean): number[] {
  const idx = Array.from({ length: v.length }, (_, i) => i);
  idx.sort((a, b) => (smallest ? v[a]! - v[b]! : v[b]! - v[a]!) || a - b);
  return idx.slice(0, Math.min(k, v.length));
}

async function logitWeights(model: HookedTransformer, sae: SparseAutoencoder, features: readonly number[], n: number): Promise<{ top: LogitWeight[]; bottom: LogitWeight[] }[]> {
  if (sae.cfg.dIn !== model.cfg.dModel || n <= 0) return features.map(() => ({ top: [], bottom: [] }));
  const t = tf.tidy(() => tf.gather(sae.params.W_dec!, tf.tensor1d(features as number[], "int32")).matMul(model.W_U as tf.Tensor2D));
  const all = await t.data();
  t.dispose();
  const V = model.cfg.dVocab;
  return features.map((_, j) => {
    const row = all.subarray(j * V, (j + 1) * V) as Float32Array;
    const pick = (smallest: boolean) => extremes(row, n, smallest).map((token) => ({ token, value: row[token]! }));
    return { top: pick(false), bottom: pick(true) };
  });
}

/** Inserts `c` into `list` (sorted by activation desc, earlier first on ties), keeping at most k. */
function insertTop(list: FeatureContext[], c: FeatureContext, k: number): void {
  let at = list.length;
  while (at > 0 && list[at - 1]!.activation < c.activation) at--;
  if (at >= k) return;
  list.splice(at, 0, c);
  if (list.length > k) list.pop();
}

/**
 * Dashboard statistics of SAE latents `features` over `opts.tokens` (see `FeatureStats`). Leaves no tensors behind.
 * @example
 * const [s] = await featureStats(model, sae, [123], { tokens, topK: 5 });
 * console.log(s.density, s.topContexts[0].activation, s.topLogits.map((l) => model.tokenizer?.idToString(l.token)));
 */
export async function featureStats(model: HookedTransformer, sae: SparseAutoencoder, features: readonly number[], opts: FeatureStatsOptions): Promise<FeatureStats[]> {
  const hookName = opts.hookName ?? sae.cfg.hookName;
  if (!hookName) throw new Error("featureStats: the SAE has no hookName; pass opts.hookName (e.g. \"blocks.6.hook_resid_pre\")");
  if (!model.hookNames().includes(hookName)) throw new Error(`featureStats: the model has no hook "${hookName}" (see model.hookNames())`);
  for (const f of features) {
    if (!Number.isInteger(f) || f < 0 || f >= sae.cfg.dSae) throw new Error(`featureStats: feature ${f} is out of range; the SAE has d_sae = ${sae.cfg.dSae} latents (0 … ${sae.cfg.dSae - 1})`);
  }
  let defaultExclude: number[] = [];
  let rows: number[][];
  if (opts.tokens !== undefined) {
    rows = opts.tokens instanceof tf.Tensor ? ((await opts.tokens.array()) as number[][]) : opts.tokens;
  } else if (opts.dataset !== undefined) {
    const bos = (opts.prependBos ?? model.cfg.defaultPrependBos) ? (model.tokenizer?.bosTokenId ?? 0) : undefined;
    rows = await packedSequences(opts.dataset, model.tokenizer, { contextSize: opts.contextSize ?? 128, bos, n: opts.nSequences ?? 256 });
    if (rows.length === 0) throw new Error(`featureStats: the dataset gave no sequence of ${opts.contextSize ?? 128} tokens; pass more text or a smaller contextSize`);
    if (bos !== undefined) defaultExclude = [bos];
  } else {
    throw new Error("featureStats: pass opts.tokens (token ids [nSeq, seqLen]) or opts.dataset (a HubDataset or an iterable of texts)");
  }
  const nSeq = rows.length, P = rows[0]?.length ?? 0;
  if (nSeq === 0 || P === 0) throw new Error("featureStats: opts.tokens is empty; pass token ids [nSeq, seqLen]");
  if (rows.some((r) => r.length !== P)) throw new Error(`featureStats: opts.tokens rows have different lengths; pass a rectangular [nSeq, ${P}] array (pad or truncate)`);
  const topK = opts.topK ?? 10, win = opts.window ?? 8, bins = opts.bins ?? 40, nF = features.length;
  const bs = Math.max(1, Math.min(nSeq, opts.batchSize ?? Math.floor(2 ** 24 / (P * sae.cfg.dSae))));
  const exclude = new Set(opts.excludeTokenIds ?? defaultExclude);
  const top: FeatureContext[][] = features.map(() => []);
  const nonzero: number[][] = features.map(() => []);
  let nTokens = 0;
  const featIdx = tf.tensor1d(features as number[], "int32");
  try {
    for (let s0 = 0; s0 < nSeq; s0 += bs) {
      const batch = rows.slice(s0, s0 + bs), B = batch.length;
      const input = tf.tensor2d(batch, [B, P], "int32");
      let cols: tf.Tensor;
      try {
        const act = await hookActivation(model, input, hookName);
        // [nF, B, P]: the requested latents only.
        try {
          cols = tf.tidy(() => tf.gather(sae.encodeSync(act.reshape([B, P, -1])), featIdx, 2).transpose([2, 0, 1]));
        } finally {
          act.dispose();
        }
      } finally {
        input.dispose();
      }
      const data = await cols.data();
      cols.dispose();
      for (let b = 0; b < B; b++) for (let p = 0; p < P; p++) if (!exclude.has(batch[b]![p]!)) nTokens++;
      for (let j = 0; j < nF; j++) {
        const base = j * B * P, list = top[j]!, nz = nonzero[j]!;
        for (let b = 0; b < B; b++) {
          const toks = batch[b]!;
          for (let p = 0; p < P; p++) {
            const v = data[base + b * P + p]!;
            if (v === 0 || exclude.has(toks[p]!)) continue;
            nz.push(v);
            if (v > 0 && (list.length < topK || v > list[list.length - 1]!.activation)) {
              const start = Math.max(0, p - win), end = Math.min(P, p + win + 1);
              const acts = Array.from(data.subarray(base + b * P + start, base + b * P + end));
              insertTop(list, { seq: s0 + b, pos: p, activation: v, start, tokens: toks.slice(start, end), activations: acts }, topK);
            }
          }
        }
      }
    }
  } finally {
    featIdx.dispose();
  }
  const logits = await logitWeights(model, sae, features, opts.nLogits ?? 10);
  return features.map((feature, j) => {
    const nz = nonzero[j]!;
    let lo = Infinity, hi = -Infinity;
    for (const v of nz) { if (v < lo) lo = v; if (v > hi) hi = v; }
    const counts = new Array<number>(bins).fill(0);
    const edges = nz.length === 0 ? [] : Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins);
    for (const v of nz) counts[hi > lo ? Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins)) : 0]! += 1;
    const density = nTokens > 0 ? nz.length / nTokens : 0;
    return {
      feature,
      hookName,
      topContexts: top[j]!,
      maxActivation: nz.length > 0 ? hi : 0,
      nTokens,
      nFiring: nz.length,
      density,
      log10Density: Math.log10(density + 1e-10),
      histogram: { edges, counts: nz.length === 0 ? [] : counts },
      topLogits: logits[j]!.top,
      bottomLogits: logits[j]!.bottom,
    };
  });
}
