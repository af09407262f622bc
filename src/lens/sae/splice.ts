/**
 * Splicing SAEs into a model: `runWithSaes` replaces each SAE's hook activation by its reconstruction (optionally plus
 * the error term, so the output is unchanged until a latent is edited); latent ablation / steering hooks; and the
 * downstream metrics of SAELens evals: ce_loss_score = (CE_zero − CE_sae)/(CE_zero − CE_clean) and
 * kl_div_score = (KL_zero − KL_sae)/KL_zero with KL(p_clean ‖ p_new) summed over the vocabulary, means over tokens.
 */
import * as tf from "@tensorflow/tfjs";
import type { HookedTransformer } from "../hookedTransformer";
import type { ModelInput } from "../inputs";
import type { FwdHooks, HookFn } from "../hookPoint";
import type { SparseAutoencoder } from "./sae";

/** Latent edits applied between encode and decode. */
export interface LatentEdit {
  /** Latents set to zero. */
  readonly ablate?: readonly number[];
  /** Latents set to a value (e.g. a multiple of their max activation). */
  readonly set?: ReadonlyArray<readonly [latent: number, value: number]>;
}

function hookOf(sae: SparseAutoencoder): string {
  if (!sae.cfg.hookName) throw new Error("runWithSaes: the SAE has no hookName; set it in the config (cfg.json metadata.hook_name)");
  return sae.cfg.hookName;
}

/** A hook replacing the activation with decode(edit(encode(x))) (+ the clean error x − x̂ when useErrorTerm). */
export function saeHook(sae: SparseAutoencoder, opts: { useErrorTerm?: boolean; edit?: LatentEdit } = {}): HookFn {
  return (act) => {
    const f = sae.encodeSync(act);
    let g = f;
    const e = opts.edit;
    if (e && (e.ablate?.length || e.set?.length)) {
      const keep = new Float32Array(sae.cfg.dSae).fill(1), add = new Float32Array(sae.cfg.dSae);
      for (const i of e.ablate ?? []) keep[i] = 0;
      for (const [i, v] of e.set ?? []) { keep[i] = 0; add[i] = v; }
      g = f.mul(tf.tensor1d(keep)).add(tf.tensor1d(add));
    }
    const out = sae.decodeSync(g);
    return opts.useErrorTerm ? out.add(act.sub(sae.decodeSync(f))) : out;
  };
}

/** A hook adding coeff·W_dec[latent] at every position (steering). */
export function steeringHook(sae: SparseAutoencoder, latent: number, coeff: number): HookFn {
  return (act) => act.add(sae.params.W_dec!.slice([latent, 0], [1, -1]).reshape([sae.cfg.dIn]).mul(coeff));
}

/** Runs the model with every SAE spliced in at its hook (extra `fwdHooks` run as well). Returns logits. */
export async function runWithSaes(model: HookedTransformer, input: ModelInput, saes: readonly SparseAutoencoder[], opts: { useErrorTerm?: boolean; edits?: readonly (LatentEdit | undefined)[]; fwdHooks?: FwdHooks; prependBos?: boolean } = {}): Promise<tf.Tensor> {
  const hooks: FwdHooks = [...saes.map((s, i) => [hookOf(s), saeHook(s, { useErrorTerm: opts.useErrorTerm, edit: opts.edits?.[i] })] as const), ...(opts.fwdHooks ?? [])];
  return model.runWithHooks(input, { fwdHooks: hooks, ...(opts.prependBos !== undefined ? { prependBos: opts.prependBos } : {}) });
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
