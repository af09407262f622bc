/**
 * A small English-like language (corpus b): short sentences about people, places and objects, and the IOI sentences
 * of Wang et al. 2022 in both orders (ABBA: "When Mary and John went to the store, John gave a drink to Mary";
 * BABA: "When John and Mary went …, John gave a drink to Mary"). Sentences are built as word lists and mapped to ids
 * with `vocabIndex()`, which is exactly what the tokenizer of `tinyTokenizer.ts` produces for the joined text.
 * In IOI sentences, two names of `HELD_OUT_PAIR_NAMES` never meet, so every IOI pair drawn from that list (the
 * default names of `ioiDataset`) is unseen in training.
 */
import type { Rng } from "../datasets/prng";
import { HELD_OUT_PAIR_NAMES, NAMES, OBJECTS, PLACES, vocabIndex } from "./vocab";

/** IOI templates: `A` and `B` are the first two names, `S` the repeated subject; the answer (IO) follows "to". */
export const IOI_TEMPLATES = [
  "When A and B went to the PLACE , S gave the OBJECT to",
  "After A and B went to the PLACE , S gave the OBJECT to",
  "While A and B were at the PLACE , S handed the OBJECT to",
  "When A and B got to the PLACE , S passed the OBJECT to",
  "When A and B went to the PLACE , S gave a OBJECT to",
  "Then , A and B went to the PLACE . S gave a OBJECT to",
  "After A and B walked to the PLACE , S handed a OBJECT to",
  "While A and B sat in the PLACE , S passed a OBJECT to",
] as const;

const ADJECTIVES = ["big", "small", "red", "blue", "green", "old", "new", "nice"];
const STATES = ["open", "closed", "busy", "quiet"];
const WEATHER = ["sunny", "cold", "warm", "long", "nice"];
const MOODS = ["happy", "sad", "tired"];
const OPENERS = ["Then ,", "Later ,", "Yesterday", "Today"];
const PAST_ACTIONS = ["laughed", "smiled", "waited", "left"];

/** Filler templates: N and M are (different) names; the other capitals are word classes. */
const FILLER_TEMPLATES = [
  "N went to the PLACE .",
  "N bought a ADJ OBJECT at the PLACE .",
  "The PLACE was STATE .",
  "N and M played in the PLACE for hours .",
  "N saw M near the PLACE .",
  "It was a WEATHER day .",
  "N liked the OBJECT .",
  "N said hello to M .",
  "OPENER N ate a OBJECT .",
  "N was MOOD .",
  "N found a OBJECT under the OBJECT2 .",
  "OPENER N and M walked home .",
  "N lost the ADJ OBJECT in the PLACE .",
  "N ACTION .",
  "N met M at the PLACE in the morning .",
  "The OBJECT is on the OBJECT2 .",
] as const;

/** One IOI sentence as words, with its IO and S names. */
export interface IoiSentence {
  readonly words: string[];
  readonly io: string;
  readonly s: string;
  readonly order: "ABBA" | "BABA";
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(0, xs.length)] as T;
const HELD = new Set<string>(HELD_OUT_PAIR_NAMES);

/** Two distinct names, never both from `HELD_OUT_PAIR_NAMES`. */
export function trainingPair(rng: Rng): [string, string] {
  for (;;) {
    const a = pick(rng, NAMES);
    const b = pick(rng, NAMES);
    if (a !== b && !(HELD.has(a) && HELD.has(b))) return [a, b];
  }
}

/** An IOI sentence (prompt plus answer and "."), ABBA or BABA with equal probability. */
export function ioiSentence(rng: Rng): IoiSentence {
  const [io, s] = trainingPair(rng);
  const order = rng.next() < 0.5 ? "ABBA" : "BABA";
  const [a, b] = order === "ABBA" ? [io, s] : [s, io];
  const slots: Record<string, string> = { A: a, B: b, S: s, PLACE: pick(rng, PLACES), OBJECT: pick(rng, OBJECTS) };
  const words = pick(rng, IOI_TEMPLATES).split(" ").map((w) => slots[w] ?? w);
  return { words: [...words, io, "."], io, s, order };
}

/** A filler sentence as words. */
export function fillerSentence(rng: Rng): string[] {
  const n = pick(rng, NAMES);
  let m = pick(rng, NAMES);
  while (m === n) m = pick(rng, NAMES);
  const obj = pick(rng, OBJECTS);
  let obj2 = pick(rng, OBJECTS);
  while (obj2 === obj) obj2 = pick(rng, OBJECTS);
  const slots: Record<string, string> = {
    N: n, M: m, PLACE: pick(rng, PLACES), OBJECT: obj, OBJECT2: obj2, ADJ: pick(rng, ADJECTIVES), STATE: pick(rng, STATES),
    WEATHER: pick(rng, WEATHER), MOOD: pick(rng, MOODS), OPENER: pick(rng, OPENERS), ACTION: pick(rng, PAST_ACTIONS),
  };
  return pick(rng, FILLER_TEMPLATES).split(" ").flatMap((w) => (slots[w] ?? w).split(" "));
}

/** Options of `tinyLanguageTokens`. */
export interface TinyLanguageOptions {
  /** Probability that a sentence is an IOI sentence (default 0.5). */
  readonly ioiFraction?: number;
}

let index: Map<string, number> | undefined;

/** Word list → ids; throws naming a word that is not in the vocabulary. */
export function wordsToIds(words: readonly string[]): number[] {
  index ??= vocabIndex();
  return words.map((w) => {
    const id = index!.get(w);
    if (id === undefined) throw new Error(`tinyLanguage: "${w}" is not in the vocabulary; add it to src/lens/data/vocab.ts`);
    return id;
  });
}

/** `length` ids of running text: BOS (id 0), then whole sentences, cut at `length`. */
export function tinyLanguageTokens(rng: Rng, length: number, opts: TinyLanguageOptions = {}): number[] {
  const p = opts.ioiFraction ?? 0.5;
  const out = [0];
  while (out.length < length) out.push(...wordsToIds(rng.next() < p ? ioiSentence(rng).words : fillerSentence(rng)));
  return out.slice(0, length);
}
