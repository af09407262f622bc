/**
 * TopK SAE (Gao et al. 2024): f = ReLU(topk_k(z)), z = x̃ W_enc + b_enc (×‖W_dec,i‖ when rescaling). AuxK:
 * e = (x − x̂) detached, k_aux = min(d_in/2, n_dead), ê = decode of the top-k_aux dead pre-activations without b_dec
 * (SAELens adds b_dec there, the double count EleutherAI/sparsify fixed), loss = coef·min(n_dead/k_aux, 1)·mean_b ‖ê − e‖².
 */
import * as tf from "@tensorflow/tfjs";
import { rowNorms, stopGradient, topkRelu } from "./ops";
import { cfgInt, encodeViaActivation, pick, type SaeArchitecture, type SaeParams } from "./types";
import type { SaeConfig } from "./config";

function preActs(p: SaeParams, xt: tf.Tensor2D, cfg: SaeConfig): tf.Tensor2D {
  const z = xt.matMul(p.W_enc as tf.Tensor2D).add(p.b_enc!) as tf.Tensor2D;
  return cfg.rescaleActsByDecoderNorm ? (z.mul(rowNorms(p.W_dec!)) as tf.Tensor2D) : z;
}

function decodeNoBias(p: SaeParams, f: tf.Tensor2D, cfg: SaeConfig): tf.Tensor2D {
  const g = cfg.rescaleActsByDecoderNorm ? f.div(rowNorms(p.W_dec!)) : f;
  return g.matMul(p.W_dec as tf.Tensor2D) as tf.Tensor2D;
}

/** The "topk" architecture. */
export const topkSae: SaeArchitecture = {
  name: "topk",
  legacyActivationFn: "topk",
  usesDeadMask: true,
  parseConfig: (raw) => {
    const kwargs = (raw.activation_fn_kwargs ?? {}) as Record<string, unknown>; // pre-6.0: activation_fn_kwargs.k
    return { k: cfgInt(raw.k ?? kwargs.k ?? 100, "k"), rescaleActsByDecoderNorm: Boolean(raw.rescale_acts_by_decoder_norm ?? false) };
  },
  configToJson: (cfg) => ({ k: cfg.k ?? 100, rescale_acts_by_decoder_norm: cfg.rescaleActsByDecoderNorm ?? false }),
  validate: (cfg) => {
    if (!(typeof cfg.k === "number" && Number.isInteger(cfg.k) && cfg.k > 0)) throw new Error(`SparseAutoencoder: architecture "topk" needs k > 0 (e.g. k: 32), got ${JSON.stringify(cfg.k)}`);
  },
  foldWDecNormRefusal: (cfg) =>
    cfg.rescaleActsByDecoderNorm
      ? undefined
      : "a TopK SAE without rescaleActsByDecoderNorm ranks raw pre-activations, so folding would change which latents win; set rescaleActsByDecoderNorm: true (as SAELens training does) before folding",
  init: (cfg, W_enc, W_dec) => ({ W_enc, W_dec, b_enc: tf.zeros([cfg.dSae]), b_dec: tf.zeros([cfg.dIn]) }),
  preActivations: (p, xt, cfg) => preActs(p, xt, cfg),
  activate: (_p, pre, _xt, cfg) => topkRelu(pre, Math.min(cfg.k ?? 100, cfg.dSae)),
  encode: encodeViaActivation,
  decode: (p, f, cfg) => decodeNoBias(p, f, cfg).add(p.b_dec!) as tf.Tensor2D,
  trainForward(p, x, xt, cfg, ctx) {
    const z = preActs(p, xt, cfg);
    const f = topkRelu(z, Math.min(cfg.k ?? 100, cfg.dSae));
    const xHat = this.decode(p, f, cfg);
    const aux: Record<string, tf.Scalar> = {};
    const dead = ctx.deadMask;
    const nDead = ctx.nDead ?? 0;
    if (dead && nDead > 0) {
      {
        const kAux = Math.min(Math.floor(cfg.dIn / 2), nDead);
        const scale = Math.min(nDead / Math.floor(cfg.dIn / 2), 1);
        const e = stopGradient(x.sub(xHat));
        const zDead = z.add(tf.scalar(1).sub(dead).mul(-1e30)) as tf.Tensor2D;
        const eHat = decodeNoBias(p, topkRelu(zDead, kAux), cfg);
        aux.auxiliary_reconstruction_loss = eHat.sub(e).square().sum(1).mean().mul(scale * (cfg.auxKCoefficient ?? 1)) as tf.Scalar;
      }
    }
    return { f, xHat, aux };
  },
  fold: (p, n) => ({ W_enc: p.W_enc!.mul(n), b_enc: p.b_enc!.mul(n), W_dec: p.W_dec!.div(n.expandDims(1)) }),
  savedShapes: (cfg) => ({ W_enc: [cfg.dIn, cfg.dSae], W_dec: [cfg.dSae, cfg.dIn], b_enc: [cfg.dSae], b_dec: [cfg.dIn] }),
  toSaved: (p) => ({ ...p }),
  fromSaved: (s) => pick(s, ["W_enc", "W_dec", "b_enc", "b_dec"], "topk"),
};
