/**
 * Corpus (d) of the bundled `toy-ioi-circuit` model: the small language (`tinyLanguage.ts`) with IOI sentences built so
 * that neither the position nor the shape of the sentence gives the answer away. Each IOI sentence is an opening clause
 * that names A and B (adjacent or apart, ABBA or BABA), optionally followed by name-free sentences, then a closing
 * clause in which S is repeated after a varying number of words and the object is given "to" IO after a varying number
 * of words more. Sentences run on in rows of filler text with other names, so the IOI sentence starts anywhere, the
 * number of tokens between A, B, S2 and END varies, and names other than A and B are in the context.
 * Two names of `HELD_OUT_PAIR_NAMES` never meet in an IOI sentence, so every pair `ioiDataset` draws by default is unseen.
 */
import type { Rng } from "../datasets/prng";
import { fillerSentence, trainingPair } from "./tinyLanguage";
import { HELD_OUT_PAIR_NAMES, NAMES, OBJECTS, PLACES, vocabulary } from "./vocab";

/** Words this corpus adds after `vocabulary()` (so the ids of the small language are unchanged). */
export const CIRCUIT_EXTRA_WORDS = ["who", "it", "later", "took", "also", "soon"] as const;

/** The vocabulary of `toy-ioi-circuit`: `vocabulary()` then `CIRCUIT_EXTRA_WORDS`. */
export function circuitVocabulary(): string[] {
  return [...vocabulary(), ...CIRCUIT_EXTRA_WORDS];
}

/** Opening clauses naming A and B; the last word is "," (the closing clause follows) or "." (a new sentence follows). */
export const OPENINGS = [
  "When A and B went to the PLACE ,",
  "After A and B went to the PLACE ,",
  "While A and B were at the PLACE ,",
  "When A and B got to the PLACE ,",
  "After A and B walked to the PLACE ,",
  "While A and B sat in the PLACE ,",
  "When A met B at the PLACE ,",
  "After A saw B near the PLACE ,",
  "When A went to the PLACE with B ,",
  "Then , A and B went to the PLACE .",
  "A and B went to the PLACE .",
  "Yesterday A and B met at the PLACE .",
  "A met B at the PLACE in the morning .",
  "Today A and B played in the PLACE for hours .",
] as const;

/** Name-free sentences that may stand between an opening that ends in "." and the closing clause. */
const BETWEEN = [
  "It was a WEATHER day .", "The PLACE was STATE .", "The OBJECT is on the OBJECT2 .", "It was raining .",
  "It was very WEATHER .", "The OBJECT was ADJ .",
] as const;

/** Words before S in the closing clause: after "," (lower case) and after "." (sentence start). */
const BEFORE_S_COMMA = ["", "", "", "then", "later ,", "soon"] as const;
const BEFORE_S_STOP = ["", "", "", "Then", "Later ,", "Today"] as const;

/** The rest of the closing clause after S, ending in "to" (END). */
export const CLOSINGS = [
  "gave the OBJECT to", "gave a OBJECT to", "handed the OBJECT to", "passed the OBJECT to", "handed a OBJECT to",
  "then gave the OBJECT to", "also gave a OBJECT to", ", who was MOOD , gave the OBJECT to", "bought a OBJECT and gave it to",
  "found the OBJECT and handed it to", "smiled and gave a OBJECT to", "took the ADJ OBJECT and passed it to",
  "said hello and gave the OBJECT to", "was MOOD and gave a OBJECT to",
] as const;

const ADJ = ["big", "small", "red", "blue", "green", "old", "new", "nice"];
const WEATHER = ["sunny", "cold", "warm", "nice"];
const STATES = ["open", "closed", "busy", "quiet"];
const MOODS = ["happy", "sad", "tired"];
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(0, xs.length)] as T;

/** Openings naming three people (A, B, C) for the repeated-distractor sentences of `circuitIoiSentence`. */
export const THREE_NAME_OPENINGS = [
  "When A , B and C went to the PLACE ,", "After A , B and C went to the PLACE ,", "While A , B and C were at the PLACE ,",
  "When A met B and C at the PLACE ,",
] as const;

/** Clauses in which the distractor D is repeated before S2 ("..., D smiled and S gave the bone to IO"). */
const DISTRACTOR_CLAUSES = ["D smiled and", "D was MOOD and", "D laughed and", "D left and"] as const;

/** One IOI sentence of corpus (d) as words (the prompt, then IO and "."), with its names and order. */
export interface CircuitIoiSentence {
  readonly words: string[];
  readonly io: string;
  readonly s: string;
  readonly order: "ABBA" | "BABA";
}

