/**
 * The Hugging Face hub cache, byte-compatible with Python's huggingface_hub:
 * `<cache>/{models,datasets}--{org}--{name}/{blobs/{etag}, snapshots/{commit}/{file} → ../../blobs/{etag}, refs/{revision}}`.
 * Every write is atomic (temporary name, then rename), so an interrupted process never leaves a file that looks done.
 */
import { existsSync, promises as fsp, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hfHubCache } from "../modelFolder";

/** A 40-hex-digit git commit hash. */
export const COMMIT_RE = /^[0-9a-f]{40}$/;

/** A Hub repository's kind: a model or a dataset (Python's `repo_type`); it sets the URL prefix and the cache folder. */
export type RepoType = "model" | "dataset";

/** The cache folder of a repo: `<cache>/models--{org}--{name}` (datasets: `<cache>/datasets--{org}--{name}`). */
export function repoCacheDir(repoId: string, env: NodeJS.ProcessEnv = process.env, type: RepoType = "model"): string {
  return path.join(hfHubCache(env), `${type}s--${repoId.split("/").join("--")}`);
}

/**
 * The commit `revision` points to in the cache (`refs/{revision}`, or the revision itself when it is a commit). A
 * revision with slashes (`refs/convert/parquet`) is a nested path under `refs/`, as Python writes it.
 */
export function cachedCommit(repoId: string, revision: string, env: NodeJS.ProcessEnv = process.env, type: RepoType = "model"): string | undefined {
  const ref = path.join(repoCacheDir(repoId, env, type), "refs", ...revision.split("/"));
  if (existsSync(ref)) {
    const commit = readFileSync(ref, "utf8").trim();
    if (commit) return commit;
  }
  return COMMIT_RE.test(revision) ? revision : undefined;
}

/** The snapshot folder of a commit (it may not exist). */
export function snapshotDir(repoId: string, commit: string, env: NodeJS.ProcessEnv = process.env, type: RepoType = "model"): string {
  return path.join(repoCacheDir(repoId, env, type), "snapshots", commit);
}

/** `blobs/{etag}` of a repo. */
export function blobPath(repoId: string, etag: string, env: NodeJS.ProcessEnv = process.env, type: RepoType = "model"): string {
  if (!/^[\w.-]+$/.test(etag)) throw new Error(`the Hub sent an unusable ETag ${JSON.stringify(etag)} for ${repoId}`);
  return path.join(repoCacheDir(repoId, env, type), "blobs", etag);
}

/** A name in the same folder for a temporary file; renaming it onto `file` publishes it atomically. */
export function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
}

/** Writes text atomically. */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = tempName(file);
  try {
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

/** Records that `revision` resolves to `commit` (`refs/{revision}`); commits themselves get no ref, as in Python. */
export async function writeRef(repoId: string, revision: string, commit: string, env: NodeJS.ProcessEnv = process.env, type: RepoType = "model"): Promise<void> {
  if (revision === commit) return;
  await writeFileAtomic(path.join(repoCacheDir(repoId, env, type), "refs", ...revision.split("/")), commit);
}

/**
 * Makes `snapshots/{commit}/{file}` point at `blobs/{etag}`: a relative symlink (`../../blobs/{etag}`, one more `../`
 * per folder level of `file`), or a copy where symlinks cannot be made (some Windows setups, some file systems).
 */
export async function linkSnapshotFile(repoId: string, commit: string, file: string, etag: string, env: NodeJS.ProcessEnv = process.env, type: RepoType = "model"): Promise<string> {
  const dest = path.join(snapshotDir(repoId, commit, env, type), ...file.split("/"));
  const blob = blobPath(repoId, etag, env, type);
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  const target = path.relative(path.dirname(dest), blob);
  const tmp = tempName(dest);
  try {
    try {
      await fsp.symlink(target, tmp);
    } catch {
      await fsp.copyFile(blob, tmp);
    }
    await fsp.rename(tmp, dest);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  return dest;
}

/** The Hugging Face token: `$HF_TOKEN`, else the file `$HF_TOKEN_PATH` or `$HF_HOME/token` (as `huggingface-cli login` writes it). */
export function hfToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const direct = env.HF_TOKEN?.trim() || env.HUGGING_FACE_HUB_TOKEN?.trim();
  if (direct) return direct;
  const home = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "huggingface");
  const file = env.HF_TOKEN_PATH ?? path.join(home, "token");
  try {
    return readFileSync(file, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** True when `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) is set to a true value. */
export function hubOffline(env: NodeJS.ProcessEnv = process.env): boolean {
  const on = (v: string | undefined) => v !== undefined && ["1", "true", "yes", "on"].includes(v.trim().toLowerCase());
  return on(env.HF_HUB_OFFLINE) || on(env.TRANSFORMERS_OFFLINE);
}
