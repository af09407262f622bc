/**
 * From what the user typed to a folder of model files, offline-first: a local folder or a bundled model (data/models)
 * as is; a name or repo id from a
 * complete snapshot in the shared cache (no network at all); else downloaded from the Hub; else (offline, or the
 * Hub unreachable) an Error listing the missing files and how to get them onto this machine.
 */
import { existsSync, statSync } from "node:fs";
import * as path from "node:path";
import { bundledModelFolder, hfHubCache, readJson, resolveModelFolder, shardsOfIndex, WEIGHT_ENTRY_FILES, weightFilesOf } from "../modelFolder";
import { cachedCommit, hubOffline, repoCacheDir, snapshotDir, writeRef } from "./cache";
import { downloadAll, fileMeta, HubUnreachableError, repoFiles } from "./download";
import { checkpointRevision, looksLikePath, resolveModelName } from "./names";
import type { ProgressOption } from "./progress";

/** Options for finding or downloading a model. */
export interface HubOptions {
  /** Branch, tag or commit (default "main"). */
  readonly revision?: string;
  /** A Pythia training step (1000 → revision "step1000"). */
  readonly checkpointValue?: number;
  /** A position in the list of Pythia training steps (negative: from the end). */
  readonly checkpointIndex?: number;
  /** Download progress: true (default: terminal bar / notebook display), false (silent), or a line callback. */
  readonly progress?: ProgressOption;
}

/** Where a model's files are. */
export interface ResolvedModel {
  readonly folder: string;
  /** Where tokenizer.json is, when not in `folder` (Pythia checkpoints: the main revision's). */
  readonly tokenizerFolder?: string;
  readonly repoId?: string;
  readonly revision?: string;
}

/** Tokenizer files fetched with a model, when the repo has them. */
export const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"];

/** The cached snapshot of `repoId@revision` if it has config.json and every weight file; else what it lacks. */
export async function completeSnapshot(repoId: string, revision: string): Promise<{ folder?: string; missing: string[] }> {
  const commit = cachedCommit(repoId, revision);
  if (commit === undefined) return { missing: ["config.json", "the weights (model.safetensors or its shards, or pytorch_model.bin)"] };
  const folder = snapshotDir(repoId, commit);
  const missing = existsSync(path.join(folder, "config.json")) ? [] : ["config.json"];
  const w = await weightFilesOf(folder);
  missing.push(...w.missing);
  return missing.length ? { missing } : { folder, missing };
}

function missingError(name: string, repoId: string, revision: string, missing: string[], reason: string): Error {
  const rev = revision === "main" ? "" : ` --revision ${revision}`;
  return new Error(
    `model "${name}" not found: it is not a folder, and ${hfHubCache()} has no snapshot of it at revision "${revision}" ` +
      `(${reason}). Missing: ${missing.join(", ")}. To get it onto this machine: on a machine with internet run ` +
      `\`npx lens download ${name}${rev}\` (or \`huggingface-cli download ${repoId}${rev}\`), then copy its folder ` +
      `${path.basename(repoCacheDir(repoId))} from that machine's Hugging Face cache into ${hfHubCache()} here ` +
      `(or point HF_HUB_CACHE / HF_HOME at a copied cache)`,
  );
}

/** Downloads what a model needs (config, weights — single or sharded —, tokenizer files) into the cache. */
export async function downloadSnapshot(repoId: string, revision: string, progress: ProgressOption = true): Promise<string> {
  const { commit, files } = await repoFiles(repoId, revision);
  const have = new Set(files);
  if (!have.has("config.json")) throw new Error(`${repoId}@${revision} has no config.json; it is not a transformers model repo`);
  const entry = WEIGHT_ENTRY_FILES.find((f) => have.has(f));
  if (entry === undefined) throw new Error(`${repoId}@${revision} has no model.safetensors, model.safetensors.index.json or pytorch_model.bin; nothing to load`);
  const folder = snapshotDir(repoId, commit);
  const absent = (f: string) => !existsSync(path.join(folder, ...f.split("/")));
  const metaOf = (files: string[]) => Promise.all(files.filter(absent).map((f) => fileMeta(repoId, commit, f)));
  const wanted = ["config.json", ...TOKENIZER_FILES.filter((f) => have.has(f))];
  if (entry.endsWith(".index.json")) {
    await downloadAll(repoId, await metaOf([entry]), false);
    wanted.push(...shardsOfIndex(await readJson(path.join(folder, entry)), entry));
  } else {
    wanted.push(entry);
  }
  await downloadAll(repoId, await metaOf(wanted), progress);
  await writeRef(repoId, revision, commit);
  return folder;
}

/** Resolves `nameOrPath` (folder, TransformerLens name or alias, or org/name repo id) to local files. */
export async function resolvePretrained(nameOrPath: string, opts: HubOptions = {}): Promise<ResolvedModel> {
  const bundled = existsSync(nameOrPath) ? undefined : bundledModelFolder(nameOrPath); // this project's trained toys
  if (bundled) return { folder: bundled };
  if (existsSync(nameOrPath) && statSync(nameOrPath).isDirectory()) return { folder: resolveModelFolder(nameOrPath) };
  if (looksLikePath(nameOrPath)) return { folder: resolveModelFolder(nameOrPath) }; // throws "not found: it is not a folder"
  const named = resolveModelName(nameOrPath);
  if (named.kind === "unknown") throw new Error(named.message);
  const repoId = named.repoId;
  const revision = checkpointRevision(repoId, opts) ?? "main";
  let missing: string[] = [];
  for (const id of [repoId, ...(named.known?.legacyRepoIds ?? [])]) {
    const found = await completeSnapshot(id, revision);
    if (found.folder) return withTokenizer({ folder: found.folder, repoId: id, revision }, opts, false);
    if (id === repoId) missing = found.missing;
  }
  if (hubOffline()) throw missingError(nameOrPath, repoId, revision, missing, "HF_HUB_OFFLINE is set, so nothing is downloaded");
  try {
    const folder = await downloadSnapshot(repoId, revision, opts.progress ?? true);
    return withTokenizer({ folder, repoId, revision }, opts, true);
  } catch (e) {
    if (e instanceof HubUnreachableError) throw missingError(nameOrPath, repoId, revision, missing, `the Hub could not be reached: ${e.message}`);
    throw e;
  }
}

/** Checkpoint revisions without tokenizer files use the main revision's (as TransformerLens does). */
async function withTokenizer(m: ResolvedModel & { repoId: string; revision: string }, opts: HubOptions, online: boolean): Promise<ResolvedModel> {
  if (existsSync(path.join(m.folder, "tokenizer.json")) || m.revision === "main") return m;
  const main = cachedCommit(m.repoId, "main");
  const cached = main && snapshotDir(m.repoId, main);
  if (cached && existsSync(path.join(cached, "tokenizer.json"))) return { ...m, tokenizerFolder: cached };
  if (!online || hubOffline()) return m;
  const { commit, files } = await repoFiles(m.repoId, "main");
  const tok = TOKENIZER_FILES.filter((f) => files.includes(f));
  if (!tok.includes("tokenizer.json")) return m;
  const metas = await Promise.all(tok.map((f) => fileMeta(m.repoId, commit, f)));
  await downloadAll(m.repoId, metas, opts.progress ?? true);
  await writeRef(m.repoId, "main", commit);
  return { ...m, tokenizerFolder: snapshotDir(m.repoId, commit) };
}
