/**
 * ModelWeights: the TransformerLens-layout state dict (`blocks.3.attn.W_Q` [nHeads, dModel, dHead], …) plus
 * compute-friendly forms derived from it once (each of W_Q, W_K, W_V flattened to [dModel, nHeads·dHead] for its own
 * product, flattened W_O, the causal mask, rotary tables, stacked per-layer weights).
 */
import * as tf from "@tensorflow/tfjs";

export type StateDict = Map<string, tf.Tensor>;

/** Owns the tensors of a state dict; `dispose()` frees them and every derived tensor. */
export class ModelWeights {
  private readonly derivedCache = new Map<string, tf.Tensor>();

  /**
   * Takes ownership of the tensors in `params`. With `cacheDerived: false` (training: params are tf.Variables that
   * change every step) derived forms are rebuilt on every call inside the caller's scope, so gradients flow through them.
   */
  constructor(readonly params: StateDict, readonly cacheDerived = true) {}

  /** The parameter `key` (a TL state-dict name); throws naming the key when absent. */
  get(key: string): tf.Tensor {
    const t = this.params.get(key);
    if (t === undefined) throw new Error(`model has no parameter "${key}"; it has: ${[...this.params.keys()].slice(0, 8).join(", ")}, …`);
    return t;
  }

  /** The parameter `key`, or undefined (used for LayerNorm weights, which LNPre models do not have). */
  maybe(key: string): tf.Tensor | undefined {
    return this.params.get(key);
  }

  /**
   * A tensor computed once from the weights and kept until `dispose` (safe to call inside `tf.tidy`); rebuilt if
   * someone disposed it.
   */
  derived(key: string, make: () => tf.Tensor): tf.Tensor {
    if (!this.cacheDerived) return make();
    let t = this.derivedCache.get(key);
    if (t === undefined || t.isDisposed) {
      t = tf.keep(tf.tidy(make));
      this.derivedCache.set(key, t);
    }
    return t;
  }

  /**
   * Parameter `key` as a rank-1 tensor with its own storage (derived once), for the bias of `tf.fused.matMul`:
   * tfjs-wasm's fused kernel checks the rank of the bias's storage, which a plain reshape does not change.
   */
  bias(key: string): tf.Tensor {
    return this.derived(`${key}#bias`, () => {
      const t = this.get(key);
      return tf.add(t.reshape([t.size]), 0);
    });
  }

  /** Frees every parameter and derived tensor. */
  dispose(): void {
    for (const t of this.derivedCache.values()) t.dispose();
    this.derivedCache.clear();
    for (const t of this.params.values()) t.dispose();
  }
}
