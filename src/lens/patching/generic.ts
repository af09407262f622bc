/**
 * The generic activation-patching engine (TransformerLens `generic_activation_patch`): for every index of a sweep it
 * runs the corrupted input with ONE hook that overwrites part of one activation with its value from a clean cache, and
 * records `metric(logits)`. Each run starts at the patched layer from the cached corrupted residual stream
 * (`startAtLayer`), so the blocks before it are computed once for the whole sweep, not once per run. Several indices of
 * one layer share a forward, each on its own slice of the batch axis (batched.ts; `maxBatchCells: 1` runs one forward
 * per index as TransformerLens does).
 */
import * as tf from "@tensorflow/tfjs";
import type { ActivationCache } from "../activationCache";
import type { HookedTransformer } from "../hookedTransformer";
import type { FwdHooks } from "../hookPoint";
import type { ModelInput } from "../inputs";
import { checkBatchOptions, runBatchedSweep, type SweepBatchOptions } from "./batched";
import { checkCache, checkFunction, checkInput, checkModel, checkOptions } from "./checks";
import { metricValue, type PatchMetric } from "./metric";

/** The axes a sweep can range over (TransformerLens's index_axis_names): layer, position, head, dest/src position. */
export type AxisName = "layer" | "pos" | "head" | "destPos" | "srcPos";

/**
 * Builds the patched activation: `corrupted` and `clean` have the activation's shape, `index` is the sweep index
 * without its leading layer. Return a new tensor of the same shape (it runs inside the forward's `tf.tidy`).
 */
export type PatchSetter = (corrupted: tf.Tensor, index: readonly number[], clean: tf.Tensor) => tf.Tensor;

