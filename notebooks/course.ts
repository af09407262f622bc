/**
 * Shared set-up for the course notebooks: which model a notebook loads, and why.
 * Order: $LENS_MODEL (any name `fromPretrained` accepts) → the bundled model when the test harness asks for it
 * ($LENS_COURSE_MODELS=bundled, set by `npm run test:notebooks`) → the real model the text is about when its weights are
 * in the Hugging Face cache → the notebook's bundled model, which needs no download.
 */
import { cachedSnapshot, type HookedTransformer } from "../src/lens/index";

/** The model a notebook should load and the reason, printed in its first cell. */
export interface ModelChoice {
  name: string;
  why: string;
  /** When a cached real model was picked automatically: how long the notebook takes on it here (measured). */
  expected?: string;
}

/** The course's notebooks, by their number. */
export type CourseNotebook = "01" | "02" | "03" | "04";

/**
 * Measured run time of each notebook on GPT-2 small's shape (a random checkpoint of the same shape, so the same
 * amount of work) with the wasm backend and OpenBLAS on a 2-core x86 VM (README, "Which model"); faster machines
 * take proportionally less.
 */
export const GPT2_SMALL_SECONDS: Record<CourseNotebook, number> = { "01": 93, "02": 948, "03": 386, "04": 123 };

/**
 * Picks a notebook's model.
 * @param bundled the bundled model (data/models) the notebook runs on offline, e.g. "toy-ioi"
 * @param real the model the text is about (default "gpt2"), used when it is already cached
 * @param env the environment to read (default process.env)
 */
export function chooseModel(bundled: string, real = "gpt2", env: NodeJS.ProcessEnv = process.env, notebook?: CourseNotebook): ModelChoice {
  const asked = env.LENS_MODEL;
  if (asked) return { name: asked, why: `LENS_MODEL=${asked} is set` };
  if (env.LENS_COURSE_MODELS === "bundled") return { name: bundled, why: "LENS_COURSE_MODELS=bundled (the notebook test harness) asks for the bundled model" };
  if (cachedSnapshot(real, "main", env)) {
    const secs = notebook && real === "gpt2" ? GPT2_SMALL_SECONDS[notebook] : undefined;
    const expected = secs === undefined ? undefined
      : `this notebook takes about ${secs < 120 ? `${secs} s` : `${Math.round(secs / 60)} minutes`} on GPT-2 small with a 2-core CPU (measured; a many-core machine or a GPU takes less). Set LENS_MODEL=${bundled} for the small bundled model (seconds)`;
    return { name: real, why: `${real} is in the Hugging Face cache, so it was picked automatically`, expected };
  }
  return { name: bundled, why: `${real} is not cached (run: npm run download -- ${real}), so the bundled ${bundled} is used` };
}

/**
 * Token ids a notebook treats as special (never as ordinary text): the tokenizer's BOS, EOS and PAD, and every added
 * token marked special in tokenizer.json (GPT-2: 50256 <|endoftext|>; Pythia: 0 <|endoftext|>, 1 <|padding|>, …;
 * the bundled toys: 0 <|endoftext|>, 1 [UNK]).
 */
export function specialTokenIds(model: HookedTransformer): number[] {
  const t = model.tokenizer;
  if (!t) return [];
  const ids = new Set<number>([t.bosTokenId, t.eosTokenId, t.padTokenId]);
  const added = (t.hf as unknown as { get_added_tokens_decoder?: () => Map<number, { special?: boolean }> }).get_added_tokens_decoder?.();
  for (const [id, tok] of added ?? []) if (tok.special) ids.add(Number(id));
  return [...ids].sort((a, b) => a - b);
}

/**
 * The range [low, high) of ordinary token ids for random tokens: past the special ids at the start of the vocabulary
 * and before those at its end, and within the tokenizer's vocabulary (a model's dVocab can be padded past it:
 * Pythia has 50304 embedding rows for ~50277 tokens, and the rows past the tokenizer are never trained).
 */
export function ordinaryTokenRange(model: HookedTransformer): { low: number; high: number } {
  const special = new Set(specialTokenIds(model));
  let low = 0;
  let high = Math.min(model.cfg.dVocab, model.tokenizer?.vocabSize ?? model.cfg.dVocab);
  while (low < high && special.has(low)) low++;
  while (high > low && special.has(high - 1)) high--;
  return { low, high };
}

/** An IOI prompt for this model: its answer (indirect object), subject, and whether it is natural English. */
export interface IoiExample {
  prompt: string;
  answer: string;
  subject: string;
  english: boolean;
}

/**
 * The IOI prompt a notebook uses: ARENA's English one ("After John and Mary went to the store, John gave a bottle of
 * milk to" → " Mary") when the model's tokenizer reads it as ordinary tokens with both names as single tokens (GPT-2,
 * Pythia, …), else the toy language's ("After Eric and Tom went to the station, Tom gave the bone to" → " Eric").
 * Decided from the tokenizer, not from the model's name or vocabulary size.
 */
export function ioiExample(model: HookedTransformer): IoiExample {
  const english = { prompt: "After John and Mary went to the store, John gave a bottle of milk to", answer: " Mary", subject: " John" };
  const toy = { prompt: "After Eric and Tom went to the station, Tom gave the bone to", answer: " Eric", subject: " Tom" };
  const t = model.tokenizer;
  if (!t) return { ...toy, english: false };
  const special = new Set(specialTokenIds(model));
  const ordinary = (s: string) => t.encode(s).every((id) => !special.has(id));
  const ok = ordinary(english.prompt) && t.encode(english.answer).length === 1 && t.encode(english.subject).length === 1;
  return ok ? { ...english, english: true } : { ...toy, english: false };
}

/** True when the model adds learned position embeddings (W_pos) to the residual stream; false for rotary models. */
export function hasPositionEmbeddings(model: HookedTransformer): boolean {
  return model.cfg.positionalEmbeddingType !== "rotary";
}
