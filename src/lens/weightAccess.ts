/**
 * TransformerLens's weight properties: stacked `W_Q` [layer, head, dModel, dHead] …, per block
 * `model.blocks[l].attn.W_Q` [head, dModel, dHead], and the factored `OV` / `QK` circuits.
 * Per-block weights are the model's own tensors (do not dispose them); stacked ones and circuits are new tensors the
 * caller owns (use `tf.tidy` or `dispose()`).
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

  /** Per-block weight views: `model.blocks[3].attn.W_Q`. */
  get blocks(): BlockWeights[] {
    const w = () => this.weights;
    return Array.from({ length: this.cfg.nLayers }, (_, l) => ({
      attn: new AttentionWeights(w, `blocks.${l}.attn`),
      mlp: new MlpWeights(w, `blocks.${l}.mlp`),
    }));
  }

  private stacked(suffix: string): tf.Tensor {
    return tf.stack(Array.from({ length: this.cfg.nLayers }, (_, l) => this.weights.get(`blocks.${l}.${suffix}`)));
  }

  /** [dVocab, dModel] (the model's tensor). */ get W_E(): tf.Tensor { return this.weights.get("embed.W_E"); }
  /** [nCtx, dModel] (the model's tensor; rotary models have none and throw). */ get W_pos(): tf.Tensor { return this.weights.get("pos_embed.W_pos"); }
  /** [dModel, dVocab] (the model's tensor). */ get W_U(): tf.Tensor { return this.weights.get("unembed.W_U"); }
  /** [dVocab] (the model's tensor). */ get b_U(): tf.Tensor { return this.weights.get("unembed.b_U"); }
  /** [layer, head, dModel, dHead], new tensor. */ get W_Q(): tf.Tensor { return this.stacked("attn.W_Q"); }
  /** [layer, head, dModel, dHead], new tensor. */ get W_K(): tf.Tensor { return this.stacked("attn.W_K"); }
  /** [layer, head, dModel, dHead], new tensor. */ get W_V(): tf.Tensor { return this.stacked("attn.W_V"); }
  /** [layer, head, dHead, dModel], new tensor. */ get W_O(): tf.Tensor { return this.stacked("attn.W_O"); }
  /** [layer, head, dHead], new tensor. */ get b_Q(): tf.Tensor { return this.stacked("attn.b_Q"); }
  /** [layer, head, dHead], new tensor. */ get b_K(): tf.Tensor { return this.stacked("attn.b_K"); }
  /** [layer, head, dHead], new tensor. */ get b_V(): tf.Tensor { return this.stacked("attn.b_V"); }
  /** [layer, dModel], new tensor. */ get b_O(): tf.Tensor { return this.stacked("attn.b_O"); }
  /** [layer, dModel, dMlp], new tensor. */ get W_in(): tf.Tensor { return this.stacked("mlp.W_in"); }
  /** [layer, dMlp, dModel], new tensor. */ get W_out(): tf.Tensor { return this.stacked("mlp.W_out"); }
  /** [layer, dMlp], new tensor. */ get b_in(): tf.Tensor { return this.stacked("mlp.b_in"); }
  /** [layer, dModel], new tensor. */ get b_out(): tf.Tensor { return this.stacked("mlp.b_out"); }
  /** Every head's OV circuit `W_V·W_O`, factored: [layer, head, dModel, dModel]. Caller owns it. */
  get OV(): FactoredMatrix { return new FactoredMatrix(this.W_V, this.W_O); }
  /** Every head's QK circuit `W_Q·W_Kᵀ`, factored: [layer, head, dModel, dModel]. Caller owns it. */
  get QK(): FactoredMatrix {
    const W_K = this.W_K;
    const W_Kt = W_K.transpose([0, 1, 3, 2]);
    W_K.dispose();
    return new FactoredMatrix(this.W_Q, W_Kt);
  }
}
