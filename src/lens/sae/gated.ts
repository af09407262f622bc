/**
 * Gated SAE (Rajamanoharan et al. 2024): π = x̃ W_enc + b_gate; f = 1[π > 0]·ReLU(x̃ (W_enc ⊙ exp(r_mag)) + b_mag).
 * Losses: λ·mean_b Σ ReLU(π)_i ‖W_dec,i‖ and the auxiliary mean_b ‖ReLU(π) W_dec + b_dec − x‖² with W_dec and b_dec
 * detached, as in the paper and ARENA (SAELens does not detach them: issue #539).
 */
import * as tf from "@tensorflow/tfjs";
import { heaviside, rowNorms, stopGradient } from "./ops";
import { encodeViaActivation, linearDecode, pick, type SaeArchitecture, type SaeParams } from "./types";

/** The gate's pre-activation π = x̃ W_enc + b_gate. */
const gate = (p: SaeParams, xt: tf.Tensor2D) => xt.matMul(p.W_enc as tf.Tensor2D).add(p.b_gate!) as tf.Tensor2D;
/** The magnitude path's pre-activation x̃ (W_enc ⊙ exp(r_mag)) + b_mag (SAELens's hook_sae_acts_pre for Gated). */
const magnitude = (p: SaeParams, xt: tf.Tensor2D) => xt.matMul(p.W_enc!.mul(p.r_mag!.exp()) as tf.Tensor2D).add(p.b_mag!) as tf.Tensor2D;

function paths(p: SaeParams, xt: tf.Tensor2D): { pi: tf.Tensor2D; f: tf.Tensor2D } {
  const pi = gate(p, xt);
  return { pi, f: heaviside(pi).mul(tf.relu(magnitude(p, xt))) as tf.Tensor2D };
}

/** The "gated" architecture. */
export const gatedSae: SaeArchitecture = {
  name: "gated",
  init: (cfg, W_enc, W_dec) => ({
    W_enc,
    W_dec,
    b_gate: tf.zeros([cfg.dSae]),
    r_mag: tf.zeros([cfg.dSae]),
    b_mag: tf.zeros([cfg.dSae]),
    b_dec: tf.zeros([cfg.dIn]),
  }),
  preActivations: (p, xt) => magnitude(p, xt),
  activate: (p, pre, xt) => heaviside(gate(p, xt)).mul(tf.relu(pre)) as tf.Tensor2D,
  encode: encodeViaActivation,
  decode: (p, f) => linearDecode(p, f),
  trainForward(p, x, xt, _cfg, ctx) {
    const { pi, f } = paths(p, xt);
    const rp = tf.relu(pi);
    const l1 = rp.mul(rowNorms(p.W_dec!)).sum(1).mean().mul(ctx.sparsityCoefficient) as tf.Scalar;
    const viaGate = rp.matMul(stopGradient(p.W_dec!) as tf.Tensor2D).add(stopGradient(p.b_dec!));
    const auxRec = viaGate.sub(x).square().sum(1).mean() as tf.Scalar;
    return { f, xHat: linearDecode(p, f), aux: { l1_loss: l1, auxiliary_reconstruction_loss: auxRec } };
  },
  fold: (p, n) => ({
    W_enc: p.W_enc!.mul(n),
    b_gate: p.b_gate!.mul(n),
    b_mag: p.b_mag!.mul(n),
    W_dec: p.W_dec!.div(n.expandDims(1)),
  }),
  savedShapes: (cfg) => ({ W_enc: [cfg.dIn, cfg.dSae], W_dec: [cfg.dSae, cfg.dIn], b_gate: [cfg.dSae], r_mag: [cfg.dSae], b_mag: [cfg.dSae], b_dec: [cfg.dIn] }),
  toSaved: (p) => ({ ...p }),
  fromSaved: (s) => pick(s, ["W_enc", "W_dec", "b_gate", "r_mag", "b_mag", "b_dec"], "gated"),
};
