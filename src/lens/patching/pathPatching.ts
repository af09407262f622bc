/**
 * Path patching (Wang et al. 2022, "Interpretability in the Wild" §3.1; ARENA 1.4.1 §4): the effect of one sender
 * head on the logits only through a chosen path — directly to the final residual stream, or into the query / key /
 * value inputs of chosen receiver heads. For each sender:
 *   1. run the original input with the sender's output `z` taken from the new (e.g. ABC-corrupted) cache and every other
 *      head frozen to its original value; MLPs are recomputed (they count as part of the direct path, as in the paper);
 *   2. to the final residual stream: the metric of that run's logits; to receivers: record the receivers' q/k/v there,
 *      then run the original input again with only those receiver inputs patched, and take the metric.
 * Runs restart at the sender's layer from the cached original residual stream, so earlier blocks are not recomputed.
 */
import * as tf from "@tensorflow/tfjs";
import type { ActivationCache } from "../activationCache";
import type { HookedTransformer } from "../hookedTransformer";
import type { FwdHooks, HookFn } from "../hookPoint";
import type { ModelInput } from "../inputs";
import { checkCache, checkFunction, checkInput, checkModel, checkOptions } from "./checks";
import { indexMask, metricFromLayer, progressReporter, residPrefixes, type PatchRunOptions } from "./generic";
import { metricValue, type PatchMetric } from "./metric";

/** A head as [layer, head]. */
export type HeadRef = readonly [number, number];

export interface PathPatchInputs extends PatchRunOptions {
  /** The input of the base run (ARENA: the clean IOI prompts). */
  readonly origTokens: ModelInput;
  /** A cache of the base run with every `hook_z` (e.g. `runWithCache(origTokens)`). */
  readonly origCache: ActivationCache;
  /** A cache of the other input (e.g. ABC prompts) with every `hook_z`: where sender values come from. */
  readonly newCache: ActivationCache;
}

/** A hook on `hook_z` of one layer: heads in `fromNew` take the new cache's value, every other head the original's. */
function freezeHook(origZ: tf.Tensor, newZ: tf.Tensor, fromNew: number | undefined): HookFn {
  return (act) => {
    if (!tf.util.arraysEqual(act.shape, origZ.shape) || !tf.util.arraysEqual(newZ.shape, origZ.shape)) {
      throw new Error(`path patching: hook_z shapes differ (run [${act.shape}], orig [${origZ.shape}], new [${newZ.shape}]); both datasets need the same batch size and length`);
    }
    return fromNew === undefined ? origZ.clone() : tf.where(indexMask(act.shape, { 2: fromNew }), newZ, origZ);
  };
}

/** Checks the arguments every path-patching function takes. */
function checkInputs(fn: string, model: HookedTransformer, metric: PatchMetric, inputs: PathPatchInputs): void {
  checkModel(fn, model);
  checkFunction(fn, "metric", metric, "logits → number or scalar tensor");
  checkOptions(fn, "the third argument", inputs);
  checkInput(fn, "origTokens", inputs.origTokens);
  checkCache(fn, "origCache", inputs.origCache);
  checkCache(fn, "newCache", inputs.newCache);
}

/** Hooks freezing every head of layers `[from, to)` to the original, except `sender` which takes the new value. */
function senderHooks(inputs: PathPatchInputs, sender: HeadRef, from: number, to: number): FwdHooks {
  const hooks: [string, HookFn][] = [];
  for (let l = from; l < to; l++) {
    const name = `blocks.${l}.attn.hook_z`;
    hooks.push([name, freezeHook(inputs.origCache.get(name), inputs.newCache.get(name), l === sender[0] ? sender[1] : undefined)]);
  }
  return hooks;
}

/**
 * Path patching from every sender head directly to the final residual stream: `[nLayers, nHeads]` of the metric.
 * ARENA's `get_path_patch_head_to_final_resid_post`; with `metric` = (patched − orig) / (orig − new), 0 means no
 * effect and −1 means the whole effect. Caller owns the result.
 * @example
 * const [, origCache] = await model.runWithCache(ioiTokens);
 * const [, newCache] = await model.runWithCache(abcTokens);
 * const grid = await getPathPatchHeadToFinalResid(model, metric, { origTokens: ioiTokens, origCache, newCache });
 */
export async function getPathPatchHeadToFinalResid(model: HookedTransformer, metric: PatchMetric, inputs: PathPatchInputs): Promise<tf.Tensor> {
  checkInputs("getPathPatchHeadToFinalResid", model, metric, inputs);
  const { nLayers, nHeads } = model.cfg;
  const prefixes = await residPrefixes(model, inputs.origTokens, nLayers - 1, inputs);
  const values = new Float32Array(nLayers * nHeads);
  const progress = progressReporter(nLayers * nHeads, "path patching → resid_post", inputs);
  try {
    for (let l = 0; l < nLayers; l++) {
      for (let h = 0; h < nHeads; h++) {
        values[l * nHeads + h] = await metricFromLayer(model, prefixes[l], l, senderHooks(inputs, [l, h], l, nLayers), metric, inputs);
        progress.tick();
      }
    }
  } finally {
    progress.done();
    tf.dispose(prefixes);
  }
  return tf.tensor2d(values, [nLayers, nHeads]);
}

