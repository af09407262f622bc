/**
 * Downloads files from the Hugging Face Hub (`${HF_ENDPOINT:-https://huggingface.co}`) into the shared cache, as
 * Python's huggingface_hub does: HEAD `/{repo}/resolve/{revision}/{file}` without following redirects (commit in
 * `X-Repo-Commit`, blob id in `X-Linked-Etag` or `ETag`, size in `X-Linked-Size` or `Content-Length`, CDN URL in
 * `Location`), then GET into `blobs/{etag}.incomplete` (resumed with `Range` when a partial file is there), verify
 * size and hash (sha256 for LFS blob ids, git blob sha1 for small files), rename to `blobs/{etag}`, and link
 * `snapshots/{commit}/{file}` to it.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream, existsSync, promises as fsp } from "node:fs";
import * as path from "node:path";
import { blobPath, hfToken, linkSnapshotFile, type RepoType } from "./cache";
import { Progress, type ProgressOption } from "./progress";

/** The Hub's base URL. */
export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return (env.HF_ENDPOINT || "https://huggingface.co").replace(/\/+$/, "");
}

/** Thrown when the Hub cannot be reached at all (no network, DNS failure, refused connection, timeout). */
export class HubUnreachableError extends Error {}

/** An HTTP error from the Hub, with its `X-Error-Code` (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo). */
export class HubHttpError extends Error {
  constructor(message: string, readonly status: number, readonly errorCode: string | undefined) {
    super(message);
  }
}

const enc = (s: string) => s.split("/").map(encodeURIComponent).join("/");
/** The URL prefix of a repo: models sit at the root, datasets under `datasets/` (`/{prefix}{repo}/resolve/…`). */
const urlPrefix = (type: RepoType) => (type === "dataset" ? "datasets/" : "");

function authHeaders(url: string): Record<string, string> {
  const token = hfToken();
  return token && new URL(url).origin === new URL(hubEndpoint()).origin ? { authorization: `Bearer ${token}` } : {};
}

