/**
 * Finds a model's files: a local folder in Hugging Face layout, or a snapshot already in the Hugging Face cache
 * (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`), shared with Python.
 * Downloading is not done here.
 */
import { existsSync, promises as fsp, readFileSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readSafetensors, type RawTensor } from "./safetensors";

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

/** Resolves a folder path or a cached repo id to a folder holding config.json; throws saying what to do otherwise. */
export function resolveModelFolder(nameOrPath: string, revision = "main"): string {
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

/** Reads all weights of a folder: `model.safetensors`, or the shards listed in `model.safetensors.index.json`. */
export async function readFolderWeights(folder: string): Promise<Map<string, RawTensor>> {
  const single = path.join(folder, "model.safetensors");
  if (existsSync(single)) return readSafetensors(single);
  const indexFile = path.join(folder, "model.safetensors.index.json");
  if (!existsSync(indexFile)) {
    const bin = existsSync(path.join(folder, "pytorch_model.bin")) ? " (pytorch_model.bin is not supported: convert it to safetensors)" : "";
    throw new Error(
      `${folder} has neither model.safetensors nor model.safetensors.index.json${bin}; ` +
        `download the model's weights into it (model.safetensors, or model.safetensors.index.json and every shard it lists)`,
    );
  }
  const index = await readJson(indexFile);
  const map = index.weight_map as Record<string, string> | undefined;
  if (typeof map !== "object" || map === null) throw new Error(`${indexFile} has no "weight_map" object`);
  const out = new Map<string, RawTensor>();
  for (const shard of [...new Set(Object.values(map))]) {
    if (!existsSync(path.join(folder, shard))) {
      throw new Error(`${indexFile} lists shard ${shard}, which is not in ${folder}; download it (every shard the index lists is needed)`);
    }
    const wanted = (name: string) => map[name] === shard;
    for (const [k, v] of await readSafetensors(path.join(folder, shard), wanted)) out.set(k, v);
  }
  const missing = Object.keys(map).filter((k) => !out.has(k));
  if (missing.length) throw new Error(`${indexFile} lists tensors missing from their shards: ${missing.slice(0, 5).join(", ")}`);
  return out;
}
