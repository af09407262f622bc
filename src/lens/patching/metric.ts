/**
 * Patching metrics as the sweeps evaluate them: a plain number (`metricValue`) or a scalar tensor left on the backend
 * (`metricTensor`). Its own module so that generic.ts and batched.ts both import it without importing each other
 * (tslab's loader recurses forever on a runtime import cycle; test/project/importCycles.test.ts guards that).
 */
import * as tf from "@tensorflow/tfjs";

/** A patching metric: logits `[batch, pos, dVocab]` → a number (or a scalar tensor, which is read and disposed). */
export type PatchMetric = (logits: tf.Tensor) => number | tf.Tensor | Promise<number | tf.Tensor>;

/**
 * Evaluates a metric on logits and returns a plain number (a returned tensor is read and disposed).
 * @example const v = await metricValue((l) => logitDiff(l, answers), logits);
 */
export async function metricValue(metric: PatchMetric, logits: tf.Tensor): Promise<number> {
  const v = await metric(logits);
  if (typeof v === "number") return v;
  if (!(v instanceof tf.Tensor)) throw new Error(`a patching metric must return a number or a scalar tensor, got ${typeof v}`);
  try {
    if (v.size !== 1) throw new Error(`a patching metric must return a scalar, got a tensor of shape [${v.shape}]; reduce it (e.g. .mean())`);
    return (await v.data())[0];
  } finally {
    if (v !== logits) v.dispose();
  }
}

/**
 * A metric may carry `onDevice`: the same value as a scalar tensor, computed without reading anything back (so a sweep
 * stays on the GPU until its caller reads the result). `normalizedMetric` provides it.
 */
export interface DeviceMetric {
  readonly onDevice?: (logits: tf.Tensor) => Promise<tf.Tensor>;
}

/**
 * The metric as a scalar tensor (the caller owns it), without a readback unless the metric itself returns a number
 * through a read of its own. @example const t = await metricTensor(metric, logits);
 */
export async function metricTensor(metric: PatchMetric & DeviceMetric, logits: tf.Tensor): Promise<tf.Tensor> {
  const v = metric.onDevice ? await metric.onDevice(logits) : await metric(logits);
  if (typeof v === "number") return tf.scalar(v);
  if (!(v instanceof tf.Tensor)) throw new Error(`a patching metric must return a number or a scalar tensor, got ${typeof v}`);
  if (v.size !== 1) {
    if (v !== logits) v.dispose();
    throw new Error(`a patching metric must return a scalar, got a tensor of shape [${v.shape}]; reduce it (e.g. .mean())`);
  }
  if (v === logits) return v.reshape([]);
  const out = tf.tidy(() => v.reshape([]).cast("float32"));
  v.dispose();
  return out;
}
