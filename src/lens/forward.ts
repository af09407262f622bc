/**
 * The pure forward pass over (weights, cfg, hooks): every intermediate passes through `hooks.run(name, x)`.
 * Synchronous and tensor-only, so the facade can wrap it in one `tf.tidy`.
 */
import * as tf from "@tensorflow/tfjs";
import { block } from "./components/block";
import { embed, posEmbed, unembed } from "./components/embed";
import { layerNorm } from "./components/layerNorm";
import type { ModelWeights } from "./components/weights";
import type { TransformerConfig } from "./config";
import type { HookRegistry } from "./hookPoint";
import type { Padding } from "./components/attention";

export interface ForwardSpan {
  /** Int32 `[batch, pos]`; required unless `startAtLayer` is set. */
  readonly tokens?: tf.Tensor2D;
  /** The residual stream `[batch, pos, dModel]` entering block `startAtLayer`. */
  readonly residual?: tf.Tensor;
  /** First block to run (inclusive); default 0. */
  readonly startAtLayer?: number;
  /** Stop before this block (exclusive) and return the residual stream, without `ln_final`. */
  readonly stopAtLayer?: number;
  /** `[batch, pos]` 1 for real tokens, 0 for (left) padding: pads are not attended to and do not count as positions. */
  readonly attentionMask?: tf.Tensor;
  /** Free each block's intermediates when it ends (bounds memory; only safe when no hook holds activations across blocks). */
  readonly tidyBlocks?: boolean;
}

/** Positions and masks for a padded batch (TransformerLens: positions are `cumsum(mask) − 1`, pads get no attention). */
export function paddingFromMask(attentionMask: tf.Tensor): Padding {
  const [batch, pos] = attentionMask.shape;
  const mask = attentionMask.cast("float32");
  const positions = tf.maximum(tf.cumsum(attentionMask.cast("int32"), 1).sub(tf.scalar(1, "int32")), tf.scalar(0, "int32"));
  const keyMask = tf.where(mask.greater(0.5), tf.zerosLike(mask), tf.fill(mask.shape, -Infinity)).reshape([batch, 1, 1, pos]);
  return { positions, mask, keyMask };
}

/** Normalises a possibly negative layer index against nLayers (Python-style), with a clear error when out of range. */
export function layerIndex(l: number, cfg: TransformerConfig, what: string): number {
  const n = l < 0 ? l + cfg.nLayers : l;
  if (!Number.isInteger(n) || n < 0 || n > cfg.nLayers) {
    throw new Error(`${what} = ${l} is out of range for a model with ${cfg.nLayers} layers (use 0..${cfg.nLayers} or a negative index)`);
  }
  return n;
}

/** The residual stream after the embeddings (`hook_embed` + `hook_pos_embed`): `[batch, pos, dModel]`. */
export function embedTokens(tokens: tf.Tensor2D, w: ModelWeights, cfg: TransformerConfig, hooks: HookRegistry, pad?: Padding): tf.Tensor {
  const [batch, pos] = tokens.shape;
  const e = hooks.run("hook_embed", embed(tokens, w));
  if (cfg.positionalEmbeddingType !== "standard") return e;
  // Without a hook or padding, W_pos is broadcast over the batch instead of materialised [batch, pos, dModel].
  const hooked = hooks.has("hook_pos_embed") || pad !== undefined;
  return e.add(hooks.run("hook_pos_embed", posEmbed(hooked ? batch : undefined, pos, w, pad?.positions, pad?.mask)));
}

/** `ln_final` (firing its hooks) on `[batch, pos, dModel]`. */
export function finalLayerNorm(resid: tf.Tensor, w: ModelWeights, cfg: TransformerConfig, hooks: HookRegistry): tf.Tensor {
  return layerNorm(resid, w.maybe("ln_final.w"), w.maybe("ln_final.b"), cfg.eps, hooks, "ln_final");
}

