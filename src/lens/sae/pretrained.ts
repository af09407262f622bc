/**
 * Pretrained SAEs by SAELens release id (a small registry; a release containing "/" is a raw HF repo id, with
 * `saeId` as the folder inside it). Files `{path}/cfg.json`, `{path}/sae_weights.safetensors` and (if present)
 * `{path}/sparsity.safetensors` are fetched through the hub downloader into the Python-compatible cache; offline
 * (HF_HUB_OFFLINE) the cached snapshot is used. Release `config_overrides` are merged into the metadata.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { cachedCommit, hubOffline, snapshotDir, writeRef } from "../loading/hub/cache";
import { downloadAll, fileMeta, repoFiles } from "../loading/hub/download";
import type { ProgressOption } from "../loading/hub/progress";
import { loadSaeSparsity } from "./io";
import { SparseAutoencoder } from "./sae";

/** A SAELens release: its repo, the SAE ids it holds, and the folder of each id. */
export interface SaeRelease {
  readonly repoId: string;
  readonly ids: readonly string[];
  readonly pathOf: (saeId: string) => string;
  readonly metadataOverrides?: Readonly<Record<string, unknown>>;
}

/** Releases known by id (from SAELens `pretrained_saes.yaml`). */
export const SAE_RELEASES: Readonly<Record<string, SaeRelease>> = {
  "gpt2-small-res-jb": {
    repoId: "jbloom/GPT2-Small-SAEs-Reformatted",
    ids: [...Array.from({ length: 12 }, (_, l) => `blocks.${l}.hook_resid_pre`), "blocks.11.hook_resid_post"],
    pathOf: (id) => id,
    metadataOverrides: { model_from_pretrained_kwargs: { center_writing_weights: true } },
  },
};

/** Downloads (or finds cached) and loads SAE `saeId` of `release`; also returns the log10 feature density if shipped. */
export async function loadPretrainedSae(release: string, saeId: string, opts: { revision?: string; progress?: ProgressOption } = {}): Promise<{ sae: SparseAutoencoder; sparsity?: Float32Array }> {
  const rel = SAE_RELEASES[release];
  if (!rel && !release.includes("/")) throw new Error(`Unknown SAE release "${release}"; known: ${Object.keys(SAE_RELEASES).join(", ")} (or pass an "org/repo" id)`);
  if (rel && !rel.ids.includes(saeId)) throw new Error(`Release "${release}" has no SAE "${saeId}"; ids: ${rel.ids.join(", ")}`);
  const repoId = rel?.repoId ?? release, revision = opts.revision ?? "main";
  const sub = rel ? rel.pathOf(saeId) : saeId;
  const names = ["cfg.json", "sae_weights.safetensors", "sparsity.safetensors"].map((f) => (sub ? `${sub}/${f}` : f));
  let folder: string;
  if (hubOffline()) {
    const commit = cachedCommit(repoId, revision);
    if (!commit) throw new Error(`HF_HUB_OFFLINE is set and ${repoId}@${revision} is not in the cache; unset it to download`);
    folder = snapshotDir(repoId, commit);
  } else {
    const { commit, files } = await repoFiles(repoId, revision);
    const have = new Set(files);
    for (const f of names.slice(0, 2)) if (!have.has(f)) throw new Error(`${repoId}@${revision} has no ${f}; check the SAE id ("${saeId}")`);
    folder = snapshotDir(repoId, commit);
    const wanted = names.filter((f) => have.has(f) && !existsSync(path.join(folder, ...f.split("/"))));
    await downloadAll(repoId, await Promise.all(wanted.map((f) => fileMeta(repoId, commit, f))), opts.progress ?? false);
    await writeRef(repoId, revision, commit);
  }
  const dir = path.join(folder, ...sub.split("/").filter(Boolean));
  const loaded = await SparseAutoencoder.load(dir);
  let sae = loaded;
  if (rel?.metadataOverrides) {
    sae = new SparseAutoencoder({ ...loaded.cfg, metadata: { ...(loaded.cfg.metadata ?? {}), ...rel.metadataOverrides } }, Object.fromEntries(Object.entries(loaded.params).map(([k, v]) => [k, v.clone()])));
    loaded.dispose();
  }
  const sparsity = await loadSaeSparsity(dir);
  return sparsity ? { sae, sparsity } : { sae };
}
