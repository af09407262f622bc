/**
 * SAE configuration and its SAELens `cfg.json` forms: the v6 layout (flat core + nested `metadata`) and the older
 * flat layout (`hook_name` or `hook_point`, `activation_fn`, …). Parsing accepts both; writing produces v6.
 */

/** Architectures in the registry. */
export type SaeArchitectureName = "standard" | "topk" | "jumprelu" | "gated";

/** Configuration of a `SparseAutoencoder` (camelCase of SAELens v6 `SAEConfig` plus training-time extras). */
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
}

const ARCHS: readonly SaeArchitectureName[] = ["standard", "topk", "jumprelu", "gated"];

function num(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw new Error(`SAE cfg.json: "${what}" must be a positive integer, got ${JSON.stringify(v)}; fix the file`);
  return v;
}

/** Parses a SAELens cfg.json object (v6 nested or pre-6.0 flat; `hook_point` names accepted). */
export function parseSaeConfig(raw: Record<string, unknown>): SaeConfig {
  const meta = (typeof raw.metadata === "object" && raw.metadata !== null ? raw.metadata : {}) as Record<string, unknown>;
  let arch = (raw.architecture as string | undefined) ?? "standard";
  const actFn = (raw.activation_fn ?? raw.activation_fn_str) as string | undefined;
  const actKw = (raw.activation_fn_kwargs ?? {}) as Record<string, unknown>;
  let k = raw.k as number | undefined;
  if (actFn === "topk") {
    arch = "topk";
    k ??= actKw.k as number | undefined;
  }
  if (/transcoder/.test(arch) || raw.d_out !== undefined || raw.hook_name_out !== undefined || meta.hook_name_out !== undefined) {
    throw new Error(`SAE cfg.json: architecture "${arch}" is a transcoder (it reads one hook and writes another: d_out, hook_name_out${/skip/.test(arch) ? ", and a skip connection W_skip" : ""}); lens loads only SAEs that reconstruct their input, so it refuses this file rather than drop weights`);
  }
  if (arch === "batchtopk" || arch === "matryoshka_batchtopk") {
    throw new Error(`SAE cfg.json: architecture "${arch}" is a SAELens training checkpoint; load the inference SAE SAELens saves from it (architecture "jumprelu", with a threshold tensor)`);
  }
  if (!ARCHS.includes(arch as SaeArchitectureName)) throw new Error(`SAE cfg.json: unknown architecture "${arch}"; supported: ${ARCHS.join(", ")}`);
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
    dIn: num(raw.d_in, "d_in"),
    dSae: num(raw.d_sae, "d_sae"),
    architecture: arch as SaeArchitectureName,
    ...(arch === "topk" ? { k: num(k ?? 100, "k"), rescaleActsByDecoderNorm: Boolean(raw.rescale_acts_by_decoder_norm ?? false) } : {}),
    applyBDecToInput: (raw.apply_b_dec_to_input as boolean | undefined) ?? true,
    normalizeActivations: (norm as string | undefined) ?? "none",
    ...(hookName !== undefined ? { hookName } : {}),
    metadata: rest,
  };
}

/** The v6 cfg.json object for `cfg`. */
export function saeConfigToJson(cfg: SaeConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    d_in: cfg.dIn,
    d_sae: cfg.dSae,
    dtype: "float32",
    device: "cpu",
    apply_b_dec_to_input: cfg.applyBDecToInput ?? true,
    normalize_activations: cfg.normalizeActivations ?? "none",
    reshape_activations: "none",
    architecture: cfg.architecture,
  };
  if (cfg.architecture === "topk") {
    out.k = cfg.k ?? 100;
    out.rescale_acts_by_decoder_norm = cfg.rescaleActsByDecoderNorm ?? false;
  }
  out.metadata = { ...(cfg.metadata ?? {}), ...(cfg.hookName !== undefined ? { hook_name: cfg.hookName } : {}) };
  return out;
}