async function request(url: string, init: RequestInit & { timeoutMs?: number }): Promise<Response> {
  try {
    return await fetch(url, { ...init, headers: { ...authHeaders(url), ...(init.headers as Record<string, string>) }, signal: AbortSignal.timeout(init.timeoutMs ?? 30_000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new HubUnreachableError(`cannot reach ${new URL(url).origin} (${cause?.code ?? cause?.message ?? (e as Error).message})`);
  }
}

/** Turns a non-2xx Hub response into an Error that says what is wrong and what to do. */
function httpError(res: Response, repoId: string, revision: string, what: string): HubHttpError {
  const code = res.headers.get("x-error-code") ?? undefined;
  const status = res.status;
  let msg: string;
  if (status === 401 || status === 403 || code === "GatedRepo") {
    const has = hfToken() !== undefined;
    msg =
      `${repoId}: the Hub refused access (HTTP ${status}${code ? ` ${code}` : ""}) to ${what}. ` +
      (has ? "Your token cannot read this repo: " : "No token was sent: ") +
      `accept the repo's terms on its Hugging Face page if it is gated, create a read token at https://huggingface.co/settings/tokens, ` +
      `and set HF_TOKEN=<token> (or run \`huggingface-cli login\`, which writes $HF_HOME/token)`;
  } else if (code === "RevisionNotFound") {
    msg = `${repoId}: revision "${revision}" not found (HTTP ${status} RevisionNotFound); pass a branch, tag or commit that exists`;
  } else if (code === "RepoNotFound" || (status === 404 && what === "the file list")) {
    msg = `${repoId}: repository not found on ${hubEndpoint()} (HTTP ${status}${code ? ` ${code}` : ""}); check the name (org/name) — private repos also need HF_TOKEN`;
  } else if (code === "EntryNotFound" || status === 404) {
    msg = `${repoId}@${revision}: ${what} not found (HTTP ${status}${code ? ` ${code}` : ""})`;
  } else {
    msg = `${repoId}@${revision}: the Hub answered HTTP ${status} for ${what}; try again later`;
  }
  return new HubHttpError(msg, status, code);
}

/** A revision's commit and file list (`GET /api/models/{repo}/revision/{revision}`; datasets: `/api/datasets/…`). */
export async function repoFiles(repoId: string, revision: string, type: RepoType = "model"): Promise<{ commit: string; files: string[] }> {
  const res = await request(`${hubEndpoint()}/api/${type}s/${enc(repoId)}/revision/${encodeURIComponent(revision)}`, {});
  if (!res.ok) throw httpError(res, repoId, revision, "the file list");
  const info = (await res.json()) as { sha?: unknown; siblings?: Array<{ rfilename?: unknown }> };
  if (typeof info.sha !== "string" || !Array.isArray(info.siblings)) throw new Error(`${repoId}@${revision}: the Hub's file list has no "sha" or "siblings"`);
  return { commit: info.sha, files: info.siblings.map((s) => s.rfilename).filter((f): f is string => typeof f === "string") };
}

/** What the HEAD request says about a file. */
export interface FileMeta {
  readonly file: string;
  readonly commit: string;
  readonly etag: string;
  readonly size: number;
  /** Where the bytes are (the CDN URL for LFS files). */
  readonly url: string;
  /** The repo's kind (default "model"): where the blob is cached. */
  readonly repoType?: RepoType;
}

/** HEAD of `/{repo}/resolve/{revision}/{file}`, redirects not followed except same-host relative ones (renamed repos). */
export async function fileMeta(repoId: string, revision: string, file: string, type: RepoType = "model"): Promise<FileMeta> {
  let url = `${hubEndpoint()}/${urlPrefix(type)}${enc(repoId)}/resolve/${encodeURIComponent(revision)}/${enc(file)}`;
  for (let hop = 0; ; hop++) {
    const res = await request(url, { method: "HEAD", redirect: "manual", headers: { "accept-encoding": "identity" } });
    const h = res.headers;
    const location = h.get("location");
    const etag = (h.get("x-linked-etag") ?? h.get("etag"))?.replace(/^W\//, "").replace(/"/g, "");
    if (res.status >= 300 && res.status < 400 && location && !etag && hop < 5) {
      url = new URL(location, url).toString();
      continue;
    }
    if (res.status >= 400) throw httpError(res, repoId, revision, file);
    const commit = h.get("x-repo-commit");
    const size = Number(h.get("x-linked-size") ?? h.get("content-length"));
    if (!commit || !etag || !Number.isFinite(size)) {
      throw new Error(`${repoId}@${revision}/${file}: the Hub's answer lacks X-Repo-Commit, ETag or size; is HF_ENDPOINT (${hubEndpoint()}) a Hugging Face Hub?`);
    }
    return { file, commit, etag, size, url: location ? new URL(location, url).toString() : url, repoType: type };
  }
}

/** A hash matching the blob id: sha256 (64 hex digits, LFS), git blob sha1 (40 hex digits), or none. */
function blobHasher(etag: string, size: number): Hash | undefined {
  if (/^[0-9a-f]{64}$/.test(etag)) return createHash("sha256");
  if (/^[0-9a-f]{40}$/.test(etag)) return createHash("sha1").update(`blob ${size}\0`);
  return undefined;
}

async function hashExisting(file: string, hash: Hash | undefined): Promise<void> {
  if (!hash) return;
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

/**
 * Fetches one blob into the cache (if not already there) and links it into the snapshot; returns the snapshot path.
 * A partial `blobs/{etag}.incomplete` from an earlier attempt is resumed with `Range`.
 */
export async function downloadBlob(repoId: string, meta: FileMeta, progress: Progress, counted = { bytes: 0 }): Promise<string> {
  const type = meta.repoType ?? "model";
  const blob = blobPath(repoId, meta.etag, process.env, type);
  if (!existsSync(blob)) {
    await fsp.mkdir(path.dirname(blob), { recursive: true });
    const part = `${blob}.incomplete`;
    let have = existsSync(part) ? (await fsp.stat(part)).size : 0;
    if (have > meta.size) {
      await fsp.rm(part);
      have = 0;
    }
    let hash = blobHasher(meta.etag, meta.size);
    if (have < meta.size) {
      const res = await request(meta.url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, timeoutMs: 24 * 3600_000 });
      if (!res.ok) throw httpError(res, repoId, meta.commit, meta.file);
      if (have > 0 && res.status !== 206) have = 0; // the server ignored Range: start over
      if (have > 0) await hashExisting(part, hash);
      progress.add(have - counted.bytes); // bytes from an earlier attempt of this session are already counted
      counted.bytes = have;
      const fh = await fsp.open(part, have > 0 ? "a" : "w");
      try {
        if (!res.body) throw new Error("empty response body");
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          await fh.write(chunk);
          hash?.update(chunk);
          have += chunk.length;
          counted.bytes += chunk.length;
          progress.add(chunk.length);
        }
      } catch (e) {
        throw new Error(
          `${repoId}/${meta.file}: the download broke off after ${have} of ${meta.size} bytes (${(e as Error).message}); ` +
            `run the same command again to resume (the partial file is ${part})`,
        );
      } finally {
        await fh.close();
      }
    } else {
      await hashExisting(part, hash);
      progress.add(have - counted.bytes);
    }
    const size = (await fsp.stat(part)).size;
    const digest = hash?.digest("hex");
    if (size !== meta.size || (digest !== undefined && digest !== meta.etag)) {
      await fsp.rm(part, { force: true });
      const why = size !== meta.size ? `${size} bytes instead of ${meta.size}` : `its hash is ${digest}, not ${meta.etag}`;
      throw new Error(`${repoId}/${meta.file}: the downloaded file is corrupt (${why}); it was deleted — run the same command again to download it afresh`);
    }
    await fsp.rename(part, blob);
  }
  return linkSnapshotFile(repoId, meta.commit, meta.file, meta.etag, process.env, type);
}

/** Downloads `metas` with one progress display for all of them; files already linked in the snapshot are skipped. */
export async function downloadAll(repoId: string, metas: FileMeta[], progress: ProgressOption, retries = 2): Promise<void> {
  const total = metas.reduce((a, m) => a + m.size, 0);
  const bar = new Progress(`Downloading ${repoId}`, total, progress);
  for (const m of metas) {
    const counted = { bytes: 0 };
    for (let attempt = 0; ; attempt++) {
      try {
        await downloadBlob(repoId, m, bar, counted);
        break;
      } catch (e) {
        const retryable = /broke off|cannot reach/.test((e as Error).message);
        if (!retryable || attempt >= retries) throw e;
      }
    }
  }
  bar.finish();
}
