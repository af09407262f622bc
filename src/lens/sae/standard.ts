/** Standard SAE: f = ReLU(x̃ W_enc + b_enc); sparsity λ·mean_b Σ_i f_i ‖W_dec,i‖ (SAELens v6 `standard_sae.py`). */
import * as tf from "@tensorflow/tfjs";
import { rowNorms } from "./ops";
import { encodeViaActivation, linearDecode, pick, type SaeArchitecture } from "./types";

/** The "standard" architecture. */
export const standardSae: SaeArchitecture = {
  name: "standard",
  init: (cfg, W_enc, W_dec) => ({ W_enc, W_dec, b_enc: tf.zeros([cfg.dSae]), b_dec: tf.zeros([cfg.dIn]) }),
  preActivations: (p, xt) => xt.matMul(p.W_enc as tf.Tensor2D).add(p.b_enc!) as tf.Tensor2D,
  activate: (_p, pre) => tf.relu(pre),
  encode: encodeViaActivation,
  decode: (p, f) => linearDecode(p, f),
  trainForward(p, _x, xt, cfg, ctx) {
    const f = this.encode(p, xt, cfg);
    const l1 = f.mul(rowNorms(p.W_dec!)).sum(1).mean().mul(ctx.sparsityCoefficient) as tf.Scalar;
    return { f, xHat: this.decode(p, f, cfg), aux: { l1_loss: l1 } };
  },
  fold: (p, n) => ({ W_enc: p.W_enc!.mul(n), b_enc: p.b_enc!.mul(n), W_dec: p.W_dec!.div(n.expandDims(1)) }),
  savedShapes: (cfg) => ({ W_enc: [cfg.dIn, cfg.dSae], W_dec: [cfg.dSae, cfg.dIn], b_enc: [cfg.dSae], b_dec: [cfg.dIn] }),
  toSaved: (p) => ({ ...p }),
  fromSaved: (s) => pick(s, ["W_enc", "W_dec", "b_enc", "b_dec"], "standard"),
};
