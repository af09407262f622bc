/**
 * trainSae: SAELens-v6-style training of a `SparseAutoencoder` on a matrix or an `ActivationSource` (e.g.
 * ActivationStore). Loss = MSE (sum over d_in, mean over batch) + the architecture's terms; Adam (β 0.9, 0.999; the
 * shared AdamW with zero weight decay), global-norm clipping (1.0), linear lr warm-up / constant / linear decay to 0,
 * sparsity-coefficient warm-up, dead-latent tracking (steps since fired > deadFeatureWindow), optional
 * Anthropic-style resampling of dead latents, seeded, progress callback, and a report.
 */
import * as tf from "@tensorflow/tfjs";
import { AdamW } from "../training/adamw";
import { geometricMedian } from "./geometricMedian";
import { densityStats, reconstructionMetrics, type DensityStats, type ReconstructionMetrics } from "./metrics";
import { resampleDeadLatents, type ResampleOptions } from "./resample";
import type { SparseAutoencoder } from "./sae";
import { MatrixSource, mulberry32, type ActivationSource } from "./source";

/** Options of `trainSae`. */
export interface TrainSaeOptions {
  readonly steps: number;
  readonly batchSize?: number;
  readonly lr?: number;
  /** Sparsity coefficient λ (L1 for standard/gated, L0 for JumpReLU; ignored by TopK). Default 1. */
  readonly l1Coefficient?: number;
  /** Steps of linear λ warm-up (SAELens CoefficientScheduler: λ·(step+1)/warmup). */
  readonly l1WarmupSteps?: number;
  readonly lrWarmupSteps?: number;
  /** Final steps over which the lr decays linearly to 0. */
  readonly lrDecaySteps?: number;
  readonly adamBeta1?: number;
  readonly adamBeta2?: number;
  /** Global-norm gradient clip (default 1; Infinity disables). */
  readonly gradClip?: number;
  /** Steps without firing after which a latent counts as dead (default 1000). */
  readonly deadFeatureWindow?: number;
  /** Resample latents that did not fire in the last `window` steps, every `every` steps. */
  readonly resample?: ResampleOptions;
  /** "zeros" (v6 default), "mean" or "geometric_median" (Weiszfeld, SAELens v5 default) of the first batch. */
  readonly bDecInit?: "zeros" | "mean" | "geometric_median";
  /**
   * Batches used to estimate the input scaling factor s = √d_in / mean‖x‖ when the SAE's cfg.normalizeActivations is
   * "expected_average_only_in" (default 10; SAELens uses 1000 store batches).
   */
  readonly normEstimateBatches?: number;
  readonly seed?: number;
  readonly logEvery?: number;
  readonly onProgress?: (p: SaeTrainProgress) => void;
}

/** One progress record (metrics on that step's batch). */
export interface SaeTrainProgress extends ReconstructionMetrics {
  readonly step: number;
  readonly loss: number;
  readonly lr: number;
  readonly sparsityCoefficient: number;
  readonly deadLatents: number;
  readonly seconds: number;
}

/** What `trainSae` returns. */
export interface SaeTrainReport {
  readonly steps: number;
  readonly seconds: number;
  readonly activationsPerSecond: number;
  readonly history: SaeTrainProgress[];
  readonly final: SaeTrainProgress;
  /** Firing rate of each latent over the last `min(steps, deadFeatureWindow)` steps, and its summary. */
  readonly featureDensity: Float32Array;
  readonly density: DensityStats;
  /** Latents resampled in total. */
  readonly resampled: number;
  /** The input scaling factor folded into the weights at the end ("expected_average_only_in"), else undefined. */
  readonly normScalingFactor?: number;
}

/** Steps between two waits for the device (a read of the loss): bounds the work queued on a GPU backend. */
const SYNC_EVERY = 32;

