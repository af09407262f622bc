/** Sparse autoencoders (SAELens-compatible): architectures, format, trainer, metrics, activation store, splicing. */
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
export { runWithSaes, saeHook, steeringHook, spliceMetrics, type LatentEdit, type SpliceMetrics } from "./splice";
export { jumpRelu, jumpStep, topkRelu, heaviside, stopGradient } from "./ops";
export { loadPretrainedSae, SAE_RELEASES, type SaeRelease } from "./pretrained";
