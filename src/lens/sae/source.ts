/** Activation sources for `trainSae`: anything with `nextBatch`, and a seeded row sampler over an in-memory matrix. */
import * as tf from "@tensorflow/tfjs";
import { makeRng } from "../datasets/prng";

/** A stream of activation batches `[batchSize, dIn]` (the caller disposes each batch). */
export interface ActivationSource {
  readonly dIn: number;
  nextBatch(batchSize: number): Promise<tf.Tensor2D>;
}

/** mulberry32 (`datasets/prng.ts`) as a function returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  return makeRng(seed).next;
}

/** Batches of rows of a matrix `[n, dIn]` drawn by a seeded shuffle (epochs without replacement). Does not own `x`. */
export class MatrixSource implements ActivationSource {
  readonly dIn: number;
  private order: Int32Array;
  private pos: number;
  private readonly rand: () => number;

  constructor(private readonly x: tf.Tensor2D, seed = 0) {
    this.dIn = x.shape[1];
    this.rand = mulberry32(seed ^ 0x9e3779b9);
    this.order = new Int32Array(x.shape[0]);
    this.pos = x.shape[0];
  }

  private reshuffle(): void {
    const o = this.order;
    for (let i = 0; i < o.length; i++) o[i] = i;
    for (let i = o.length - 1; i > 0; i--) {
      const j = Math.floor(this.rand() * (i + 1));
      [o[i], o[j]] = [o[j]!, o[i]!];
    }
    this.pos = 0;
  }

  async nextBatch(batchSize: number): Promise<tf.Tensor2D> {
    const idx = new Int32Array(batchSize);
    for (let i = 0; i < batchSize; i++) {
      if (this.pos >= this.order.length) this.reshuffle();
      idx[i] = this.order[this.pos++]!;
    }
    return tf.tidy(() => tf.gather(this.x, tf.tensor1d(idx, "int32")) as tf.Tensor2D);
  }
}
