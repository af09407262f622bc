/**
 * TransformerLens's activation-patching specialisations (`transformer_lens.patching.get_act_patch_*`). All take
 * `(model, corruptedTokens, cleanCache, metric, opts?)`, run the corrupted input once per index with one activation
 * patched from the clean cache (see `genericActivationPatch`), and return a float32 tensor the caller owns.
 * Several indices of one layer share a forward (`opts.maxBatchCells`, `opts.batchBudgetBytes`; `maxBatchCells: 1` is
 * one forward per index, as in TransformerLens). Denoising convention: corrupted run, clean values patched in; with `normalizedMetric` 1 = clean, 0 = corrupted.
 */
import * as tf from "@tensorflow/tfjs";
import type { ActivationCache } from "../activationCache";
import type { HookedTransformer } from "../hookedTransformer";
import type { ModelInput } from "../inputs";
import type { SweepBatchOptions } from "./batched";
import { genericActivationPatch, patchAt, type AxisName, type PatchRunOptions, type PatchSetter } from "./generic";
import type { PatchMetric } from "./metric";

/** Options of every activation-patching sweep: progress, attention mask, and how many patched runs share a forward. */
export type ActPatchOptions = PatchRunOptions & SweepBatchOptions;

/**
 * act[:, pos, ...] = clean (resid / attn_out / mlp_out: [batch, pos, dModel]). The setters are `PatchSetter`s for
 * `genericActivationPatch`, as TransformerLens's `*_patch_setter` functions.
 * @example genericActivationPatch(model, corrupted, cleanCache, metric, { activationName: "resid_pre", axes: ["layer", "pos"], setter: layerPosSetter });
 */
export const layerPosSetter: PatchSetter = (act, [pos], clean) => patchAt(act, clean, { 1: pos });
/**
 * act[:, pos, head] = clean (q / k / v / z: [batch, pos, head, dHead]).
 * @example genericActivationPatch(model, corrupted, cleanCache, metric, { activationName: "z", axes: ["layer", "pos", "head"], setter: layerPosHeadVectorSetter });
 */
export const layerPosHeadVectorSetter: PatchSetter = (act, [pos, head], clean) => patchAt(act, clean, { 1: pos, 2: head });
/**
 * act[:, :, head] = clean (q / k / v / z at every position).
 * @example genericActivationPatch(model, corrupted, cleanCache, metric, { activationName: "v", axes: ["layer", "head"], setter: layerHeadVectorSetter });
 */
export const layerHeadVectorSetter: PatchSetter = (act, [head], clean) => patchAt(act, clean, { 2: head });
/**
 * act[:, head] = clean (pattern [batch, head, dest, src]).
 * @example genericActivationPatch(model, corrupted, cleanCache, metric, { activationName: "pattern", axes: ["layer", "head"], setter: layerHeadPatternSetter });
 */
export const layerHeadPatternSetter: PatchSetter = (act, [head], clean) => patchAt(act, clean, { 1: head });
/**
 * act[:, head, dest] = clean (one query row of a pattern).
 * @example genericActivationPatch(model, corrupted, cleanCache, metric, { activationName: "pattern", axes: ["layer", "head", "destPos"], setter: layerHeadPosPatternSetter });
 */
export const layerHeadPosPatternSetter: PatchSetter = (act, [head, dest], clean) => patchAt(act, clean, { 1: head, 2: dest });
/**
 * act[:, head, dest, src] = clean (one entry of a pattern).
 * @example genericActivationPatch(model, corrupted, cleanCache, metric, { activationName: "pattern", axes: ["layer", "head", "destPos", "srcPos"], setter: layerHeadDestSrcPosPatternSetter });
 */
export const layerHeadDestSrcPosPatternSetter: PatchSetter = (act, [head, dest, src], clean) => patchAt(act, clean, { 1: head, 2: dest, 3: src });

type Patcher = (model: HookedTransformer, corruptedTokens: ModelInput, cleanCache: ActivationCache, metric: PatchMetric, opts?: ActPatchOptions) => Promise<tf.Tensor>;

