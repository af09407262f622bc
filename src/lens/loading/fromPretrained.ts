/**
 * Orchestrates loading: folder (or cached snapshot) → config.json → architecture → TL state dict (every shape
 * checked, every checkpoint key accounted for) → weight processing → tokenizer.
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { architectureFor } from "../architectures";
import { checkStateDict, CheckpointReader } from "../architectures/convert";
import type { StateDict } from "../components/weights";
import { resolveConfig, type TransformerConfig } from "../config";
import { LensTokenizer } from "../tokenizer";
import { readFolderWeights, readJson, resolveModelFolder } from "./modelFolder";
import { processWeights, type ProcessingOptions } from "./weightProcessing";

/** Options of `HookedTransformer.fromPretrained`. */
export interface FromPretrainedOptions extends ProcessingOptions {
  /** Revision to look up in the Hugging Face cache (branch, tag or commit); default "main". */
  readonly revision?: string;
  /** Override the family's BOS default (GPT-2 true, GPT-NeoX false). */
  readonly defaultPrependBos?: boolean;
  /** Turn on `attn.hook_result` from the start. */
  readonly useAttnResult?: boolean;
}

export interface LoadedModel {
  readonly cfg: TransformerConfig;
  readonly stateDict: StateDict;
  readonly tokenizer: LensTokenizer | undefined;
}

function disposeAll(sd: StateDict): void {
  for (const t of sd.values()) t.dispose();
}

/** Loads and converts a checkpoint; the caller owns the returned tensors. Nothing is left allocated on error. */
export async function loadPretrained(nameOrPath: string, opts: FromPretrainedOptions = {}): Promise<LoadedModel> {
  const folder = resolveModelFolder(nameOrPath, opts.revision);
  const hf = await readJson(path.join(folder, "config.json"));
  const arch = architectureFor(hf, path.join(folder, "config.json"));
  const base = arch.toConfig(hf, nameOrPath);
  let cfg = resolveConfig({
    ...base,
    defaultPrependBos: opts.defaultPrependBos ?? base.defaultPrependBos,
    useAttnResult: opts.useAttnResult ?? false,
  });
  const tokenizer = existsSync(path.join(folder, "tokenizer.json")) ? await LensTokenizer.fromFolder(folder) : undefined;
  const raw = await readFolderWeights(folder);
  const reader = new CheckpointReader(raw, folder, arch.optionalPrefixes);
  const sd: StateDict = new Map(Object.entries(tf.tidy(() => Object.fromEntries(arch.toStateDict(reader, cfg)))));
  try {
    const unused = reader.unused(arch.ignoredKeys); // before raw.clear(): the reader reads the same map
    raw.clear();
    if (unused.length) {
      throw new Error(
        `${folder}: ${unused.length} checkpoint tensor(s) were not used by the ${arch.modelType} converter ` +
          `(${unused.slice(0, 5).join(", ")}${unused.length > 5 ? ", …" : ""}); the weights do not match config.json's model_type`,
      );
    }
    checkStateDict(sd, cfg, folder);
    cfg = processWeights(sd, cfg, opts);
  } catch (e) {
    disposeAll(sd);
    throw e;
  }
  return { cfg, stateDict: sd, tokenizer };
}
