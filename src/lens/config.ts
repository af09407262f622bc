/**
 * The resolved model configuration, with TransformerLens's field names in camelCase.
 * Architecture files build one from a Hugging Face `config.json` through `resolveConfig`; after that it is read-only.
 */

/** Activation functions by their Hugging Face names (`activation_function` / `hidden_act`). */
export type ActFn = "gelu_new" | "gelu" | "gelu_fast" | "gelu_pytorch_tanh" | "relu" | "silu";

/** "LN": LayerNorm with weight and bias; "LNPre": centred and scaled only (after `foldLn`). */
export type NormalizationType = "LN" | "LNPre";

export interface TransformerConfig {
  /** Where the weights came from (folder or repo id). */
  readonly modelName: string;
  /** The architecture entry that built this config, e.g. "gpt2" or "gpt_neox". For display only. */
  readonly architecture: string;
  readonly nLayers: number;
  readonly dModel: number;
  readonly nHeads: number;
  readonly dHead: number;
  readonly dMlp: number;
  readonly nCtx: number;
  readonly dVocab: number;
  readonly dVocabOut: number;
  readonly actFn: ActFn;
  readonly eps: number;
  readonly normalizationType: NormalizationType;
  readonly positionalEmbeddingType: "standard" | "rotary";
  /** Rotary dimensions per head (0 without rotary). */
  readonly rotaryDim: number;
  readonly rotaryBase: number;
  /** GPT-NeoX style: attention and MLP both read `resid_pre`; there is no `hook_resid_mid`. */
  readonly parallelAttnMlp: boolean;
  readonly defaultPrependBos: boolean;
  /** Scores are `q·k / attnScale`; `sqrt(dHead)` for both families. */
  readonly attnScale: number;
  /** Fire `attn.hook_result` ([batch, pos, head, dModel], per-head outputs). Memory heavy, off by default. */
  readonly useAttnResult: boolean;
  /** Attention-only blocks (TransformerLens `attn_only`): no MLP and no ln2; `resid_post = resid_pre + attn_out`. */
  readonly attnOnly: boolean;
}

/** The fields an architecture must supply; the rest are derived by `resolveConfig`. */
export type ConfigInput = Omit<TransformerConfig, "dHead" | "dVocabOut" | "attnScale" | "useAttnResult" | "rotaryDim" | "attnOnly"> & {
  readonly attnOnly?: boolean;
  readonly dHead?: number;
  readonly dVocabOut?: number;
  readonly rotaryDim?: number;
  readonly rotaryPct?: number;
  readonly useAttnResult?: boolean;
};

const SUPPORTED_ACT_FNS: readonly ActFn[] = ["gelu_new", "gelu", "gelu_fast", "gelu_pytorch_tanh", "relu", "silu"];

function positiveInt(name: string, v: number, source: string): number {
  if (!Number.isInteger(v) || v <= 0) {
    throw new Error(`${source}: ${name} must be a positive integer, got ${JSON.stringify(v)}; check config.json`);
  }
  return v;
}

/** Derives dHead, dVocabOut, rotaryDim and attnScale, and validates every field. */
export function resolveConfig(input: ConfigInput): TransformerConfig {
  const src = `config for ${input.modelName}`;
  for (const k of ["nLayers", "dModel", "nHeads", "dMlp", "nCtx", "dVocab"] as const) positiveInt(k, input[k], src);
  const dHead = input.dHead ?? input.dModel / input.nHeads;
  positiveInt("dHead (dModel / nHeads)", dHead, src);
  if (!SUPPORTED_ACT_FNS.includes(input.actFn)) {
    throw new Error(`${src}: unsupported activation "${input.actFn}"; supported: ${SUPPORTED_ACT_FNS.join(", ")}`);
  }
  if (!(input.eps > 0)) throw new Error(`${src}: layer-norm eps must be > 0, got ${input.eps}`);
  let rotaryDim = 0;
  if (input.positionalEmbeddingType === "rotary") {
    rotaryDim = input.rotaryDim ?? Math.round((input.rotaryPct ?? 1) * dHead);
    if (rotaryDim <= 0 || rotaryDim > dHead || rotaryDim % 2 !== 0) {
      throw new Error(`${src}: rotary dimension ${rotaryDim} must be even and in (0, dHead=${dHead}]; check rotary_pct`);
    }
  }
  const { rotaryPct: _unused, ...rest } = input;
  return Object.freeze({
    ...rest,
    dHead,
    dVocabOut: input.dVocabOut ?? input.dVocab,
    rotaryDim,
    attnScale: Math.sqrt(dHead),
    useAttnResult: input.useAttnResult ?? false,
    attnOnly: input.attnOnly ?? false,
  });
}
