/** Activation patching, path patching, ablation and patching metrics (TransformerLens `patching` + ARENA helpers). */
export {
  genericActivationPatch, indexMask, patchAt, progressReporter,
  type AxisName, type GenericPatchOptions, type PatchRunOptions, type PatchSetter, type ProgressOptions,
} from "./generic";
export { metricValue, type PatchMetric } from "./metric";
export * from "./patchers";
export { DEFAULT_BATCH_BUDGET_BYTES, defaultBatchBudgetBytes, patchedRunBytes, sweepBatchCells, type SweepBatchOptions } from "./batched";
export { logitDiff, normalizedMetric, type AnswerTokens, type LogitDiffOptions } from "./metrics";
export { getPathPatchHeadToFinalResid, getPathPatchHeadToHeads, type HeadRef, type PathPatchInputs } from "./pathPatching";
export { activationAblationHooks, getAblationScores, headAblationHooks, type AblationMode } from "./ablation";
