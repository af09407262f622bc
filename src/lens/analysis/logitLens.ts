/**
 * The logit lens (the residual stream after each layer, put through ln_final and the unembedding) and direct logit
 * attribution (each component's contribution to a logit or logit difference), built on the ActivationCache helpers
 * `accumulatedResid`, `decomposeResid`, `stackHeadResults`, `applyLnToStack` and `logitAttrs`.
 */
import * as tf from "@tensorflow/tfjs";
import type { ActivationCache } from "../activationCache";
import type { HookedTransformer } from "../hookedTransformer";

/** What the logit lens reads at one layer. */
export interface LensLayer {
  /** `{l}_pre`, `{l}_mid` or `final_post`. */
  readonly label: string;
  /** The top-k token ids by probability, best first, with their probabilities and (with a tokenizer) strings. */
  readonly topTokens: number[];
  readonly topProbs: number[];
  readonly topStrs?: string[];
  /** The answer's rank (0 = top), probability and logit, when an answer was given. */
  readonly answerRank?: number;
  readonly answerProb?: number;
  readonly answerLogit?: number;
}

export interface LogitLensOptions {
  /** Position to read (default −1, the last). */
  readonly pos?: number;
  /** Batch row (default 0). */
  readonly batchIndex?: number;
  /** How many top tokens per layer (default 5). */
  readonly topK?: number;
  /** A token id (or a single-token string, with a tokenizer) whose rank is tracked. */
  readonly answer?: number | string;
  /** Include `resid_mid` of each layer (not for parallel-attention models). */
  readonly inclMid?: boolean;
}

function rankOf(values: ArrayLike<number>, id: number): number {
  const v = values[id]!;
  let rank = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > v) rank++;
  return rank;
}

function topIndices(values: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  return idx.sort((a, b) => values[b]! - values[a]!).slice(0, k);
}

/**
 * The logit lens at one position: for the residual stream before each layer and after the last, ln_final is re-run
 * on it and it is unembedded (W_U, b_U); returns the top tokens and the answer's rank per layer. The cache needs every
 * `hook_resid_pre` and the last `hook_resid_post`.
 * @example
 * const [, cache] = await model.runWithCache("The Eiffel Tower is in the city of");
 * const lens = await logitLens(model, cache, { answer: " Paris" });
 * lens.map((l) => `${l.label}: rank ${l.answerRank}`);
 */
export async function logitLens(model: HookedTransformer, cache: ActivationCache, opts: LogitLensOptions = {}): Promise<LensLayer[]> {
  if (!cache.hasBatchDim) throw new Error("logitLens needs a cache with its batch dimension");
  const [stack, labels] = cache.accumulatedResid({ applyLn: true, inclMid: opts.inclMid, returnLabels: true });
  const [, batch, seq, dModel] = stack.shape as [number, number, number, number];
  const b = opts.batchIndex ?? 0;
  const p = (opts.pos ?? -1) < 0 ? seq + (opts.pos ?? -1) : (opts.pos as number);
  if (!(b >= 0 && b < batch && p >= 0 && p < seq)) {
    stack.dispose();
    throw new Error(`logitLens: batchIndex ${b} / pos ${opts.pos} out of range for batch ${batch}, length ${seq}`);
  }
  const answer = typeof opts.answer === "string" ? model.toSingleToken(opts.answer) : opts.answer;
  const [logitsT, probsT] = tf.tidy(() => {
    const rows = stack.slice([0, b, p, 0], [-1, 1, 1, dModel]).reshape([labels.length, dModel]);
    const logits = rows.matMul(model.W_U).add(model.b_U);
    return [logits, tf.softmax(logits, -1)];
  });
  stack.dispose();
  const [logits, probs] = [await logitsT.data(), await probsT.data()];
  tf.dispose([logitsT, probsT]);
  const vocab = logits.length / labels.length;
  const k = opts.topK ?? 5;
  return labels.map((label, i) => {
    const pr = probs.subarray(i * vocab, (i + 1) * vocab);
    const lg = logits.subarray(i * vocab, (i + 1) * vocab);
    const top = topIndices(pr, k);
    const layer: LensLayer = {
      label,
      topTokens: top,
      topProbs: top.map((t) => pr[t]!),
      ...(model.tokenizer ? { topStrs: top.map((t) => model.tokenizer!.idToString(t)) } : {}),
      ...(answer !== undefined ? { answerRank: rankOf(lg, answer), answerProb: pr[answer], answerLogit: lg[answer] } : {}),
    };
    return layer;
  });
}

