/** Analysis tools: head detectors and induction scores, the logit lens and direct logit attribution, circuits, testPrompt. */
export {
  detectHead, duplicateTokenPattern, inductionPattern, inductionScores, previousTokenPattern,
  type DetectHeadOptions, type HeadName, type InductionScores,
} from "./headDetector";
export { directLogitAttribution, logitLens, type Attribution, type AttributionOptions, type LensLayer, type LogitLensOptions } from "./logitLens";
export {
  allCompositionScores, compositionBaseline, compositionScore, eigenvalueCopyingScore, fullOVCircuit, fullQKCircuit, topKAccuracy,
} from "./circuits";
export { testPrompt, type AnswerTokenResult, type TestPromptOptions, type TestPromptResult, type TokenScore } from "./testPrompt";
