/**
 * TransformerLens's weight properties: stacked `W_Q` [layer, head, dModel, dHead] …, per block
 * `model.blocks[l].attn.W_Q` [head, dModel, dHead], and the factored `OV` / `QK` circuits.
 * Weights, per block and stacked, are views the model owns: repeated reads return the same tensor (a stacked one is
 * built on first read and kept until `model.dispose()`), so do not dispose them. Circuits (`OV`, `QK`) are new
 * FactoredMatrix objects the caller owns (`dispose()`).
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelWeights } from "./components/weights";
import type { TransformerConfig } from "./config";
import { FactoredMatrix } from "./factoredMatrix";

/** One block's attention weights (the model's tensors) and its circuits (new FactoredMatrix objects). */
export class AttentionWeights {
  constructor(private readonly w: () => ModelWeights, private readonly prefix: string) {}
  private p(k: string): tf.Tensor {
    return this.w().get(`${this.prefix}.${k}`);
  }
  get W_Q(): tf.Tensor { return this.p("W_Q"); }
  get W_K(): tf.Tensor { return this.p("W_K"); }
  get W_V(): tf.Tensor { return this.p("W_V"); }
  get W_O(): tf.Tensor { return this.p("W_O"); }
  get b_Q(): tf.Tensor { return this.p("b_Q"); }
  get b_K(): tf.Tensor { return this.p("b_K"); }
  get b_V(): tf.Tensor { return this.p("b_V"); }
  get b_O(): tf.Tensor { return this.p("b_O"); }
  /** `W_V·W_O` per head, factored: [head, dModel, dModel]. Caller owns it. */
  get OV(): FactoredMatrix { return new FactoredMatrix(tf.clone(this.W_V), tf.clone(this.W_O)); }
  /** `W_Q·W_Kᵀ` per head, factored: [head, dModel, dModel]. Caller owns it. */
  get QK(): FactoredMatrix { return new FactoredMatrix(tf.clone(this.W_Q), this.W_K.transpose([0, 2, 1])); }
}

/** One block's MLP weights (the model's tensors). */
export class MlpWeights {
  constructor(private readonly w: () => ModelWeights, private readonly prefix: string) {}
  get W_in(): tf.Tensor { return this.w().get(`${this.prefix}.W_in`); }
  get b_in(): tf.Tensor { return this.w().get(`${this.prefix}.b_in`); }
  get W_out(): tf.Tensor { return this.w().get(`${this.prefix}.W_out`); }
  get b_out(): tf.Tensor { return this.w().get(`${this.prefix}.b_out`); }
}

/** `model.blocks[l]`: the weights of block l. */
export interface BlockWeights {
  readonly attn: AttentionWeights;
  readonly mlp: MlpWeights;
}

/** Base class of HookedTransformer with the weight accessors. */
export abstract class WeightAccess {
  abstract cfg: TransformerConfig;
  protected abstract weights: ModelWeights;

  /** A parameter by TL state-dict name (`blocks.0.attn.W_Q`); the model keeps ownership. */
  param(key: string): tf.Tensor {
    return this.weights.get(key);
  }

  /** TL state-dict names of all parameters. */
  paramNames(): string[] {
    return [...this.weights.params.keys()];
  }

  /**
   * TransformerLens's `state_dict()`: every parameter by TL name (`blocks.0.attn.W_Q`, …), in the model's order. The
   * tensors are the model's own (do not dispose them; clone what must outlive `model.dispose()`); the Map is a copy.
   * @example const sd = model.stateDict(); sd.get("unembed.W_U"); // [dModel, dVocab]
   */
  stateDict(): Map<string, tf.Tensor> {
    return new Map(this.weights.params);
  }

  /** Per-block weight views: `model.blocks[3].attn.W_Q`. */
  get blocks(): BlockWeights[] {
    const w = () => this.weights;
    return Array.from({ length: this.cfg.nLayers }, (_, l) => ({
      attn: new AttentionWeights(w, `blocks.${l}.attn`),
      mlp: new MlpWeights(w, `blocks.${l}.mlp`),
    }));
  }

  /** Every layer's `suffix` stacked on a new leading axis: built once, then the same tensor (owned by the model). */
  private stacked(suffix: string): tf.Tensor {
    return this.weights.derived(`stacked:${suffix}`, () => tf.stack(Array.from({ length: this.cfg.nLayers }, (_, l) => this.weights.get(`blocks.${l}.${suffix}`))));
  }

  /** [dVocab, dModel] (the model's tensor). */ get W_E(): tf.Tensor { return this.weights.get("embed.W_E"); }
  /** [nCtx, dModel] (the model's tensor; rotary models have none and throw). */ get W_pos(): tf.Tensor { return this.weights.get("pos_embed.W_pos"); }
  /** [dModel, dVocab] (the model's tensor). */ get W_U(): tf.Tensor { return this.weights.get("unembed.W_U"); }
  /** [dVocab] (the model's tensor). */ get b_U(): tf.Tensor { return this.weights.get("unembed.b_U"); }
  /** [layer, head, dModel, dHead] (the model's view). */ get W_Q(): tf.Tensor { return this.stacked("attn.W_Q"); }
  /** [layer, head, dModel, dHead] (the model's view). */ get W_K(): tf.Tensor { return this.stacked("attn.W_K"); }
  /** [layer, head, dModel, dHead] (the model's view). */ get W_V(): tf.Tensor { return this.stacked("attn.W_V"); }
  /** [layer, head, dHead, dModel] (the model's view). */ get W_O(): tf.Tensor { return this.stacked("attn.W_O"); }
  /** [layer, head, dHead] (the model's view). */ get b_Q(): tf.Tensor { return this.stacked("attn.b_Q"); }
  /** [layer, head, dHead] (the model's view). */ get b_K(): tf.Tensor { return this.stacked("attn.b_K"); }
  /** [layer, head, dHead] (the model's view). */ get b_V(): tf.Tensor { return this.stacked("attn.b_V"); }
  /** [layer, dModel] (the model's view). */ get b_O(): tf.Tensor { return this.stacked("attn.b_O"); }
  /** [layer, dModel, dMlp] (the model's view). */ get W_in(): tf.Tensor { return this.stacked("mlp.W_in"); }
  /** [layer, dMlp, dModel] (the model's view). */ get W_out(): tf.Tensor { return this.stacked("mlp.W_out"); }
  /** [layer, dMlp] (the model's view). */ get b_in(): tf.Tensor { return this.stacked("mlp.b_in"); }
  /** [layer, dModel] (the model's view). */ get b_out(): tf.Tensor { return this.stacked("mlp.b_out"); }
  /** Every head's OV circuit `W_V·W_O`, factored: [layer, head, dModel, dModel]. Caller owns it. */
  get OV(): FactoredMatrix { return new FactoredMatrix(tf.clone(this.W_V), tf.clone(this.W_O)); }
  /** Every head's QK circuit `W_Q·W_Kᵀ`, factored: [layer, head, dModel, dModel]. Caller owns it. */
  get QK(): FactoredMatrix { return new FactoredMatrix(tf.clone(this.W_Q), this.W_K.transpose([0, 1, 3, 2])); }
}
