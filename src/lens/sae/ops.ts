/**
 * Differentiable pieces tfjs lacks, built with tf.customGrad (the forward ops inside customGrad are not taped, so
 * TopK and comparisons are safe there): stop-gradient, Heaviside with zero gradient, ReLU-of-top-k with the
 * mask as gradient, and the JumpReLU / step straight-through estimators of Rajamanoharan et al. (2024).
 */
import * as tf from "@tensorflow/tfjs";

/** tf.customGrad with plainly typed arguments. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function cg(fn: (...args: any[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] }): (...xs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(fn as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...xs: tf.Tensor[]) => tf.Tensor;
}

/** Identity with a zero gradient (torch `.detach()`). */
export const stopGradient = cg((x: tf.Tensor) => ({
  value: x.clone(),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (x: tf.Tensor) => tf.Tensor;

/** 1[x > 0] as float32, with a zero gradient. */
export const heaviside = cg((x: tf.Tensor) => ({
  value: tf.step(x, 0),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (x: tf.Tensor) => tf.Tensor;

/** Mask of the `k` largest entries of each row of `z` (ties at the k-th value included). Not differentiable. */
export function topkMask(z: tf.Tensor2D, k: number): tf.Tensor2D {
  return tf.tidy(() => {
    const kth = tf.topk(z, k, false).values.slice([0, k - 1], [-1, 1]);
    return tf.greaterEqual(z, kth).cast("float32") as tf.Tensor2D;
  });
}

/** ReLU of the top-`k` entries of each row, zero elsewhere; gradient flows through the kept positive entries. */
export function topkRelu(z: tf.Tensor2D, k: number): tf.Tensor2D {
  const f = cg((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const mask = tf.tidy(() => topkMask(x as tf.Tensor2D, k).mul(tf.step(x, 0)));
    save([mask]);
    return { value: x.mul(mask), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => dy.mul(saved[0]!) };
  }) as (x: tf.Tensor) => tf.Tensor;
  return f(z) as tf.Tensor2D;
}

/** Rectangle kernel K(u) = 1[−½ < u < ½] at u = (z − θ)/ε, shape of z. */
function rectangle(z: tf.Tensor, theta: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const u = z.sub(theta).div(eps);
    return tf.step(u.add(0.5), 0).mul(tf.step(tf.scalar(0.5).sub(u), 0));
  });
}

/**
 * JumpReLU(z; θ) = z·1[z > θ] for z `[B, d]`, θ `[d]`. STE: ∂/∂z = 1[z > θ], ∂/∂θ = −(θ/ε)·K((z − θ)/ε).
 */
export function jumpRelu(z: tf.Tensor2D, theta: tf.Tensor1D, eps: number): tf.Tensor2D {
  const f = cg((x: tf.Tensor, t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, t]);
    return {
      value: x.mul(tf.step(x.sub(t), 0)),
      gradFunc: (dy: tf.Tensor, [xs, ts]: tf.Tensor[]) => [
        dy.mul(tf.step(xs!.sub(ts!), 0)),
        dy.mul(rectangle(xs!, ts!, eps)).mul(ts!).div(-eps).sum(0),
      ],
    };
  }) as (x: tf.Tensor, t: tf.Tensor) => tf.Tensor;
  return f(z, theta) as tf.Tensor2D;
}

/** Step H(z − θ) = 1[z > θ]. STE: ∂/∂z = 0, ∂/∂θ = −(1/ε)·K((z − θ)/ε). */
export function jumpStep(z: tf.Tensor2D, theta: tf.Tensor1D, eps: number): tf.Tensor2D {
  const f = cg((x: tf.Tensor, t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, t]);
    return {
      value: tf.step(x.sub(t), 0),
      gradFunc: (dy: tf.Tensor, [xs, ts]: tf.Tensor[]) => [tf.zerosLike(dy), dy.mul(rectangle(xs!, ts!, eps)).div(-eps).sum(0)],
    };
  }) as (x: tf.Tensor, t: tf.Tensor) => tf.Tensor;
  return f(z, theta) as tf.Tensor2D;
}

/** Row norms of a matrix `[n, d]` → `[n]`. */
export function rowNorms(w: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => w.square().sum(1).sqrt() as tf.Tensor1D);
}
