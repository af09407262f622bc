/**
 * ActivationCache: the activations recorded by `runWithCache`, keyed by hook name in firing order, with
 * TransformerLens's analysis helpers (accumulated / decomposed residual stream, per-head results, logit attribution).
 * The cache owns its tensors: `dispose()` frees them. Methods that build tensors return new tensors the caller owns.
 */
import * as tf from "@tensorflow/tfjs";
import type { TransformerConfig } from "./config";
import { headResults } from "./components/attention";
import { layerNorm } from "./components/layerNorm";
import { getActName } from "./hookNames";

/** What the cache needs from its model: the config and read access to parameters (W_O, W_U). */
export interface CacheModel {
  readonly cfg: TransformerConfig;
  param(key: string): tf.Tensor;
}

/** A stack of components `[n, ...batchPos, dModel]` with a label for each. */
export type Labelled = [tf.Tensor, string[]];

export interface StackOptions {
  /** Stop at this layer, 0..nLayers (default nLayers; negatives count from the end of that range, so -1 = nLayers as in TransformerLens). */
  readonly layer?: number;
  /** Take components up to the MLP input of `layer` (adds its attention output / resid_mid). */
  readonly mlpInput?: boolean;
  /** Divide by the relevant LayerNorm scale (see `applyLnToStack`). */
  readonly applyLn?: boolean;
}

export class ActivationCache {
  private readonly store: Map<string, tf.Tensor>;
  private batchDim: boolean;

  /** Takes ownership of `entries` (insertion order = firing order). */
  constructor(entries: Map<string, tf.Tensor>, readonly model: CacheModel, hasBatchDim = true) {
    this.store = entries;
    this.batchDim = hasBatchDim;
  }

  private get cfg(): TransformerConfig {
    return this.model.cfg;
  }

  /** Whether activations still have their leading batch dimension. */
  get hasBatchDim(): boolean {
    return this.batchDim;
  }

  private layerOf(layer: number | undefined, def: number): number {
    const l = layer ?? def;
    const n = l < 0 ? l + this.cfg.nLayers + 1 : l; // layers 0..nLayers: -1 is nLayers (TL's "layer == -1")
    if (!Number.isInteger(n) || n < 0 || n > this.cfg.nLayers) throw new Error(`layer ${l} is out of range for ${this.cfg.nLayers} layers`);
    return n;
  }

  /** The full hook name for `get`'s arguments (negative layers count from the end). */
  resolveName(name: string, layer?: number, layerType?: string): string {
    if (layer === undefined && this.store.has(name)) return name;
    const l = layer === undefined ? undefined : layer < 0 ? layer + this.cfg.nLayers : layer;
    return getActName(name, l, layerType);
  }

  /** True when the activation is cached. */
  has(name: string, layer?: number, layerType?: string): boolean {
    return this.store.has(this.resolveName(name, layer, layerType));
  }

  /**
   * An activation by full hook name or TransformerLens short name: `get("blocks.3.attn.hook_pattern")`,
   * `get("pattern", 3)`, `get("scale", 0, "ln1")`, `get("resid_pre", -1)`. The cache keeps ownership.
   */
  get(name: string, layer?: number, layerType?: string): tf.Tensor {
    const full = this.resolveName(name, layer, layerType);
    const t = this.store.get(full);
    if (t === undefined) {
      const keys = [...this.store.keys()];
      throw new Error(
        `"${full}" is not in the cache (${keys.length} entries${keys.length ? `, e.g. ${keys.slice(0, 3).join(", ")}` : ""}); ` +
          `check the name, or widen runWithCache's namesFilter`,
      );
    }
    return t;
  }

  /** Hook names in firing order. */
  keys(): string[] {
    return [...this.store.keys()];
  }

  values(): tf.Tensor[] {
    return [...this.store.values()];
  }

  entries(): [string, tf.Tensor][] {
    return [...this.store.entries()];
  }

  get size(): number {
    return this.store.size;
  }

  /** Drops the batch dimension of every activation in place (batch must be 1). Returns this cache. */
  removeBatchDim(): this {
    if (!this.batchDim) return this;
    for (const [k, t] of this.store) {
      if (t.shape[0] !== 1) throw new Error(`removeBatchDim needs batch size 1, but "${k}" has shape [${t.shape}]`);
    }
    for (const [k, t] of this.store) {
      this.store.set(k, t.squeeze([0]));
      t.dispose();
    }
    this.batchDim = false;
    return this;
  }

  /** Stacks `name` over layers `0..layer)`: `[layers, ...]`. */
  stackActivation(name: string, layer = -1, sublayerType?: string): tf.Tensor {
    const n = layer === -1 ? this.cfg.nLayers : this.layerOf(layer, 0);
    return tf.stack(Array.from({ length: n }, (_, l) => this.get(name, l, sublayerType)));
  }