export interface AttributionOptions {
  /** "layer": embed, pos_embed, each attn_out and mlp_out (decomposeResid); "head": every head (stackHeadResults);
   *  "accumulated": the residual stream before each layer, with mids (accumulatedResid). Default "layer". */
  readonly by?: "layer" | "head" | "accumulated";
  /** Position read per prompt: one for all (default −1) or one per prompt (e.g. the IOI dataset's endPos). */
  readonly pos?: number | readonly number[];
}

export interface Attribution {
  readonly labels: string[];
  /** `[components, batch]`; caller owns it. */
  readonly perPrompt: tf.Tensor;
  /** The mean over the batch, per component. */
  readonly mean: number[];
}

/**
 * Direct logit attribution: each component's contribution to the logit of the correct answer — or, with
 * `[correct, incorrect]` pairs, to the logit difference — through the final LayerNorm's cached scale (ARENA's
 * `residual_stack_to_logit_diff`; b_U is not included). The cache needs the hooks of the chosen decomposition,
 * `ln_final.hook_scale` and (for "head") every `hook_z`.
 * @example
 * const [, cache] = await model.runWithCache(ds.tokens);
 * const { labels, mean } = await directLogitAttribution(cache, ds.answerTokens, { by: "head" });
 */
export async function directLogitAttribution(
  cache: ActivationCache,
  answers: readonly number[] | ReadonlyArray<readonly number[]>,
  opts: AttributionOptions = {},
): Promise<Attribution> {
  if (!cache.hasBatchDim) throw new Error("directLogitAttribution needs a cache with its batch dimension");
  const by = opts.by ?? "layer";
  const [stack, labels] =
    by === "head" ? cache.stackHeadResults({ returnLabels: true })
    : by === "accumulated" ? cache.accumulatedResid({ inclMid: !(cache.model.cfg.parallelAttnMlp || cache.model.cfg.attnOnly), returnLabels: true })
    : cache.decomposeResid({ returnLabels: true });
  const [n, batch, seq] = stack.shape as [number, number, number];
  const pairs = typeof answers[0] === "number" ? (answers as readonly number[]).map((a) => [a]) : (answers as ReadonlyArray<readonly number[]>).map((r) => [...r]);
  if (pairs.length !== batch) {
    stack.dispose();
    throw new Error(`directLogitAttribution: ${pairs.length} answers for a batch of ${batch}; give one per prompt`);
  }
  const pos = opts.pos ?? -1;
  const positions = (typeof pos === "number" ? new Array<number>(batch).fill(pos) : [...pos]).map((p) => (p < 0 ? p + seq : p));
  if (positions.length !== batch || positions.some((p) => !(Number.isInteger(p) && p >= 0 && p < seq))) {
    stack.dispose();
    throw new Error(`directLogitAttribution: pos must be one index or one per prompt (${batch}) within [0, ${seq}), got ${JSON.stringify(pos)}`);
  }
  const perPrompt = tf.tidy(() => {
    const correct = tf.tensor2d(pairs.map((r) => [r[0]!]), [batch, 1], "int32");
    const incorrect = pairs[0]!.length > 1 ? tf.tensor2d(pairs.map((r) => [r[1]!]), [batch, 1], "int32") : undefined;
    const attrs = cache.logitAttrs(stack, correct, incorrect ? { incorrectTokens: incorrect } : {}); // [n, batch, pos]
    const flat = positions.map((p, b) => b * seq + p);
    return tf.gather(attrs.reshape([n, batch * seq]), tf.tensor1d(flat, "int32"), 1); // [n, batch]
  });
  stack.dispose();
  const meanT = perPrompt.mean(1);
  const mean = Array.from(await meanT.data());
  meanT.dispose();
  return { labels, perPrompt, mean };
}
