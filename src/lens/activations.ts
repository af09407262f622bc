/** Activation functions keyed by the Hugging Face `activation_function` / `hidden_act` strings. */
import * as tf from "@tensorflow/tfjs";
import { cpuGeluErf, cpuGeluNew } from "./accel/cpuFused";
import type { ActFn } from "./config";

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * GPT-2's tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), computed as the identical
 * x·sigmoid(2√(2/π)·x·(1 + 0.044715·x²)) — 6 elementwise ops instead of 8, without Pow and Tanh (slow on wasm).
 */
export function geluNew(x: tf.Tensor): tf.Tensor {
  const c = 2 * SQRT_2_OVER_PI;
  // cpu with the lens kernels, no gradient tape: the same chain in one pass (accel/cpuFused.ts, bit-identical)
  return cpuGeluNew(x, c, c * 0.044715) ?? tf.tidy(() => x.mul(tf.sigmoid(x.square().mul(c * 0.044715).add(c).mul(x))));
}

/** Exact GELU (Pythia's "gelu"): 0.5·x·(1 + erf(x/√2)). */
export function geluErf(x: tf.Tensor): tf.Tensor {
  return cpuGeluErf(x, Math.SQRT1_2) ?? tf.tidy(() => x.mul(x.mul(Math.SQRT1_2).erf().add(1)).mul(0.5));
}

/** `gelu_fast`: 0.5·x·(1 + tanh(x·0.7978845608·(1 + 0.044715·x²))). */
export function geluFast(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => x.mul(x.mul(SQRT_2_OVER_PI).mul(x.square().mul(0.044715).add(1)).tanh().add(1)).mul(0.5));
}

export const ACTIVATIONS: Readonly<Record<ActFn, (x: tf.Tensor) => tf.Tensor>> = {
  gelu_new: geluNew,
  gelu_pytorch_tanh: geluNew,
  gelu: geluErf,
  gelu_fast: geluFast,
  relu: (x) => tf.relu(x),
  silu: (x) => tf.tidy(() => x.mul(tf.sigmoid(x))),
};
