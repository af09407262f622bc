/**
 * Memory arithmetic, from a config alone (nothing allocated): the float32 weights a model holds, the extra memory its
 * loading needs at its peak, what one forward adds (activations and the derived weights the forward caches), and what
 * `runWithCache` keeps (`estimateRunWithCacheBytes`). Backend selection (backend.ts) uses these before any tensor
 * exists; notebooks use `estimateRunWithCacheBytes` to warn before a cache is too big.
 */
import { expectedParamShapes } from "../architectures/convert";
import type { TransformerConfig } from "../config";
import { canonicalHookOrder, getActName } from "../hookNames";

const F32 = 4;
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Bytes of the float32 weights a config describes (every parameter of the TL state dict, untied W_U included). */
export function weightBytesOf(cfg: TransformerConfig): number {
  let n = 0;
  for (const s of expectedParamShapes(cfg).values()) n += prod(s);
  return n * F32;
}

/** Bytes of the largest single float32 parameter (W_E or W_U for the seed models). */
export function largestParamBytes(cfg: TransformerConfig): number {
  let n = 0;
  for (const s of expectedParamShapes(cfg).values()) n = Math.max(n, prod(s));
  return n * F32;
}

/**
 * Extra bytes a load needs at its peak, beyond the final weights: loading converts and processes one tensor at a time
 * (the old and the new copy of one parameter coexist), so one largest parameter.
 */
export function loadTransientBytes(cfg: TransformerConfig): number {
  return largestParamBytes(cfg);
}

/**
 * Bytes the forward keeps after its first call: the flattened W_Q/W_K/W_V (a transposed copy of each, components/
 * attention.ts), rank-1 copies of the biases (components/weights.ts), the causal mask [nCtx, nCtx] and, for rotary
 * models, the cos/sin tables [nCtx, rotaryDim].
 */
export function derivedWeightBytes(cfg: TransformerConfig): number {
  const qkv = 3 * cfg.nLayers * cfg.dModel * cfg.nHeads * cfg.dHead;
  const biases = cfg.nLayers * (3 * cfg.nHeads * cfg.dHead + 2 * cfg.dModel + (cfg.attnOnly ? 0 : cfg.dMlp)) + cfg.dVocabOut;
  const rotary = cfg.positionalEmbeddingType === "rotary" ? 2 * cfg.nCtx * (cfg.rotaryDim ?? cfg.dHead) : 0;
  return (qkv + biases + cfg.nCtx * cfg.nCtx + rotary) * F32;
}

/**
 * Peak bytes of live activations inside one forward over `[batch, pos]` tokens (no cache): the residual stream and
 * its LayerNorm, the widest intermediate of one block (attention scores and pattern, or the MLP's pre and post
 * activations) and the logits with one same-size temporary (log-softmax or a loss). An upper estimate: tfjs frees
 * a block's intermediates as the block ends, so one block's worth is live at a time.
 */
export function forwardActivationBytes(cfg: TransformerConfig, batch: number, pos: number): number {
  const tokens = batch * pos;
  const resid = 4 * tokens * cfg.dModel; // residual in and out, normalized, one branch output
  const qkvz = 4 * tokens * cfg.nHeads * cfg.dHead;
  const scores = 3 * batch * cfg.nHeads * pos * pos; // scores, masked scores, pattern
  const result = cfg.useAttnResult ? tokens * cfg.nHeads * cfg.dModel : 0;
  const mlp = cfg.attnOnly ? 0 : 3 * tokens * cfg.dMlp; // pre, post and one GELU temporary
  const block = Math.max(qkvz + scores + result, mlp) + (cfg.parallelAttnMlp ? Math.min(qkvz + scores + result, mlp) : 0);
  const logits = 2 * tokens * cfg.dVocabOut;
  return (resid + Math.max(block, logits)) * F32;
}

