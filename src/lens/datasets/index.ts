/** Datasets for the interpretability exercises: IOI prompts (with ABC corruption) and repeated random tokens. */
export { ioiDataset, IOI_NAMES, type IoiDataset, type IoiOptions, type IoiPrompts } from "./ioi";
export { repeatedRandomTokens, type RepeatedTokensOptions } from "./repeatedTokens";
export { makeRng, type Rng } from "./prng";
