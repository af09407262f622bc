/**
 * lens/training: how the bundled toy models (data/models) are trained, exported and measured. Not part of the main
 * entry (src/lens/index.ts), which keeps only the learner-facing IOI analysis and toy language the notebooks use.
 * @example
 * import { trainLanguageModel, initParams, AdamW } from "./src/lens/training/index";
 */
export { initParams, trainableWeights, toHfGpt2, hfGpt2Config } from "./params";
export { trainLanguageModel, nextTokenLoss } from "./trainer";
export { AdamW, warmupCosine } from "./adamw";
export { registerTrainingKernels } from "./kernels";
export { measureInduction, measureIoi } from "./evaluation";
export { ioiPatching } from "./ioiAnalysis";
export { ioiHeadScores, copyingScores, circuitMeanAblationHooks, ablatedHeadDla, hookedLogitDiff, type IoiHeadScores, type CircuitHead } from "./ioiCircuit";
export { classifyIoiHeads, circuitOf, nameMoversOrCandidates, IOI_CLASS_RULES, type IoiHeadClasses } from "./ioiCircuitCard";
export { corpusBatch, repeatedSpans, tinyLanguage, mixture, randomTokens } from "../data/corpora";
export { tinyTokenizerJson } from "../data/tinyTokenizer";
export { vocabulary } from "../data/vocab";
