/**
 * Geometric median by Weiszfeld iterations (SAELens v5 `b_dec_init_method: "geometric_median"`, docs/sources.md §7): the
 * point m minimising Σ_i ‖x_i − m‖, started at the mean, m ← Σ w_i x_i / Σ w_i with w_i = 1 / max(‖x_i − m‖, eps),
 * stopped when the summed distance changes by at most ftol of itself, or after maxIter iterations.
 */
import * as tf from "@tensorflow/tfjs";

/** Options of `geometricMedian`. */
export interface GeometricMedianOptions {
  /** Iteration limit (default 100, as SAELens). */
  readonly maxIter?: number;
  /** Lower bound on distances, so that a median at a data point does not divide by zero (default 1e-6). */
  readonly eps?: number;
  /** Relative change of the objective at which iterations stop (default 1e-7, about float32 precision). */
  readonly ftol?: number;
}

/** The result: the median `[d]` (caller disposes), the summed distance at it, and the iterations run. */
export interface GeometricMedianResult {
  readonly median: tf.Tensor1D;
  readonly objective: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/**
 * Geometric median of the rows of `points` `[n, d]`. Leaves no tensors behind but the returned median.
 * @example
 * const { median } = await geometricMedian(firstBatch); sae.params.b_dec.assign(median); median.dispose();
 */
export async function geometricMedian(points: tf.Tensor2D, opts: GeometricMedianOptions = {}): Promise<GeometricMedianResult> {
  if (points.rank !== 2 || points.shape[0] === 0) throw new Error(`geometricMedian: expected points [n, d] with n > 0, got shape [${points.shape}]`);
  const maxIter = opts.maxIter ?? 100, eps = opts.eps ?? 1e-6, ftol = opts.ftol ?? 1e-7;
  const x = points.toFloat();
  const objectiveAt = async (m: tf.Tensor1D): Promise<number> => {
    const t = tf.tidy(() => x.sub(m).norm("euclidean", 1).sum());
    const v = (await t.data())[0]!;
    t.dispose();
    return v;
  };
  let median = tf.tidy(() => x.mean(0) as tf.Tensor1D);
  let objective = await objectiveAt(median);
  let iterations = 0, converged = false;
  try {
    while (iterations < maxIter) {
      const m = median;
      const next = tf.tidy(() => {
        const w = tf.scalar(1).div(tf.maximum(x.sub(m).norm("euclidean", 1), eps)); // [n]
        return w.expandDims(0).matMul(x).reshape([-1]).div(w.sum()) as tf.Tensor1D;
      });
      iterations++;
      const obj = await objectiveAt(next);
      median.dispose();
      median = next;
      const change = Math.abs(objective - obj);
      objective = obj;
      if (change <= ftol * obj) {
        converged = true;
        break;
      }
    }
  } finally {
    if (x !== points) x.dispose();
  }
  return { median, objective, iterations, converged };
}
