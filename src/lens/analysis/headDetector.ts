/**
 * Head detectors (TransformerLens `head_detector.detect_head`) and induction scores on repeated random tokens
 * (ARENA 1.2). A detection pattern is a [pos, pos] lower-triangular matrix saying where an ideal head of that kind
 * attends; a head's score compares its attention pattern with it.
 */
import * as tf from "@tensorflow/tfjs";
import type { HookedTransformer } from "../hookedTransformer";
import { repeatedRandomTokens, type RepeatedTokensOptions } from "../datasets/repeatedTokens";

export type HeadName = "previous_token_head" | "duplicate_token_head" | "induction_head";

export interface DetectHeadOptions {
  /** Only score these heads ([layer, head] pairs, or {layer: [heads]}); the others get −1. Default: all. */
  readonly heads?: ReadonlyArray<readonly [number, number]> | Readonly<Record<number, readonly number[]>>;
  /** Ignore attention to position 0 (BOS). */
  readonly excludeBos?: boolean;
  /** Ignore attention to the current token (the diagonal). */
  readonly excludeCurrentToken?: boolean;
  /** "mul" (default): Σ(A ⊙ P) / ΣA; "abs": 1 − round(mean|A − P| · pos, 3). */
  readonly errorMeasure?: "mul" | "abs";
  /** Prepend BOS to text prompts (default the model's). */
  readonly prependBos?: boolean;
}

/** Ones on the sub-diagonal: each token attends to the one before it. `[seqLen][seqLen]`. @example previousTokenPattern(3) // [[0,0,0],[1,0,0],[0,1,0]] */
export function previousTokenPattern(seqLen: number): number[][] {
  return Array.from({ length: seqLen }, (_, i) => Array.from({ length: seqLen }, (_, j) => (j === i - 1 ? 1 : 0)));
}

/** 1 where an earlier token equals the current one (diagonal excluded). @example duplicateTokenPattern([7, 8, 7]) // row 2 = [1, 0, 0] */
export function duplicateTokenPattern(tokens: readonly number[]): number[][] {
  return tokens.map((t, i) => tokens.map((u, j) => (j < i && u === t ? 1 : 0)));
}

/** 1 on the token after an earlier occurrence of the current token (the duplicate pattern shifted right by one). @example inductionPattern([7, 8, 7]) // row 2 = [0, 1, 0] */
export function inductionPattern(tokens: readonly number[]): number[][] {
  const dup = duplicateTokenPattern(tokens);
  return dup.map((row, i) => row.map((_, j) => (j >= 1 && j <= i && dup[i]![j - 1] === 1 ? 1 : 0)));
}

function patternFor(kind: HeadName | number[][], tokens: readonly number[]): number[][] {
  if (kind === "previous_token_head") return previousTokenPattern(tokens.length);
  if (kind === "duplicate_token_head") return duplicateTokenPattern(tokens);
  if (kind === "induction_head") return inductionPattern(tokens);
  if (kind.length !== tokens.length || kind.some((r) => r.length !== tokens.length)) {
    throw new Error(`detectHead: the custom pattern is ${kind.length}×${kind[0]?.length ?? 0} but the prompt has ${tokens.length} tokens; give a [pos, pos] pattern`);
  }
  return kind;
}

/** Scores of every head of one layer `pattern [head, q, k]` against `det [q, k]` (TransformerLens semantics). */
function layerScores(pattern: tf.Tensor, det: tf.Tensor, opts: DetectHeadOptions): tf.Tensor {
  return tf.tidy(() => {
    const n = det.shape[0] as number;
    const keep = tf.tensor2d(
      Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => ((opts.excludeBos && j === 0) || (opts.excludeCurrentToken && i === j) ? 0 : 1))),
    );
    if ((opts.errorMeasure ?? "mul") === "mul") {
      const a = pattern.mul(keep);
      return a.mul(det).sum([1, 2]).div(a.sum([1, 2]));
    }
    return pattern.sub(det).abs().mul(keep).sum([1, 2]).div(n); // mean·n; rounded and subtracted from 1 by the caller
  });
}

function selectedHeads(model: HookedTransformer, heads: DetectHeadOptions["heads"]): boolean[][] {
  const { nLayers, nHeads } = model.cfg;
  const sel = Array.from({ length: nLayers }, () => new Array<boolean>(nHeads).fill(heads === undefined));
  if (heads === undefined) return sel;
  const pairs = Array.isArray(heads) ? (heads as ReadonlyArray<readonly [number, number]>) : Object.entries(heads).flatMap(([l, hs]) => (hs as number[]).map((h) => [Number(l), h] as const));
  for (const [l, h] of pairs) {
    if (!(l >= 0 && l < nLayers && h >= 0 && h < nHeads)) throw new Error(`detectHead: head [${l}, ${h}] does not exist (nLayers ${nLayers}, nHeads ${nHeads})`);
    sel[l]![h] = true;
  }
  return sel;
}

/**
 * How much each head behaves like `detectionPattern` on `prompts` (their mean): `[nLayers, nHeads]`, −1 for heads not
 * selected. Prompts are texts (tokenised with the model's BOS policy) or token-id lists; each is run on its own.
 * A custom pattern is a `[pos, pos]` array for prompts of that length.
 * @example
 * const scores = await detectHead(model, ["The cat sat on the mat. The cat sat on the mat."], "induction_head", { excludeBos: true });
 */
