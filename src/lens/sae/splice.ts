/**
 * Splicing SAEs into a model: `runWithSaes` replaces each SAE's hook activation by its reconstruction (optionally plus
 * the error term, so the output is unchanged until a latent is edited); `runWithCacheWithSaes` also records model hooks
 * and the SAE hook points (`<hook>.hook_sae_acts_post`, …; see `saeHooks.ts`); latent ablation / steering hooks; and the
 * downstream metrics of SAELens evals: ce_loss_score = (CE_zero − CE_sae)/(CE_zero − CE_clean) and
 * kl_div_score = (KL_zero − KL_sae)/KL_zero with KL(p_clean ‖ p_new) summed over the vocabulary, means over tokens.
 */
import * as tf from "@tensorflow/tfjs";
import { ActivationCache } from "../activationCache";
import type { HookedTransformer, NamesFilter } from "../hookedTransformer";
import type { ModelInput } from "../inputs";
import type { FwdHooks, HookFn } from "../hookPoint";
import type { SparseAutoencoder } from "./sae";
import { saeHookName, saeHookNames, splicedSaeHook, type LatentEdit } from "./saeHooks";

export type { LatentEdit } from "./saeHooks";

const hookOf = saeHookName;

/** A hook replacing the activation with decode(edit(encode(x))) (+ the clean error x − x̂ when useErrorTerm). */
export function saeHook(sae: SparseAutoencoder, opts: { useErrorTerm?: boolean; edit?: LatentEdit } = {}): HookFn {
  return splicedSaeHook(sae, opts);
}

/** A hook adding coeff·W_dec[latent] at every position (steering). */
export function steeringHook(sae: SparseAutoencoder, latent: number, coeff: number): HookFn {
  return (act) => act.add(sae.params.W_dec!.slice([latent, 0], [1, -1]).reshape([sae.cfg.dIn]).mul(coeff));
}

/** Options of `runWithSaes` / `runWithCacheWithSaes`. */
export interface RunWithSaesOptions {
  /** Add each SAE's clean error term (the output is then unchanged until a latent is edited). */
  readonly useErrorTerm?: boolean;
  /** One latent edit per SAE (same order as `saes`). */
  readonly edits?: readonly (LatentEdit | undefined)[];
  /** Model hooks, run after the SAEs at the same hook point. */
  readonly fwdHooks?: FwdHooks;
  /** Hooks on SAE hook points, e.g. `["blocks.1.hook_resid_pre.hook_sae_acts_post", (f) => …]`. */
  readonly saeHooks?: FwdHooks;
  readonly prependBos?: boolean;
}

function spliceHooks(saes: readonly SparseAutoencoder[], opts: RunWithSaesOptions, cache?: { filter: (n: string) => boolean; store: Map<string, tf.Tensor> }): FwdHooks {
  const seen = new Set<string>();
  for (const s of saes) {
    const h = hookOf(s);
    if (seen.has(h)) throw new Error(`runWithSaes: two SAEs read "${h}"; splice at most one SAE per hook`);
    seen.add(h);
  }
  const spliced = saes.map((s, i) => [hookOf(s), splicedSaeHook(s, { useErrorTerm: opts.useErrorTerm, edit: opts.edits?.[i], saeHooks: opts.saeHooks, cache })] as const);
  return [...spliced, ...(opts.fwdHooks ?? [])];
}

/** Runs the model with every SAE spliced in at its hook (extra `fwdHooks` / `saeHooks` run as well). Returns logits. */
export async function runWithSaes(model: HookedTransformer, input: ModelInput, saes: readonly SparseAutoencoder[], opts: RunWithSaesOptions = {}): Promise<tf.Tensor> {
  return model.runWithHooks(input, { fwdHooks: spliceHooks(saes, opts), ...(opts.prependBos !== undefined ? { prependBos: opts.prependBos } : {}) });
}

/**
 * `runWithSaes` that also records activations: model hooks and SAE hook points (`<hook>.hook_sae_input`,
 * `.hook_sae_acts_pre`, `.hook_sae_acts_post`, `.hook_sae_recons`, `.hook_sae_error` (useErrorTerm only),
 * `.hook_sae_output`) selected by `namesFilter` (default all). A spliced model hook is cached after the SAE replaced
 * it. Returns `[logits, cache]`; dispose the cache.
 * @example
 * const [logits, cache] = await runWithCacheWithSaes(model, tokens, [sae], { namesFilter: (n) => n.endsWith("hook_sae_acts_post") });
 * const f = cache.get("blocks.6.hook_resid_pre.hook_sae_acts_post"); // [batch, pos, d_sae]
 */
