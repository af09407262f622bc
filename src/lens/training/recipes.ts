/**
 * Recipes of the bundled toy models (data/models/<name>/): architecture, corpus, hyper-parameters, the evaluation run
 * during training and the acceptance criteria. `scripts/train.ts` runs them; the tests check the criteria on the
 * committed weights with fresh seeds.
 */
import type * as tf from "@tensorflow/tfjs";
import { resolveConfig, type TransformerConfig } from "../config";
import { circuitLanguage, repeatedSpans, tinyLanguage, type Corpus } from "../data/corpora";
import { circuitVocabulary } from "../data/ioiLanguage";
import { NAMES } from "../data/vocab";
import { weightedAnswerLoss } from "./answerLoss";
import { SPECIAL_TOKENS, vocabulary } from "../data/vocab";
import type { HookedTransformer } from "../hookedTransformer";
import { measureInduction, measureIoi, processedCopy } from "./evaluation";
import { nameMoverSelectivity } from "./ioiCircuitCard";

/** How to train one bundled model. */
export interface Recipe {
  readonly name: string;
  readonly summary: string;
  readonly cfg: TransformerConfig;
  /** The tokenizer's words in id order (specials first); `cfg.dVocab` of them. */
  readonly vocab: readonly string[];
  readonly corpus: Corpus;
  readonly corpusDescription: string;
  readonly seed: number;
  readonly batchSize: number;
  /** Row length in tokens (= nCtx). */
  readonly seqLen: number;
  /** Upper bound; training stops at the first evaluation that meets `criteria`. */
  readonly maxSteps: number;
  /**
   * Learning-rate schedule restarts: train with a warmup + cosine schedule over `stages[0]` steps, then resume (moments
   * kept) with a cosine over `stages[1]` total steps, … (default `[maxSteps]`).
   */
  readonly stages?: readonly number[];
  readonly lr: number;
  readonly warmupSteps: number;
  readonly weightDecay: number;
  readonly gradClip: number;
  readonly evalEvery: number;
  /** Measurements on a model (seeded: `seed` picks fresh prompts). */
  readonly evaluate: (model: HookedTransformer, seed: number) => Promise<Record<string, number>>;
  /** When training may stop (checked at each evaluation); default: every criterion holds. Use a margin here. */
  readonly stopWhen?: (m: Record<string, number>) => boolean;
  /** `stopWhen` in words, for the model card. */
  readonly stopRule?: string;
  /** The training loss (default: mean next-token cross-entropy) and its description for the model card. */
  readonly lossFn?: (logits: tf.Tensor, tokens: tf.Tensor2D) => tf.Scalar;
  readonly lossDescription?: string;
  /** Markdown appended to the model card (what was tried, what the measurements mean). */
  readonly notes?: string;
  /** Names and tests of the acceptance criteria. */
  readonly criteria: ReadonlyArray<{ readonly label: string; readonly ok: (m: Record<string, number>) => boolean }>;
}

const V = vocabulary().length;
const LOW = SPECIAL_TOKENS.length;

function config(name: string, over: { nLayers: number; dModel: number; nHeads: number; nCtx: number; attnOnly: boolean; dVocab?: number }): TransformerConfig {
  return resolveConfig({
    modelName: name, architecture: "gpt2", dMlp: 4 * over.dModel, dVocab: V, actFn: "gelu_new", eps: 1e-5,
    normalizationType: "LN", positionalEmbeddingType: "standard", rotaryBase: 10000, parallelAttnMlp: false, defaultPrependBos: true,
    ...over,
  });
}

/** Repeat length used to measure induction (2·25 + BOS = 51 ≤ nCtx 64). */
export const INDUCTION_SEQ_LEN = 25;

