/**
 * Toy Models of Superposition (Elhage et al. 2022; ARENA 1.5.4): features x_i ~ U[0,1] with probability p (else 0),
 * the model h = W x, x′ = ReLU(Wᵀ W x + b), loss mean_{batch,features} I_i (x_i − x′_i)² summed over `nInst`
 * independent instances trained in parallel (Adam). Plus the geometry read-outs: ‖W‖²_F, feature norms, angles and
 * feature dimensionality D_i = ‖W_i‖² / Σ_j (Ŵ_i·W_j)².
 */
import * as tf from "@tensorflow/tfjs";
import { normalSamples } from "../datasets/prng";
import { mulberry32 } from "../sae/source";

/** Toy model configuration. */
export interface ToyModelConfig {
  readonly nInst: number;
  readonly nFeatures: number;
  readonly dHidden: number;
  /** Feature probability per instance (length nInst) or one value for all. */
  readonly featureProbability: number | readonly number[];
  /** Importance per feature (length nFeatures) or one value; default 1. */
  readonly importance?: number | readonly number[];
}

/** Batch `[nInst, batch, nFeatures]`: U[0,1] magnitudes present with the instance's feature probability (seeded). */
export function generateToyBatch(cfg: ToyModelConfig, batch: number, seed: number): tf.Tensor3D {
  const p = typeof cfg.featureProbability === "number" ? new Array<number>(cfg.nInst).fill(cfg.featureProbability) : [...cfg.featureProbability];
  if (p.length !== cfg.nInst) throw new Error(`ToyModel: featureProbability has ${p.length} entries for nInst = ${cfg.nInst}`);
  const rand = mulberry32(seed);
  const per = batch * cfg.nFeatures;
  const out = new Float32Array(cfg.nInst * per);
  for (let i = 0; i < cfg.nInst; i++) {
    const pi = p[i]!;
    for (let j = i * per; j < (i + 1) * per; j++) if (rand() < pi) out[j] = rand();
  }
  return tf.tensor3d(out, [cfg.nInst, batch, cfg.nFeatures]);
}

/** The toy model: W `[nInst, dHidden, nFeatures]` (Xavier normal), b `[nInst, nFeatures]` (zeros). */
export class ToyModel {
  readonly W: tf.Variable;
  readonly b: tf.Variable;

  /** `seed` fixes W on every backend (drawn with a seeded host PRNG: tf.randomNormal treats seed 0 as "unseeded"). */
  constructor(readonly cfg: ToyModelConfig, seed = 0) {
    const std = Math.sqrt(2 / (cfg.dHidden + cfg.nFeatures));
    const rand = mulberry32(seed ^ 0x2545f491);
    const w = normalSamples(cfg.nInst * cfg.dHidden * cfg.nFeatures, std, rand);
    this.W = tf.tidy(() => tf.variable(tf.tensor3d(w, [cfg.nInst, cfg.dHidden, cfg.nFeatures])));
    this.b = tf.tidy(() => tf.variable(tf.zeros([cfg.nInst, cfg.nFeatures])));
  }

  /** Hidden activations h = W x: `[nInst, batch, dHidden]` for x `[nInst, batch, nFeatures]` (untidied). */
  hidden(x: tf.Tensor3D): tf.Tensor3D {
    return tf.matMul(x, this.W as tf.Tensor3D, false, true);
  }

