/**
 * Text generation (TransformerLens `HookedTransformer.generate`), with seeded sampling. There is no KV cache: every
 * step re-runs the whole prefix (O(n²) in the number of tokens), which is simple and exact but slower for long
 * outputs. Hooks attached with `model.addHook` / `withHooks` apply at every step.
 */
import * as tf from "@tensorflow/tfjs";
import { makeRng, type Rng } from "./datasets/prng";
import type { TransformerConfig } from "./config";
import type { LensTokenizer } from "./tokenizer";

/**
 * What generation needs of a model (HookedTransformer is one): its config, its tokenizer for text, and a forward on
 * token rows with an optional attention mask. Narrow so that hookedTransformer.ts can import this file without a cycle.
 */
export interface GenerationModel {
  readonly cfg: TransformerConfig;
  readonly tokenizer?: LensTokenizer;
  forward(tokens: number[][], opts: { attentionMask?: number[][] }): Promise<tf.Tensor>;
}

export interface SamplingOptions {
  /** Divide logits by this before sampling; 0 means greedy (argmax). Default 1. */
  readonly temperature?: number;
  /** Keep only the k most likely tokens. */
  readonly topK?: number;
  /** Nucleus sampling: keep the most likely tokens whose cumulative probability first reaches p. */
  readonly topP?: number;
  /** Subtract freqPenalty × (times the token already appears in the sequence) from its logit. Default 0. */
  readonly freqPenalty?: number;
}

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to add (default 10). */
  readonly maxNewTokens?: number;
  /** Sample (default true, as TransformerLens); false = greedy. */
  readonly doSample?: boolean;
  /** Stop a row at EOS; finished rows are padded with EOS until all are done (default true). */
  readonly stopAtEos?: boolean;
  /** EOS id (default the tokenizer's). */
  readonly eosTokenId?: number;
  /** PRNG seed for sampling (default: a random seed). */
  readonly seed?: number;
  /** Prepend BOS to text input (default the model's). */
  readonly prependBos?: boolean;
  /** "input" (default): text in → text out, tokens in → tokens out; "str": always text; "tokens": always ids. */
  readonly returnType?: "input" | "str" | "tokens";
}

/**
 * Picks the next token from one row of logits (TransformerLens `sample_logits`): greedy when temperature is 0,
 * else temperature → frequency penalty → top-k → top-p → a draw from the softmax with `rng`.
 * @example
 * const id = sampleLogits(Float32Array.from([0.1, 2, 0.3]), { temperature: 0 }, makeRng(0)); // 1
 */
export function sampleLogits(logits: ArrayLike<number>, opts: SamplingOptions, rng: Rng, previous: readonly number[] = []): number {
  const temperature = opts.temperature ?? 1;
  if (!(temperature >= 0)) throw new Error(`temperature must be ≥ 0, got ${temperature}`);
  const n = logits.length;
  const l = Float64Array.from(logits);
  if (opts.freqPenalty) for (const t of previous) l[t] = l[t]! - opts.freqPenalty;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < n; i++) if (l[i]! > l[best]!) best = i;
    return best;
  }
  for (let i = 0; i < n; i++) l[i] = l[i]! / temperature;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => l[b]! - l[a]!);
  let keep = n;
  if (opts.topK !== undefined) {
    if (!(Number.isInteger(opts.topK) && opts.topK >= 1)) throw new Error(`topK must be a positive integer, got ${opts.topK}`);
    const kth = l[order[Math.min(opts.topK, n) - 1]!]!;
    keep = order.findIndex((i) => l[i]! < kth);
    if (keep < 0) keep = n;
  }
  const max = l[order[0]!]!;
  const weights = order.slice(0, keep).map((i) => Math.exp(l[i]! - max));
  if (opts.topP !== undefined) {
    if (!(opts.topP > 0 && opts.topP <= 1)) throw new Error(`topP must be in (0, 1], got ${opts.topP}`);
    const total = weights.reduce((a, b) => a + b, 0);
    let cum = 0;
    let cut = weights.length;
    for (let j = 0; j < weights.length; j++) {
      cum += weights[j]! / total;
      if (cum >= opts.topP) {
        cut = j + 1; // keep the token that crosses p
        break;
      }
    }
    weights.length = cut;
  }
  const total = weights.reduce((a, b) => a + b, 0);
  let u = rng.next() * total;
  for (let j = 0; j < weights.length; j++) {
    u -= weights[j]!;
    if (u < 0) return order[j]!;
  }
  return order[weights.length - 1]!;
}

