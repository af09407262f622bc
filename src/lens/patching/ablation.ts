/**
 * Zero and mean ablation (ARENA 1.2 "induction head ablation" and "mean ablation"): hooks that replace a head's output
 * `z` (or a whole activation) by zeros or by its mean over the batch of a reference cache, and a sweep that ablates
 * every head in turn.
 */
import * as tf from "@tensorflow/tfjs";
import type { ActivationCache } from "../activationCache";
import { getActName } from "../hookNames";
import type { HookedTransformer } from "../hookedTransformer";
import type { FwdHooks, HookFn } from "../hookPoint";
import type { ModelInput } from "../inputs";
import { checkCache, checkFunction, checkInput, checkModel, checkOptions } from "./checks";
import { metricFromLayer, progressReporter, residPrefixes, type PatchRunOptions } from "./generic";
import { metricValue, type PatchMetric } from "./metric";
import type { HeadRef } from "./pathPatching";

/** "zero", or "mean": the activation's mean over the batch dimension of `meanCache` (kept per position). */
export type AblationMode = { readonly mode: "zero" } | { readonly mode: "mean"; readonly meanCache: ActivationCache };

/** Checks an AblationMode argument. */
function checkMode(fn: string, how: AblationMode): void {
  checkOptions(fn, "how", how);
  if (how.mode !== "zero" && how.mode !== "mean") throw new Error(`${fn}: how.mode must be "zero" or "mean", got ${JSON.stringify((how as { mode?: unknown }).mode)}`);
  if (how.mode === "mean") checkCache(fn, "how.meanCache", how.meanCache);
}

/** The replacement value of `name` for `act` under `how` (built inside the forward's tidy). */
function replacement(act: tf.Tensor, name: string, how: AblationMode): tf.Tensor {
  if (how.mode === "zero") return tf.zerosLike(act);
  const ref = how.meanCache.get(name);
  if (!how.meanCache.hasBatchDim) throw new Error("mean ablation needs a cache with its batch dimension (do not use removeBatchDim)");
  if (!tf.util.arraysEqual(ref.shape.slice(1), act.shape.slice(1))) {
    throw new Error(`mean ablation of ${name}: the mean cache has [${ref.shape}] but the run has [${act.shape}]; use inputs of the same length`);
  }
  return tf.broadcastTo(ref.mean(0, true), act.shape);
}

/**
 * Hooks on `hook_z` that ablate the given heads (zero or batch-mean), to pass to `runWithHooks` / `withHooks`.
 * @example
 * const loss = await model.runWithHooks(tokens, { returnType: "loss", fwdHooks: headAblationHooks([[1, 4], [1, 10]], { mode: "zero" }) });
 */
export function headAblationHooks(heads: readonly HeadRef[], how: AblationMode): FwdHooks {
  checkMode("headAblationHooks", how);
  if (!Array.isArray(heads)) throw new Error(`headAblationHooks: heads must be a list of [layer, head] pairs`);
  const byLayer = new Map<number, number[]>();
  for (const [l, h] of heads) byLayer.set(l, [...(byLayer.get(l) ?? []), h]);
  return [...byLayer].map(([l, hs]) => {
    const name = getActName("z", l);
    const fn: HookFn = (act) => {
      const nHeads = act.shape[2] as number;
      const mask = tf.buffer([1, 1, nHeads, 1], "bool");
      for (const h of hs) {
        if (!Number.isInteger(h) || h < 0 || h >= nHeads) throw new Error(`head ${h} of layer ${l} does not exist (${nHeads} heads)`);
        mask.set(true, 0, 0, h, 0);
      }
      return tf.where(mask.toTensor(), replacement(act, name, how), act);
    };
    return [name, fn] as const;
  });
}

/**
 * Hooks that ablate whole activations (e.g. `["blocks.0.hook_mlp_out"]` or short names with layers via getActName).
 * @example
 * const logits = await model.runWithHooks(tokens, { fwdHooks: activationAblationHooks(["blocks.0.hook_mlp_out"], { mode: "zero" }) });
 */
export function activationAblationHooks(names: readonly string[], how: AblationMode): FwdHooks {
  checkMode("activationAblationHooks", how);
  if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) throw new Error(`activationAblationHooks: names must be a list of hook names such as "blocks.0.hook_mlp_out"`);
  return names.map((name) => [name, (act: tf.Tensor) => replacement(act, name, how)] as const);
}

/**
 * Ablates each head in turn and returns metric(ablated) − metric(unablated) as `[nLayers, nHeads]` (ARENA's
 * `get_ablation_scores` with the loss as metric: how much the loss rises without each head). Caller owns the result.
 * @example
 * const secondHalfLoss = async (logits: tf.Tensor) => ...; // loss on the repeated half
 * const scores = await getAblationScores(model, repTokens, secondHalfLoss, { mode: "zero" });
 */
export async function getAblationScores(
  model: HookedTransformer,
  input: ModelInput,
  metric: PatchMetric,
  how: AblationMode,
  opts: PatchRunOptions = {},
): Promise<tf.Tensor> {
  const fn = "getAblationScores";
  checkModel(fn, model);
  checkInput(fn, "input", input);
  checkFunction(fn, "metric", metric, "logits → number or scalar tensor");
  checkMode(fn, how);
  const { nLayers, nHeads } = model.cfg;
  const clean = await model.forward(input, { attentionMask: opts.attentionMask });
  let baseline: number;
  try {
    baseline = await metricValue(metric, clean);
  } finally {
    clean.dispose();
  }
  const prefixes = await residPrefixes(model, input, nLayers - 1, opts);
  const values = new Float32Array(nLayers * nHeads);
  const progress = progressReporter(nLayers * nHeads, `ablation (${how.mode})`, opts);
  try {
    for (let l = 0; l < nLayers; l++) {
      for (let h = 0; h < nHeads; h++) {
        values[l * nHeads + h] = (await metricFromLayer(model, prefixes[l], l, headAblationHooks([[l, h]], how), metric, opts)) - baseline;
        progress.tick();
      }
    }
  } finally {
    progress.done();
    tf.dispose(prefixes);
  }
  return tf.tensor2d(values, [nLayers, nHeads]);
}