  private finish(parts: tf.Tensor[], labels: string[], opts: StackOptions, recomputeLn: boolean): tf.Tensor {
    return tf.tidy(() => {
      const stack = tf.stack(parts);
      return opts.applyLn ? this.applyLnToStack(stack, { layer: opts.layer, mlpInput: opts.mlpInput, recomputeLn }) : stack;
    });
  }

  /**
   * The residual stream at each layer up to `layer`: resid_pre of every earlier layer (and resid_mid with `inclMid`),
   * ending with `{layer}_pre` (plus `{layer}_mid` with `mlpInput`), or `final_post` at layer nLayers.
   * With `applyLn`, at layer nLayers each component is normalised by its own LayerNorm statistics (the logit lens);
   * at an earlier layer by the cached scale of that layer's ln1 (ln2 with `mlpInput`), as TransformerLens.
   * Returns `[components, ...batchPos, dModel]`, or `[stack, labels]` with `returnLabels`.
   */
  accumulatedResid(opts: StackOptions & { inclMid?: boolean; returnLabels: true }): Labelled;
  accumulatedResid(opts?: StackOptions & { inclMid?: boolean; returnLabels?: false }): tf.Tensor;
  accumulatedResid(opts: StackOptions & { inclMid?: boolean; returnLabels?: boolean } = {}): tf.Tensor | Labelled {
    const layer = this.layerOf(opts.layer, this.cfg.nLayers);
    const parts: tf.Tensor[] = [];
    const labels: string[] = [];
    const add = (name: string, l: number, label: string) => (parts.push(this.get(name, l)), labels.push(label));
    for (let l = 0; l < layer; l++) {
      add("resid_pre", l, `${l}_pre`);
      if (opts.inclMid) add("resid_mid", l, `${l}_mid`);
    }
    if (layer === this.cfg.nLayers) add("resid_post", layer - 1, "final_post");
    else {
      add("resid_pre", layer, `${layer}_pre`);
      if (opts.mlpInput) add("resid_mid", layer, `${layer}_mid`);
    }
    const stack = this.finish(parts, labels, { ...opts, layer }, layer === this.cfg.nLayers);
    return opts.returnLabels ? [stack, labels] : stack;
  }

  /**
   * The residual stream split into what wrote it: `embed`, `pos_embed`, then `{l}_attn_out` / `{l}_mlp_out` per
   * layer (`mode` "attn" or "mlp" keeps one kind). The components sum to the residual at `layer`.
   */
  decomposeResid(opts: StackOptions & { mode?: "all" | "attn" | "mlp"; inclEmbeds?: boolean; returnLabels: true }): Labelled;
  decomposeResid(opts?: StackOptions & { mode?: "all" | "attn" | "mlp"; inclEmbeds?: boolean; returnLabels?: false }): tf.Tensor;
  decomposeResid(opts: StackOptions & { mode?: "all" | "attn" | "mlp"; inclEmbeds?: boolean; returnLabels?: boolean } = {}): tf.Tensor | Labelled {
    const layer = this.layerOf(opts.layer, this.cfg.nLayers);
    const mode = opts.mode ?? "all";
    const parts: tf.Tensor[] = [];
    const labels: string[] = [];
    const add = (name: string, label: string) => (parts.push(this.get(name)), labels.push(label));
    if (opts.inclEmbeds ?? true) {
      add("hook_embed", "embed");
      if (this.cfg.positionalEmbeddingType === "standard") add("hook_pos_embed", "pos_embed");
    }
    for (let l = 0; l < layer; l++) {
      if (mode !== "mlp") add(`blocks.${l}.hook_attn_out`, `${l}_attn_out`);
      if (mode !== "attn" && !this.cfg.attnOnly) add(`blocks.${l}.hook_mlp_out`, `${l}_mlp_out`);
    }
    if (opts.mlpInput && mode !== "mlp" && layer < this.cfg.nLayers) add(`blocks.${layer}.hook_attn_out`, `${layer}_attn_out`);
    const stack = this.finish(parts, labels, { ...opts, layer }, false);
    return opts.returnLabels ? [stack, labels] : stack;
  }

  /** Adds `blocks.{l}.attn.hook_result` ([batch, pos, head, dModel] = z_h·W_O[h], no b_O) for every layer missing it. */
  computeHeadResults(): void {
    for (let l = 0; l < this.cfg.nLayers; l++) {
      const name = `blocks.${l}.attn.hook_result`;
      if (this.store.has(name)) continue;
      const z = this.get("z", l);
      this.store.set(name, tf.tidy(() => headResults(z, this.model.param(`blocks.${l}.attn.W_O`))));
    }
  }