function patcher(activationName: string, axes: AxisName[], setter: PatchSetter): Patcher {
  return (model, corruptedTokens, cleanCache, metric, opts = {}) =>
    genericActivationPatch(model, corruptedTokens, cleanCache, metric, { ...opts, activationName, axes, setter, label: `patching ${activationName}` });
}

/**
 * Patches `resid_pre` at each (layer, position): `[nLayers, pos]`.
 * @example
 * const [, cleanCache] = await model.runWithCache(cleanTokens);
 * const metric = normalizedMetric((l) => logitDiff(l, answers), { clean: 3.5, corrupted: -3.5 });
 * const grid = await getActPatchResidPre(model, corruptedTokens, cleanCache, metric); // [layer, pos]
 */
export const getActPatchResidPre: Patcher = patcher("resid_pre", ["layer", "pos"], layerPosSetter);
/** Patches `resid_mid` (not in parallel-attention models such as GPT-NeoX): `[nLayers, pos]`. @example const g = await getActPatchResidMid(model, corrupted, cleanCache, metric); */
export const getActPatchResidMid: Patcher = patcher("resid_mid", ["layer", "pos"], layerPosSetter);
/** Patches `attn_out`: `[nLayers, pos]`. @example const g = await getActPatchAttnOut(model, corrupted, cleanCache, metric); */
export const getActPatchAttnOut: Patcher = patcher("attn_out", ["layer", "pos"], layerPosSetter);
/** Patches `mlp_out`: `[nLayers, pos]`. @example const g = await getActPatchMlpOut(model, corrupted, cleanCache, metric); */
export const getActPatchMlpOut: Patcher = patcher("mlp_out", ["layer", "pos"], layerPosSetter);

/** Patches each head's output `z` at each position: `[nLayers, pos, nHeads]`. @example const g = await getActPatchAttnHeadOutByPos(model, corrupted, cleanCache, metric); */
export const getActPatchAttnHeadOutByPos: Patcher = patcher("z", ["layer", "pos", "head"], layerPosHeadVectorSetter);
/** Patches each head's queries at each position: `[nLayers, pos, nHeads]`. @example const g = await getActPatchAttnHeadQByPos(model, corrupted, cleanCache, metric); */
export const getActPatchAttnHeadQByPos: Patcher = patcher("q", ["layer", "pos", "head"], layerPosHeadVectorSetter);
/** Patches each head's keys at each position: `[nLayers, pos, nHeads]`. @example const g = await getActPatchAttnHeadKByPos(model, corrupted, cleanCache, metric); */
export const getActPatchAttnHeadKByPos: Patcher = patcher("k", ["layer", "pos", "head"], layerPosHeadVectorSetter);
/** Patches each head's values at each position: `[nLayers, pos, nHeads]`. @example const g = await getActPatchAttnHeadVByPos(model, corrupted, cleanCache, metric); */
export const getActPatchAttnHeadVByPos: Patcher = patcher("v", ["layer", "pos", "head"], layerPosHeadVectorSetter);
/** Patches each head's attention row at each destination position: `[nLayers, nHeads, destPos]`. @example const g = await getActPatchAttnHeadPatternByPos(model, corrupted, cleanCache, metric); */
export const getActPatchAttnHeadPatternByPos: Patcher = patcher("pattern", ["layer", "head", "destPos"], layerHeadPosPatternSetter);
/** Patches single attention entries: `[nLayers, nHeads, destPos, srcPos]` (L·H·P² runs). @example const g = await getActPatchAttnHeadPatternDestSrcPos(model, corrupted, cleanCache, metric); */
export const getActPatchAttnHeadPatternDestSrcPos: Patcher = patcher("pattern", ["layer", "head", "destPos", "srcPos"], layerHeadDestSrcPosPatternSetter);

/**
 * Patches each head's output `z` at every position at once: `[nLayers, nHeads]` (ARENA's head-to-residual patching).
 * @example
 * const heads = await getActPatchAttnHeadOutAllPos(model, corruptedTokens, cleanCache, metric, { onProgress: (d, n) => {} });
 */
