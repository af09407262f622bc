/** What a model family supplies: its HF config → TL config mapping and its HF checkpoint → TL state-dict conversion. */
import type { ConfigInput, TransformerConfig } from "../config";
import type { StateDict } from "../components/weights";
import type { CheckpointReader } from "./convert";

/** A Hugging Face `config.json`, as parsed. */
export type HfConfig = Readonly<Record<string, unknown>>;

export interface Architecture {
  /** The HF `model_type` this entry handles, e.g. "gpt2". */
  readonly modelType: string;
  /** HF `architectures` values, for messages. */
  readonly hfArchitectures: readonly string[];
  /** HF config → TL config fields (camelCase). */
  toConfig(hf: HfConfig, modelName: string): ConfigInput;
  /** Checkpoint keys that are buffers, not parameters (causal masks, rotary caches); never reported as unused. */
  readonly ignoredKeys: RegExp;
  /** Key prefixes a checkpoint may or may not carry (`transformer.` for GPT-2). */
  readonly optionalPrefixes: readonly string[];
  /** Reads every checkpoint tensor it needs through `read` and returns the TL-layout state dict. */
  toStateDict(read: CheckpointReader, cfg: TransformerConfig): StateDict;
}
