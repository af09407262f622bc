/**
 * SAE metrics with SAELens v6 training-step definitions (docs/sources.md §7): L0 = mean_b #{f_i ≠ 0}; MSE = mean_b Σ_d (x̂ − x)²;
 * explained variance = 1 − mean_b‖x − x̂‖² / mean_b‖x − mean_b x‖²; feature density = firing rate; dead/dense fractions;
 * histogram of log10(density + 1e-10).
 */
import * as tf from "@tensorflow/tfjs";
import type { SparseAutoencoder } from "./sae";

/** Reconstruction metrics of one batch. */
export interface ReconstructionMetrics {
  readonly l0: number;
  readonly mse: number;
  readonly explainedVariance: number;
  /** mean_b (1 − ‖x − x̂‖² / ‖x − x̄‖²). */
  readonly explainedVarianceLegacy: number;
  /** ‖x̂‖/‖x‖ averaged over the batch. */
  readonly l2Ratio: number;
}

/** Metrics of inputs `x`, reconstructions `xHat` `[B, d_in]` and latents `f` `[B, d_sae]`. */
export async function reconstructionMetrics(x: tf.Tensor2D, xHat: tf.Tensor2D, f: tf.Tensor2D): Promise<ReconstructionMetrics> {
  const t = tf.tidy(() => {
    const err = x.sub(xHat).square().sum(1);
    const centred = x.sub(x.mean(0)).square().sum(1);
    return tf.stack([
      tf.notEqual(f, 0).cast("float32").sum(1).mean(),
      err.mean(),
      tf.scalar(1).sub(err.mean().div(centred.mean())),
      tf.scalar(1).sub(err.div(centred)).mean(),
      xHat.norm("euclidean", 1).div(x.norm("euclidean", 1)).mean(),
    ]);
  });
  const [l0, mse, ev, evl, l2] = await t.data();
  t.dispose();
  return { l0: l0!, mse: mse!, explainedVariance: ev!, explainedVarianceLegacy: evl!, l2Ratio: l2! };
}

/** Summary of per-latent firing rates. */
export interface DensityStats {
  /** Fraction of latents that never fired (density ≤ deadThreshold). */
  readonly deadFraction: number;
  /** Fraction firing on more than denseThreshold of tokens (a convention; SAELens logs none). */
  readonly denseFraction: number;
  readonly meanLog10Density: number;
  /** Histogram of log10(density + 1e-10): bin edges (length bins + 1) and counts. */
  readonly histogram: { readonly edges: number[]; readonly counts: number[] };
}

/** Dead/dense fractions and the log10 density histogram (edges −10 … 0 by default). */
export function densityStats(density: ArrayLike<number>, opts: { deadThreshold?: number; denseThreshold?: number; bins?: number } = {}): DensityStats {
  const bins = opts.bins ?? 20, lo = -10, hi = 0;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins);
  const counts = new Array<number>(bins).fill(0);
  let dead = 0, dense = 0, sumLog = 0;
  for (let i = 0; i < density.length; i++) {
    const d = density[i]!;
    if (d <= (opts.deadThreshold ?? 0)) dead++;
    if (d > (opts.denseThreshold ?? 0.1)) dense++;
    const l = Math.log10(d + 1e-10);
    sumLog += l;
    counts[Math.min(bins - 1, Math.max(0, Math.floor(((l - lo) / (hi - lo)) * bins)))]! += 1;
  }
  const n = Math.max(1, density.length);
  return { deadFraction: dead / n, denseFraction: dense / n, meanLog10Density: sumLog / n, histogram: { edges, counts } };
}

/** Reconstruction metrics over all rows of `x` (in chunks) plus each latent's firing rate. */
export async function evaluateSae(sae: SparseAutoencoder, x: tf.Tensor2D, opts: { batchSize?: number } = {}): Promise<ReconstructionMetrics & { density: Float32Array } & DensityStats> {
  const n = x.shape[0], bs = opts.batchSize ?? 4096;
  const acc = { l0: 0, err: 0, sq: 0, l2: 0, legacy: 0 };
  const fires = new Float64Array(sae.cfg.dSae);
  const mean = tf.tidy(() => x.mean(0));
  for (let s = 0; s < n; s += bs) {
    const t = tf.tidy(() => {
      const xb = x.slice([s, 0], [Math.min(bs, n - s), -1]);
      const f = sae.encodeSync(xb);
      const xHat = sae.decodeSync(f);
      const err = xb.sub(xHat).square().sum(1), cen = xb.sub(mean).square().sum(1);
      const scal = tf.stack([tf.notEqual(f, 0).cast("float32").sum(), err.sum(), cen.sum(), xHat.norm("euclidean", 1).div(xb.norm("euclidean", 1)).sum(), tf.scalar(1).sub(err.div(cen)).sum()]);
      return [scal, tf.notEqual(f, 0).cast("float32").sum(0)];
    });
    const [sc, fr] = await Promise.all(t.map((u) => u.data()));
    tf.dispose(t);
    acc.l0 += sc![0]!; acc.err += sc![1]!; acc.sq += sc![2]!; acc.l2 += sc![3]!; acc.legacy += sc![4]!;
    for (let i = 0; i < fires.length; i++) fires[i]! += fr![i]!;
  }
  mean.dispose();
  const density = Float32Array.from(fires, (c) => c / n);
  return {
    l0: acc.l0 / n,
    mse: acc.err / n,
    explainedVariance: 1 - acc.err / acc.sq,
    explainedVarianceLegacy: acc.legacy / n,
    l2Ratio: acc.l2 / n,
    density,
    ...densityStats(density),
  };
}

/** Mean max cosine similarity: for each true feature (row of `truth` `[n, d]`), the best cosine with a row of `learned`. */
export async function meanMaxCosineSimilarity(learned: tf.Tensor2D, truth: tf.Tensor2D): Promise<number> {
  const t = tf.tidy(() => {
    const a = learned.div(learned.norm("euclidean", 1, true).add(1e-12));
    const b = truth.div(truth.norm("euclidean", 1, true).add(1e-12));
    return b.matMul(a, false, true).max(1).mean();
  });
  const v = (await t.data())[0]!;
  t.dispose();
  return v;
}