const toyAttn2l: Recipe = {
  name: "toy-attn-2l",
  summary: "2-layer attention-only transformer (LayerNorm, learned positions) that forms a previous-token head and induction heads",
  cfg: config("toy-attn-2l", { nLayers: 2, dModel: 128, nHeads: 4, nCtx: 64, attnOnly: true }),
  vocab: vocabulary(),
  corpus: repeatedSpans({ minLen: 4, maxLen: 24, spans: 2 }),
  corpusDescription:
    "corpus (a) `repeatedSpans({minLen: 4, maxLen: 24, spans: 2})`: rows of the small language (corpus b, 50% IOI " +
    "sentences) in which two spans of 4–24 uniformly random non-special tokens are each written at a random position and " +
    "repeated at a random later position (a later span may overwrite part of an earlier one). The language gives the " +
    "previous-token head a reason to form early; on purely random backgrounds (full or 64-word vocabulary, lr 3e-3 or " +
    "1e-2) nothing was learned in the first 1 000–1 750 steps",
  seed: 1,
  batchSize: 16,
  seqLen: 64,
  maxSteps: 6000,
  stages: [3000, 4500, 6000],
  lr: 3e-3,
  warmupSteps: 100,
  weightDecay: 0.01,
  gradClip: 1,
  evalEvery: 250,
  evaluate: async (model, seed) => {
    const r = await measureInduction(model, { seqLen: INDUCTION_SEQ_LEN, batch: 10, seed, low: LOW });
    return {
      firstHalfLoss: r.firstHalfLoss, secondHalfLoss: r.secondHalfLoss, lossRatio: r.lossRatio,
      prevTokenScore: r.prevTokenScore, prevTokenHead: r.prevTokenHead, inductionScore: r.inductionScore, inductionHead: r.inductionHead,
    };
  },
  // margin: at 4 500 steps the ratio was 0.17–0.22 over seeds 1–10
  stopWhen: (m) => m.lossRatio! <= 0.15 && m.prevTokenScore! >= 0.85 && m.inductionScore! >= 0.7,
  stopRule: "loss ratio ≤ 0.15, previous-token score ≥ 0.85 and induction score ≥ 0.7 (the criteria with a margin)",
  criteria: [
    { label: "second-repeat loss ≤ 20% of first", ok: (m) => m.lossRatio! <= 0.2 },
    { label: "layer-0 previous-token head score ≥ 0.8", ok: (m) => m.prevTokenScore! >= 0.8 },
    { label: "layer-1 induction head score ≥ 0.6", ok: (m) => m.inductionScore! >= 0.6 },
  ],
};

/** IOI behaviour on 200 fresh prompts of `seed` (unseen name pairs). */
async function ioiBehaviour(model: HookedTransformer, seed: number): Promise<Record<string, number>> {
  const r = await measureIoi(model, { n: 200, seed, templates: "mixed" });
  return { meanLogitDiff: r.meanLogitDiff, accuracy: r.accuracy, topIsIo: r.topIsIo, abcMeanLogitDiff: r.abcMeanLogitDiff };
}

/** The behaviour criteria of the IOI models. */
const IOI_CRITERIA: Recipe["criteria"] = [
  { label: "mean logit difference (IO − S) ≥ 2.0", ok: (m) => m.meanLogitDiff! >= 2 },
  { label: "accuracy ≥ 95%", ok: (m) => m.accuracy! >= 0.95 },
  { label: "|ABC logit difference| ≤ 0.5", ok: (m) => Math.abs(m.abcMeanLogitDiff!) <= 0.5 },
];

const toyIoi: Recipe = {
  name: "toy-ioi",
  summary: "3-layer GPT-2-style transformer (MLPs, LayerNorm) trained on the small language; solves IOI on unseen name pairs",
  cfg: config("toy-ioi", { nLayers: 3, dModel: 64, nHeads: 4, nCtx: 32, attnOnly: false }),
  vocab: vocabulary(),
  corpus: tinyLanguage({ ioiFraction: 0.5 }),
  corpusDescription:
    "corpus (b) `tinyLanguage({ioiFraction: 0.5})`: running text of the small language, half of the sentences IOI " +
    "sentences (8 templates, ABBA and BABA with equal probability; two names of the 40 `HELD_OUT_PAIR_NAMES` never " +
    "appear together in an IOI sentence, so every pair `ioiDataset` draws by default is unseen)",
  seed: 2,
  batchSize: 32,
  seqLen: 32,
  maxSteps: 3000,
  lr: 3e-3,
  warmupSteps: 100,
  weightDecay: 0.01,
  gradClip: 1,
  evalEvery: 250,
  evaluate: ioiBehaviour,
  criteria: IOI_CRITERIA,
};

