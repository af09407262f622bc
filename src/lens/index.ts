/**
 * lens: mechanistic interpretability on TensorFlow.js. The one public entry point.
 * @example
 * import { tf, HookedTransformer } from "./src/lens/index";
 * const model = await HookedTransformer.fromPretrained("path/to/gpt2");
 * const [logits, cache] = await model.runWithCache("Hello world", { namesFilter: (n) => n.endsWith("hook_pattern") });
 */
import * as tf from "@tensorflow/tfjs";

// 1. tfjs itself (the same instance the library uses) and backends
export { tf };
export { backendInfo, ensureBackend, setBackend, WASM_HEAP_BYTES, type BackendInfo, type BackendName, type MemoryNeed } from "./backend";
export { loadBlas as blasStatus, setBlasThreads, type BlasStatus } from "./accel/blas";
export type { MatmulInfo } from "./accel/accelerate";
export { wasmThreadsInfo, wasmThreadsRequest, type WasmThreadsInfo } from "./accel/wasmThreads";

// 2. models
export { HookedTransformer, type ForwardOptions, type ForwardResult, type NamesFilter, type ReturnKind } from "./hookedTransformer";
export { resolveConfig, type ActFn, type TransformerConfig } from "./config";
export { memoryNeedOf, type FromPretrainedOptions } from "./loading/fromPretrained";
export { estimateRunWithCacheBytes, weightBytesOf, type RunWithCacheEstimate } from "./loading/memory";
export type { ModelInput } from "./inputs";
export { ARCHITECTURES } from "./architectures/index";
export type { Architecture } from "./architectures/types";
export { processWeights, foldLayerNorm, centerWritingWeights, centerUnembed, foldValueBiases, type ProcessingOptions } from "./loading/weightProcessing";
export { readSafetensors, writeSafetensors, type RawTensor } from "./loading/safetensors";
export { bundledTokenizerFolder, cachedSnapshot, hfHubCache } from "./loading/modelFolder";
export { resolveModelName, KNOWN_MODELS, PYTHIA_CHECKPOINTS } from "./loading/hub/names";
export { resolvePretrained, downloadSnapshot, type HubOptions } from "./loading/hub/resolve";
export { datasetFiles, splitFiles, PARQUET_REVISION, type DatasetFiles, type DatasetFilesOptions } from "./loading/hub/datasets";
export { readPytorchBin } from "./loading/pytorchBin";

// 3. hooks and cache
export { getActName, canonicalHookOrder, type HookName } from "./hookNames";
export type { HookFn, HookContext, FwdHooks, HookTarget } from "./hookPoint";
export { ActivationCache } from "./activationCache";

// 4. tokenizer
export { LensTokenizer } from "./tokenizer";

// 5. weights and circuits
export { FactoredMatrix } from "./factoredMatrix";

// 6. interpretability toolkit: patching, head detectors, logit lens and attribution, circuits, datasets, generation
export * from "./patching/index";
export * from "./analysis/index";
export * from "./datasets/index";
export { generate, sampleLogits, type GenerateOptions, type SamplingOptions } from "./generate";

// 7. what the course's notebooks use of the bundled toy models: the IOI head analysis of notebook 02 (head scores,
// the circuit's classes, mean ablation of a circuit) and the toy language of notebook 04 (corpusBatch, tinyLanguage,
// vocabulary) are learner-facing tools like the patching functions above. How the toy models are trained and
// measured (trainLanguageModel, AdamW, initParams, registerTrainingKernels, measureIoi, ioiPatching, …) is
// "./training/index", an entry of its own.
export { ioiHeadScores, copyingScores, circuitMeanAblationHooks, type IoiHeadScores, type CircuitHead } from "./training/ioiCircuit";
export { classifyIoiHeads, IOI_CLASS_RULES, type IoiHeadClasses } from "./training/ioiCircuitCard";
export { corpusBatch, tinyLanguage } from "./data/corpora";
export { vocabulary } from "./data/vocab";

// 8. sparse autoencoders (SAELens-compatible) and toy models of superposition
export * from "./sae/index";
export * from "./toy/index";

// 9. visualisation: plotly figures, notebook display, HTML viewers, saving
export {
  imshow, line, scatter, bar, histogram, show, displayBundle, inNotebook, resendPlotly,
  attentionHeads, attentionPattern, coloredTokens, coloredTokensMulti, topkTokens,
  saveHtml, savePng, pageHtml, figureHtml, tokenLabels, findChromium,
  type PlotlyFigure, type PlotlyTrace, type HtmlView, type Values, type DisplayBundle, type ImshowOptions,
  type LineOptions, type ScatterOptions, type BarOptions, type HistogramOptions, type AttentionHeadsOptions,
  type ColoredTokensOptions, type ColoredTokensMultiOptions, type TopkOptions, type SavePngOptions,
} from "./viz/index";
