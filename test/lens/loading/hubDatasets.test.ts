/**
 * Dataset repos through the hub client against the stand-in Hub on 127.0.0.1 (fakeHub.ts; HF_ENDPOINT points at it),
 * each test with its own empty cache: `getDataset` by TransformerLens's short name (parquet on main) and a script-based
 * dataset served only through `refs/convert/parquet`; the cache layout Python's huggingface_hub writes
 * (`datasets--org--name`, blobs named by sha256, relative symlinks one level deeper per folder, `refs/main` and the
 * nested `refs/refs/convert/parquet`); no request once cached; offline; a cache written in Python's layout by the test
 * itself; 404s, a gated repo, a transfer that breaks off and resumes with Range; snappy, gzip and zstd pages.
 * The parquet files are written by hyparquet-writer (parquetFixtures.ts), the rows read back by hyparquet.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { getDataset } from "../../../src/lens/index";
import { sampleDocuments, textParquet, zstdSkipReason } from "../datasets/parquetFixtures";
import { tempDir } from "./checkpoints";
import { commitOf, FakeHub, sha256 } from "./fakeHub";

const hub = new FakeHub();
let tmp: string;
let cache: string;
const docs = sampleDocuments(3000, 7);
const [train0, train1, testDocs] = [docs.slice(0, 1200), docs.slice(1200, 2500), docs.slice(2500)];
const files = {
  "data/train-00000-of-00002.parquet": textParquet(train0, { rowGroupSize: 500 }),
  "data/train-00001-of-00002.parquet": textParquet(train1, { rowGroupSize: 500, codec: "GZIP" }),
  "data/test-00000-of-00001.parquet": textParquet(testDocs),
  "README.md": Buffer.from("---\nlicense: mit\n---\n# pile-10k stand-in\n"),
};
const owtShards = [textParquet(docs.slice(0, 800), { rowGroupSize: 300 }), textParquet(docs.slice(800, 1000))];
const noProgress = { progress: false as const };
const repoDir = (repoId: string) => path.join(cache, `datasets--${repoId.replace("/", "--")}`);
const texts = async (ds: AsyncIterable<string>) => { const out: string[] = []; for await (const t of ds) out.push(t); return out; };
const gets = () => hub.log.filter((r) => r.method === "GET" && !r.url.startsWith("/api/")).map((r) => r.url);

before(async () => {
  tmp = await tempDir("hub-datasets");
  hub.addDatasetRevision("NeelNanda/pile-10k", "main", files);
  hub.addDatasetRevision("stas/openwebtext-10k", "main", { "openwebtext-10k.py": Buffer.from("# a loading script\n"), "README.md": Buffer.from("# owt\n") });
  hub.addDatasetRevision("stas/openwebtext-10k", "refs/convert/parquet", { "plain_text/train/0000.parquet": owtShards[0]!, "plain_text/train/0001.parquet": owtShards[1]! });
  hub.addDatasetRevision("test-org/gated-text", "main", { "data/train-00000-of-00001.parquet": textParquet(docs.slice(0, 50)) }, { token: "hf_data" });
  hub.addDatasetRevision("test-org/flaky-text", "main", { "train.parquet": textParquet(docs) });
  hub.addDatasetRevision("test-org/no-parquet", "main", { "train.jsonl": Buffer.from('{"text": "a"}\n') });
  process.env.HF_ENDPOINT = await hub.start();
});
after(async () => {
  await hub.stop();
  await rm(tmp, { recursive: true, force: true });
});
beforeEach(async () => {
  cache = await hub.freshCache(tmp, "cache-");
});

describe("download, cache layout, reuse, offline", () => {
  test("getDataset('pile-10k'): only the train split's parquet files, in Python's layout; rows stream back; cached: no request; offline works", async () => {
    const lines: string[] = [];
    const ds = await getDataset("pile-10k", { progress: (l) => lines.push(l) });
    assert.equal(ds.repoId, "NeelNanda/pile-10k");
    assert.equal(ds.revision, "main");
    assert.equal(ds.fromCache, false);
    assert.deepEqual(ds.rowsPerFile, [1200, 1300]);
    assert.deepEqual(ds.columns, ["text", "meta"]);
    assert.deepEqual(await texts(ds.texts()), [...train0, ...train1]);
    assert.deepEqual(await texts(ds.texts({ offset: 1150, limit: 100 })), [...train0, ...train1].slice(1150, 1250), "across the file boundary");
    assert.deepEqual((await ds.take(2, 1199)).map((r) => r.meta), [1199, 0], "meta restarts in the second file");
    const held = ds.subset({ offset: 2400 }), part = ds.subset({ offset: 1000, limit: 300 }).subset({ offset: 100 });
    assert.deepEqual([held.numRows, part.numRows], [100, 200]);
    assert.deepEqual(await texts(held.texts()), [...train0, ...train1].slice(2400));
    assert.deepEqual(await texts(part.texts({ limit: 500 })), [...train0, ...train1].slice(1100, 1300), "a view of a view; limit clipped to the view");
    assert.deepEqual(gets().sort(), Object.keys(files).filter((f) => f.includes("train")).map((f) => `/cdn/${sha256(files[f as keyof typeof files])}`).sort(), "train parquet only (no README, no test split)");
    assert.ok(hub.log.some((r) => r.url === "/api/datasets/NeelNanda/pile-10k/revision/main"));
    assert.ok(hub.log.some((r) => r.method === "HEAD" && r.url === "/datasets/NeelNanda/pile-10k/resolve/" + commitOf("dataset:NeelNanda/pile-10k@main") + "/data/train-00000-of-00002.parquet"));
    assert.match(lines.at(-1) ?? "", /^Downloading NeelNanda\/pile-10k 100% .*\/s +ETA/);
    // layout: blobs/{sha256}, snapshots/{commit}/data/x → ../../../blobs/{sha256}, refs/main = commit
    const repo = repoDir("NeelNanda/pile-10k");
    const commit = commitOf("dataset:NeelNanda/pile-10k@main");
    assert.equal(readFileSync(path.join(repo, "refs", "main"), "utf8"), commit);
    const shard = files["data/train-00000-of-00002.parquet"];
    assert.equal(readlinkSync(path.join(repo, "snapshots", commit, "data", "train-00000-of-00002.parquet")), `../../../blobs/${sha256(shard)}`);
    assert.deepEqual(readdirSync(path.join(repo, "blobs")).sort(), [sha256(shard), sha256(files["data/train-00001-of-00002.parquet"])].sort());
    assert.ok(!existsSync(path.join(cache, "models--NeelNanda--pile-10k")), "not in the models' folder");

    hub.log.length = 0;
    const again = await getDataset("NeelNanda/pile-10k");
    assert.equal(again.fromCache, true);
    assert.equal(again.numRows, 2500);
    assert.deepEqual(hub.log, [], "cached: no request at all");
    const test = await getDataset("pile", { split: "test", ...noProgress });
    assert.deepEqual(await texts(test.texts()), testDocs);
    process.env.HF_HUB_OFFLINE = "1";
    hub.log.length = 0;
    assert.deepEqual((await texts((await getDataset("pile-10k", { split: "test" })).texts())).length, testDocs.length);
    await assert.rejects(getDataset("openwebtext"), (e: Error) => /dataset stas\/openwebtext-10k: split "train" is not in .*HF_HUB_OFFLINE is set/.test(e.message) && /huggingface-cli download --repo-type dataset stas\/openwebtext-10k/.test(e.message) && /datasets--stas--openwebtext-10k/.test(e.message));
    assert.deepEqual(hub.log, []);
    delete process.env.HF_HUB_OFFLINE;
    const saved = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = "http://127.0.0.1:9"; // nothing listens there
    try {
      assert.equal((await getDataset("pile-10k")).numRows, 2500, "cached: works with the Hub out of reach");
      await assert.rejects(getDataset("owt"), /the Hub could not be reached/);
    } finally {
      process.env.HF_ENDPOINT = saved;
    }
  });

  test("a script-based dataset comes from refs/convert/parquet ({config}/{split}/NNNN.parquet), cached under refs/refs/convert/parquet", async () => {
    const ds = await getDataset("openwebtext-10k", noProgress);
    assert.equal(ds.repoId, "stas/openwebtext-10k");
    assert.equal(ds.revision, "refs/convert/parquet");
    assert.deepEqual(await texts(ds.texts({ offset: 790, limit: 20 })), docs.slice(790, 810));
    assert.ok(hub.log.some((r) => r.url === "/api/datasets/stas/openwebtext-10k/revision/refs%2Fconvert%2Fparquet"), "the branch name is one URL-encoded segment");
    const repo = repoDir("stas/openwebtext-10k");
    const commit = commitOf("dataset:stas/openwebtext-10k@refs/convert/parquet");
    assert.equal(readFileSync(path.join(repo, "refs", "refs", "convert", "parquet"), "utf8"), commit);
    assert.equal(readlinkSync(path.join(repo, "snapshots", commit, "plain_text", "train", "0001.parquet")), `../../../../blobs/${sha256(owtShards[1]!)}`);
    assert.ok(!existsSync(path.join(repo, "refs", "main")), "main had no parquet files: no ref written for it");
    hub.log.length = 0;
    process.env.HF_HUB_OFFLINE = "1";
    assert.equal((await getDataset("owt")).numRows, 1000);
    assert.deepEqual(hub.log, []);
  });

  test("a cache written in Python's layout by this test loads with no request", async () => {
    const repo = repoDir("py-org/py-text");
    const commit = "b".repeat(40);
    const bytes = textParquet(docs.slice(0, 10), { codec: "UNCOMPRESSED" });
    await mkdir(path.join(repo, "blobs"), { recursive: true });
    await mkdir(path.join(repo, "snapshots", commit, "data"), { recursive: true });
    await mkdir(path.join(repo, "refs"), { recursive: true });
    await writeFile(path.join(repo, "blobs", sha256(bytes)), bytes);
    await symlink(`../../../blobs/${sha256(bytes)}`, path.join(repo, "snapshots", commit, "data", "train-00000-of-00001.parquet"));
    await writeFile(path.join(repo, "refs", "main"), commit);
    const ds = await getDataset("py-org/py-text");
    assert.deepEqual(await texts(ds.texts()), docs.slice(0, 10));
    assert.deepEqual(hub.log, []);
  });

  test("snappy, gzip and zstd pages (written by hyparquet-writer's snappy, node:zlib, the zstd tool) read back", { skip: zstdSkipReason() ?? false }, async () => {
    for (const codec of ["SNAPPY", "GZIP", "ZSTD"] as const) {
      const id = `codec-org/${codec.toLowerCase()}`;
      hub.addDatasetRevision(id, "main", { "train.parquet": textParquet(docs.slice(0, 600), { codec, rowGroupSize: 250 }) });
      assert.deepEqual(await texts((await getDataset(id, noProgress)).texts()), docs.slice(0, 600), codec);
    }
  });
});

describe("errors", () => {
  test("unknown short names suggest close ones; 404 RepoNotFound; a split that does not exist lists those that do; no parquet anywhere", async () => {
    await assert.rejects(getDataset("pile10k"), /unknown dataset "pile10k"; did you mean "pile-10k"/);
    await assert.rejects(getDataset("test-org/nope", noProgress), /test-org\/nope: repository not found .*RepoNotFound/);
    await assert.rejects(getDataset("pile-10k", { split: "validation", ...noProgress }), /no parquet files for split "validation" \(main: splits train, test; the repo has no refs\/convert\/parquet branch\)/);
    await assert.rejects(getDataset("test-org/no-parquet", noProgress), /no parquet files for split "train" \(main: no parquet files; the repo has no refs\/convert\/parquet branch\)/);
    await assert.rejects(getDataset("pile-10k", { column: "body", ...noProgress }), /has no column "body"; its columns are "text", "meta"/);
  });

  test("401 on a gated dataset says how to authenticate; HF_TOKEN then works and is sent", async () => {
    await assert.rejects(getDataset("test-org/gated-text", noProgress), (e: Error) => /refused access \(HTTP 401 GatedRepo\)/.test(e.message) && /No token was sent/.test(e.message) && /HF_TOKEN=/.test(e.message));
    process.env.HF_TOKEN = "hf_data";
    hub.log.length = 0;
    assert.equal((await getDataset("test-org/gated-text", noProgress)).numRows, 50);
    assert.ok(hub.log.filter((r) => !r.url.startsWith("/cdn/")).every((r) => r.auth === "Bearer hf_data"));
  });

  test("a transfer that breaks off leaves only blobs/*.incomplete and no ref; the next call resumes with Range", async () => {
    const bytes = textParquet(docs);
    const sha = sha256(bytes);
    hub.faults.set(sha, { kind: "truncate", remaining: 3 }); // the first try and both retries break off
    await assert.rejects(getDataset("test-org/flaky-text", noProgress), new RegExp(`broke off after \\d+ of ${bytes.length} bytes.*run the same command again to resume`));
    const repo = repoDir("test-org/flaky-text");
    assert.ok(!existsSync(path.join(repo, "blobs", sha)), "no complete-looking blob");
    const part = (await stat(path.join(repo, "blobs", `${sha}.incomplete`))).size;
    assert.ok(part > 0 && part < bytes.length);
    assert.ok(!existsSync(path.join(repo, "refs", "main")));
    assert.ok(!existsSync(path.join(repo, "snapshots", commitOf("dataset:test-org/flaky-text@main"), "train.parquet")));
    hub.log.length = 0;
    const ds = await getDataset("test-org/flaky-text", noProgress);
    assert.deepEqual(hub.log.filter((r) => r.url.startsWith("/cdn/")).map((r) => r.range), [`bytes=${part}-`]);
    assert.equal(sha256(readFileSync(path.join(repo, "blobs", sha))), sha);
    assert.equal((await texts(ds.texts())).length, docs.length);
  });
});
