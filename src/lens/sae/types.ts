/** The contract each SAE architecture implements (one file per architecture, registered in `registry.ts`). */
import type * as tf from "@tensorflow/tfjs";
import type { SaeArchitectureName, SaeConfig } from "./config";

/** Parameter tensors by SAELens name (W_enc, W_dec, b_enc, b_dec, log_threshold, b_gate, r_mag, b_mag). */
export type SaeParams = Readonly<Record<string, tf.Tensor>>;

/** Per-step training context. */
export interface SaeTrainContext {
  /** Sparsity coefficient after warm-up (L1 for standard/gated, L0 for JumpReLU; unused by TopK). */
  readonly sparsityCoefficient: number;
  /** 1 for latents currently counted dead, else 0 (`[d_sae]`); TopK's AuxK uses it. */
  readonly deadMask?: tf.Tensor1D;
  /** Number of ones in `deadMask` (known on the host; it fixes the AuxK graph). */
  readonly nDead?: number;
}

/** Output of a training forward pass: latents, reconstruction and the loss terms other than the MSE. */
export interface SaeTrainOutput {
  readonly f: tf.Tensor2D;
  readonly xHat: tf.Tensor2D;
  readonly aux: Record<string, tf.Scalar>;
}

/** One SAE architecture. All functions are pure tensor maps (the caller tidies). */
export interface SaeArchitecture {
  readonly name: SaeArchitectureName;
  /** Initial parameters from the shared v6 init (W_dec rows of norm 0.1, W_enc = W_decᵀ, zero biases). */
  init(cfg: SaeConfig, W_enc: tf.Tensor2D, W_dec: tf.Tensor2D): Record<string, tf.Tensor>;
  /** Pre-activations `[B, d_sae]` of the (b_dec-subtracted) input x̃ `[B, d_in]` (SAELens `hook_sae_acts_pre`). */
  preActivations(p: SaeParams, xTilde: tf.Tensor2D, cfg: SaeConfig): tf.Tensor2D;
  /** Latents f from pre-activations (Gated's gate also reads x̃); `encodeViaActivation` composes the two. */
  activate(p: SaeParams, pre: tf.Tensor2D, xTilde: tf.Tensor2D, cfg: SaeConfig): tf.Tensor2D;
  /** Latent activations f `[B, d_sae]` of x̃: activate(preActivations(x̃)). */
  encode(p: SaeParams, xTilde: tf.Tensor2D, cfg: SaeConfig): tf.Tensor2D;
  /** Reconstruction x̂ = f·W_dec + b_dec (TopK with rescaling divides f by the decoder norms first). */
  decode(p: SaeParams, f: tf.Tensor2D, cfg: SaeConfig): tf.Tensor2D;
  /** Training forward pass with the architecture's auxiliary losses. */
  trainForward(p: SaeParams, x: tf.Tensor2D, xTilde: tf.Tensor2D, cfg: SaeConfig, ctx: SaeTrainContext): SaeTrainOutput;
  /** New values of the parameters that change when decoder rows are scaled to unit norm (n = old row norms). */
  fold(p: SaeParams, n: tf.Tensor1D): Record<string, tf.Tensor>;
  /** The tensors a SAELens `sae_weights.safetensors` of this architecture holds, with their shapes (loading refuses any other). */
  savedShapes(cfg: SaeConfig): Readonly<Record<string, readonly number[]>>;
  /** Its own fields from a SAELens cfg.json object (snake_case keys) as camelCase config fields; none when absent. */
  parseConfig?(raw: Readonly<Record<string, unknown>>): Record<string, unknown>;
  /** The cfg.json entries of its own fields (the inverse of parseConfig). */
  configToJson?(cfg: SaeConfig): Record<string, unknown>;
  /** Throws an Error naming the problem and the fix when `cfg` cannot build this architecture (TopK without k). */
  validate?(cfg: SaeConfig): void;
  /** The pre-6.0 SAELens `activation_fn` under which files of this architecture were saved (TopK: "topk"). */
  readonly legacyActivationFn?: string;
  /** Whether training passes the dead-latent mask every step (`ctx.deadMask`, `ctx.nDead`; TopK's AuxK uses it). */
  readonly usesDeadMask?: boolean;
  /** Why `W_dec` norms cannot be folded into the encoder for this cfg, or undefined when they can. */
  foldWDecNormRefusal?(cfg: SaeConfig): string | undefined;
  /** Training parameters → saved (SAELens file) tensors, and back. */
  toSaved(p: SaeParams): Record<string, tf.Tensor>;
  fromSaved(saved: Readonly<Record<string, tf.Tensor>>, cfg: SaeConfig): Record<string, tf.Tensor>;
}

/** The `encode` of every architecture: its activation applied to its pre-activations. */
export function encodeViaActivation(this: SaeArchitecture, p: SaeParams, xTilde: tf.Tensor2D, cfg: SaeConfig): tf.Tensor2D {
  return this.activate(p, this.preActivations(p, xTilde, cfg), xTilde, cfg);
}

/** x̂ = f·W_dec + b_dec. */
export function linearDecode(p: SaeParams, f: tf.Tensor2D): tf.Tensor2D {
  return f.matMul(p.W_dec as tf.Tensor2D).add(p.b_dec!) as tf.Tensor2D;
}

/** A positive integer from cfg.json, or an Error naming the key. */
export function cfgInt(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw new Error(`SAE cfg.json: "${what}" must be a positive integer, got ${JSON.stringify(v)}; fix the file`);
  return v;
}

/** Copy of the tensors of `names` from `saved`, failing with the missing name. */
export function pick(saved: Readonly<Record<string, tf.Tensor>>, names: readonly string[], arch: string): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const n of names) {
    const t = saved[n];
    if (!t) throw new Error(`SAE weights: "${n}" is missing for architecture "${arch}" (have ${Object.keys(saved).join(", ")}); check cfg.json's architecture`);
    out[n] = t.clone();
  }
  return out;
}
