/**
 * Seeded, streamed training corpora for the bundled toy models. A corpus is a pure function of (seed, batch index):
 * batch `i` is the same on every run and machine, so a resumed run sees exactly the batches it would have seen.
 * (a) `repeatedSpans`: background text with random-token spans of random length, each copied to a random later
 *     position (copying is learnable, offsets are not memorisable).
 * (b) `tinyLanguage`: the small English-like language with IOI sentences (`tinyLanguage.ts`).
 * (d) `circuitLanguage`: the small language with IOI sentences of varying shape and length (`ioiLanguage.ts`).
 * (c) `mixture`: each row drawn from one of several corpora with given weights.
 */
import { makeRng, type Rng } from "../datasets/prng";
import { circuitLanguageTokens, type CircuitLanguageOptions } from "./ioiLanguage";
import { tinyLanguageTokens, type TinyLanguageOptions } from "./tinyLanguage";
import { SPECIAL_TOKENS, vocabulary } from "./vocab";

/** A source of training rows: `row(rng, length)` returns `length` token ids starting with BOS (id 0). */
export interface Corpus {
  readonly name: string;
  row(rng: Rng, length: number): number[];
}

/** Batch `index` of `corpus`: `batchSize` rows of `length` ids, a pure function of (seed, index). */
export function corpusBatch(corpus: Corpus, seed: number, index: number, batchSize: number, length: number): number[][] {
  const rng = makeRng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  return Array.from({ length: batchSize }, () => corpus.row(rng, length));
}

/** Corpus (b): the small language. */
export function tinyLanguage(opts: TinyLanguageOptions = {}): Corpus {
  return { name: "tinyLanguage", row: (rng, length) => tinyLanguageTokens(rng, length, opts) };
}

/** Corpus (d): the small language with varied IOI sentences (the `toy-ioi-circuit` data). */
export function circuitLanguage(opts: CircuitLanguageOptions = {}): Corpus {
  return { name: "circuitLanguage", row: (rng, length) => circuitLanguageTokens(rng, length, opts) };
}

/** Uniformly random non-special tokens after BOS (a background with no structure but the spans put into it). */
export function randomTokens(low = SPECIAL_TOKENS.length, high = vocabulary().length): Corpus {
  return { name: "randomTokens", row: (rng, length) => [0, ...Array.from({ length: length - 1 }, () => rng.int(low, high))] };
}

/** Options of `repeatedSpans`. */
export interface RepeatedSpansOptions {
  /** Text the spans are written into (default: the small language). */
  readonly background?: Corpus;
  /** Span length range, inclusive (default 4..40). */
  readonly minLen?: number;
  readonly maxLen?: number;
  /** Spans per row (default 1); each is copied once. Rows too short for a span keep the background. */
  readonly spans?: number;
  /** Random ids are uniform in [low, high) (default: the non-special vocabulary). */
  readonly low?: number;
  readonly high?: number;
}

/**
 * Corpus (a): background text in which a random-token span of random length is placed at a random position and
 * repeated at a random later position (the two copies do not overlap).
 */
export function repeatedSpans(opts: RepeatedSpansOptions = {}): Corpus {
  const background = opts.background ?? tinyLanguage();
  const minLen = opts.minLen ?? 4;
  const maxLen = opts.maxLen ?? 40;
  const low = opts.low ?? SPECIAL_TOKENS.length;
  const high = opts.high ?? vocabulary().length;
  if (!(Number.isInteger(minLen) && Number.isInteger(maxLen) && minLen >= 1 && minLen <= maxLen)) {
    throw new Error(`repeatedSpans: need integers 1 ≤ minLen ≤ maxLen, got ${minLen}..${maxLen}`);
  }
  if (!(low >= 0 && low < high)) throw new Error(`repeatedSpans: need 0 ≤ low < high, got [${low}, ${high})`);
  return {
    name: "repeatedSpans",
    row: (rng, length) => {
      const row = background.row(rng, length);
      for (let s = 0; s < (opts.spans ?? 1); s++) {
        const len = Math.min(rng.int(minLen, maxLen + 1), Math.floor((length - 1) / 2));
        if (len < 1) break;
        const span = Array.from({ length: len }, () => rng.int(low, high));
        const p1 = rng.int(1, length - 2 * len + 1);
        const p2 = rng.int(p1 + len, length - len + 1);
        for (let i = 0; i < len; i++) row[p1 + i] = row[p2 + i] = span[i]!;
      }
      return row;
    },
  };
}

/** Corpus (c): each row comes from `parts[k].corpus` with probability ∝ `parts[k].weight`. */
export function mixture(parts: ReadonlyArray<{ corpus: Corpus; weight: number }>): Corpus {
  const total = parts.reduce((a, p) => a + p.weight, 0);
  if (!(parts.length > 0 && parts.every((p) => p.weight >= 0) && total > 0)) throw new Error("mixture: give at least one corpus with a positive weight");
  return {
    name: `mixture(${parts.map((p) => `${p.corpus.name}:${p.weight}`).join(",")})`,
    row: (rng, length) => {
      let u = rng.next() * total;
      for (const p of parts) {
        u -= p.weight;
        if (u < 0) return p.corpus.row(rng, length);
      }
      return parts[parts.length - 1]!.corpus.row(rng, length);
    },
  };
}