/** Fills the word-class slots of a template (names are filled by the caller). */
function fillSlots(rng: Rng, template: string, names: Record<string, string>): string[] {
  const obj = pick(rng, OBJECTS);
  let obj2 = pick(rng, OBJECTS);
  while (obj2 === obj) obj2 = pick(rng, OBJECTS);
  const slots: Record<string, string> = {
    ...names, PLACE: pick(rng, PLACES), OBJECT: obj, OBJECT2: obj2, ADJ: pick(rng, ADJ), WEATHER: pick(rng, WEATHER),
    STATE: pick(rng, STATES), MOOD: pick(rng, MOODS),
  };
  return template.split(" ").flatMap((w) => (slots[w] ?? w).split(" ")).filter((w) => w.length > 0);
}

/**
 * An IOI sentence: opening (A, B), 0–2 name-free sentences if the opening ends in ".", closing clause with S2, IO.
 * With probability `distractorFraction` (default 0) it names three people instead and repeats the third, D, in a clause
 * before S2 ("When A, B and C went to the PLACE, D smiled and S gave the OBJECT to IO"), so that pushing down the name
 * in the S2 slot is not enough: IO is the only name of the opening that is not repeated.
 */
export function circuitIoiSentence(rng: Rng, distractorFraction = 0): CircuitIoiSentence {
  const [io, s] = trainingPair(rng);
  if (distractorFraction > 0 && rng.next() < distractorFraction) {
    let d = pick(rng, NAMES);
    while (d === io || d === s || HELD.has(d)) d = pick(rng, NAMES);
    const order = rng.next() < 0.5 ? "ABBA" : "BABA";
    const abc = order === "ABBA" ? [io, s] : [s, io];
    abc.splice(rng.int(0, 3), 0, d); // the distractor anywhere among the three
    const words = fillSlots(rng, pick(rng, THREE_NAME_OPENINGS), { A: abc[0]!, B: abc[1]!, C: abc[2]! });
    words.push(...fillSlots(rng, pick(rng, DISTRACTOR_CLAUSES), { D: d }), s);
    words.push(...fillSlots(rng, pick(rng, CLOSINGS), {}), io, ".");
    return { words, io, s, order };
  }
  const order = rng.next() < 0.5 ? "ABBA" : "BABA";
  const [a, b] = order === "ABBA" ? [io, s] : [s, io];
  const opening = fillSlots(rng, pick(rng, OPENINGS), { A: a, B: b });
  const words = [...opening];
  const stop = opening[opening.length - 1] === ".";
  if (stop) for (let k = rng.int(0, 3); k > 0; k--) words.push(...fillSlots(rng, pick(rng, BETWEEN), {}));
  words.push(...fillSlots(rng, pick(rng, stop ? BEFORE_S_STOP : BEFORE_S_COMMA), {}), s);
  words.push(...fillSlots(rng, pick(rng, CLOSINGS), {}), io, ".");
  return { words, io, s, order };
}

const HELD = new Set<string>(HELD_OUT_PAIR_NAMES);

let index: Map<string, number> | undefined;

/** Words → ids of `circuitVocabulary()`; throws naming a word that is not in it. */
export function circuitWordsToIds(words: readonly string[]): number[] {
  index ??= new Map(circuitVocabulary().map((w, i) => [w, i]));
  return words.map((w) => {
    const id = index!.get(w);
    if (id === undefined) throw new Error(`ioiLanguage: "${w}" is not in the vocabulary; add it to CIRCUIT_EXTRA_WORDS in src/lens/data/ioiLanguage.ts`);
    return id;
  });
}

/** Options of `circuitLanguageTokens`. */
export interface CircuitLanguageOptions {
  /** Probability that a sentence is an IOI sentence (default 0.5); the others are filler sentences with other names. */
  readonly ioiFraction?: number;
  /** Probability that an IOI sentence has a repeated distractor (`circuitIoiSentence`; default 0). */
  readonly distractorFraction?: number;
}

/** `length` ids of running text: BOS (id 0), then whole sentences, cut at `length`. */
export function circuitLanguageTokens(rng: Rng, length: number, opts: CircuitLanguageOptions = {}): number[] {
  const p = opts.ioiFraction ?? 0.5;
  const out = [0];
  while (out.length < length) out.push(...circuitWordsToIds(rng.next() < p ? circuitIoiSentence(rng, opts.distractorFraction).words : fillerSentence(rng)));
  return out.slice(0, length);
}