  /** x′ = ReLU(Wᵀ h + b) (untidied). */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.relu(tf.matMul(this.hidden(x), this.W as tf.Tensor3D).add(this.b.expandDims(1))) as tf.Tensor3D;
  }

  /** Importance-weighted loss: mean over batch and features, summed over instances (untidied). */
  loss(x: tf.Tensor3D): tf.Scalar {
    const imp = this.cfg.importance ?? 1;
    const I = typeof imp === "number" ? tf.scalar(imp) : tf.tensor1d([...imp]);
    return this.forward(x).sub(x).square().mul(I).mean([1, 2]).sum() as tf.Scalar;
  }

  /**
   * Adam training (β 0.9, 0.999, constant lr) with a hand-written float64 forward/backward on the host: these models
   * are tiny, and per-op tensor overhead would dominate. Returns the final loss per instance (fresh batch).
   */
  async train(opts: { steps?: number; batchSize?: number; lr?: number; seed?: number } = {}): Promise<Float64Array> {
    const steps = opts.steps ?? 5000, bs = opts.batchSize ?? 1024, lr = opts.lr ?? 1e-3, seed = opts.seed ?? 1;
    const { nInst, dHidden: d, nFeatures: n } = this.cfg;
    const w = Float64Array.from(await this.W.data()), b = Float64Array.from(await this.b.data());
    const imp = this.cfg.importance ?? 1;
    const I = Float64Array.from({ length: n }, (_, j) => (typeof imp === "number" ? imp : imp[j]!));
    const params = [w, b], m = params.map((p) => new Float64Array(p.length)), v = params.map((p) => new Float64Array(p.length));
    const gw = new Float64Array(w.length), gb = new Float64Array(b.length), grads = [gw, gb];
    const h = new Float64Array(d), dz = new Float64Array(n), dh = new Float64Array(d);
    const pass = (x: Float32Array, g: boolean): Float64Array => {
      const loss = new Float64Array(nInst);
      for (let i = 0; i < nInst; i++) {
        const W = i * d * n, B = i * n;
        for (let s = 0; s < bs; s++) {
          const X = (i * bs + s) * n;
          for (let r = 0; r < d; r++) { let acc = 0; for (let j = 0; j < n; j++) acc += w[W + r * n + j]! * x[X + j]!; h[r] = acc; }
          for (let j = 0; j < n; j++) {
            let z = b[B + j]!;
            for (let r = 0; r < d; r++) z += w[W + r * n + j]! * h[r]!;
            const y = z > 0 ? z : 0, e = y - x[X + j]!;
            loss[i]! += (I[j]! * e * e) / (bs * n);
            dz[j] = z > 0 ? (2 * I[j]! * e) / (bs * n) : 0;
          }
          if (!g) continue;
          for (let r = 0; r < d; r++) { let acc = 0; for (let j = 0; j < n; j++) acc += w[W + r * n + j]! * dz[j]!; dh[r] = acc; }
          for (let j = 0; j < n; j++) {
            gb[B + j]! += dz[j]!;
            for (let r = 0; r < d; r++) gw[W + r * n + j]! += h[r]! * dz[j]! + dh[r]! * x[X + j]!;
          }
        }
      }
      return loss;
    };
    const batch = async (sd: number) => {
      const t = generateToyBatch(this.cfg, bs, sd);
      const x = (await t.data()) as Float32Array;
      t.dispose();
      return x;
    };
    for (let t = 1; t <= steps; t++) {
      gw.fill(0); gb.fill(0);
      pass(await batch(seed * 1_000_003 + t), true);
      const c1 = 1 - 0.9 ** t, c2 = 1 - 0.999 ** t;
      params.forEach((p, k) => {
        const g = grads[k]!, mk = m[k]!, vk = v[k]!;
        for (let q = 0; q < p.length; q++) {
          mk[q] = 0.9 * mk[q]! + 0.1 * g[q]!;
          vk[q] = 0.999 * vk[q]! + 0.001 * g[q]! * g[q]!;
          p[q]! -= (lr * (mk[q]! / c1)) / (Math.sqrt(vk[q]! / c2) + 1e-8);
        }
      });
    }
    tf.tidy(() => { this.W.assign(tf.tensor(Float32Array.from(w), this.W.shape)); this.b.assign(tf.tensor(Float32Array.from(b), this.b.shape)); });
    return pass(await batch(seed * 7 + 3), false);
  }

  /** Per-instance geometry of the learned features (columns of W). */
  async geometry(): Promise<ToyGeometry[]> {
    const [w, b] = await Promise.all([this.W.data(), this.b.data()]);
    const { nInst, dHidden: d, nFeatures: n } = this.cfg;
    const out: ToyGeometry[] = [];
    for (let i = 0; i < nInst; i++) {
      const col = (j: number) => Array.from({ length: d }, (_, r) => w[i * d * n + r * n + j]!);
      const cols = Array.from({ length: n }, (_, j) => col(j));
      const norms = cols.map((c) => Math.hypot(...c));
      const dot = (a: number[], c: number[]) => a.reduce((s, v, r) => s + v * c[r]!, 0);
      const dims = cols.map((c, j) => norms[j]! ** 2 / cols.reduce((s, cj) => s + (dot(c, cj) / (norms[j]! || 1)) ** 2, 0));
      let gaps: number[] = [];
      if (d === 2) {
        const ang = cols.map((c) => (Math.atan2(c[1]!, c[0]!) * 180) / Math.PI).sort((a, c) => a - c);
        gaps = ang.map((a, j) => (j + 1 < n ? ang[j + 1]! - a : ang[0]! + 360 - a));
      }
      out.push({ frobeniusSq: norms.reduce((s, v) => s + v * v, 0), norms, dimensionality: dims, angleGaps: gaps, bias: Array.from(b.slice(i * n, (i + 1) * n)) });
    }
    return out;
  }

  /** Features as rows `[nFeatures, dHidden]` of instance `inst` (the ground truth an SAE on `hidden` should find). */
  featureDirections(inst: number): tf.Tensor2D {
    return tf.tidy(() => this.W.slice([inst, 0, 0], [1, -1, -1]).squeeze([0]).transpose() as tf.Tensor2D);
  }

  /** Frees the parameters. */
  dispose(): void {
    this.W.dispose();
    this.b.dispose();
  }
}

/** Geometry of one instance. */
export interface ToyGeometry {
  readonly frobeniusSq: number;
  readonly norms: number[];
  /** D_i per feature (2/5 for a pentagon). */
  readonly dimensionality: number[];
  /** dHidden = 2 only: gaps (degrees) between consecutive feature angles, summing to 360. */
  readonly angleGaps: number[];
  readonly bias: number[];
}
