/**
 * Orchestrates loading: folder (or cached snapshot) → config.json → architecture → TL state dict (every shape
 * checked, every checkpoint key accounted for) → weight processing → tokenizer.
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { checkBindings, weightBindings } from "../accel/bindingLimits";
import { ensureBackend, type BackendInfo, type MemoryNeed } from "../backend";
import { architectureFor } from "../architectures/index";
import { checkStateDict, CheckpointReader } from "../architectures/convert";
import type { StateDict } from "../components/weights";
import { resolveConfig, type TransformerConfig } from "../config";
import { LensTokenizer } from "../tokenizer";
import { resolvePretrained, type HubOptions } from "./hub/resolve";
import { Progress, type ProgressOption } from "./hub/progress";
import { processWeightsLayerwise } from "./hostProcessing";
import { derivedWeightBytes, forwardActivationBytes, gb, loadTransientBytes, weightBytesOf } from "./memory";
import { readCheckpointTensors, readJson, weightFileBytes } from "./modelFolder";
import type { ProcessingOptions } from "./weightProcessing";

/** Loads whose weight files reach this size show progress (reading, then processing) unless `progress: false`. */
export const PROGRESS_FROM_BYTES = 1e9;

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
  /** Bytes of the loaded float32 weights (the state dict). */
  readonly weightBytes: number;
  /** The backend the weights live on, and why it was chosen. */
  readonly backend: BackendInfo;
}

/** What `cfg`'s model needs in memory, from its config alone (backend.ts chooses with it before anything is read). */
export function memoryNeedOf(model: string, cfg: TransformerConfig): MemoryNeed {
  return {
    model, weightBytes: weightBytesOf(cfg), transientBytes: loadTransientBytes(cfg),
    derivedBytes: derivedWeightBytes(cfg), forwardBytes: forwardActivationBytes(cfg, 1, Math.min(cfg.nCtx, 1024)),
  };
}

/** A progress display for a large load (`undefined` below PROGRESS_FROM_BYTES or with `progress: false`). */
function loadProgress(label: string, total: number, option: ProgressOption | undefined, fileBytes: number): Progress | undefined {
  if (option === false || fileBytes < PROGRESS_FROM_BYTES) return undefined;
  return new Progress(label, total, option ?? true);
}

function disposeAll(sd: StateDict): void {
  for (const t of sd.values()) t.dispose();
}

/**
 * Loads and converts a checkpoint from a folder, a TransformerLens name ("gpt2-small", "pythia-70m") or a Hub repo id
 * (cached, else downloaded); the caller owns the returned tensors. Nothing is left allocated on error.
 * Order: config.json first, so the backend is chosen (or refused) by the model's size before any tensor exists
 * (backend.ts); then tensors go to tfjs shard by shard, each checkpoint copy is freed once converted, and weight
 * processing runs layer by layer (hostProcessing.ts), so memory peaks near one model plus one parameter.
 * Large loads show progress; every load ends with one line saying the weights' size and the backend (silent with
 * `progress: false`).
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
  const backend = await ensureBackend(memoryNeedOf(nameOrPath, cfg)); // chosen or refused by size, before any tensor
  checkBindings(weightBindings(cfg), `loading ${nameOrPath}`); // webgpu: refuse weights it cannot bind, before reading them
  const tokDir = tokenizerFolder ?? folder;
  const tokenizer = existsSync(path.join(tokDir, "tokenizer.json")) ? await LensTokenizer.fromFolder(tokDir) : undefined;
  const fileBytes = await weightFileBytes(folder);
  const reading = loadProgress(`reading ${nameOrPath}`, fileBytes, opts.progress, fileBytes);
  const raw = await readCheckpointTensors(folder, arch.ignoredKeys, (n) => reading?.add(n));
  reading?.finish();
  const reader = new CheckpointReader(raw, folder, arch.optionalPrefixes);
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
    const perLayer = weightBytesOf(cfg) / cfg.nLayers;
    const processing = loadProgress(`processing ${nameOrPath}`, perLayer * cfg.nLayers, opts.progress, fileBytes);
    cfg = await processWeightsLayerwise(sd, cfg, opts, () => processing?.add(perLayer));
    processing?.finish();
  } catch (e) {
    disposeAll(sd);
    throw e;
  }
  let weightBytes = 0;
  for (const t of sd.values()) weightBytes += t.size * 4;
  const info = { cfg, stateDict: sd, tokenizer, weightBytes, backend: { ...backend, name: tf.getBackend() } };
  if (opts.progress !== false) console.log(loadedLine(nameOrPath, weightBytes, info.backend));
  return info;
}

/** TransformerLens's "Loaded pretrained model … into HookedTransformer", with the weights' size and the backend. */
export function loadedLine(name: string, weightBytes: number, backend: BackendInfo): string {
  const bySize = backend.skipped.filter((s) => / needs [\d.]+ GB/.test(s.reason)).map((s) => `; ${s.name} skipped: ${s.reason}`);
  return `Loaded pretrained model ${name} into HookedTransformer: ${gb(weightBytes)} of float32 weights on ${backend.name} (chosen by ${backend.chosenBy}${bySize.join("")})`;
}
