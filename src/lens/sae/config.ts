/**
 * SAE configuration and its SAELens `cfg.json` forms: the v6 layout (flat core + nested `metadata`) and the older
 * flat layout (`hook_name` or `hook_point`, `activation_fn`, …). Parsing accepts both; writing produces v6.
 */

import { getSaeArchitecture, saeArchitectures } from "./registry";
import { cfgInt } from "./types";

/** The built-in architectures' names; `registerSaeArchitecture` adds others. */
export type SaeArchitectureName = "standard" | "topk" | "jumprelu" | "gated" | (string & {});

/**
 * Configuration of a `SparseAutoencoder` (camelCase of SAELens v6 `SAEConfig` plus training-time extras). The shared
 * fields are typed here; each architecture parses, writes and validates its own (`SaeArchitecture.parseConfig`, …),
 * and an architecture registered from outside may add fields of its own.
 */
export interface SaeConfig {
  readonly dIn: number;
  readonly dSae: number;
  readonly architecture: SaeArchitectureName;
  /** TopK: latents kept per token (SAELens default 100). */
  readonly k?: number;
  /** TopK: multiply pre-activations by decoder row norms before the top-k and divide in decode (SAELens training). */
  readonly rescaleActsByDecoderNorm?: boolean;
  /** Subtract b_dec from the input before encoding (default true). */
  readonly applyBDecToInput?: boolean;
  /** "none" only is applied at run time here; other values are recorded. */
  readonly normalizeActivations?: string;
  /** JumpReLU: straight-through bandwidth ε (v6 default 0.05) and initial threshold (0.01). */
  readonly jumpreluBandwidth?: number;
  readonly jumpreluInitThreshold?: number;
  /** JumpReLU sparsity penalty: "step" (L0 through the STE, default) or "tanh" (Anthropic). */
  readonly jumpreluSparsityLoss?: "step" | "tanh";
  readonly jumpreluTanhScale?: number;
  /** TopK: AuxK loss coefficient (default 1). */
  readonly auxKCoefficient?: number;
  /** Hook the SAE reads (e.g. "blocks.6.hook_resid_pre"). */
  readonly hookName?: string;
  /** Everything else from cfg.json metadata (model_name, context_size, prepend_bos, …), kept verbatim on save. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Fields of architectures registered from outside (their `parseConfig` / `configToJson` read and write them). */
  readonly [field: string]: unknown;
}

/** SAELens architectures lens knows of but does not load, with the reason (they are not in the registry). */
const REFUSED: Readonly<Record<string, string>> = {
  transcoder: "a transcoder (it reads one hook and writes another: d_out, hook_name_out)",
  skip_transcoder: "a transcoder (it reads one hook and writes another: d_out, hook_name_out, and a skip connection W_skip)",
  jumprelu_transcoder: "a transcoder (it reads one hook and writes another: d_out, hook_name_out)",
  jumprelu_skip_transcoder: "a transcoder (it reads one hook and writes another: d_out, hook_name_out, and a skip connection W_skip)",
  batchtopk: "a SAELens training checkpoint; load the inference SAE SAELens saves from it (architecture \"jumprelu\", with a threshold tensor)",
  matryoshka_batchtopk: "a SAELens training checkpoint; load the inference SAE SAELens saves from it (architecture \"jumprelu\", with a threshold tensor)",
};


/** The architecture a cfg.json names: `architecture`, else (pre-6.0 files) the one saved under its `activation_fn`. */
function architectureName(raw: Readonly<Record<string, unknown>>): string {
  if (typeof raw.architecture === "string") return raw.architecture;
  const actFn = raw.activation_fn ?? raw.activation_fn_str;
  const legacy = saeArchitectures().find((a) => a.legacyActivationFn !== undefined && a.legacyActivationFn === actFn);
  return legacy?.name ?? "standard";
}

/** Parses a SAELens cfg.json object (v6 nested or pre-6.0 flat; `hook_point` names accepted). */
export function parseSaeConfig(raw: Record<string, unknown>): SaeConfig {
  const meta = (typeof raw.metadata === "object" && raw.metadata !== null ? raw.metadata : {}) as Record<string, unknown>;
  const name = architectureName(raw);
  const outHook = raw.d_out !== undefined || raw.hook_name_out !== undefined || meta.hook_name_out !== undefined;
  const refused = REFUSED[name] ?? (outHook ? REFUSED.transcoder : undefined);
  if (refused !== undefined) throw new Error(`SAE cfg.json: architecture "${name}" is ${refused}; lens loads only SAEs that reconstruct their input, so it refuses this file rather than drop weights`);
  const known = saeArchitectures().map((a) => a.name);
  if (!known.includes(name)) throw new Error(`SAE cfg.json: unknown architecture "${name}"; registered: ${known.join(", ")} (registerSaeArchitecture adds one)`);
  const arch = getSaeArchitecture(name);
  const hookName = (meta.hook_name ?? raw.hook_name ?? raw.hook_point) as string | undefined;
  const rest: Record<string, unknown> = { ...meta };
  for (const key of ["model_name", "context_size", "prepend_bos", "dataset_path", "hook_head_index", "neuronpedia_id", "model_from_pretrained_kwargs"]) {
    if (rest[key] === undefined && raw[key] !== undefined) rest[key] = raw[key];
  }
  if (rest.hook_head_index === undefined && raw.hook_point_head_index !== undefined) rest.hook_head_index = raw.hook_point_head_index;
  delete rest.hook_name;
  let norm = raw.normalize_activations;
  if (typeof norm === "boolean") norm = norm ? "expected_average_only_in" : "none";
  return {
    dIn: cfgInt(raw.d_in, "d_in"),
    dSae: cfgInt(raw.d_sae, "d_sae"),
    architecture: name,
    ...(arch.parseConfig?.(raw) ?? {}),
    applyBDecToInput: (raw.apply_b_dec_to_input as boolean | undefined) ?? true,
    normalizeActivations: (norm as string | undefined) ?? "none",
    ...(hookName !== undefined ? { hookName } : {}),
    metadata: rest,
  };
}

/** The v6 cfg.json object for `cfg` (the architecture writes its own fields). */
export function saeConfigToJson(cfg: SaeConfig): Record<string, unknown> {
  return {
    d_in: cfg.dIn,
    d_sae: cfg.dSae,
    dtype: "float32",
    device: "cpu",
    apply_b_dec_to_input: cfg.applyBDecToInput ?? true,
    normalize_activations: cfg.normalizeActivations ?? "none",
    reshape_activations: "none",
    architecture: cfg.architecture,
    ...(getSaeArchitecture(cfg.architecture).configToJson?.(cfg) ?? {}),
    metadata: { ...(cfg.metadata ?? {}), ...(cfg.hookName !== undefined ? { hook_name: cfg.hookName } : {}) },
  };
}
