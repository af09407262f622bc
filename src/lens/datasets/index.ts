/** Datasets: IOI prompts (with ABC corruption), repeated random tokens, and Hugging Face datasets (getDataset, tokenizeAndConcatenate). */
export { ioiDataset, IOI_NAMES, type IoiDataset, type IoiOptions, type IoiPrompts } from "./ioi";
export { repeatedRandomTokens, type RepeatedTokensOptions } from "./repeatedTokens";
export { makeRng, type Rng } from "./prng";
export { getDataset, resolveDatasetName, HubDataset, DATASET_ALIASES, type GetDatasetOptions, type RowRange } from "./hubDatasets";
export { tokenizeAndConcatenate, tokenizeAndConcatenateStream, type TokenizeAndConcatenateOptions, type TextRows } from "./tokenizeAndConcatenate";
export { openParquet, readParquetRows, type ParquetFile, type ParquetRowsOptions } from "./parquet";
export { documentTokens, packSequences, packedSequences, type DocumentSource } from "./documents";
