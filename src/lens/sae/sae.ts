/**
 * `SparseAutoencoder`: parameters as tf.Variables, encode / decode / forward (optionally with the error term),
 * foldWDecNorm, and SAELens-format save / load (see `io.ts`).
 */
import * as tf from "@tensorflow/tfjs";
import type { SaeConfig } from "./config";
import { loadSae, saveSae } from "./io";
import { rowNorms } from "./ops";
import { getSaeArchitecture } from "./registry";
import type { SaeArchitecture, SaeParams, SaeTrainContext, SaeTrainOutput } from "./types";

/** Constructor options: a config plus an optional init seed. */
export type SparseAutoencoderOptions = SaeConfig & { readonly seed?: number };

/** SAELens v6 init: W_dec kaiming-uniform (bound 1/√d_in) with rows rescaled to norm 0.1; W_enc = W_decᵀ. */
function v6Init(dIn: number, dSae: number, seed: number): { W_enc: tf.Tensor2D; W_dec: tf.Tensor2D } {
  return tf.tidy(() => {
    const bound = 1 / Math.sqrt(dIn);
    const w = tf.randomUniform([dSae, dIn], -bound, bound, "float32", seed);
    const W_dec = w.div(rowNorms(w).expandDims(1)).mul(0.1) as tf.Tensor2D;
    return { W_enc: W_dec.transpose(), W_dec };
  });
}

/** A sparse autoencoder of one of the registered architectures. */
export class SparseAutoencoder {
  /** The configuration (replaced, not mutated, by `foldActivationNormScalingFactor`). */
  cfg: SaeConfig;
  readonly arch: SaeArchitecture;
  /** Trainable parameters by SAELens training name. */
  readonly params: Record<string, tf.Variable>;

  /** Fresh SAE with SAELens v6 initialisation, or (internal) with the given initial tensors, which it takes over. */
  constructor(opts: SparseAutoencoderOptions, initial?: Record<string, tf.Tensor>) {
    const { seed, ...cfg } = opts;
    if (!(cfg.dIn > 0 && cfg.dSae > 0)) throw new Error(`SparseAutoencoder: dIn and dSae must be positive, got ${cfg.dIn}, ${cfg.dSae}`);
    this.cfg = { applyBDecToInput: true, normalizeActivations: "none", ...cfg };
    this.arch = getSaeArchitecture(cfg.architecture);
    this.arch.validate?.(this.cfg);
    let init = initial;
    if (!init) {
      const { W_enc, W_dec } = v6Init(cfg.dIn, cfg.dSae, seed ?? 0);
      init = this.arch.init(this.cfg, W_enc, W_dec);
    }
    this.params = {};
    for (const [k, v] of Object.entries(init)) {
      this.params[k] = tf.variable(v, true, undefined, "float32");
      v.dispose();
    }
  }

  /** The parameter `name`, or an Error naming the ones this architecture has (Python's AttributeError). */
  private attr(name: string): tf.Variable {
    const v = this.params[name];
    if (v === undefined) throw new Error(`a "${this.cfg.architecture}" SAE has no ${name}; it has ${Object.keys(this.params).join(", ")}`);
    return v;
  }

  /** SAELens attributes: the SAE's own tensors (do not dispose them). `[d_in, d_sae]`. */
  get W_enc(): tf.Variable { return this.attr("W_enc"); }
  /** `[d_sae, d_in]`: row i is latent i's direction. */
  get W_dec(): tf.Variable { return this.attr("W_dec"); }
  /** `[d_sae]` (not in Gated SAEs, which have `b_gate` and `b_mag`). */
  get b_enc(): tf.Variable { return this.attr("b_enc"); }
  /** `[d_in]`. */
  get b_dec(): tf.Variable { return this.attr("b_dec"); }
  /** Gated: `[d_sae]` gate bias, magnitude scale (log) and magnitude bias. */
  get b_gate(): tf.Variable { return this.attr("b_gate"); }
  get r_mag(): tf.Variable { return this.attr("r_mag"); }
  get b_mag(): tf.Variable { return this.attr("b_mag"); }
  /** JumpReLU: the trained `log_threshold` `[d_sae]`. */
  get log_threshold(): tf.Variable { return this.attr("log_threshold"); }

  private thresholdView?: { of: object; t: tf.Tensor };
  /**
   * JumpReLU: θ = exp(log_threshold) `[d_sae]`, as SAELens exposes it. A view owned by the SAE: repeated reads return
   * the same tensor (no allocation), rebuilt after `log_threshold` changes (training); do not dispose it.
   */
  get threshold(): tf.Tensor {
    const lt = this.attr("log_threshold") as tf.Variable & { dataId: object };
    const v = this.thresholdView;
    if (v && v.of === lt.dataId && !v.t.isDisposed) return v.t;
    v?.t.dispose();
    const t = tf.tidy(() => lt.exp());
    this.thresholdView = { of: lt.dataId, t: tf.keep(t) };
    return t;
  }