/**
 * Runs the model: logits `[batch, pos, dVocabOut]`, or the residual `[batch, pos, dModel]` before block
 * `stopAtLayer` when that is set.
 */
export function runModel(w: ModelWeights, cfg: TransformerConfig, hooks: HookRegistry, span: ForwardSpan): tf.Tensor {
  const start = span.startAtLayer === undefined ? 0 : layerIndex(span.startAtLayer, cfg, "startAtLayer");
  const stop = span.stopAtLayer === undefined ? cfg.nLayers : layerIndex(span.stopAtLayer, cfg, "stopAtLayer");
  const pad = span.attentionMask === undefined ? undefined : paddingFromMask(span.attentionMask);
  let resid: tf.Tensor;
  if (span.startAtLayer !== undefined) {
    if (span.residual === undefined) throw new Error("startAtLayer needs the residual stream [batch, pos, dModel] as input");
    resid = span.residual;
  } else {
    if (span.tokens === undefined) throw new Error("forward needs tokens (or a residual with startAtLayer)");
    resid = embedTokens(span.tokens, w, cfg, hooks, pad);
  }
  for (let l = start; l < stop; l++) {
    const input = resid;
    resid = span.tidyBlocks ? tf.tidy(() => block(input, w, cfg, l, hooks, pad)) : block(input, w, cfg, l, hooks, pad);
  }
  if (span.stopAtLayer !== undefined) return resid;
  const x = hooks.run("unembed.hook_in", finalLayerNorm(resid, w, cfg, hooks));
  return hooks.run("unembed.hook_out", unembed(x, w));
}

/**
 * −log softmax(logits)[target] per row: logits `[n, vocab]`, int32 targets `[n]` → `[n]`. The forward gathers the n
 * entries (no one-hot); the gradient is `softmax − onehot(target)` per row, written out (tfjs-wasm has no gradient
 * kernel for gather), so it trains on every backend.
 */
function nllOfTargets(logits2d: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  const [n, vocab] = logits2d.shape as [number, number];
  // `save` keeps log-probs only while a gradient is being recorded (tfjs skips it otherwise: no leak at inference).
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const logProbs = tf.logSoftmax(x, -1);
    save([logProbs, targets]); // the caller's tidy frees both before a backward pass runs
    const flatIndex = tf.range(0, n * vocab, vocab, "int32").add(targets);
    const value = tf.gather(logProbs.reshape([n * vocab]), flatIndex).neg();
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => saved[0]!.exp().sub(tf.oneHot(saved[1]!, vocab)).mul(dy.expandDims(1));
    return { value, gradFunc };
  });
  return f(logits2d);
}

/**
 * Next-token cross-entropy from logits `[batch, pos, vocab]` and tokens `[batch, pos]`: the mean over
 * batch×(pos−1), or per token `[batch, pos − 1]` (+NLL) when `perToken`. With an attention mask, predictions of
 * padding count 0 and the mean is over real targets only. Differentiable (training uses it too).
 */
export function lmCrossEntropy(logits: tf.Tensor, tokens: tf.Tensor2D, perToken: boolean, attentionMask?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [batch, pos, vocab] = logits.shape;
    if (pos < 2) throw new Error(`the loss needs at least 2 positions per sequence, got ${pos}`);
    const n = batch * (pos - 1);
    const next = tokens.slice([0, 1], [batch, pos - 1]).reshape([n]).cast("int32");
    let nll = nllOfTargets(logits.slice([0, 0, 0], [batch, pos - 1, vocab]).reshape([n, vocab]), next);
    if (attentionMask === undefined) return perToken ? nll.reshape([batch, pos - 1]) : nll.mean();
    const keep = attentionMask.slice([0, 1], [batch, pos - 1]).reshape([n]).cast("float32");
    nll = nll.mul(keep);
    return perToken ? nll.reshape([batch, pos - 1]) : nll.sum().div(keep.sum());
  });
}