async function lastLogits(model: GenerationModel, rows: number[][], mask: number[][] | undefined): Promise<Float32Array> {
  const logits = await model.forward(rows, mask ? { attentionMask: mask } : {});
  const last = tf.tidy(() => logits.slice([0, logits.shape[1]! - 1, 0], [-1, 1, -1]));
  logits.dispose();
  const data = (await last.data()) as Float32Array;
  last.dispose();
  return data;
}

/**
 * Generates up to `maxNewTokens` tokens after `input` (text, a list of texts — left-padded, with an attention mask —,
 * token ids or an int tensor). Temperature 0 or `doSample: false` is greedy; sampling is reproducible with `seed`.
 * @example
 * const text = await generate(model, "The capital of France is", { maxNewTokens: 5, temperature: 0 });
 * const ids = await generate(model, [[464, 3139]], { maxNewTokens: 3, seed: 1, topK: 40 }); // number[][]
 */
export async function generate(
  model: GenerationModel,
  input: string | readonly string[] | readonly number[] | ReadonlyArray<readonly number[]> | tf.Tensor,
  opts: GenerateOptions = {},
): Promise<string | string[] | number[][]> {
  const tok = model.tokenizer;
  const textIn = typeof input === "string" || (Array.isArray(input) && typeof input[0] === "string");
  const prependBos = opts.prependBos ?? model.cfg.defaultPrependBos;
  let rows: number[][];
  let mask: number[][] | undefined;
  let prefix: number[]; // tokens not to decode (left pads and BOS) per row
  if (textIn) {
    if (tok === undefined) throw new Error("generate: text input needs a model with a tokenizer; pass token ids instead");
    const texts = typeof input === "string" ? [input] : [...(input as readonly string[])];
    const ids = texts.map((t) => [...(prependBos ? [tok.bosTokenId] : []), ...tok.encode(t)]);
    const width = Math.max(...ids.map((r) => r.length));
    rows = ids.map((r) => [...new Array<number>(width - r.length).fill(tok.padTokenId), ...r]);
    if (ids.some((r) => r.length !== width)) mask = ids.map((r) => [...new Array<number>(width - r.length).fill(0), ...new Array<number>(r.length).fill(1)]);
    prefix = ids.map((r) => width - r.length + (prependBos ? 1 : 0));
  } else {
    const arr = input instanceof tf.Tensor ? ((await input.array()) as number[] | number[][]) : (input as readonly number[] | ReadonlyArray<readonly number[]>);
    rows = (typeof arr[0] === "number" ? [arr as readonly number[]] : (arr as ReadonlyArray<readonly number[]>)).map((r) => [...r]);
    prefix = rows.map(() => 0);
  }
  const maxNew = opts.maxNewTokens ?? 10;
  if (!(Number.isInteger(maxNew) && maxNew >= 0)) throw new Error(`maxNewTokens must be a non-negative integer, got ${maxNew}`);
  if (rows[0]!.length + maxNew > model.cfg.nCtx) {
    throw new Error(`generate: ${rows[0]!.length} input tokens + ${maxNew} new exceed the context nCtx = ${model.cfg.nCtx}; lower maxNewTokens`);
  }
  const eos = opts.eosTokenId ?? tok?.eosTokenId;
  const stopAtEos = (opts.stopAtEos ?? true) && eos !== undefined;
  const sampling: SamplingOptions = opts.doSample === false ? { temperature: 0 } : opts;
  const rng = makeRng(opts.seed ?? Math.floor(Math.random() * 2 ** 32));
  const finished = rows.map(() => false);
  for (let step = 0; step < maxNew && !finished.every(Boolean); step++) {
    const logits = await lastLogits(model, rows, mask);
    const vocab = logits.length / rows.length;
    rows.forEach((row, b) => {
      const next = finished[b] ? (eos as number) : sampleLogits(logits.subarray(b * vocab, (b + 1) * vocab), sampling, rng, row);
      row.push(next);
      if (stopAtEos && next === eos) finished[b] = true;
    });
    mask?.forEach((m) => m.push(1));
  }
  const kind = opts.returnType ?? "input";
  if (kind === "tokens" || (kind === "input" && !textIn)) return rows;
  if (tok === undefined) throw new Error('generate: returnType "str" needs a model with a tokenizer');
  const texts = rows.map((r, b) => tok.decode(r.slice(prefix[b])));
  return typeof input === "string" || (!textIn && rows.length === 1) ? texts[0]! : texts;
}