  /** x̃ = x − b_dec (when applyBDecToInput). */
  processInput(x: tf.Tensor2D): tf.Tensor2D {
    return this.cfg.applyBDecToInput === false ? x : (x.sub(this.params.b_dec!) as tf.Tensor2D);
  }

  /** Latent activations `[..., d_sae]` of inputs `[..., d_in]` (synchronous, untidied: call inside tf.tidy). */
  encodeSync(x: tf.Tensor): tf.Tensor {
    const shape = x.shape;
    const flat = x.reshape([-1, this.cfg.dIn]) as tf.Tensor2D;
    return this.arch.encode(this.params, this.processInput(flat), this.cfg).reshape([...shape.slice(0, -1), this.cfg.dSae]);
  }

  /** Reconstruction `[..., d_in]` of latents `[..., d_sae]` (synchronous, untidied). */
  decodeSync(f: tf.Tensor): tf.Tensor {
    const shape = f.shape;
    return this.arch.decode(this.params, f.reshape([-1, this.cfg.dSae]) as tf.Tensor2D, this.cfg).reshape([...shape.slice(0, -1), this.cfg.dIn]);
  }

  /** decode(encode(x)), plus the error term x − x̂ when `useErrorTerm` (then the output equals x). */
  forwardSync(x: tf.Tensor, useErrorTerm = false): tf.Tensor {
    const xHat = this.decodeSync(this.encodeSync(x));
    return useErrorTerm ? xHat.add(x.sub(xHat)) : xHat;
  }

  /** Latent activations of `x` `[..., d_in]`. */
  async encode(x: tf.Tensor): Promise<tf.Tensor> {
    return tf.tidy(() => this.encodeSync(x));
  }

  /** Reconstruction of latents `f` `[..., d_sae]`. */
  async decode(f: tf.Tensor): Promise<tf.Tensor> {
    return tf.tidy(() => this.decodeSync(f));
  }

  /** decode(encode(x)). */
  async forward(x: tf.Tensor, opts: { useErrorTerm?: boolean } = {}): Promise<tf.Tensor> {
    return tf.tidy(() => this.forwardSync(x, opts.useErrorTerm));
  }

  /** Training forward pass on a batch `[B, d_in]` (untidied; for the trainer and gradient checks). */
  trainForward(x: tf.Tensor2D, ctx: SaeTrainContext): SaeTrainOutput {
    return this.arch.trainForward(this.params, x, this.processInput(x), this.cfg, ctx);
  }

  /** Scales decoder rows to unit norm and compensates in the encoder (reconstructions unchanged); the architecture may refuse. */
  foldWDecNorm(): void {
    const refusal = this.arch.foldWDecNormRefusal?.(this.cfg);
    if (refusal !== undefined) throw new Error(`foldWDecNorm: ${refusal}`);
    tf.tidy(() => {
      const n = rowNorms(this.params.W_dec!);
      for (const [k, v] of Object.entries(this.arch.fold(this.params, n))) this.params[k]!.assign(v);
    });
  }

  /**
   * Folds an input scaling factor s into the weights (SAELens `fold_activation_norm_scaling_factor`): an SAE trained
   * on s·x then takes raw x and reconstructs raw x. W_enc·s, W_dec/s, b_dec/s (biases after W_enc and thresholds are
   * unchanged: pre-activations are the same); cfg.normalizeActivations becomes "none".
   */
  foldActivationNormScalingFactor(s: number): void {
    if (!(s > 0 && Number.isFinite(s))) throw new Error(`foldActivationNormScalingFactor: the scaling factor must be a positive number, got ${s}`);
    tf.tidy(() => {
      const P = this.params;
      P.W_enc!.assign(P.W_enc!.mul(s));
      P.W_dec!.assign(P.W_dec!.div(s));
      P.b_dec!.assign(P.b_dec!.div(s));
    });
    this.cfg = { ...this.cfg, normalizeActivations: "none" };
  }

  /** The tensors SAELens saves (e.g. `threshold` rather than `log_threshold`); the caller disposes them. */
  savedTensors(): Record<string, tf.Tensor> {
    return tf.tidy(() => Object.fromEntries(Object.entries(this.arch.toSaved(this.params)).map(([k, t]) => [k, t.clone()])));
  }

  /** Writes cfg.json, sae_weights.safetensors and (if given) sparsity.safetensors into `folder`. */
  async save(folder: string, opts: { sparsity?: tf.Tensor | Float32Array } = {}): Promise<void> {
    await saveSae(this, folder, opts.sparsity);
  }

  /** Loads a SAELens-format folder (v6 or older cfg.json). */
  static async load(folder: string): Promise<SparseAutoencoder> {
    const { cfg, tensors } = await loadSae(folder);
    return new SparseAutoencoder(cfg, tensors);
  }

  /** Frees the parameters. */
  dispose(): void {
    this.thresholdView?.t.dispose();
    for (const v of Object.values(this.params)) v.dispose();
  }
}
