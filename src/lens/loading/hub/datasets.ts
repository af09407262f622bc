/**
 * Dataset repos on the Hugging Face Hub, offline-first, through the same client and cache as models: the file list from
 * `GET /api/datasets/{repo}/revision/{revision}`, files from `/datasets/{repo}/resolve/{revision}/{file}`, cached in
 * `<cache>/datasets--{org}--{name}` (blobs, snapshots, refs — byte-compatible with Python's huggingface_hub, so a cache
 * filled by `huggingface-cli download --repo-type dataset` or `datasets.load_dataset` hub downloads is reused).
 * A split's parquet files come from the revision asked for, else from `main` when it holds parquet data files (what
 * `Dataset.push_to_hub` writes, e.g. `data/train-00000-of-00001.parquet`), else from the Hub's auto-converted branch
 * `refs/convert/parquet` (`{config}/{split}/0000.parquet`), which exists for script-, JSON- and CSV-based datasets too.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import { hfHubCache } from "../modelFolder";
import { cachedCommit, hubOffline, repoCacheDir, snapshotDir, writeRef } from "./cache";
import { downloadAll, fileMeta, HubHttpError, HubUnreachableError, repoFiles } from "./download";
import type { ProgressOption } from "./progress";

/** The Hub's auto-converted parquet branch of every public dataset. */
export const PARQUET_REVISION = "refs/convert/parquet";

/** Options for finding a dataset split's parquet files. */
export interface DatasetFilesOptions {
  /** Split (default "train"). */
  readonly split?: string;
  /** Config (subset) on the parquet branch, its first folder (default: "default", else the only one). */
  readonly config?: string;
  /** Branch, tag or commit; default: "main" when it has parquet files for the split, else refs/convert/parquet. */
  readonly revision?: string;
  /** Download progress: true (terminal bar / notebook display), false, or a line callback. */
  readonly progress?: ProgressOption;
}

/** A split's parquet files on this machine. */
export interface DatasetFiles {
  readonly repoId: string;
  readonly revision: string;
  readonly commit: string;
  readonly split: string;
  readonly config?: string;
  /** The snapshot folder and the files in it (absolute paths, sorted by their name in the repo). */
  readonly folder: string;
  readonly files: string[];
  /** True when nothing was downloaded (every file was in the cache). */
  readonly fromCache: boolean;
}

const SPLIT_WORDS = ["train", "training", "test", "testing", "eval", "evaluation", "validation", "valid", "val", "dev"];

/** Whether `file` (a repo path) names `split` as a word: bounded by `/ - _ . space digit` or the ends (HF's data-file rule). */
function namesSplit(file: string, split: string): boolean {
  const esc = split.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[/\\-_. 0-9])${esc}([/\\-_. 0-9]|$)`, "i").test(file.replace(/\.parquet$/, ""));
}

/** The configs (first folders) of a parquet-branch listing. */
export function parquetConfigs(files: readonly string[]): string[] {
  return [...new Set(files.filter((f) => f.endsWith(".parquet") && f.includes("/")).map((f) => f.split("/")[0]!))].sort();
}

/**
 * The parquet files of `split` in a repo listing, sorted. On the parquet branch (`onParquetBranch`): files of the config
 * folder whose split folder is `split` or `partial-{split}` (or older `{config}/{name}-{split}[-NNNNN-of-NNNNN].parquet`).
 * On other revisions: parquet files whose path names the split as a word; when no file names any split, all parquet
 * files are the train split (the Hub's rule for repos without split names).
 */
export function splitFiles(files: readonly string[], split: string, opts: { config?: string; onParquetBranch?: boolean } = {}): string[] {
  const parquet = files.filter((f) => f.endsWith(".parquet"));
  if (opts.onParquetBranch) {
    const configs = parquetConfigs(parquet);
    const config = opts.config ?? (configs.includes("default") ? "default" : configs.length === 1 ? configs[0] : undefined);
    if (config === undefined) return [];
    return parquet.filter((f) => {
      const parts = f.split("/");
      if (parts[0] !== config) return false;
      if (parts.length === 3) return parts[1] === split || parts[1] === `partial-${split}`;
      return parts.length === 2 && new RegExp(`-${split.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(-\\d{5}-of-\\d{5})?\\.parquet$`).test(parts[1]!);
    }).sort();
  }
  const named = parquet.filter((f) => namesSplit(f, split));
  if (named.length > 0) return named.sort();
  const anySplit = parquet.some((f) => SPLIT_WORDS.some((w) => namesSplit(f, w)));
  return !anySplit && split === "train" ? [...parquet].sort() : [];
}

/** The split names a listing offers (for error messages). */
function splitsIn(files: readonly string[], onParquetBranch: boolean): string[] {
  const parquet = files.filter((f) => f.endsWith(".parquet"));
  if (onParquetBranch) return [...new Set(parquet.map((f) => f.split("/")).filter((p) => p.length === 3).map((p) => `${p[0]}/${p[1]!.replace(/^partial-/, "")}`))].sort();
  return SPLIT_WORDS.filter((w) => parquet.some((f) => namesSplit(f, w)));
}

/** Files under a snapshot folder, as repo paths ("a/b.parquet"). */
function listSnapshot(folder: string): string[] {
  if (!existsSync(folder)) return [];
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(p).isDirectory()) walk(p, r);
      else out.push(r);
    }
  };
  walk(folder, "");
  return out;
}

/** The cached split of `repoId@revision`, if its snapshot holds parquet files for it. */
function cachedSplit(repoId: string, revision: string, split: string, config: string | undefined): DatasetFiles | undefined {
  const commit = cachedCommit(repoId, revision, process.env, "dataset");
  if (commit === undefined) return undefined;
  const folder = snapshotDir(repoId, commit, process.env, "dataset");
  const rel = splitFiles(listSnapshot(folder), split, { config, onParquetBranch: revision === PARQUET_REVISION });
  if (rel.length === 0) return undefined;
  return { repoId, revision, commit, split, config, folder, files: rel.map((f) => path.join(folder, ...f.split("/"))), fromCache: true };
}

function notCachedError(repoId: string, revisions: string[], split: string, reason: string): Error {
  const dir = path.basename(repoCacheDir(repoId, process.env, "dataset"));
  return new Error(
    `dataset ${repoId}: split "${split}" is not in ${hfHubCache()} (${reason}); looked at revision ${revisions.map((r) => `"${r}"`).join(" and ")}. ` +
      `To get it onto this machine: on a machine with internet run \`huggingface-cli download --repo-type dataset ${repoId}\` ` +
      `(or \`huggingface-cli download --repo-type dataset --revision ${PARQUET_REVISION} ${repoId}\` for a dataset without parquet files on main, ` +
      `or getDataset("${repoId}") from lens), then copy its folder ${dir} into ${hfHubCache()} here (or point HF_HUB_CACHE / HF_HOME at a copied cache)`,
  );
}