export async function runWithCacheWithSaes(model: HookedTransformer, input: ModelInput, saes: readonly SparseAutoencoder[], opts: RunWithSaesOptions & { namesFilter?: NamesFilter } = {}): Promise<[tf.Tensor, ActivationCache]> {
  const saeNames = new Set(saes.flatMap((s) => saeHookNames(s)));
  const nf = opts.namesFilter;
  let filter: (n: string) => boolean;
  if (nf === undefined) filter = () => true;
  else if (typeof nf === "function") filter = nf;
  else {
    const list = typeof nf === "string" ? [nf] : nf;
    const modelNames = new Set(model.hookNames());
    for (const n of list) if (!saeNames.has(n) && !modelNames.has(n)) throw new Error(`runWithCacheWithSaes: "${n}" is neither a model hook nor an SAE hook point (SAE points: ${[...saeNames].join(", ")}); see model.hookNames()`);
    const set = new Set(list);
    filter = (n) => set.has(n);
  }
  const store = new Map<string, tf.Tensor>();
  const sink = { filter: (n: string) => saeNames.has(n) && filter(n), store };
  const cacheHook: HookFn = (act, hook) => {
    store.get(hook.name)?.dispose();
    store.set(hook.name, tf.keep(act.clone()));
  };
  const modelFilter = (n: string) => !saeNames.has(n) && filter(n);
  try {
    const hooks: FwdHooks = [...spliceHooks(saes, opts, sink), [modelFilter, cacheHook]];
    const logits = await model.runWithHooks(input, { fwdHooks: hooks, ...(opts.prependBos !== undefined ? { prependBos: opts.prependBos } : {}) });
    return [logits, new ActivationCache(store, model)];
  } catch (e) {
    tf.dispose([...store.values()]);
    throw e;
  }
}

/** Downstream reconstruction metrics of `sae` on int32 tokens `[batch, pos]`. */
export interface SpliceMetrics {
  readonly ceClean: number;
  readonly ceWithSae: number;
  readonly ceWithAblation: number;
  readonly ceLossScore: number;
  readonly klWithSae: number;
  readonly klWithAblation: number;
  readonly klDivScore: number;
}

async function ceAndKl(model: HookedTransformer, tokens: tf.Tensor2D, clean: tf.Tensor | undefined, hooks: FwdHooks): Promise<{ ce: number; kl: number; logits: tf.Tensor }> {
  const logits = await model.runWithHooks(tokens, { fwdHooks: hooks, prependBos: false });
  const t = tf.tidy(() => {
    const [b, p, v] = logits.shape as [number, number, number];
    const lp = tf.logSoftmax(logits.slice([0, 0, 0], [b, p - 1, v]), -1);
    const ce = lp.mul(tf.oneHot(tokens.slice([0, 1], [b, p - 1]), v)).sum(-1).mean().neg();
    let kl = tf.scalar(0);
    if (clean) {
      const lc = tf.logSoftmax(clean, -1), lq = tf.logSoftmax(logits, -1);
      kl = lc.exp().mul(lc.sub(lq)).sum(-1).mean();
    }
    return tf.stack([ce, kl]);
  });
  const [ce, kl] = await t.data();
  t.dispose();
  return { ce: ce!, kl: kl!, logits };
}

/** CE-loss recovered and KL score of splicing `sae` (without error term) against zero-ablating its hook. */
export async function spliceMetrics(model: HookedTransformer, sae: SparseAutoencoder, tokens: tf.Tensor2D): Promise<SpliceMetrics> {
  const hook = hookOf(sae);
  const clean = await ceAndKl(model, tokens, undefined, []);
  const withSae = await ceAndKl(model, tokens, clean.logits, [[hook, saeHook(sae)]]);
  const zero = await ceAndKl(model, tokens, clean.logits, [[hook, (a) => tf.zerosLike(a)]]);
  tf.dispose([clean.logits, withSae.logits, zero.logits]);
  return {
    ceClean: clean.ce,
    ceWithSae: withSae.ce,
    ceWithAblation: zero.ce,
    ceLossScore: (zero.ce - withSae.ce) / (zero.ce - clean.ce),
    klWithSae: withSae.kl,
    klWithAblation: zero.kl,
    klDivScore: (zero.kl - withSae.kl) / zero.kl,
  };
}
