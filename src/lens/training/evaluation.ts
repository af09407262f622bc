/**
 * Behaviour measurements of the bundled toy models, shared by training (periodic evaluation), the model cards and the
 * tests: induction on repeated random tokens, and IOI logit differences.
 */
import * as tf from "@tensorflow/tfjs";
import { detectHead, inductionScores } from "../analysis/headDetector";
import type { TransformerConfig } from "../config";
import { ioiDataset, type IoiOptions } from "../datasets/ioi";
import { HookedTransformer } from "../hookedTransformer";
import { processWeights } from "../loading/weightProcessing";
import type { LensTokenizer } from "../tokenizer";
import { HELD_OUT_PAIR_NAMES } from "../data/vocab";
import type { ParamSet } from "./params";

/** A `HookedTransformer` over copies of the current parameter values (the caller disposes it). */
export function modelFromParams(cfg: TransformerConfig, params: ParamSet, tokenizer?: LensTokenizer): HookedTransformer {
  return new HookedTransformer(cfg, new Map([...params].map(([k, v]) => [k, v.clone()])), tokenizer);
}

/**
 * A copy of `model` with TransformerLens's default weight processing (fold LayerNorm, centre writing weights and the
 * unembedding, fold value biases), as `fromPretrained` loads it: measurements that read weights or attribute through
 * the final LayerNorm (DLA, copying scores) then mean during training what they mean on the saved model. The caller
 * disposes it. Outputs are unchanged by the processing.
 */
export function processedCopy(model: HookedTransformer): HookedTransformer {
  const sd = new Map(model.paramNames().map((k) => [k, model.param(k).clone()] as [string, tf.Tensor]));
  const cfg = processWeights(sd, model.cfg, {});
  return new HookedTransformer(cfg, sd, model.tokenizer);
}

/** Induction measurements on `[BOS] r r` rows, r uniform over the non-special ids [low, dVocab). */
export interface InductionReport {
  readonly firstHalfLoss: number;
  readonly secondHalfLoss: number;
  /** secondHalfLoss / firstHalfLoss. */
  readonly lossRatio: number;
  /** Best layer-0 previous-token score (detect_head "mul") and its head. */
  readonly prevTokenScore: number;
  readonly prevTokenHead: number;
  /** Best layer-1 induction score (mean attention on the offset 1 − seqLen diagonal, ARENA/TransformerLens) and its head. */
  readonly inductionScore: number;
  readonly inductionHead: number;
  /** All scores `[layer][head]`. */
  readonly prevTokenScores: number[][];
  readonly inductionScores: number[][];
}

const argmax = (xs: number[]) => xs.reduce((best, x, i) => (x > xs[best]! ? i : best), 0);

/** Measures induction behaviour of `model` on `batch` repeated random sequences of `seqLen` tokens. */
export async function measureInduction(model: HookedTransformer, opts: { seqLen: number; batch: number; seed: number; low: number }): Promise<InductionReport> {
  const ind = await inductionScores(model, { seqLen: opts.seqLen, batch: opts.batch, seed: opts.seed, low: opts.low, prependBos: true, bosTokenId: 0 });
  const indArr = (await ind.scores.array()) as number[][];
  ind.scores.dispose();
  const prev = await detectHead(model, ind.tokens, "previous_token_head");
  const prevArr = (await prev.array()) as number[][];
  prev.dispose();
  const ph = argmax(prevArr[0]!), ih = argmax(indArr[1]!);
  return {
    firstHalfLoss: ind.firstHalfLoss, secondHalfLoss: ind.secondHalfLoss, lossRatio: ind.secondHalfLoss / ind.firstHalfLoss,
    prevTokenScore: prevArr[0]![ph]!, prevTokenHead: ph, inductionScore: indArr[1]![ih]!, inductionHead: ih,
    prevTokenScores: prevArr, inductionScores: indArr,
  };
}

/** IOI measurements (logit difference IO − S at the final position). */
export interface IoiReport {
  readonly meanLogitDiff: number;
  /** Fraction of prompts with logit(IO) > logit(S). */
  readonly accuracy: number;
  /** Fraction of prompts whose top prediction is the IO name. */
  readonly topIsIo: number;
  /** Mean logit difference (same IO/S tokens) on the ABC-corrupted prompts. */
  readonly abcMeanLogitDiff: number;
}

/** Logit differences (IO − S) at the last position, per prompt, and whether the argmax is IO. */
async function lastPositionDiffs(model: HookedTransformer, tokens: number[][], io: number[], s: number[]): Promise<{ diffs: number[]; top: boolean[] }> {
  const logits = await model.forward(tokens);
  const last = tf.tidy(() => logits.slice([0, logits.shape[1]! - 1, 0], [logits.shape[0]!, 1, logits.shape[2]!]).squeeze([1]));
  logits.dispose();
  const rows = (await last.array()) as number[][];
  last.dispose();
  return { diffs: rows.map((r, i) => r[io[i]!]! - r[s[i]!]!), top: rows.map((r, i) => argmax(r) === io[i]) };
}

/** Measures IOI on `ioiDataset(model, opts)`; names default to `HELD_OUT_PAIR_NAMES` (pairs never seen in training). */
export async function measureIoi(model: HookedTransformer, opts: IoiOptions): Promise<IoiReport> {
  const ds = ioiDataset(model, { names: HELD_OUT_PAIR_NAMES, ...opts });
  const clean = await lastPositionDiffs(model, ds.tokens, ds.ioTokens, ds.sTokens);
  const abc = await lastPositionDiffs(model, ds.abc.tokens, ds.ioTokens, ds.sTokens);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    meanLogitDiff: mean(clean.diffs),
    accuracy: mean(clean.diffs.map((d) => (d > 0 ? 1 : 0))),
    topIsIo: mean(clean.top.map((t) => (t ? 1 : 0))),
    abcMeanLogitDiff: mean(abc.diffs),
  };
}