/**
 * The local parquet files of a dataset split: from the cache with no request when they are there, else downloaded
 * (atomically, resumable, with progress) into the shared cache. Offline (`HF_HUB_OFFLINE=1`) or with the Hub out of
 * reach, a split that is not cached is an Error that says how to bring it here.
 */
export async function datasetFiles(repoId: string, opts: DatasetFilesOptions = {}): Promise<DatasetFiles> {
  const split = opts.split ?? "train";
  const revisions = opts.revision !== undefined ? [opts.revision] : ["main", PARQUET_REVISION];
  for (const rev of revisions) {
    const hit = cachedSplit(repoId, rev, split, opts.config);
    if (hit) return hit;
  }
  if (hubOffline()) throw notCachedError(repoId, revisions, split, "HF_HUB_OFFLINE is set, so nothing is downloaded");
  const seen: string[] = [];
  for (const rev of revisions) {
    let listing: { commit: string; files: string[] };
    try {
      listing = await repoFiles(repoId, rev, "dataset");
    } catch (e) {
      if (e instanceof HubUnreachableError) throw notCachedError(repoId, revisions, split, `the Hub could not be reached: ${e.message}`);
      // only a missing parquet branch is worth trying past; a missing or gated repo is the answer
      if (e instanceof HubHttpError && e.errorCode === "RevisionNotFound" && rev === PARQUET_REVISION && opts.revision === undefined) break;
      throw e;
    }
    const onParquetBranch = rev === PARQUET_REVISION;
    const rel = splitFiles(listing.files, split, { config: opts.config, onParquetBranch });
    if (rel.length === 0) {
      const offered = splitsIn(listing.files, onParquetBranch);
      seen.push(`${rev}: ${offered.length ? `splits ${offered.join(", ")}` : "no parquet files"}`);
      continue;
    }
    const folder = snapshotDir(repoId, listing.commit, process.env, "dataset");
    const absent = rel.filter((f) => !existsSync(path.join(folder, ...f.split("/"))));
    const metas = await Promise.all(absent.map((f) => fileMeta(repoId, listing.commit, f, "dataset")));
    await downloadAll(repoId, metas, opts.progress ?? true);
    await writeRef(repoId, rev, listing.commit, process.env, "dataset");
    return { repoId, revision: rev, commit: listing.commit, split, config: opts.config, folder, files: rel.map((f) => path.join(folder, ...f.split("/"))), fromCache: absent.length === 0 };
  }
  throw new Error(
    `dataset ${repoId}: no parquet files for split "${split}"${opts.config ? ` (config "${opts.config}")` : ""} ` +
      `(${seen.length ? seen.join("; ") : `revision ${revisions.join(", ")}`}${opts.revision === undefined && seen.length < 2 ? `; the repo has no ${PARQUET_REVISION} branch` : ""}). ` +
      `Pass split (and config) as the dataset page lists them, or a revision that holds parquet files`,
  );
}