/** How a sweep reports progress: a callback, and/or a bar on stderr (only when stderr is a terminal). */
export interface ProgressOptions {
  /** No stderr progress bar (the callback still runs). */
  readonly silent?: boolean;
  /** Called after each run with (runs done, total runs). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Options every patching sweep takes: progress, and the attention mask of a padded base input. */
export interface PatchRunOptions extends ProgressOptions {
  /**
   * `[batch, pos]`, 1 for real tokens and 0 for padding, of the input every run starts from (the corrupted tokens;
   * path patching's `origTokens`). Each run, including those restarted at a layer, uses it; the clean cache must have
   * been recorded with the same padding (`runWithCache(clean, { attentionMask })`).
   */
  readonly attentionMask?: tf.Tensor | readonly (readonly number[])[];
}

export interface GenericPatchOptions extends PatchRunOptions, SweepBatchOptions {
  /** The activation to patch, as a TransformerLens short name: "resid_pre", "z", "q", "pattern", "attn_out", … */
  readonly activationName: string;
  /** The sweep's axes; the first must be "layer". The output has one dimension per axis. */
  readonly axes: readonly AxisName[];
  /** Writes the clean values at one index into the corrupted activation. */
  readonly setter: PatchSetter;
  /** Explicit indices (rows `[layer, ...]`) instead of the full grid; the output is then flat `[indices.length]`. */
  readonly indices?: ReadonlyArray<readonly number[]>;
  /** Name shown on the progress bar. */
  readonly label?: string;
}

/**
 * Runs the model from `prefix` (the residual entering `layer`) with `fwdHooks` (and the sweep's attention mask) and
 * returns the metric; frees the logits.
 */
export async function metricFromLayer(
  model: HookedTransformer,
  prefix: tf.Tensor,
  layer: number,
  fwdHooks: FwdHooks,
  metric: PatchMetric,
  opts: PatchRunOptions = {},
): Promise<number> {
  const logits = await model.runWithHooks(prefix, { startAtLayer: layer, fwdHooks, attentionMask: opts.attentionMask });
  try {
    return await metricValue(metric, logits);
  } finally {
    logits.dispose();
  }
}

/**
 * A progress reporter for `total` runs (stderr bar only on a TTY and when not silent).
 * @example const p = progressReporter(144, "heads", { onProgress: (d, n) => {} }); p.tick(); p.done();
 */
export function progressReporter(total: number, label: string, opts: ProgressOptions): { tick(): void; done(): void } {
  const bar = !opts.silent && process.stderr.isTTY === true;
  const start = Date.now();
  let done = 0;
  const draw = () => {
    const width = 30;
    const filled = Math.round((done / Math.max(total, 1)) * width);
    const secs = ((Date.now() - start) / 1000).toFixed(1);
    process.stderr.write(`\r${label} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total} ${secs}s`);
  };
  return {
    tick() {
      done++;
      opts.onProgress?.(done, total);
      if (bar) draw();
    },
    done() {
      if (bar) process.stderr.write("\n");
    },
  };
}

/**
 * A boolean mask broadcastable to `shape`: true exactly at the given coordinates of the fixed dimensions
 * (`fixed[dim] = index`), size 1 (broadcast) along every other dimension. Caller owns it.
 * @example indexMask([2, 5, 4, 16], { 2: 3 }); // [1, 1, 4, 1], true at head 3
 */
export function indexMask(shape: readonly number[], fixed: Readonly<Record<number, number>>): tf.Tensor {
  const maskShape = shape.map((d, i) => (i in fixed ? d : 1));
  const buf = tf.buffer(maskShape, "bool");
  const coord = maskShape.map((_, i) => (i in fixed ? fixed[i] : 0));
  for (const [dim, idx] of Object.entries(fixed)) {
    const d = Number(dim);
    if (!Number.isInteger(idx) || idx < 0 || idx >= shape[d]) throw new Error(`patch index ${idx} is out of range for dimension ${d} of [${shape}]`);
  }
  buf.set(true, ...coord);
  return buf.toTensor();
}

/**
 * `corrupted` with the clean values where `fixed` selects (see indexMask). Exact copy of clean values, no arithmetic.
 * @example const patched = patchAt(zCorrupted, zClean, { 1: pos, 2: head }); // z[:, pos, head] = clean
 */
export function patchAt(corrupted: tf.Tensor, clean: tf.Tensor, fixed: Readonly<Record<number, number>>): tf.Tensor {
  return tf.tidy(() => tf.where(indexMask(corrupted.shape, fixed), clean, corrupted));
}

/** Every index of the grid `sizes` in row-major order. */
function grid(sizes: readonly number[]): number[][] {
  let rows: number[][] = [[]];
  for (const n of sizes) rows = rows.flatMap((r) => Array.from({ length: n }, (_, i) => [...r, i]));
  return rows;
}

/**
 * The corrupted residual stream entering each layer `0..maxLayer` (one run, no unembedding). Caller disposes.
 * Runs are restarted from these with `startAtLayer` (and the same `attentionMask`).
 * @example const prefixes = await residPrefixes(model, tokens, 11); // 12 tensors [batch, pos, dModel]
 */
export async function residPrefixes(model: HookedTransformer, input: ModelInput, maxLayer: number, opts: PatchRunOptions = {}): Promise<tf.Tensor[]> {
  const stop = Math.min(maxLayer + 1, model.cfg.nLayers);
  const names = Array.from({ length: stop }, (_, l) => `blocks.${l}.hook_resid_pre`);
  const [out, cache] = await model.runWithCache(input, { namesFilter: names, stopAtLayer: stop, attentionMask: opts.attentionMask });
  const prefixes = names.map((n) => tf.keep(cache.get(n).clone()));
  out.dispose();
  cache.dispose();
  return prefixes;
}

/**
 * TransformerLens's `generic_activation_patch`: for each index (by default the full grid of `axes`), runs
 * `corruptedTokens` with the activation `activationName` at the index's layer patched by `setter` from `cleanCache`,
 * and stores `metric(logits)`. Returns a float32 tensor shaped by the axes (layer → nLayers, pos/destPos/srcPos →
 * sequence length, head → nHeads), or `[indices.length]` for explicit indices. The caller owns it.
 * Indices of the same layer run together, up to `opts.maxBatchCells` per forward and within `opts.batchBudgetBytes`
 * of activations (default 1 GiB): the corrupted input is tiled along the batch axis, each slice gets its own index's
 * patch, and `metric` is called once per index on that index's `[batch, pos, dVocab]` slice of the logits, so the
 * result equals the one-forward-per-index sweep (`maxBatchCells: 1`) within float32 rounding.
 * @example
 * const [, cleanCache] = await model.runWithCache(cleanTokens);
 * const out = await genericActivationPatch(model, corruptedTokens, cleanCache, metric, {
 *   activationName: "resid_pre", axes: ["layer", "pos"], setter: (act, [pos], clean) => patchAt(act, clean, { 1: pos }),
 * }); // [nLayers, pos]
 */
export async function genericActivationPatch(
  model: HookedTransformer,
  corruptedTokens: ModelInput,
  cleanCache: ActivationCache,
  metric: PatchMetric,
  opts: GenericPatchOptions,
): Promise<tf.Tensor> {
  const fn = `genericActivationPatch(${typeof opts?.activationName === "string" ? opts.activationName : "?"})`;
  checkModel(fn, model);
  checkInput(fn, "corruptedTokens", corruptedTokens);
  checkCache(fn, "cleanCache", cleanCache);
  checkFunction(fn, "metric", metric, "logits → number or scalar tensor");
  checkOptions(fn, "opts", opts);
  if (typeof opts.activationName !== "string") throw new Error(`${fn}: opts.activationName must be a short hook name such as "resid_pre" or "z"`);
  if (!Array.isArray(opts.axes) || opts.axes.length === 0) throw new Error(`${fn}: opts.axes must be a list of axes starting with "layer", e.g. ["layer", "pos"]`);
  checkFunction(fn, "opts.setter", opts.setter, "(corrupted, index, clean) → patched activation");
  checkBatchOptions(fn, opts);
  if (opts.axes[0] !== "layer") throw new Error(`the first patching axis must be "layer", got [${opts.axes.join(", ")}]`);
  const { nLayers, nHeads } = model.cfg;
  const maxLayer = opts.indices ? Math.max(0, ...opts.indices.map((r) => r[0] ?? 0)) : nLayers - 1;
  if (!(Number.isInteger(maxLayer) && maxLayer < nLayers)) throw new Error(`patch indices name layer ${maxLayer}, but the model has ${nLayers} layers`);
  const prefixes = await residPrefixes(model, corruptedTokens, maxLayer, opts);
  const seqLen = prefixes[0]!.shape[1] as number; // TransformerLens: the corrupted tokens' length
  const sizeOf = (a: AxisName) => (a === "layer" ? nLayers : a === "head" ? nHeads : seqLen);
  const sizes: number[] = opts.axes.map(sizeOf);
  const indices = opts.indices ? opts.indices.map((r) => [...r]) : grid(sizes);
  try {
    for (const r of indices) {
      if (r.length !== opts.axes.length) throw new Error(`patch index [${r}] has ${r.length} entries but the axes are [${opts.axes.join(", ")}]`);
      r.forEach((v, i) => {
        if (!Number.isInteger(v) || v < 0 || v >= (sizes[i] as number)) throw new Error(`patch index [${r}]: ${opts.axes[i]} = ${v} is out of range [0, ${sizes[i]})`);
      });
    }
  } catch (e) {
    tf.dispose(prefixes);
    throw e;
  }
  // Metric values stay tensors until the end: a sweep reads nothing back (no GPU round trip per run).
  const progress = progressReporter(indices.length, opts.label ?? `patching ${opts.activationName}`, opts);
  let values: tf.Tensor[];
  try {
    values = await runBatchedSweep(model, cleanCache, metric, { activationName: opts.activationName, setter: opts.setter, indices, prefixes, tick: progress.tick }, opts);
  } finally {
    progress.done();
    tf.dispose(prefixes);
  }
  const out = tf.tidy(() => tf.stack(values).reshape(opts.indices ? [indices.length] : sizes));
  tf.dispose(values);
  return out;
}
