/**
 * Hook names, byte-identical to TransformerLens, their canonical firing order, and `getActName`.
 */
import type { TransformerConfig } from "./config";

/** Names of the hooks inside a block, relative to `blocks.{l}.`. */
export type BlockHook =
  | "hook_resid_pre" | "hook_resid_mid" | "hook_resid_post" | "hook_attn_out" | "hook_mlp_out"
  | `ln${1 | 2}.hook_${"scale" | "normalized"}`
  | `attn.hook_${"q" | "k" | "v" | "rot_q" | "rot_k" | "attn_scores" | "pattern" | "z" | "result"}`
  | `mlp.hook_${"pre" | "post"}`;

/** A full hook name, e.g. `blocks.3.attn.hook_pattern`. */
export type HookName =
  | "hook_embed" | "hook_pos_embed" | `blocks.${number}.${BlockHook}` | `ln_final.hook_${"scale" | "normalized"}`
  | `unembed.hook_${"in" | "out"}`;

/** The block hooks of one layer in firing order for this config (flag-gated ones only when enabled). */
export function blockHookOrder(cfg: TransformerConfig, includeDisabled = false): BlockHook[] {
  const rotary = cfg.positionalEmbeddingType === "rotary";
  const hooks: BlockHook[] = ["hook_resid_pre", "ln1.hook_scale", "ln1.hook_normalized", "attn.hook_q", "attn.hook_k", "attn.hook_v"];
  if (rotary) hooks.push("attn.hook_rot_q", "attn.hook_rot_k");
  hooks.push("attn.hook_attn_scores", "attn.hook_pattern", "attn.hook_z");
  if (cfg.useAttnResult || includeDisabled) hooks.push("attn.hook_result");
  hooks.push("hook_attn_out");
  if (cfg.attnOnly) return [...hooks, "hook_resid_post"]; // no ln2, MLP or resid_mid (TransformerLens attn_only)
  if (!cfg.parallelAttnMlp) hooks.push("hook_resid_mid");
  hooks.push("ln2.hook_scale", "ln2.hook_normalized", "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out", "hook_resid_post");
  return hooks;
}

/**
 * Every hook point of a model in firing order (TransformerLens `cache.keys()` order, ending with TransformerLens 3.x's
 * `unembed.hook_in` (the final LayerNorm's output) and `unembed.hook_out` (the logits)).
 * With `includeDisabled`, flag-gated hooks (`attn.hook_result`) are listed too: they are valid names that only fire
 * when their flag is on.
 */
export function canonicalHookOrder(cfg: TransformerConfig, includeDisabled = false): HookName[] {
  const names: HookName[] = ["hook_embed"];
  if (cfg.positionalEmbeddingType === "standard") names.push("hook_pos_embed");
  const block = blockHookOrder(cfg, includeDisabled);
  for (let l = 0; l < cfg.nLayers; l++) for (const h of block) names.push(`blocks.${l}.${h}`);
  names.push("ln_final.hook_scale", "ln_final.hook_normalized", "unembed.hook_in", "unembed.hook_out");
  return names;
}

const NAME_ALIASES: Record<string, string> = {
  attn: "pattern", attn_logits: "attn_scores", key: "k", query: "q", value: "v",
  mlp_pre: "pre", mlp_mid: "mid", mlp_post: "post",
};
const LAYER_TYPE_ALIASES: Record<string, string> = { a: "attn", m: "mlp", b: "", block: "", blocks: "", attention: "attn" };
const ATTN_NAMES = new Set(["k", "v", "q", "z", "rot_k", "rot_q", "result", "pattern", "attn_scores"]);
const MLP_NAMES = new Set(["pre", "post", "mid", "pre_linear"]);
/** Hooks that live directly on the block; a layer type given with them is ignored (TL would build an invalid name). */
const BLOCK_NAMES = new Set(["resid_pre", "resid_mid", "resid_post", "attn_out", "mlp_out"]);

/**
 * TransformerLens's `get_act_name`: expands a short activation name to the full hook name.
 * @example getActName("pattern", 3) === "blocks.3.attn.hook_pattern"; getActName("scale", 0, "ln1") === "blocks.0.ln1.hook_scale";
 * getActName("k6") === "blocks.6.attn.hook_k"; getActName("embed") === "hook_embed"
 */
export function getActName(name: string, layer?: number, layerType?: string): string {
  if (name.includes(".") || name.startsWith("hook_")) return name; // already a full name
  if (layer === undefined) {
    const m = /^([a-z_]+?)(\d+)([a-z]\w*)?$/.exec(name);
    if (m) {
      name = m[1];
      layer = Number(m[2]);
      layerType = m[3];
    }
  }
  name = NAME_ALIASES[name] ?? name;
  if (layerType !== undefined) layerType = LAYER_TYPE_ALIASES[layerType] ?? layerType;
  if (BLOCK_NAMES.has(name)) layerType = "";
  if (layerType === undefined || layerType === "") {
    if (ATTN_NAMES.has(name)) layerType = "attn";
    else if (MLP_NAMES.has(name)) layerType = "mlp";
    else if (layer === undefined && (name === "scale" || name === "normalized")) layerType = "ln_final";
  }
  if ((name === "scale" || name === "normalized") && layer !== undefined && !layerType) {
    throw new Error(`getActName("${name}", ${layer}): say which LayerNorm, e.g. getActName("${name}", ${layer}, "ln1") or "ln2"`);
  }
  const full = layerType ? `${layerType}.hook_${name}` : `hook_${name}`;
  return layer !== undefined ? `blocks.${layer}.${full}` : full;
}
