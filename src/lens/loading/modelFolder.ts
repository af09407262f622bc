/**
 * A model folder in Hugging Face layout: where it is (a local folder, or a snapshot already in the Hugging Face cache —
 * `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub` — shared with Python), which weight files it
 * has, and reading them into tfjs. Downloading is in `hub/`.
 */
import { existsSync, promises as fsp, readdirSync, readFileSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { forEachPytorchTensor } from "./pytorchBin";
import { dtypeBytes, forEachSafetensor, type RawTensor } from "./safetensors";

/** The Hugging Face hub cache folder, as Python's huggingface_hub computes it. */
export function hfHubCache(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  const home = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "huggingface");
  return path.join(home, "hub");
}

/** The snapshot folder of `repoId` at `revision` in the hub cache, or undefined when it is not cached. */
export function cachedSnapshot(repoId: string, revision = "main", env: NodeJS.ProcessEnv = process.env): string | undefined {
  const repoDir = path.join(hfHubCache(env), `models--${repoId.split("/").join("--")}`);
  const refFile = path.join(repoDir, "refs", revision);
  const commit = existsSync(refFile) ? readFileSync(refFile, "utf8").trim() : revision;
  const snap = path.join(repoDir, "snapshots", commit);
  return existsSync(path.join(snap, "config.json")) ? snap : undefined;
}

/** Where the models trained by this project live (`data/models/<name>/`, shipped with the package). */
export const BUNDLED_MODELS_DIR = path.resolve(__dirname, "..", "..", "..", "data", "models");

/** The folder of a bundled model (`toy-attn-2l`, `toy-ioi`, `toy-ioi-circuit`) when `name` is one, else undefined. */
export function bundledModelFolder(name: string): string | undefined {
  if (!/^[\w.-]+$/.test(name)) return undefined;
  const dir = path.join(BUNDLED_MODELS_DIR, name);
  return existsSync(path.join(dir, "config.json")) ? dir : undefined;
}

/**
 * Where tokenizers shipped with the project live (`data/tokenizers/<name>/`): today the real GPT-2 tokenizer
 * (`gpt2`, MIT-licensed, from openai-community/gpt2 on the Hugging Face Hub), so text can be tokenised offline.
 */
export const BUNDLED_TOKENIZERS_DIR = path.resolve(__dirname, "..", "..", "..", "data", "tokenizers");

/** The folder of a bundled tokenizer (`gpt2`): tokenizer.json + tokenizer_config.json; throws naming the choices otherwise. */
export function bundledTokenizerFolder(name: string): string {
  const dir = path.join(BUNDLED_TOKENIZERS_DIR, name);
  if (!/^[\w.-]+$/.test(name) || !existsSync(path.join(dir, "tokenizer.json"))) {
    const have = existsSync(BUNDLED_TOKENIZERS_DIR) ? readdirSync(BUNDLED_TOKENIZERS_DIR).join(", ") : "none";
    throw new Error(`no bundled tokenizer "${name}" in data/tokenizers/ (bundled: ${have}); for other models load the tokenizer from the model folder`);
  }
  return dir;
}

/** Resolves a folder path, a bundled model name or a cached repo id to a folder holding config.json; throws saying what to do otherwise. */
export function resolveModelFolder(nameOrPath: string, revision = "main"): string {
  const bundled = existsSync(nameOrPath) ? undefined : bundledModelFolder(nameOrPath);
  if (bundled) return bundled;
  if (existsSync(nameOrPath) && statSync(nameOrPath).isDirectory()) {
    if (!existsSync(path.join(nameOrPath, "config.json"))) {
      throw new Error(`${nameOrPath} has no config.json; point fromPretrained at a Hugging Face model folder (config.json, *.safetensors, tokenizer.json)`);
    }
    return nameOrPath;
  }
  const looksLikeRepo = /^[\w.-]+\/[\w.-]+$/.test(nameOrPath) && !nameOrPath.startsWith(".");
  const snap = looksLikeRepo ? cachedSnapshot(nameOrPath, revision) : undefined;
  if (snap) return snap;
  throw new Error(
    `model "${nameOrPath}" not found: it is not a folder` +
      (looksLikeRepo ? `, and ${hfHubCache()} has no snapshot of it at revision "${revision}"` : "") +
      `. Pass a folder with config.json, model.safetensors and tokenizer.json, or download it first ` +
      `(e.g. \`huggingface-cli download ${looksLikeRepo ? nameOrPath : "org/name"}\`)`,
  );
}

