/**
 * SAE hook points, named as in SAELens's HookedSAETransformer: `<hook>.hook_sae_input`, `.hook_sae_acts_pre`,
 * `.hook_sae_acts_post`, `.hook_sae_recons`, `.hook_sae_error` (with the error term only) and `.hook_sae_output`
 * (e.g. "blocks.1.hook_resid_pre.hook_sae_acts_post"). `splicedSaeHook` builds the model hook that splices an SAE in
 * and runs caller hooks / caching at those points, in this order:
 *   x = input(act); pre = acts_pre(x̃ W_enc + b_enc …); f = acts_post(σ(pre) with edits); x̂ = recons(decode f);
 *   error = error(act − decode(encode(act))) (clean, like SAELens); output = output(x̂ [+ error]).
 * A hook may return a replacement tensor (same shape), so acts_post hooks can ablate or clamp latents.
 */
import * as tf from "@tensorflow/tfjs";
import type { FwdHooks, HookFn } from "../hookPoint";
import type { SparseAutoencoder } from "./sae";

/** The SAE hook points (suffixes of the SAE's hook name). */
export const SAE_HOOK_POINTS = ["hook_sae_input", "hook_sae_acts_pre", "hook_sae_acts_post", "hook_sae_recons", "hook_sae_error", "hook_sae_output"] as const;
/** One SAE hook point. */
export type SaeHookPoint = (typeof SAE_HOOK_POINTS)[number];

/** Latent edits applied between encode and decode. */
export interface LatentEdit {
  /** Latents set to zero. */
  readonly ablate?: readonly number[];
  /** Latents set to a value (e.g. a multiple of their max activation). */
  readonly set?: ReadonlyArray<readonly [latent: number, value: number]>;
}

/** The hook the SAE reads (its cfg.hookName), or an error naming the fix. */
export function saeHookName(sae: SparseAutoencoder): string {
  if (!sae.cfg.hookName) throw new Error("SAE splicing: the SAE has no hookName; set it in the config (cfg.json metadata.hook_name)");
  return sae.cfg.hookName;
}

/** The full names of an SAE's hook points, `<hook>.hook_sae_*`. */
export function saeHookNames(sae: SparseAutoencoder): string[] {
  const base = saeHookName(sae);
  return SAE_HOOK_POINTS.map((p) => `${base}.${p}`);
}

/** Pre-activations `[B, d_sae]` of the processed input x̃ (SAELens hook_sae_acts_pre), by the SAE's architecture. */
export function preActivations(sae: SparseAutoencoder, xt: tf.Tensor2D): tf.Tensor2D {
  return sae.arch.preActivations(sae.params, xt, sae.cfg);
}

/** The architecture's activation: latents `[B, d_sae]` from pre-activations (Gated also needs x̃ for its gate). */
export function activate(sae: SparseAutoencoder, pre: tf.Tensor2D, xt: tf.Tensor2D): tf.Tensor2D {
  return sae.arch.activate(sae.params, pre, xt, sae.cfg);
}

function applyEdit(f: tf.Tensor, dSae: number, e: LatentEdit | undefined): tf.Tensor {
  if (!e || !(e.ablate?.length || e.set?.length)) return f;
  const keep = new Float32Array(dSae).fill(1), add = new Float32Array(dSae);
  for (const i of e.ablate ?? []) keep[i] = 0;
  for (const [i, v] of e.set ?? []) { keep[i] = 0; add[i] = v; }
  return f.mul(tf.tensor1d(keep)).add(tf.tensor1d(add));
}

/** Where `splicedSaeHook` records activations: names selected by `filter` go into `store` (kept tensors). */
export interface SaeCacheSink {
  readonly filter: (name: string) => boolean;
  readonly store: Map<string, tf.Tensor>;
}

/** Options of `splicedSaeHook`. */
export interface SplicedSaeHookOptions {
  /** Add the clean error term act − decode(encode(act)), so that the output equals act until something is edited. */
  readonly useErrorTerm?: boolean;
  readonly edit?: LatentEdit;
  /** Hooks on the SAE hook points (`[name | predicate, fn]`, full names such as "<hook>.hook_sae_acts_post"). */
  readonly saeHooks?: FwdHooks;
  readonly cache?: SaeCacheSink;
}

/** The model hook that replaces the activation with the SAE's output, running SAE-point hooks and caching. */
export function splicedSaeHook(sae: SparseAutoencoder, opts: SplicedSaeHookOptions = {}): HookFn {
  const base = saeHookName(sae);
  const { dIn, dSae } = sae.cfg;
  const scratch = new Map<string, Record<string, unknown>>();
  return (act, hook) => {
    const point = (p: SaeHookPoint, t: tf.Tensor): tf.Tensor => {
      const name = `${base}.${p}`;
      let v = t;
      for (const [target, fn] of opts.saeHooks ?? []) {
        if (typeof target === "string" ? target !== name : !target(name)) continue;
        if (!scratch.has(name)) scratch.set(name, {});
        const r = fn(v, { name, layer: hook.layer, ctx: scratch.get(name)! });
        if (r) {
          if (r.shape.join() !== v.shape.join()) throw new Error(`hook on "${name}" returned shape [${r.shape}] for an activation of shape [${v.shape}]; return the same shape`);
          v = r;
        }
      }
      if (opts.cache?.filter(name)) {
        opts.cache.store.get(name)?.dispose();
        opts.cache.store.set(name, tf.keep(v.clone()));
      }
      return v;
    };
    // hook_z activations [batch, pos, head, d_head] are read as [batch, pos, head·d_head] (SAELens reshape "hook_z").
    const lead = act.shape[act.rank - 1] === dIn ? act.shape.slice(0, -1) : act.shape.slice(0, -2);
    const flat = act.reshape([...lead, dIn]);
    const x = point("hook_sae_input", flat);
    const xt = sae.processInput(x.reshape([-1, dIn]) as tf.Tensor2D);
    const pre0 = preActivations(sae, xt).reshape([...lead, dSae]);
    const pre = point("hook_sae_acts_pre", pre0);
    const f = activate(sae, pre.reshape([-1, dSae]) as tf.Tensor2D, xt).reshape([...lead, dSae]);
    const post = point("hook_sae_acts_post", applyEdit(f, dSae, opts.edit));
    const recons = point("hook_sae_recons", sae.decodeSync(post));
    if (!opts.useErrorTerm) return point("hook_sae_output", recons).reshape(act.shape);
    // The error is the clean one: f is encode(act) unless a hook replaced the input or the pre-activations.
    const clean = x === flat && pre === pre0 ? f : sae.encodeSync(flat);
    const error = point("hook_sae_error", flat.sub(sae.decodeSync(clean)));
    return point("hook_sae_output", recons.add(error)).reshape(act.shape);
  };
}
