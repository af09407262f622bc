/**
 * Orchestrates loading: folder (or cached snapshot) → config.json → architecture → TL state dict (every shape
 * checked, every checkpoint key accounted for) → weight processing → tokenizer.
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { checkBindings, weightBindings } from "../accel/bindingLimits";
import { architectureFor } from "../architectures/index";
import { checkStateDict, CheckpointReader } from "../architectures/convert";
import type { StateDict } from "../components/weights";
import { resolveConfig, type TransformerConfig } from "../config";
import { LensTokenizer } from "../tokenizer";
import { resolvePretrained, type HubOptions } from "./hub/resolve";
import { readCheckpointTensors, readJson } from "./modelFolder";
import { processWeights, type ProcessingOptions } from "./weightProcessing";

/**
 * Options of `HookedTransformer.fromPretrained`. Hub options: `revision` (branch, tag or commit; default "main"),
 * `checkpointValue` / `checkpointIndex` (Pythia training steps), `progress` (download display; false = silent).
 */
export interface FromPretrainedOptions extends ProcessingOptions, HubOptions {
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

/**
 * Loads and converts a checkpoint from a folder, a TransformerLens name ("gpt2-small", "pythia-70m") or a Hub repo id
 * (cached, else downloaded); the caller owns the returned tensors. Nothing is left allocated on error. Tensors go
 * to tfjs shard by shard and each checkpoint copy is freed once converted, so memory peaks near one model's size.
 */
export async function loadPretrained(nameOrPath: string, opts: FromPretrainedOptions = {}): Promise<LoadedModel> {
  const { folder, tokenizerFolder } = await resolvePretrained(nameOrPath, opts);
  const hf = await readJson(path.join(folder, "config.json"));
  const arch = architectureFor(hf, path.join(folder, "config.json"));
  const base = arch.toConfig(hf, nameOrPath);
  let cfg = resolveConfig({
    ...base,
    defaultPrependBos: opts.defaultPrependBos ?? base.defaultPrependBos,
    useAttnResult: opts.useAttnResult ?? false,
  });
  checkBindings(weightBindings(cfg), `loading ${nameOrPath}`); // webgpu: refuse weights it cannot bind, before reading them
  const tokDir = tokenizerFolder ?? folder;
  const tokenizer = existsSync(path.join(tokDir, "tokenizer.json")) ? await LensTokenizer.fromFolder(tokDir) : undefined;
  const reader = new CheckpointReader(await readCheckpointTensors(folder, arch.ignoredKeys), folder, arch.optionalPrefixes);
  let sd: StateDict;
  try {
    sd = new Map(Object.entries(tf.tidy(() => Object.fromEntries(arch.toStateDict(reader, cfg)))));
  } finally {
    reader.dispose();
  }
  try {
    const unused = reader.unused(arch.ignoredKeys);
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