  /**
   * Every head's output for layers `0..layer)`: `[layer·nHeads, ...batchPos, dModel]`, labels `L{l}H{h}`. With
   * `inclRemainder`, a last row holds the rest of the residual stream (embeddings, MLPs, biases).
   */
  stackHeadResults(opts: StackOptions & { inclRemainder?: boolean; returnLabels: true }): Labelled;
  stackHeadResults(opts?: StackOptions & { inclRemainder?: boolean; returnLabels?: false }): tf.Tensor;
  stackHeadResults(opts: StackOptions & { inclRemainder?: boolean; returnLabels?: boolean } = {}): tf.Tensor | Labelled {
    const layer = opts.layer === undefined || opts.layer === -1 ? this.cfg.nLayers : this.layerOf(opts.layer, 0);
    this.computeHeadResults();
    const labels: string[] = [];
    const stack = tf.tidy(() => {
      const rows: tf.Tensor[] = [];
      const rank = this.get("result", 0).rank;
      for (let l = 0; l < layer; l++) {
        const r = this.get("result", l); // [...batchPos, head, dModel]
        const perm = [rank - 2, ...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1];
        rows.push(r.transpose(perm));
        for (let h = 0; h < this.cfg.nHeads; h++) labels.push(`L${l}H${h}`);
      }
      let s = rows.length ? tf.concat(rows, 0) : tf.zeros([0, ...this.get("hook_embed").shape]);
      if (opts.inclRemainder) {
        const resid = layer === this.cfg.nLayers ? this.get("resid_post", layer - 1) : this.get("resid_pre", layer);
        // no heads (layer 0): the remainder is the residual itself (tfjs-wasm's sum over an empty axis is garbage)
        const rest = rows.length ? resid.sub(s.sum(0)) : resid;
        s = tf.concat([s, rest.expandDims(0)], 0);
        labels.push("remainder");
      }
      return opts.applyLn ? this.applyLnToStack(s, { layer, mlpInput: opts.mlpInput }) : s;
    });
    return opts.returnLabels ? [stack, labels] : stack;
  }

  /**
   * Centres each component over dModel and divides by the LayerNorm scale that reads the residual at `layer`
   * (`ln_final` at nLayers, else `blocks.{layer}.ln1`, or `ln2` with `mlpInput`), taken from the cache — or recomputed
   * from each component itself with `recomputeLn` (the logit lens: the LayerNorm is re-run on each component, with its
   * weight and bias on unprocessed models). With the cached scale, the LayerNorm's weight and bias are not applied.
   * `stack` is `[components, ...batchPos, dModel]`; returns a new tensor.
   */
  applyLnToStack(stack: tf.Tensor, opts: { layer?: number; mlpInput?: boolean; recomputeLn?: boolean } = {}): tf.Tensor {
    const layer = this.layerOf(opts.layer, this.cfg.nLayers);
    return tf.tidy(() => {
      const ln = layer === this.cfg.nLayers ? "ln_final" : `blocks.${layer}.${opts.mlpInput ? "ln2" : "ln1"}`;
      if (opts.recomputeLn) {
        // Re-run the LayerNorm module on each component, with its weight and bias when it has them (unprocessed models).
        const affine = this.cfg.normalizationType === "LN";
        return layerNorm(stack, affine ? this.model.param(`${ln}.w`) : undefined, affine ? this.model.param(`${ln}.b`) : undefined, this.cfg.eps);
      }
      return stack.sub(stack.mean(-1, true)).div(this.get(`${ln}.hook_scale`));
    });
  }

  /**
   * Direct logit attribution: each component's contribution to the logit of `tokens` (minus `incorrectTokens`),
   * after the final LayerNorm scale: `[components, ...batchPos]`. Token ids broadcast against the batch/pos dims.
   */
  logitAttrs(stack: tf.Tensor, tokens: number | number[] | tf.Tensor, opts: { incorrectTokens?: number | number[] | tf.Tensor } = {}): tf.Tensor {
    return tf.tidy(() => {
      const W_U = this.model.param("unembed.W_U");
      const dirs = (t: number | number[] | tf.Tensor) => {
        const ids = t instanceof tf.Tensor ? t.cast("int32") : tf.tensor(t, undefined, "int32");
        return tf.gather(W_U, ids.flatten(), 1).transpose().reshape([...ids.shape, this.cfg.dModel]);
      };
      let direction = dirs(tokens);
      if (opts.incorrectTokens !== undefined) direction = direction.sub(dirs(opts.incorrectTokens));
      return this.applyLnToStack(stack, { layer: this.cfg.nLayers }).mul(direction).sum(-1);
    });
  }

  /** Frees every cached tensor; the cache is empty afterwards. */
  dispose(): void {
    for (const t of this.store.values()) t.dispose();
    this.store.clear();
  }
}
