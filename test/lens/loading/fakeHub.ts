/**
 * A stand-in for the Hugging Face Hub on 127.0.0.1 (node:http, in the test process), following the protocol in
 * docs/sources.md §6 (huggingface_hub file_download.py): `/api/models/{repo}/revision/{rev}` (sha + siblings), HEAD/GET
 * `/{repo}/resolve/{rev}/{file}` (small files: 200 with ETag = git blob sha1; LFS files: 302 to `/cdn/{sha256}` with
 * X-Linked-Etag / X-Linked-Size), X-Repo-Commit, X-Error-Code, Range on the CDN, and injectable faults. Dataset repos
 * (`addDatasetRevision`) are served as the Hub serves them: `/api/datasets/{repo}[/revision/{rev}]` and
 * `/datasets/{repo}/resolve/{rev}/{file}`, revisions such as `refs/convert/parquet` arriving URL-encoded as one segment.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdtemp } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import * as path from "node:path";

/** One file of a revision; `lfs` files are served through the CDN redirect, keyed by sha256. */
export interface HubFile {
  readonly bytes: Buffer;
  readonly lfs: boolean;
}

/** A revision: its commit and files. */
export interface HubRevision {
  readonly commit: string;
  readonly files: Map<string, HubFile>;
  /** Files listed in siblings whose download answers 404 EntryNotFound. */
  readonly listedButMissing?: string[];
}

/** A logged request. */
export interface HubRequest {
  readonly method: string;
  readonly url: string;
  readonly range?: string;
  readonly auth?: string;
}

export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
export const gitSha1 = (b: Buffer) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
/** A deterministic fake commit hash from a label. */
export const commitOf = (label: string) => createHash("sha1").update(label).digest("hex");

type Repo = { revisions: Map<string, HubRevision>; token?: string };

export class FakeHub {
  readonly repos = new Map<string, Repo>();
  readonly datasets = new Map<string, Repo>();
  readonly log: HubRequest[] = [];
  /** CDN faults by sha256: cut the body after half the bytes (`remaining` times), or flip a byte. */
  readonly faults = new Map<string, { kind: "truncate" | "corrupt"; remaining: number }>();
  private server: Server | undefined;
  url = "";

  /** Adds a revision (`branch`) of `repoId`; LFS-ness by file name (safetensors, bin, msgpack). */
  addRevision(repoId: string, branch: string, files: Record<string, Buffer>, opts: { token?: string; listedButMissing?: string[] } = {}): HubRevision {
    return this.add(this.repos, repoId, branch, files, opts, "");
  }

  /** Adds a revision of dataset `repoId` (parquet files are LFS, as on the Hub); commit = commitOf("dataset:{repo}@{branch}"). */
  addDatasetRevision(repoId: string, branch: string, files: Record<string, Buffer>, opts: { token?: string; listedButMissing?: string[] } = {}): HubRevision {
    return this.add(this.datasets, repoId, branch, files, opts, "dataset:");
  }

  private add(repos: Map<string, Repo>, repoId: string, branch: string, files: Record<string, Buffer>, opts: { token?: string; listedButMissing?: string[] }, label: string): HubRevision {
    const repo: Repo = repos.get(repoId) ?? { revisions: new Map() };
    if (opts.token) repo.token = opts.token;
    const rev: HubRevision = {
      commit: commitOf(`${label}${repoId}@${branch}`),
      files: new Map(Object.entries(files).map(([k, bytes]) => [k, { bytes, lfs: /\.(safetensors|bin|msgpack|parquet)$/.test(k) }])),
      listedButMissing: opts.listedButMissing,
    };
    repo.revisions.set(branch, rev);
    repos.set(repoId, repo);
    return rev;
  }

  /**
   * A fresh, empty hub cache under `parent` (removed with it), set as HF_HUB_CACHE, with no token file, no HF_TOKEN and
   * not offline, and an empty request log: the state each test starts from. Returns the cache folder.
   */
  async freshCache(parent: string, prefix: string): Promise<string> {
    const cache = path.join(await mkdtemp(path.join(parent, prefix)), "hub");
    process.env.HF_HUB_CACHE = cache;
    process.env.HF_HOME = path.join(parent, "no-such-home"); // no token file
    delete process.env.HF_HUB_OFFLINE;
    delete process.env.HF_TOKEN;
    this.log.length = 0;
    return cache;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private revision(repo: Repo, rev: string): HubRevision | undefined {
    return repo.revisions.get(rev) ?? [...repo.revisions.values()].find((r) => r.commit === rev);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? "/";
    this.log.push({ method: req.method ?? "", url, range: req.headers.range, auth: req.headers.authorization });
    const error = (status: number, code: string) => {
      res.writeHead(status, { "x-error-code": code, "content-type": "application/json" });
      res.end(req.method === "HEAD" ? undefined : JSON.stringify({ error: code }));
    };
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url);
    if (cdn) return this.serveCdn(cdn[1], req, res);
    const api = /^\/api\/(models|datasets)\/([^/]+\/[^/]+?)(?:\/revision\/([^/]+))?$/.exec(url);
    const resolve = /^\/(datasets\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    if (!api && !resolve) return error(404, "NotFound");
    const isDataset = api ? api[1] === "datasets" : resolve![1] !== undefined;
    const repoId = decodeURIComponent((api ?? resolve)![2]);
    const repo = (isDataset ? this.datasets : this.repos).get(repoId);
    if (!repo) return error(404, "RepoNotFound");
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) return error(401, "GatedRepo");
    const rev = this.revision(repo, decodeURIComponent((api ? api[3] : resolve![3]) ?? "main"));
    if (!rev) return error(404, "RevisionNotFound");
    if (api) {
      const siblings = [...rev.files.keys(), ...(rev.listedButMissing ?? [])].map((rfilename) => ({ rfilename }));
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ id: repoId, sha: rev.commit, siblings }));
    }
    const file = rev.files.get(decodeURIComponent(resolve![4]));
    if (!file) return error(404, "EntryNotFound");
    if (file.lfs) {
      const sha = sha256(file.bytes);
      res.writeHead(302, {
        location: `/cdn/${sha}`, "x-repo-commit": rev.commit, "x-linked-etag": `"${sha}"`, "x-linked-size": String(file.bytes.length),
        etag: `"${gitSha1(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha}\n`))}"`,
      });
      return void res.end();
    }
    res.writeHead(200, { etag: `"${gitSha1(file.bytes)}"`, "x-repo-commit": rev.commit, "content-length": String(file.bytes.length) });
    res.end(req.method === "HEAD" ? undefined : file.bytes);
  }

  private serveCdn(sha: string, req: IncomingMessage, res: ServerResponse): void {
    let bytes: Buffer | undefined;
    for (const repo of [...this.repos.values(), ...this.datasets.values()]) for (const rev of repo.revisions.values()) for (const f of rev.files.values()) if (f.lfs && sha256(f.bytes) === sha) bytes = f.bytes;
    if (!bytes) return void res.writeHead(404).end();
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range) start = Number(range[1]);
    const body = bytes.subarray(start);
    res.writeHead(range ? 206 : 200, {
      "content-length": String(body.length), "accept-ranges": "bytes",
      ...(range ? { "content-range": `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}),
    });
    if (req.method === "HEAD") return void res.end();
    const fault = this.faults.get(sha);
    if (fault && fault.remaining > 0) {
      fault.remaining--;
      if (fault.kind === "truncate") {
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => res.destroy(), 20));
        return;
      }
      const bad = Buffer.from(body);
      bad[bad.length >> 1] ^= 0xff;
      return void res.end(bad);
    }
    res.end(body);
  }
}