const toyIoiCircuit: Recipe = {
  name: "toy-ioi-circuit",
  summary: "4-layer attention-only transformer (8 heads per layer, LayerNorm) trained on IOI sentences of varying shape; solves IOI on unseen name pairs with S-inhibition-like heads that write against S, duplicate-token heads and name-copying heads that prefer IO only 1.3–1.5× over S1 (no name movers by the 2× rule)",
  cfg: config("toy-ioi-circuit", { nLayers: 4, dModel: 64, nHeads: 8, nCtx: 48, attnOnly: true, dVocab: circuitVocabulary().length }),
  vocab: circuitVocabulary(),
  corpus: circuitLanguage({ ioiFraction: 0.8 }),
  corpusDescription:
    "corpus (d) `circuitLanguage({ioiFraction: 0.8})` (`src/lens/data/ioiLanguage.ts`): running text of the small language " +
    "in which 80% of the sentences are IOI sentences built from 14 openings that name A and B (adjacent or apart; ABBA and " +
    "BABA with equal probability), 0–2 name-free sentences after openings that end in \".\", 0–2 words before S2 and 14 " +
    "closings of 2–7 words between S2 and END (\"to\"); the other sentences are filler sentences with other names. So the " +
    "IOI sentence starts anywhere in the row, the distances A–B, B–S2 and S2–END vary, and other names stand before it. Two " +
    "names of the 40 `HELD_OUT_PAIR_NAMES` never appear together in an IOI sentence, so every pair `ioiDataset` draws by " +
    "default is unseen",
  seed: 3,
  batchSize: 32,
  seqLen: 48,
  lossFn: weightedAnswerLoss(circuitVocabulary().indexOf("to"), NAMES.map((n) => circuitVocabulary().indexOf(n)), 5),
  lossDescription: "next-token cross-entropy with weight 5 on the names that follow \"to\" (the IOI answers, and the random names of fillers like \"N said hello to M\"), weight 1 elsewhere (`weightedAnswerLoss`)",
  maxSteps: 3000,
  lr: 3e-3,
  warmupSteps: 100,
  weightDecay: 0.01,
  gradClip: 1,
  evalEvery: 250,
  evaluate: async (model, seed) => {
    const processed = model.cfg.normalizationType === "LN" ? processedCopy(model) : model; // training evaluates raw parameters
    const nm = await nameMoverSelectivity(processed, seed);
    if (processed !== model) processed.dispose();
    return { ...(await ioiBehaviour(model, seed)), ...nm };
  },
  stopWhen: (m) => m.meanLogitDiff! >= 4 && m.accuracy! >= 0.99 && Math.abs(m.abcMeanLogitDiff!) <= 0.3 && m.nameMoverIoOverS1! >= 2.5,
  stopRule: "mean logit difference ≥ 4, accuracy ≥ 99%, |ABC logit difference| ≤ 0.3 and a name mover (DLA ≥ 10% of the " +
    "logit difference, END → IO ≥ 0.2) attending END → IO ≥ 2.5× END → S1",
  criteria: [...IOI_CRITERIA, { label: "a name mover attends END → IO ≥ 2× END → S1", ok: (m) => m.nameMoverIoOverS1! >= 2 }],
};

/**
 * An attempt at name movers (not bundled): toy-ioi-circuit's recipe with half of the IOI sentences naming three people
 * and repeating the third before S2 (`distractorFraction: 0.5`), so that pushing down the name in the S2 slot alone no
 * longer answers; trained to `--out` a scratch folder and compared with toy-ioi-circuit on every card measure.
 * Tried once (`npm run train -- toy-ioi-circuit-distractors --out .tmp/exp/toy-ioi-circuit-distractors --max-steps 2000`,
 * 1231 s on 2 shared cores): no name movers either (the best IO-copying heads, L2H5 and L2H7 again, attend IO 1.3–1.4×
 * S1 on seeds 101–103), logit difference 9.8–10.5 (below toy-ioi-circuit's 14.5–15.9), ABC −1.29 / 0.07 / −0.52, no
 * induction head; stronger compensation when the candidates are ablated (10.25 → 9.82 against a naive 7.63 on seed
 * 101). Not better on every card measure, so not bundled.
 */
const toyIoiCircuitDistractors: Recipe = {
  ...toyIoiCircuit,
  name: "toy-ioi-circuit-distractors",
  summary: "experiment: toy-ioi-circuit's architecture trained with repeated distractor names (half of the IOI sentences name three people and repeat the third before S2)",
  cfg: config("toy-ioi-circuit-distractors", { nLayers: 4, dModel: 64, nHeads: 8, nCtx: 48, attnOnly: true, dVocab: circuitVocabulary().length }),
  corpus: circuitLanguage({ ioiFraction: 0.8, distractorFraction: 0.5 }),
  corpusDescription: toyIoiCircuit.corpusDescription + "; half of the IOI sentences instead name three people (THREE_NAME_OPENINGS) and " +
    "repeat the third in a clause before S2 (\"When A , B and C went to the PLACE , D smiled and S gave the OBJECT to IO\")",
  stages: undefined,
};

/** Every recipe by model name. */
export const RECIPES: Readonly<Record<string, Recipe>> = { "toy-attn-2l": toyAttn2l, "toy-ioi": toyIoi, "toy-ioi-circuit": toyIoiCircuit, "toy-ioi-circuit-distractors": toyIoiCircuitDistractors };
