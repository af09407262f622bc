/**
 * An indirect-object-identification dataset (Wang et al. 2022) for GPT-2-style tokenizers: prompts like
 * "When Mary and John went to the store, John gave the milk to" (answer " Mary"), with an ABC-corrupted counterpart
 * in which all three names are replaced by three other names (ARENA's `gen_flipped_prompts("ABB->XYZ, BAB->XYZ")`).
 * Names, places and objects must each be one token with a leading space, so every prompt of a batch has the same
 * token length; this is checked.
 */
import type { HookedTransformer } from "../hookedTransformer";
import type { LensTokenizer } from "../tokenizer";
import { makeRng } from "./prng";

/** Our own templates, all of the same token length when names, places and objects are single tokens. */
const TEMPLATES = [
  "When [A] and [B] went to the [PLACE], [B] gave the [OBJECT] to",
  "After [A] and [B] went to the [PLACE], [B] gave the [OBJECT] to",
  "While [A] and [B] were at the [PLACE], [B] handed the [OBJECT] to",
  "When [A] and [B] got to the [PLACE], [B] passed the [OBJECT] to",
] as const;

/**
 * Default first names (filtered to those that are one token with a leading space for the model's tokenizer).
 * @example ioiDataset(model, { names: IOI_NAMES.slice(0, 10) });
 */
export const IOI_NAMES = [
  "John", "Mary", "Tom", "James", "Dan", "Sid", "Martin", "Amy", "Alice", "Bob", "Sarah", "Michael", "David", "Emma",
  "Paul", "Lisa", "Mark", "Anna", "Kate", "Peter", "Jane", "Chris", "Laura", "Ryan", "Rachel", "Kevin", "Jessica",
  "Brian", "Andrew", "Ben", "Steve", "Matt", "Adam", "Eric", "Jack", "Helen", "Robert", "Richard", "William", "George",
] as const;
const PLACES = ["store", "market", "park", "school", "hospital", "station", "restaurant", "office", "garden", "beach", "house", "library"];
const OBJECTS = ["milk", "bag", "ball", "book", "ring", "drink", "bone", "computer", "necklace", "basketball", "snack", "gift", "letter", "key", "flower", "hat"];

export interface IoiOptions {
  /** Number of prompts (default 8). */
  readonly n?: number;
  /** PRNG seed (default 0). */
  readonly seed?: number;
  /** "ABBA": IO named first ("When Mary and John …, John … to" → Mary); "BABA": S first; "mixed" (default): half each. */
  readonly templates?: "ABBA" | "BABA" | "mixed";
  /** Names to draw from (each must be one token with a leading space); default IOI_NAMES. */
  readonly names?: readonly string[];
  /** Prepend BOS (default the model's cfg.defaultPrependBos). */
  readonly prependBos?: boolean;
}

/** Prompts with their tokens (all the same length). */
export interface IoiPrompts {
  readonly prompts: string[];
  /** `[n, pos]` token ids (BOS first when prepended). */
  readonly tokens: number[][];
}

export interface IoiDataset extends IoiPrompts {
  /** Token of " " + IO name per prompt (the correct answer). */
  readonly ioTokens: number[];
  /** Token of " " + S name per prompt (the repeated subject, the wrong answer). */
  readonly sTokens: number[];
  /** `[n, 2]` = [io, s] per prompt, for `logitDiff`. */
  readonly answerTokens: Array<[number, number]>;
  /** Positions (BOS counted) of the IO name, the first and second S, and the final token (" to"). */
  readonly ioPos: number[];
  readonly s1Pos: number[];
  readonly s2Pos: number[];
  readonly endPos: number[];
  /** "ABBA" or "BABA" per prompt. */
  readonly order: Array<"ABBA" | "BABA">;
  /** The ABC counterpart: same templates, places and objects, three fresh distinct names. */
  readonly abc: IoiPrompts;
}

function singleTokens(tok: LensTokenizer, words: readonly string[], what: string, strict: boolean): string[] {
  const ok = words.filter((w) => tok.encode(` ${w}`).length === 1);
  const bad = words.filter((w) => !ok.includes(w));
  if (strict && bad.length) throw new Error(`ioiDataset: these ${what} are not one token with a leading space for this tokenizer: ${bad.join(", ")}; choose others`);
  return ok;
}

function fill(template: string, slots: { first: string; second: string; s2: string; place: string; object: string }): string {
  return template.replace("[A]", slots.first).replace("[B]", slots.second).replace("[B]", slots.s2).replace("[PLACE]", slots.place).replace("[OBJECT]", slots.object);
}