/** The shape of hook `name` ("blocks.3.attn.hook_pattern") for `[batch, pos]` tokens. */
export function hookShape(cfg: TransformerConfig, name: string, batch: number, pos: number): number[] {
  const h = name.replace(/^blocks\.\d+\./, "");
  const { dModel: D, nHeads: H, dHead: d, dMlp: M } = cfg;
  if (h.endsWith("hook_scale")) return [batch, pos, 1];
  if (h === "attn.hook_attn_scores" || h === "attn.hook_pattern") return [batch, H, pos, pos];
  if (/^attn\.hook_(q|k|v|rot_q|rot_k|z)$/.test(h)) return [batch, pos, H, d];
  if (h === "attn.hook_result") return [batch, pos, H, D];
  if (h === "mlp.hook_pre" || h === "mlp.hook_post") return [batch, pos, M];
  return [batch, pos, D]; // embeddings, residual stream, attn_out, mlp_out, ln*.hook_normalized
}

/** `namesFilter` as `runWithCache` takes it. */
export type CacheFilter = string | readonly string[] | ((name: string) => boolean);

/** What `estimateRunWithCacheBytes` returns (bytes). */
export interface RunWithCacheEstimate {
  /** The cached activations (float32), exact: the sum over the hooks the filter keeps of their shapes' sizes. */
  readonly cacheBytes: number;
  /** How many hooks are cached. */
  readonly cachedHooks: number;
  /** Live activations of the forward itself at its peak (an upper estimate, see `forwardActivationBytes`). */
  readonly forwardBytes: number;
  /** Derived weights the first forward adds and keeps (flattened W_Q/K/V, causal mask, rotary tables). */
  readonly derivedWeightBytes: number;
  /** Everything the call adds on top of the loaded weights: cache + forward + derived weights. */
  readonly totalBytes: number;
}

interface ModelLike {
  readonly cfg: TransformerConfig;
  readonly hooks?: { resolve(name: string): string[] };
}

/**
 * Estimates what `model.runWithCache(tokens, { namesFilter })` adds to memory for tokens of shape `[batch, pos]`
 * (a model, or just its config). The cache part is exact; the forward part is an upper estimate.
 * @example estimateRunWithCacheBytes(model, [1, 1024], { namesFilter: (n) => n.endsWith("hook_pattern") }).totalBytes
 */
export function estimateRunWithCacheBytes(
  modelOrCfg: ModelLike | TransformerConfig,
  tokensShape: readonly [number, number] | readonly number[],
  opts: { namesFilter?: CacheFilter } = {},
): RunWithCacheEstimate {
  const model = "cfg" in modelOrCfg ? modelOrCfg : undefined;
  const cfg = model ? model.cfg : (modelOrCfg as TransformerConfig);
  if (tokensShape.length !== 2 || !tokensShape.every((x) => Number.isInteger(x) && x > 0)) {
    throw new Error(`estimateRunWithCacheBytes: tokensShape must be [batch, pos] of positive integers, got [${tokensShape.join(", ")}]`);
  }
  const [batch, pos] = tokensShape;
  const keep = predicate(opts.namesFilter, model?.hooks);
  let cache = 0;
  let cachedHooks = 0;
  for (const name of canonicalHookOrder(cfg)) {
    if (!keep(name)) continue;
    cache += prod(hookShape(cfg, name, batch, pos)) * F32;
    cachedHooks++;
  }
  const forwardBytes = forwardActivationBytes(cfg, batch, pos);
  const derived = derivedWeightBytes(cfg);
  return { cacheBytes: cache, cachedHooks, forwardBytes, derivedWeightBytes: derived, totalBytes: cache + forwardBytes + derived };
}

function predicate(filter: CacheFilter | undefined, hooks: ModelLike["hooks"]): (name: string) => boolean {
  if (filter === undefined) return () => true;
  if (typeof filter === "function") return filter;
  const names = typeof filter === "string" ? [filter] : filter;
  const set = new Set(names.flatMap((n) => (hooks ? hooks.resolve(n) : [getActName(n)])));
  return (n) => set.has(n);
}

/** Decimal gigabytes with two decimals, as the messages and the README give sizes ("6.48 GB"). */
export function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(2)} GB`;
}
