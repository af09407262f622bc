/**
 * Anthropic-style resampling of dead latents ("Towards Monosemanticity", as summarised by ARENA): latents that did
 * not fire over the window get W_dec,i = v, W_enc[:, i] = scale·mean‖W_enc alive column‖·v, b_enc,i = 0 (JumpReLU:
 * threshold back to its initial value; Gated: b_gate = b_mag = r_mag = 0), and their Adam moments are zeroed.
 * v = normalise(x_s − b_dec) for inputs sampled ∝ (per-input squared error)² ("inputs"), or a random unit vector
 * ("random", ARENA's resample_simple).
 */
import * as tf from "@tensorflow/tfjs";
import { normalSamples } from "../datasets/prng";
import type { AdamW } from "../training/adamw";
import type { SparseAutoencoder } from "./sae";

/** Resampling schedule. */
export interface ResampleOptions {
  /** Resample every `every` steps. */
  readonly every: number;
  /** Latents that did not fire during the last `window` steps before a resample are dead (default `every`). */
  readonly window?: number;
  /** Encoder scale relative to the mean alive encoder norm (default 0.2). */
  readonly scale?: number;
  readonly method?: "inputs" | "random";
}

/** Resamples latents whose `fires` count is 0; returns how many. */
export async function resampleDeadLatents(sae: SparseAutoencoder, adam: AdamW, fires: tf.Tensor, x: tf.Tensor2D, opts: ResampleOptions, rand: () => number): Promise<number> {
  const f = await fires.data();
  const dead: number[] = [];
  for (let i = 0; i < f.length; i++) if (f[i] === 0) dead.push(i);
  if (dead.length === 0) return 0;
  const { dIn, dSae } = sae.cfg;
  const P = sae.params;
  let dirs: tf.Tensor2D;
  if ((opts.method ?? "inputs") === "inputs") {
    const lossT = tf.tidy(() => x.sub(sae.forwardSync(x)).square().sum(1).square());
    const w = await lossT.data();
    lossT.dispose();
    const cum = new Float64Array(w.length);
    let acc = 0;
    for (let i = 0; i < w.length; i++) cum[i] = acc += w[i]!;
    const picks = dead.map(() => {
      const r = rand() * acc;
      let lo = 0, hi = cum.length - 1;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (cum[mid]! < r) lo = mid + 1; else hi = mid; }
      return lo;
    });
    dirs = tf.tidy(() => tf.gather(x, tf.tensor1d(picks, "int32")).sub(P.b_dec!) as tf.Tensor2D);
  } else {
    dirs = tf.tensor2d(normalSamples(dead.length * dIn, 1, rand), [dead.length, dIn]);
  }
  tf.tidy(() => {
    const v = dirs.div(dirs.norm("euclidean", 1, true).add(1e-12));
    const idx = tf.tensor2d(dead, [dead.length, 1], "int32");
    const mask = tf.scatterND(idx, tf.ones([dead.length]), [dSae]);
    const keep = tf.scalar(1).sub(mask);
    const aliveN = P.W_enc!.norm("euclidean", 0).mul(keep).sum().div(tf.maximum(keep.sum(), 1));
    const V = tf.scatterND(idx, v, [dSae, dIn]);
    P.W_dec!.assign(P.W_dec!.mul(keep.expandDims(1)).add(V));
    P.W_enc!.assign(P.W_enc!.mul(keep).add(V.transpose().mul(aliveN.mul(opts.scale ?? 0.2))));
    for (const b of ["b_enc", "b_gate", "b_mag", "r_mag"]) if (P[b]) P[b]!.assign(P[b]!.mul(keep));
    if (P.log_threshold) P.log_threshold.assign(P.log_threshold.mul(keep).add(mask.mul(Math.log(sae.cfg.jumpreluInitThreshold ?? 0.01))));
    adam.vars.forEach((variable, i) => {
      const name = Object.keys(P).find((k) => P[k] === variable);
      const m = name === "W_dec" ? keep.expandDims(1) : name === "b_dec" ? null : keep;
      if (!m) return;
      adam.m[i]!.assign(adam.m[i]!.mul(m));
      adam.v[i]!.assign(adam.v[i]!.mul(m));
    });
  });
  dirs.dispose();
  return dead.length;
}
