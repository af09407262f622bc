/** Repeated random tokens: the induction-head test input (ARENA 1.2 `generate_repeated_tokens`). */
import type { HookedTransformer } from "../hookedTransformer";
import { makeRng } from "./prng";

export interface RepeatedTokensOptions {
  /** Length of the random sequence that is repeated (default 50). */
  readonly seqLen?: number;
  /** Number of rows (default 1). */
  readonly batch?: number;
  /** PRNG seed (default 0). */
  readonly seed?: number;
  /** Random ids are drawn uniformly from [low, high) (default [0, dVocab)). */
  readonly low?: number;
  readonly high?: number;
  /** Put BOS first (default: when the model prepends BOS to text, i.e. cfg.defaultPrependBos, and has a tokenizer). */
  readonly prependBos?: boolean;
  /** The BOS id (default the tokenizer's). */
  readonly bosTokenId?: number;
}

/**
 * `batch` rows of `[BOS?] r r` with r = `seqLen` seeded-random ids: `[batch, (1) + 2·seqLen]` as plain arrays
 * (a valid `ModelInput`). In the second copy, token i of r is followed by the same token as in the first copy, so
 * induction heads can predict it.
 * @example
 * const tokens = repeatedRandomTokens(model, { seqLen: 50, batch: 10, seed: 0 }); // 10 × 101 with GPT-2's BOS
 * const loss = await model.forward(tokens, { returnType: "loss", lossPerToken: true });
 */
export function repeatedRandomTokens(model: HookedTransformer, opts: RepeatedTokensOptions = {}): number[][] {
  const seqLen = opts.seqLen ?? 50;
  const batch = opts.batch ?? 1;
  const low = opts.low ?? 0;
  const high = opts.high ?? model.cfg.dVocab;
  if (!Number.isInteger(seqLen) || seqLen < 1 || !Number.isInteger(batch) || batch < 1) {
    throw new Error(`repeatedRandomTokens: seqLen and batch must be positive integers, got ${seqLen} and ${batch}`);
  }
  if (!(Number.isInteger(low) && Number.isInteger(high) && low >= 0 && high <= model.cfg.dVocab && low < high)) {
    throw new Error(`repeatedRandomTokens: need integers 0 ≤ low < high ≤ dVocab (${model.cfg.dVocab}), got [${low}, ${high})`);
  }
  const prependBos = opts.prependBos ?? (model.cfg.defaultPrependBos && model.tokenizer !== undefined);
  const bos = opts.bosTokenId ?? model.tokenizer?.bosTokenId;
  if (prependBos && bos === undefined) throw new Error("repeatedRandomTokens: prependBos needs a BOS id; pass bosTokenId (the model has no tokenizer)");
  const total = (prependBos ? 1 : 0) + 2 * seqLen;
  if (total > model.cfg.nCtx) throw new Error(`repeatedRandomTokens: ${total} tokens exceed the model's context nCtx = ${model.cfg.nCtx}; lower seqLen`);
  const rng = makeRng(opts.seed ?? 0);
  return Array.from({ length: batch }, () => {
    const r = Array.from({ length: seqLen }, () => rng.int(low, high));
    return prependBos ? [bos as number, ...r, ...r] : [...r, ...r];
  });
}