/** Parses a JSON file, with errors naming the file. */
export async function readJson(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch {
    throw new Error(`missing file ${file}`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}); the file is corrupt — download it again`);
  }
}

/** Weight entry points, in order of preference: one safetensors file, a safetensors index, then PyTorch's. */
export const WEIGHT_ENTRY_FILES = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"] as const;

/** The shard files an index (`*.index.json`) lists, in first-use order. */
export function shardsOfIndex(index: Record<string, unknown>, indexFile: string): string[] {
  const map = index.weight_map as Record<string, string> | undefined;
  if (typeof map !== "object" || map === null) throw new Error(`${indexFile} has no "weight_map" object`);
  return [...new Set(Object.values(map))];
}

/** The weight files of a folder's checkpoint (entry file first, then shards), and which of them are missing. */
export async function weightFilesOf(folder: string): Promise<{ files: string[]; missing: string[] }> {
  const entry = WEIGHT_ENTRY_FILES.find((f) => existsSync(path.join(folder, f)));
  if (entry === undefined) return { files: [], missing: ["model.safetensors (or model.safetensors.index.json and its shards, or pytorch_model.bin)"] };
  if (!entry.endsWith(".index.json")) return { files: [entry], missing: [] };
  const shards = shardsOfIndex(await readJson(path.join(folder, entry)), path.join(folder, entry));
  return { files: [entry, ...shards], missing: shards.filter((f) => !existsSync(path.join(folder, f))) };
}

/** Total bytes of a folder's weight files (0 when it has none): what reading them costs, for progress. */
export async function weightFileBytes(folder: string): Promise<number> {
  const { files } = await weightFilesOf(folder);
  let n = 0;
  for (const f of files) if (!f.endsWith(".json") && existsSync(path.join(folder, f))) n += statSync(path.join(folder, f)).size;
  return n;
}

/**
 * Reads a folder's weights (`model.safetensors`, the shards of `model.safetensors.index.json`, or `pytorch_model.bin`
 * and its shards) into float32 tfjs tensors, shard by shard and tensor by tensor: each tensor's JS copy is dropped as
 * soon as tfjs has it, so memory peaks near one copy of the checkpoint. Keys matching `skip` (buffers) are not read.
 * The caller owns the tensors; nothing is left allocated on error. `onRead` is told each tensor's size in the file
 * (for progress).
 */
export async function readCheckpointTensors(folder: string, skip?: RegExp, onRead?: (fileBytes: number) => void): Promise<Map<string, tf.Tensor>> {
  const { files, missing } = await weightFilesOf(folder);
  if (files.length === 0) {
    throw new Error(
      `${folder} has neither model.safetensors nor model.safetensors.index.json (nor pytorch_model.bin); ` +
        `download the model's weights into it (model.safetensors, or model.safetensors.index.json and every shard it lists)`,
    );
  }
  const indexFile = path.join(folder, files[0]);
  if (missing.length) throw new Error(`${indexFile} lists shard ${missing[0]}, which is not in ${folder}; download it (every shard the index lists is needed)`);
  const map = files[0].endsWith(".index.json") ? ((await readJson(indexFile)).weight_map as Record<string, string>) : undefined;
  const out = new Map<string, tf.Tensor>();
  try {
    for (const shard of map ? files.slice(1) : files) {
      const wanted = (name: string) => (map === undefined || map[name] === shard) && !skip?.test(name);
      const add = (name: string, t: RawTensor) => {
        out.set(name, tf.tensor(t.data, t.shape, "float32"));
        onRead?.(t.data.length * (dtypeBytes(t.dtype) ?? 4));
      };
      const file = path.join(folder, shard);
      if (shard.endsWith(".bin")) await forEachPytorchTensor(file, add, wanted);
      else await forEachSafetensor(file, add, wanted);
    }
    const absent = map ? Object.keys(map).filter((k) => !out.has(k) && !skip?.test(k)) : [];
    if (absent.length) throw new Error(`${indexFile} lists tensors missing from their shards: ${absent.slice(0, 5).join(", ")}`);
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}
