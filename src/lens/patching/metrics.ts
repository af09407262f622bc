/**
 * Patching metrics: the logit difference (ARENA's `logits_to_ave_logit_diff`) and the normalised metric
 * (patched − corrupted) / (clean − corrupted), which is 1 when the patch restores the clean behaviour and 0 when it
 * changes nothing.
 */
import * as tf from "@tensorflow/tfjs";
import { checkFunction, checkOptions } from "./checks";
import { metricValue, type DeviceMetric, type PatchMetric } from "./metric";

/** `[batch, 2]` (correct, incorrect) token ids, as arrays or an int tensor. */
export type AnswerTokens = ReadonlyArray<readonly [number, number] | readonly number[]> | tf.Tensor;

export interface LogitDiffOptions {
  /** The position read in each prompt: one index for all (default -1, the last), or one per prompt. */
  readonly pos?: number | readonly number[];
  /** Return `[batch]` instead of the mean. */
  readonly perPrompt?: boolean;
}

/**
 * logit(correct) − logit(incorrect) at the final (or given) position, averaged over the batch (a scalar tensor), or
 * per prompt `[batch]`. `logits` is `[batch, pos, dVocab]`; `answerTokens` is `[batch, 2]`. Caller owns the result.
 * @example
 * const logits = await model.forward(tokens);
 * const diff = logitDiff(logits, [[maryId, johnId], [johnId, maryId]]); // scalar tensor
 */
export function logitDiff(logits: tf.Tensor, answerTokens: AnswerTokens, opts: LogitDiffOptions = {}): tf.Tensor {
  if (!(logits instanceof tf.Tensor)) throw new Error(`logitDiff: logits must be a tensor [batch, pos, dVocab], got ${typeof logits}`);
  if (!(answerTokens instanceof tf.Tensor) && !Array.isArray(answerTokens)) throw new Error("logitDiff: answerTokens must be [batch, 2] (correct, incorrect) ids, as arrays or an int tensor");
  const [batch, seq, vocab] = logits.shape;
  if (logits.rank !== 3) throw new Error(`logitDiff needs logits [batch, pos, dVocab], got [${logits.shape}]`);
  const pos = opts.pos ?? -1;
  const positions = typeof pos === "number" ? new Array<number>(batch).fill(pos) : [...pos];
  if (positions.length !== batch) throw new Error(`logitDiff: ${positions.length} positions for a batch of ${batch}; give one per prompt`);
  const rows = positions.map((p, b) => {
    const q = p < 0 ? p + seq : p;
    if (!Number.isInteger(q) || q < 0 || q >= seq) throw new Error(`logitDiff: position ${p} is out of range for length ${seq}`);
    return b * seq + q;
  });
  return tf.tidy(() => {
    const answers = answerTokens instanceof tf.Tensor ? answerTokens.cast("int32") : tf.tensor2d(answerTokens.map((r) => [...r]), undefined, "int32");
    if (answers.rank !== 2 || answers.shape[0] !== batch || answers.shape[1] !== 2) {
      throw new Error(`logitDiff: answerTokens must be [batch=${batch}, 2] (correct, incorrect), got [${answers.shape}]`);
    }
    const final = tf.gather(logits.reshape([batch * seq, vocab]), tf.tensor1d(rows, "int32")); // [batch, vocab]
    const offsets = tf.range(0, batch * vocab, vocab, "int32").expandDims(1); // [batch, 1]
    const picked = tf.gather(final.reshape([batch * vocab]), answers.add(offsets)); // [batch, 2]
    const [correct, incorrect] = tf.split(picked, 2, 1);
    const diff = correct.sub(incorrect).reshape([batch]);
    return opts.perPrompt ? diff : diff.mean();
  });
}

/**
 * Wraps a metric as (metric − corrupted) / (clean − corrupted): 1 = clean performance, 0 = corrupted performance.
 * `clean` and `corrupted` are the metric's values on the unpatched clean and corrupted runs.
 * @example
 * const base = (l: tf.Tensor) => logitDiff(l, answers);
 * const metric = normalizedMetric(base, { clean: 3.55, corrupted: -3.55 });
 * await metric(cleanLogits); // 1
 */
export function normalizedMetric(metric: PatchMetric, baseline: { clean: number; corrupted: number }): ((logits: tf.Tensor) => Promise<number>) & DeviceMetric {
  checkFunction("normalizedMetric", "metric", metric, "logits → number or scalar tensor");
  checkOptions("normalizedMetric", "baseline", baseline);
  for (const k of ["clean", "corrupted"] as const) {
    if (typeof baseline[k] !== "number" || !Number.isFinite(baseline[k])) throw new Error(`normalizedMetric: baseline.${k} must be a finite number (the metric on the unpatched ${k} run), got ${baseline[k]}`);
  }
  const span = baseline.clean - baseline.corrupted;
  if (!(Math.abs(span) > 0)) throw new Error(`normalizedMetric: clean (${baseline.clean}) and corrupted (${baseline.corrupted}) must differ, or every patch divides by zero`);
  const read = async (logits: tf.Tensor) => ((await metricValue(metric, logits)) - baseline.corrupted) / span;
  // Sweeps use the tensor form: the same value as a scalar tensor, with no readback per patch.
  const onDevice = async (logits: tf.Tensor): Promise<tf.Tensor> => {
    const v = await metric(logits);
    if (typeof v === "number") return tf.scalar((v - baseline.corrupted) / span);
    if (!(v instanceof tf.Tensor) || v.size !== 1) throw new Error(`a patching metric must return a number or a scalar tensor, got ${v instanceof tf.Tensor ? `shape [${v.shape}]` : typeof v}`);
    const out = tf.tidy(() => v.reshape([]).sub(baseline.corrupted).div(span));
    if (v !== logits) v.dispose();
    return out;
  };
  return Object.assign(read, { onDevice });
}