export async function detectHead(
  model: HookedTransformer,
  prompts: string | readonly string[] | readonly number[] | ReadonlyArray<readonly number[]>,
  detectionPattern: HeadName | number[][] | tf.Tensor,
  opts: DetectHeadOptions = {},
): Promise<tf.Tensor> {
  const { nLayers, nHeads } = model.cfg;
  const list: Array<string | readonly number[]> = typeof prompts === "string" ? [prompts] : typeof prompts[0] === "number" ? [prompts as readonly number[]] : [...(prompts as ReadonlyArray<string | readonly number[]>)];
  if (list.length === 0) throw new Error("detectHead needs at least one prompt");
  const custom = detectionPattern instanceof tf.Tensor ? ((await detectionPattern.array()) as number[][]) : detectionPattern;
  if (typeof custom !== "string" && custom.some((r, i) => r.some((v, j) => j > i && v !== 0))) {
    throw new Error("detectHead: the detection pattern must be lower triangular (a token cannot attend to later tokens)");
  }
  const sel = selectedHeads(model, opts.heads);
  const sums = new Float64Array(nLayers * nHeads);
  const names = Array.from({ length: nLayers }, (_, l) => `blocks.${l}.attn.hook_pattern`);
  for (const prompt of list) {
    let tokens: number[];
    if (typeof prompt === "string") {
      const t = model.toTokens(prompt, { prependBos: opts.prependBos });
      tokens = Array.from(await t.data());
      t.dispose();
    } else tokens = [...prompt];
    if (tokens.length < 2 || tokens.length > model.cfg.nCtx) throw new Error(`detectHead: a prompt has ${tokens.length} tokens; it needs 2..nCtx (${model.cfg.nCtx})`);
    const det = tf.tensor2d(patternFor(custom, tokens));
    const [logits, cache] = await model.runWithCache([tokens], { namesFilter: names });
    logits.dispose();
    try {
      for (let l = 0; l < nLayers; l++) {
        const s = tf.tidy(() => layerScores(cache.get(names[l]!).squeeze([0]), det, opts));
        const v = await s.data();
        s.dispose();
        for (let h = 0; h < nHeads; h++) {
          const score = opts.errorMeasure === "abs" ? 1 - Math.round(v[h]! * 1000) / 1000 : v[h]!;
          sums[l * nHeads + h] += score;
        }
      }
    } finally {
      cache.dispose();
      det.dispose();
    }
  }
  const out = new Float32Array(nLayers * nHeads);
  for (let i = 0; i < out.length; i++) out[i] = sel[Math.floor(i / nHeads)]![i % nHeads] ? sums[i]! / list.length : -1;
  return tf.tensor2d(out, [nLayers, nHeads]);
}

export interface InductionScores {
  /** `[nLayers, nHeads]`: mean attention from each repeated token to the token after its first occurrence. Caller owns it. */
  readonly scores: tf.Tensor;
  /** Per-token loss (nats) averaged over the batch, one per predicted position (length total − 1). */
  readonly lossPerToken: number[];
  /** Mean loss on the predictions of the first random half and of the repeated half. */
  readonly firstHalfLoss: number;
  readonly secondHalfLoss: number;
  /** The tokens used. */
  readonly tokens: number[][];
}

/**
 * Induction scores on repeated random tokens (ARENA 1.2): the mean of each pattern's diagonal at offset
 * `1 − seqLen` (over the batch and the diagonal), plus the per-token loss curve of the same run.
 * @example
 * const { scores, firstHalfLoss, secondHalfLoss } = await inductionScores(model, { seqLen: 50, batch: 10, seed: 0 });
 */
export async function inductionScores(model: HookedTransformer, opts: RepeatedTokensOptions = {}): Promise<InductionScores> {
  const seqLen = opts.seqLen ?? 50;
  const tokens = repeatedRandomTokens(model, { ...opts, seqLen });
  const { nLayers, nHeads } = model.cfg;
  const total = tokens[0]!.length;
  const offset = seqLen - 1; // key = query − (seqLen − 1)
  const diag = tf.tensor2d(Array.from({ length: total }, (_, i) => Array.from({ length: total }, (_, j) => (i - j === offset ? 1 : 0))));
  const names = Array.from({ length: nLayers }, (_, l) => `blocks.${l}.attn.hook_pattern`);
  const [loss, cache] = await model.runWithCache(tokens, { namesFilter: names, returnType: "loss", lossPerToken: true });
  try {
    const count = tokens.length * (total - offset);
    const scores = tf.tidy(() => tf.stack(names.map((n) => cache.get(n).mul(diag).sum([0, 2, 3]).div(count))).reshape([nLayers, nHeads]));
    const perToken = tf.tidy(() => loss.mean(0));
    const curve = Array.from(await perToken.data());
    perToken.dispose();
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // loss index i predicts token i + 1; the second copy's targets start at position b + seqLen (b = 1 with BOS)
    const b = total - 2 * seqLen;
    return {
      scores,
      lossPerToken: curve,
      firstHalfLoss: mean(curve.slice(Math.max(b - 1, 0), b + seqLen - 1)),
      secondHalfLoss: mean(curve.slice(b + seqLen - 1)),
      tokens,
    };
  } finally {
    loss.dispose();
    cache.dispose();
    diag.dispose();
  }
}