export const getActPatchAttnHeadOutAllPos: Patcher = patcher("z", ["layer", "head"], layerHeadVectorSetter);
/** Patches each head's queries at every position: `[nLayers, nHeads]`. @example const g = await getActPatchAttnHeadQAllPos(model, corrupted, cleanCache, metric); */
export const getActPatchAttnHeadQAllPos: Patcher = patcher("q", ["layer", "head"], layerHeadVectorSetter);
/** Patches each head's keys at every position: `[nLayers, nHeads]`. @example const g = await getActPatchAttnHeadKAllPos(model, corrupted, cleanCache, metric); */
export const getActPatchAttnHeadKAllPos: Patcher = patcher("k", ["layer", "head"], layerHeadVectorSetter);
/** Patches each head's values at every position: `[nLayers, nHeads]`. @example const g = await getActPatchAttnHeadVAllPos(model, corrupted, cleanCache, metric); */
export const getActPatchAttnHeadVAllPos: Patcher = patcher("v", ["layer", "head"], layerHeadVectorSetter);
/** Patches each head's whole attention pattern: `[nLayers, nHeads]`. @example const g = await getActPatchAttnHeadPatternAllPos(model, corrupted, cleanCache, metric); */
export const getActPatchAttnHeadPatternAllPos: Patcher = patcher("pattern", ["layer", "head"], layerHeadPatternSetter);

async function stackAll(runs: Array<() => Promise<tf.Tensor>>): Promise<tf.Tensor> {
  const parts: tf.Tensor[] = [];
  try {
    for (const run of runs) parts.push(await run());
    return tf.stack(parts);
  } finally {
    tf.dispose(parts);
  }
}

/**
 * Output, q, k, v and pattern patching of every head at all positions: `[5, nLayers, nHeads]` in that order.
 * @example const every = await getActPatchAttnHeadAllPosEvery(model, corruptedTokens, cleanCache, metric);
 */
export function getActPatchAttnHeadAllPosEvery(model: HookedTransformer, corruptedTokens: ModelInput, cleanCache: ActivationCache, metric: PatchMetric, opts: ActPatchOptions = {}): Promise<tf.Tensor> {
  const fns = [getActPatchAttnHeadOutAllPos, getActPatchAttnHeadQAllPos, getActPatchAttnHeadKAllPos, getActPatchAttnHeadVAllPos, getActPatchAttnHeadPatternAllPos];
  return stackAll(fns.map((f) => () => f(model, corruptedTokens, cleanCache, metric, opts)));
}

/**
 * Output, q, k, v and pattern patching of every head at each position: `[5, nLayers, pos, nHeads]` (the pattern
 * result, `[layer, head, dest]`, is transposed to `[layer, dest, head]` as in TransformerLens).
 * @example const every = await getActPatchAttnHeadByPosEvery(model, corruptedTokens, cleanCache, metric);
 */
export function getActPatchAttnHeadByPosEvery(model: HookedTransformer, corruptedTokens: ModelInput, cleanCache: ActivationCache, metric: PatchMetric, opts: ActPatchOptions = {}): Promise<tf.Tensor> {
  const fns = [getActPatchAttnHeadOutByPos, getActPatchAttnHeadQByPos, getActPatchAttnHeadKByPos, getActPatchAttnHeadVByPos];
  const runs = fns.map((f) => () => f(model, corruptedTokens, cleanCache, metric, opts));
  runs.push(async () => {
    const p = await getActPatchAttnHeadPatternByPos(model, corruptedTokens, cleanCache, metric, opts);
    const t = p.transpose([0, 2, 1]);
    p.dispose();
    return t;
  });
  return stackAll(runs);
}

/**
 * resid_pre, attn_out and mlp_out patching by (layer, position): `[3, nLayers, pos]` in that order.
 * @example const blocks = await getActPatchBlockEvery(model, corruptedTokens, cleanCache, metric);
 */
export function getActPatchBlockEvery(model: HookedTransformer, corruptedTokens: ModelInput, cleanCache: ActivationCache, metric: PatchMetric, opts: ActPatchOptions = {}): Promise<tf.Tensor> {
  const fns = [getActPatchResidPre, getActPatchAttnOut, getActPatchMlpOut];
  return stackAll(fns.map((f) => () => f(model, corruptedTokens, cleanCache, metric, opts)));
}