/** SAELens lr multiplier: warm-up 1/w → 1, constant, then linear decay to 0 over the last `decay` steps. */
export function saeLrFactor(step: number, steps: number, warmup: number, decay: number): number {
  if (warmup > 0 && step < warmup) return (step + 1) / warmup;
  if (decay > 0 && step >= steps - decay) return (steps - step) / decay;
  return 1;
}

/** Trains `sae` in place and returns a report. */
export async function trainSae(sae: SparseAutoencoder, data: tf.Tensor2D | ActivationSource, opts: TrainSaeOptions): Promise<SaeTrainReport> {
  const src: ActivationSource = data instanceof tf.Tensor ? new MatrixSource(data, opts.seed ?? 0) : data;
  if (src.dIn !== sae.cfg.dIn) throw new Error(`trainSae: activations have width ${src.dIn} but the SAE has dIn ${sae.cfg.dIn}`);
  const steps = opts.steps, bs = opts.batchSize ?? 4096, lr0 = opts.lr ?? 3e-4, lambda = opts.l1Coefficient ?? 1;
  const deadWindow = opts.deadFeatureWindow ?? 1000, logEvery = opts.logEvery ?? 100, clip = opts.gradClip ?? 1;
  const names = Object.keys(sae.params);
  const vars = names.map((n) => sae.params[n]!);
  const adam = new AdamW(vars, { beta1: opts.adamBeta1 ?? 0.9, beta2: opts.adamBeta2 ?? 0.999, eps: 1e-8, weightDecay: 0 });
  const rand = mulberry32((opts.seed ?? 0) + 17);
  const dSae = sae.cfg.dSae;
  let since = tf.zeros([dSae]);
  let windowFires = tf.zeros([dSae]);
  let resampleFires = tf.zeros([dSae]);
  let deadMask: tf.Tensor1D | undefined;
  let nDead = 0, resampled = 0;
  const history: SaeTrainProgress[] = [];
  const t0 = performance.now();
  const needDead = sae.arch.usesDeadMask === true;
  const rs = opts.resample;
  const scale = sae.cfg.normalizeActivations === "expected_average_only_in" ? await estimateNormScalingFactor(src, bs, opts.normEstimateBatches ?? 10) : undefined;
  if (sae.cfg.normalizeActivations !== undefined && sae.cfg.normalizeActivations !== "none" && scale === undefined) {
    throw new Error(`trainSae: normalizeActivations "${sae.cfg.normalizeActivations}" is not supported by the trainer; use "none" or "expected_average_only_in"`);
  }
  try {
    for (let step = 0; step < steps; step++) {
      const raw = await src.nextBatch(bs);
      const x = scale === undefined ? raw : tf.tidy(() => raw.mul(scale) as tf.Tensor2D);
      if (x !== raw) raw.dispose();
      if (step === 0 && opts.bDecInit === "mean") tf.tidy(() => sae.params.b_dec!.assign(x.mean(0)));
      if (step === 0 && opts.bDecInit === "geometric_median") {
        const { median } = await geometricMedian(x);
        sae.params.b_dec!.assign(median);
        median.dispose();
      }
      const lr = lr0 * saeLrFactor(step, steps, opts.lrWarmupSteps ?? 0, opts.lrDecaySteps ?? 0);
      const coef = lambda * Math.min(1, opts.l1WarmupSteps ? (step + 1) / opts.l1WarmupSteps : 1);
      const log = (step + 1) % logEvery === 0 || step === steps - 1;
      let kept: tf.Tensor[] = [];
      const { value, grads } = tf.variableGrads(() => {
        const out = sae.trainForward(x, { sparsityCoefficient: coef, deadMask, nDead });
        const mse = out.xHat.sub(x).square().sum(1).mean() as tf.Scalar;
        const total = Object.values(out.aux).reduce<tf.Scalar>((a, b) => a.add(b), mse);
        // Firing counts per latent as ones·1[f ≠ 0] (a matmul: the axis-0 sum of the cpu backend transposes first).
        kept = [tf.keep(tf.matMul(tf.ones([1, x.shape[0]]), tf.notEqual(out.f, 0).cast("float32")).reshape([-1]))];
        if (log) kept.push(tf.keep(out.f.clone()), tf.keep(out.xHat.clone()));
        return total;
      }, vars);
      tf.dispose(adam.apply(names.map((_, i) => grads[vars[i]!.name]!), lr, clip));
      tf.dispose(Object.values(grads));
      const fired = kept[0]!;
      const [s2, w2, r2] = tf.tidy(() => [tf.where(fired.greater(0), tf.zerosLike(since), since.add(1)), windowFires.add(fired), resampleFires.add(fired)]);
      tf.dispose([since, windowFires, resampleFires]);
      [since, windowFires, resampleFires] = [s2!, w2!, r2!];
      if (needDead || log) {
        deadMask?.dispose();
        deadMask = tf.tidy(() => since.greater(deadWindow).cast("float32") as tf.Tensor1D);
        const nd = deadMask.sum();
        nDead = Math.round((await nd.data())[0]!);
        nd.dispose();
      }
      if (log) {
        const m = await reconstructionMetrics(x, kept[2] as tf.Tensor2D, kept[1] as tf.Tensor2D);
        const p: SaeTrainProgress = { step: step + 1, loss: (await value.data())[0]!, lr, sparsityCoefficient: coef, deadLatents: nDead, seconds: (performance.now() - t0) / 1000, ...m };
        history.push(p);
        opts.onProgress?.(p);
      }
      if (rs && (step + 1) % rs.every === 0 && step + 1 < steps) {
        resampled += await resampleDeadLatents(sae, adam, resampleFires, x, rs, rand);
      }
      if (rs && (step + 1) % rs.every === rs.every - (rs.window ?? rs.every) || (rs && (step + 1) % rs.every === 0)) {
        resampleFires.dispose();
        resampleFires = tf.zeros([dSae]);
      }
      if ((step + 1) % deadWindow === 0 && step + 1 < steps) {
        windowFires.dispose();
        windowFires = tf.zeros([dSae]);
      }
      // Wait for the device now and then: on webgpu (Dawn 0.6.2 on Mesa 25 lavapipe) ~500 steps queued with no read in
      // between crashed the process (SIGSEGV, notebook 04's toy SAEs). One scalar read every SYNC_EVERY steps bounds it.
      if ((step + 1) % SYNC_EVERY === 0 && !log) await value.data();
      tf.dispose([x, value, ...kept]);
    }
    const windowSteps = steps % deadWindow === 0 ? Math.min(steps, deadWindow) : steps % deadWindow;
    const featureDensity = Float32Array.from(await windowFires.data(), (c) => c / (windowSteps * bs));
    const seconds = (performance.now() - t0) / 1000;
    if (scale !== undefined) sae.foldActivationNormScalingFactor(scale);
    return { steps, seconds, activationsPerSecond: (steps * bs) / seconds, history, final: history[history.length - 1]!, featureDensity, density: densityStats(featureDensity), resampled, ...(scale !== undefined ? { normScalingFactor: scale } : {}) };
  } finally {
    adam.dispose();
    tf.dispose([since, windowFires, resampleFires]);
    deadMask?.dispose();
  }
}

/** s = √d_in / mean_x ‖x‖ over `nBatches` batches (SAELens `expected_average_only_in`). */
async function estimateNormScalingFactor(src: ActivationSource, bs: number, nBatches: number): Promise<number> {
  let sum = 0, n = 0;
  for (let i = 0; i < nBatches; i++) {
    const x = await src.nextBatch(bs);
    const t = tf.tidy(() => x.norm("euclidean", 1).sum());
    sum += (await t.data())[0]!;
    n += x.shape[0];
    tf.dispose([x, t]);
  }
  if (!(sum > 0)) throw new Error("trainSae: the activations have zero norm; expected_average_only_in cannot scale them (use normalizeActivations \"none\")");
  return Math.sqrt(src.dIn) / (sum / n);
}
