/**
 * AdamW (decoupled weight decay, Loshchilov & Hutter) over tf.Variables, with global-norm gradient clipping and a
 * linear-warmup + cosine learning-rate schedule. Its state (moments and step) can be saved and restored exactly.
 */
import * as tf from "@tensorflow/tfjs";

/** Hyper-parameters of `AdamW`. */
export interface AdamWOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Decoupled weight decay, applied to matrices only (rank ≥ 2, embeddings included); default 0.01. */
  readonly weightDecay?: number;
}

/** Learning rate at `step` (0-based): linear warmup over `warmup` steps to `peak`, then cosine down to `peak·minRatio`. */
export function warmupCosine(step: number, total: number, peak: number, warmup: number, minRatio = 0.1): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const t = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** AdamW over a fixed list of variables; `m`/`v` are kept as variables named after the parameters. */
export class AdamW {
  /** Number of updates applied so far. */
  step = 0;
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];
  private readonly o: Required<AdamWOptions>;

  constructor(readonly vars: readonly tf.Variable[], opts: AdamWOptions = {}) {
    this.o = { beta1: opts.beta1 ?? 0.9, beta2: opts.beta2 ?? 0.99, eps: opts.eps ?? 1e-8, weightDecay: opts.weightDecay ?? 0.01 };
    this.m = vars.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
    this.v = vars.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
  }

  /**
   * Clips `grads` (same order as `vars`) to global norm `clip` (Infinity: no clipping), applies one update at
   * learning rate `lr`, and returns the pre-clipping global norm (a scalar the caller must dispose).
   */
  apply(grads: readonly tf.Tensor[], lr: number, clip: number): tf.Scalar {
    if (grads.length !== this.vars.length) throw new Error(`AdamW.apply: ${grads.length} gradients for ${this.vars.length} variables`);
    this.step += 1;
    const { beta1, beta2, eps, weightDecay } = this.o;
    const c1 = 1 - beta1 ** this.step, c2 = 1 - beta2 ** this.step;
    return tf.tidy(() => {
      const norm = tf.sqrt(tf.addN(grads.map((g) => g.square().sum()))) as tf.Scalar;
      const scale = Number.isFinite(clip) ? tf.minimum(1, tf.div(clip, norm.add(1e-6))) : tf.scalar(1);
      grads.forEach((g0, i) => {
        const g = g0.mul(scale);
        const x = this.vars[i]!, m = this.m[i]!, v = this.v[i]!;
        m.assign(m.mul(beta1).add(g.mul(1 - beta1)));
        v.assign(v.mul(beta2).add(g.square().mul(1 - beta2)));
        const update = m.div(c1).div(v.div(c2).sqrt().add(eps));
        const decayed = x.rank >= 2 && weightDecay > 0 ? x.mul(1 - lr * weightDecay) : x;
        x.assign(decayed.sub(update.mul(lr)));
      });
      return tf.keep(norm);
    });
  }

  /** Frees the moment variables. */
  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}
