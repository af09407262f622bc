/** Sparse autoencoders (SAELens-compatible): architectures, format, trainer, metrics, activation store, splicing
 * with SAE hook points, feature dashboards, geometric-median init. (The building blocks of an architecture's
 * encoder — `preActivations` / `activate` in saeHooks.ts, `heaviside` / `stopGradient` in ops.ts — are imported from
 * those files by whoever writes a new architecture; they are not part of the top-level API.) */
export { SparseAutoencoder, type SparseAutoencoderOptions } from "./sae";
export { parseSaeConfig, saeConfigToJson, type SaeConfig, type SaeArchitectureName } from "./config";
export { getSaeArchitecture, registerSaeArchitecture } from "./registry";
export type { SaeArchitecture, SaeParams, SaeTrainContext, SaeTrainOutput } from "./types";
export { loadSae, saveSae, loadSaeSparsity } from "./io";
export { trainSae, saeLrFactor, type TrainSaeOptions, type SaeTrainProgress, type SaeTrainReport } from "./trainer";
export { resampleDeadLatents, type ResampleOptions } from "./resample";
export { MatrixSource, type ActivationSource } from "./source";
export { ActivationStore, type ActivationStoreOptions } from "./activationStore";
export { reconstructionMetrics, densityStats, evaluateSae, meanMaxCosineSimilarity, type ReconstructionMetrics, type DensityStats } from "./metrics";
export { runWithSaes, runWithCacheWithSaes, saeHook, steeringHook, spliceMetrics, type LatentEdit, type SpliceMetrics, type RunWithSaesOptions } from "./splice";
export { SAE_HOOK_POINTS, saeHookNames, splicedSaeHook, type SaeHookPoint, type SplicedSaeHookOptions, type SaeCacheSink } from "./saeHooks";
export { jumpRelu, jumpStep, topkRelu } from "./ops";
export { geometricMedian, type GeometricMedianOptions, type GeometricMedianResult } from "./geometricMedian";
export { loadPretrainedSae, SAE_RELEASES, type SaeRelease } from "./pretrained";
export { featureStats, type FeatureStats, type FeatureStatsOptions, type FeatureContext, type LogitWeight } from "./featureStats";
export { featureDashboard, featureDashboards, dashboardHtml, type FeatureDashboardOptions } from "./dashboard";