/**
 * Builds an IOI dataset and its ABC-corrupted counterpart. Throws when the tokenizer splits a name/place/object or
 * when prompts would differ in token length.
 * @example
 * const ds = ioiDataset(model, { n: 8, seed: 1, templates: "mixed" });
 * const logits = await model.forward(ds.tokens);
 * const diff = logitDiff(logits, ds.answerTokens); // IO − S at the last position
 */
export function ioiDataset(model: HookedTransformer, opts: IoiOptions = {}): IoiDataset {
  const tok = model.tokenizer;
  if (tok === undefined) throw new Error("ioiDataset needs a model with a tokenizer (tokenizer.json in its folder)");
  const n = opts.n ?? 8;
  if (!Number.isInteger(n) || n < 1) throw new Error(`ioiDataset: n must be a positive integer, got ${n}`);
  const names = singleTokens(tok, opts.names ?? IOI_NAMES, "names", opts.names !== undefined);
  if (new Set(names).size < 5) throw new Error(`ioiDataset needs at least 5 distinct single-token names (IO, S and 3 for ABC), got ${names.length}`);
  const places = singleTokens(tok, PLACES, "places", false);
  const objects = singleTokens(tok, OBJECTS, "objects", false);
  if (!places.length || !objects.length) throw new Error("ioiDataset: the tokenizer splits every place or object word; it needs a GPT-2-style BPE tokenizer");
  const prependBos = opts.prependBos ?? model.cfg.defaultPrependBos;
  const kind = opts.templates ?? "mixed";
  const rng = makeRng(opts.seed ?? 0);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length)] as T;
  const distinct = (k: number, exclude: string[]): string[] => {
    const out: string[] = [];
    while (out.length < k) {
      const c = pick(names);
      if (!out.includes(c) && !exclude.includes(c)) out.push(c);
    }
    return out;
  };
  const prompts: string[] = [], abcPrompts: string[] = [], order: Array<"ABBA" | "BABA"> = [];
  const ioNames: string[] = [], sNames: string[] = [];
  for (let i = 0; i < n; i++) {
    const template = pick(TEMPLATES);
    const place = pick(places), object = pick(objects);
    const [io, s] = distinct(2, []) as [string, string];
    const o: "ABBA" | "BABA" = kind === "mixed" ? (i % 2 === 0 ? "ABBA" : "BABA") : kind;
    const [first, second] = o === "ABBA" ? [io, s] : [s, io];
    prompts.push(fill(template, { first, second, s2: s, place, object }));
    const [x, y, z] = distinct(3, [io, s]) as [string, string, string];
    abcPrompts.push(fill(template, { first: x, second: y, s2: z, place, object }));
    order.push(o);
    ioNames.push(io);
    sNames.push(s);
  }
  const encode = (p: string) => (prependBos ? [tok.bosTokenId, ...tok.encode(p)] : tok.encode(p));
  const tokens = prompts.map(encode);
  const abcTokens = abcPrompts.map(encode);
  const len = tokens[0]!.length;
  [...tokens, ...abcTokens].forEach((t, i) => {
    if (t.length !== len) {
      const p = i < n ? prompts[i] : abcPrompts[i - n];
      throw new Error(`ioiDataset: prompt "${p}" is ${t.length} tokens but the first is ${len}; every prompt of a batch must have the same token length (use single-token names)`);
    }
  });
  if (len > model.cfg.nCtx) throw new Error(`ioiDataset: prompts are ${len} tokens, longer than nCtx = ${model.cfg.nCtx}`);
  const ioTokens = ioNames.map((nm) => tok.encode(` ${nm}`)[0]!);
  const sTokens = sNames.map((nm) => tok.encode(` ${nm}`)[0]!);
  const ioPos = tokens.map((t, i) => t.indexOf(ioTokens[i]!));
  const s1Pos = tokens.map((t, i) => t.indexOf(sTokens[i]!));
  const s2Pos = tokens.map((t, i) => t.lastIndexOf(sTokens[i]!));
  return {
    prompts, tokens, ioTokens, sTokens, ioPos, s1Pos, s2Pos, order,
    answerTokens: ioTokens.map((io, i) => [io, sTokens[i]!]),
    endPos: tokens.map((t) => t.length - 1),
    abc: { prompts: abcPrompts, tokens: abcTokens },
  };
}
