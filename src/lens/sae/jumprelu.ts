/**
 * JumpReLU SAE (Rajamanoharan et al. 2024b): z = x̃ W_enc + b_enc, θ = exp(log_threshold), f = z·1[z > θ] with
 * rectangle-kernel straight-through gradients (bandwidth ε). Sparsity: "step" λ·mean_b Σ H(z − θ) or "tanh"
 * λ·mean_b Σ tanh(c·f·‖W_dec,i‖). Trained with `log_threshold`, saved as `threshold`.
 */
import * as tf from "@tensorflow/tfjs";
import { jumpRelu, jumpStep, rowNorms } from "./ops";
import { encodeViaActivation, linearDecode, pick, type SaeArchitecture } from "./types";

/** The "jumprelu" architecture. */
export const jumpreluSae: SaeArchitecture = {
  name: "jumprelu",
  init: (cfg, W_enc, W_dec) => ({
    W_enc,
    W_dec,
    b_enc: tf.zeros([cfg.dSae]),
    b_dec: tf.zeros([cfg.dIn]),
    log_threshold: tf.fill([cfg.dSae], Math.log(cfg.jumpreluInitThreshold ?? 0.01)),
  }),
  preActivations: (p, xt) => xt.matMul(p.W_enc as tf.Tensor2D).add(p.b_enc!) as tf.Tensor2D,
  activate: (p, pre, _xt, cfg) => jumpRelu(pre, p.log_threshold!.exp() as tf.Tensor1D, cfg.jumpreluBandwidth ?? 0.05),
  encode: encodeViaActivation,
  decode: (p, f) => linearDecode(p, f),
  trainForward(p, _x, xt, cfg, ctx) {
    const eps = cfg.jumpreluBandwidth ?? 0.05;
    const z = xt.matMul(p.W_enc as tf.Tensor2D).add(p.b_enc!) as tf.Tensor2D;
    const theta = p.log_threshold!.exp() as tf.Tensor1D;
    const f = jumpRelu(z, theta, eps);
    const sparsity =
      cfg.jumpreluSparsityLoss === "tanh"
        ? f.mul(rowNorms(p.W_dec!)).mul(cfg.jumpreluTanhScale ?? 4).tanh().sum(1).mean()
        : jumpStep(z, theta, eps).sum(1).mean();
    return { f, xHat: linearDecode(p, f), aux: { l0_loss: sparsity.mul(ctx.sparsityCoefficient) as tf.Scalar } };
  },
  fold: (p, n) => ({
    W_enc: p.W_enc!.mul(n),
    b_enc: p.b_enc!.mul(n),
    W_dec: p.W_dec!.div(n.expandDims(1)),
    log_threshold: p.log_threshold!.add(n.log()),
  }),
  savedShapes: (cfg) => ({ W_enc: [cfg.dIn, cfg.dSae], W_dec: [cfg.dSae, cfg.dIn], b_enc: [cfg.dSae], b_dec: [cfg.dIn], threshold: [cfg.dSae] }),
  toSaved: (p) => {
    const { log_threshold, ...rest } = p;
    return { ...rest, threshold: log_threshold!.exp() };
  },
  fromSaved: (s) => {
    const out = pick(s, ["W_enc", "W_dec", "b_enc", "b_dec", "threshold"], "jumprelu");
    out.log_threshold = tf.tidy(() => tf.maximum(out.threshold!, 1e-30).log());
    out.threshold!.dispose();
    delete out.threshold;
    return out;
  },
};