/**
 * Path patching from every sender head (in layers below the last receiver's) into the `receiverInput` ("q", "k" or
 * "v") of the receiver heads: `[maxReceiverLayer, nHeads]` of the metric (ARENA's `get_path_patch_head_to_heads`).
 * Receivers may sit in any layers: a receiver in a layer at or before the sender's cannot be reached by it and keeps
 * its original input. Caller owns the result.
 * @example
 * const sInhibition: HeadRef[] = [[7, 3], [7, 9], [8, 6], [8, 10]];
 * const grid = await getPathPatchHeadToHeads(model, metric, { receivers: sInhibition, receiverInput: "v", origTokens, origCache, newCache });
 */
export async function getPathPatchHeadToHeads(
  model: HookedTransformer,
  metric: PatchMetric,
  inputs: PathPatchInputs & { receivers: readonly HeadRef[]; receiverInput: "q" | "k" | "v" },
): Promise<tf.Tensor> {
  const fn = "getPathPatchHeadToHeads";
  checkInputs(fn, model, metric, inputs);
  const { nHeads, nLayers } = model.cfg;
  if (!["q", "k", "v"].includes(inputs.receiverInput)) throw new Error(`${fn}: receiverInput must be "q", "k" or "v", got ${JSON.stringify(inputs.receiverInput)}`);
  if (!Array.isArray(inputs.receivers) || inputs.receivers.length === 0) throw new Error(`${fn}: receivers must list at least one receiver head as [layer, head]`);
  for (const r of inputs.receivers) {
    const [l, h] = Array.isArray(r) ? r : [NaN, NaN];
    if (!(Number.isInteger(l) && l >= 0 && l < nLayers && Number.isInteger(h) && h >= 0 && h < nHeads)) throw new Error(`${fn}: receiver head [${r}] does not exist (nLayers ${nLayers}, nHeads ${nHeads})`);
  }
  const receiverLayers = [...new Set(inputs.receivers.map(([l]) => l))].sort((a, b) => a - b);
  const maxR = receiverLayers[receiverLayers.length - 1]!;
  const nameOf = (l: number) => `blocks.${l}.attn.hook_${inputs.receiverInput}`;
  const headsIn = (l: number) => inputs.receivers.filter(([rl]) => rl === l).map(([, h]) => h);
  const prefixes = await residPrefixes(model, inputs.origTokens, maxR, inputs);
  const values = new Float32Array(maxR * nHeads);
  const progress = progressReporter(maxR * nHeads, `path patching → ${inputs.receiverInput}`, inputs);
  try {
    for (let l = 0; l < maxR; l++) {
      // Receivers a sender in layer l can reach: those in later layers. The others keep their original input.
      const reached = receiverLayers.filter((rl) => rl > l);
      for (let h = 0; h < nHeads; h++) {
        // Step 1: sender patched, other heads frozen; record the reachable receivers' inputs.
        const captured = new Map<string, tf.Tensor>();
        const capture: HookFn = (act, hook) => void captured.set(hook.name, tf.keep(act.clone()));
        try {
          const hooks: FwdHooks = [...senderHooks(inputs, [l, h], l, maxR), ...reached.map((rl) => [nameOf(rl), capture] as const)];
          (await model.runWithHooks(prefixes[l]!, { startAtLayer: l, stopAtLayer: maxR + 1, fwdHooks: hooks, attentionMask: inputs.attentionMask })).dispose();
          // Step 2: the original run with only those receivers' inputs replaced.
          const patchHooks: FwdHooks = reached.map((rl) => {
            const recorded = captured.get(nameOf(rl));
            if (recorded === undefined) throw new Error(`path patching: ${nameOf(rl)} did not fire`);
            const hook: HookFn = (act) => {
              const mask = tf.buffer([1, 1, nHeads, 1], "bool");
              for (const rh of headsIn(rl)) mask.set(true, 0, 0, rh, 0);
              return tf.where(mask.toTensor(), recorded, act);
            };
            return [nameOf(rl), hook] as const;
          });
          const startAt = reached[0]!; // the first patched receiver; the blocks before it are the original run's
          const logits = await model.runWithHooks(prefixes[startAt]!, { startAtLayer: startAt, fwdHooks: patchHooks, attentionMask: inputs.attentionMask });
          try {
            values[l * nHeads + h] = await metricValue(metric, logits);
          } finally {
            logits.dispose();
          }
        } finally {
          tf.dispose([...captured.values()]);
        }
        progress.tick();
      }
    }
  } finally {
    progress.done();
    tf.dispose(prefixes);
  }
  return tf.tensor2d(values, [maxR, nHeads]);
}
