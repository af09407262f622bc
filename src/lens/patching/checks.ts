/**
 * Argument checks shared by the public patching functions: a missing or wrong option is an Error that names the
 * function, the option and what to pass, not a TypeError from deep inside a hook.
 */
import * as tf from "@tensorflow/tfjs";
import { ActivationCache } from "../activationCache";

function describe(v: unknown): string {
  if (v === undefined) return "nothing (undefined)";
  if (v === null) return "null";
  if (v instanceof tf.Tensor) return `a tensor of shape [${v.shape}]`;
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** Throws unless `v` is an ActivationCache with its batch dimension (what `runWithCache` returns). */
export function checkCache(fn: string, option: string, v: unknown): asserts v is ActivationCache {
  if (!(v instanceof ActivationCache)) {
    throw new Error(`${fn}: ${option} must be an ActivationCache (the second value of model.runWithCache(...)), got ${describe(v)}`);
  }
  if (!v.hasBatchDim) throw new Error(`${fn}: ${option} has no batch dimension; record it without removeBatchDim`);
}

/** Throws unless `v` is a function (a metric, a setter). */
export function checkFunction(fn: string, option: string, v: unknown, what: string): asserts v is (...args: never[]) => unknown {
  if (typeof v !== "function") throw new Error(`${fn}: ${option} must be a function (${what}), got ${describe(v)}`);
}

/** Throws unless `v` looks like the model (a `cfg` with `nLayers`, and `runWithHooks`). */
export function checkModel(fn: string, v: unknown): void {
  const m = v as { cfg?: { nLayers?: unknown }; runWithHooks?: unknown } | undefined;
  if (typeof m?.cfg?.nLayers !== "number" || typeof m.runWithHooks !== "function") {
    throw new Error(`${fn}: the first argument must be a HookedTransformer, got ${describe(v)}`);
  }
}

/** Throws unless `v` is a model input (text, a list of texts, token ids or a tensor). */
export function checkInput(fn: string, option: string, v: unknown): void {
  const ok = typeof v === "string" || v instanceof tf.Tensor || (Array.isArray(v) && v.length > 0);
  if (!ok) throw new Error(`${fn}: ${option} must be text, token ids (number[][]) or an int32 tensor, got ${describe(v)}`);
}

/** Throws unless `v` is an object (an options bag). */
export function checkOptions(fn: string, option: string, v: unknown): asserts v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof tf.Tensor) {
    throw new Error(`${fn}: ${option} must be an options object, got ${describe(v)}`);
  }
}
