/**
 * fromPretrained by name against a stand-in Hub on 127.0.0.1 (fakeHub.ts; HF_ENDPOINT points at it), each test with
 * its own empty cache: first download (only the needed files, Python's cache layout), cache reuse with no request,
 * offline reload, sharded F16/BF16 weights, a Pythia checkpoint revision, a .bin-only revision, 404s, 401, a broken
 * transfer that resumes with Range, a corrupted blob, and a cache written in Python's layout by the test itself.
 * Expected logits are those of the same committed fixture loaded from its folder (same bytes → bit-identical).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { ensureBackend, HookedTransformer } from "../../../src/lens/index";
import { loadPretrained } from "../../../src/lens/loading/fromPretrained";
import { loadReference } from "../../fixtures";
import { FIXTURES, GPT2_TOKENIZER_DIR } from "../../fixtures";
import { expectLoadError, GPT2_FIXTURE, logitsOf, NEOX_FILES, NEOX_FIXTURE, tempDir } from "./checkpoints";
import { commitOf, FakeHub, gitSha1, sha256 } from "./fakeHub";

const hub = new FakeHub();
let tmp: string;
let cache: string;
let gpt2Tokens: number[][];
let neoxTokens: number[][];
let gpt2Logits: Float32Array;
let neoxLogits: Float32Array;
const files = (dir: string, names: string[]) => Object.fromEntries(names.map((n) => [n, readFileSync(path.join(dir, n))]));
const gpt2Files = () => files(GPT2_FIXTURE, ["config.json", "model.safetensors"]);
const noProgress = { progress: false as const };

async function logitsFor(nameOrPath: string, tokens: number[][], opts: Parameters<typeof HookedTransformer.fromPretrained>[1] = noProgress) {
  const m = await HookedTransformer.fromPretrained(nameOrPath, opts);
  try {
    return await logitsOf(m, tokens);
  } finally {
    m.dispose();
  }
}
const repoDir = (repoId: string) => path.join(cache, `models--${repoId.replace("/", "--")}`);

before(async () => {
  await ensureBackend();
  tmp = await tempDir("hub");
  gpt2Tokens = (await loadReference("tiny-gpt2")).tokens;
  neoxTokens = (await loadReference("tiny-neox")).tokens;
  gpt2Logits = await logitsFor(GPT2_FIXTURE, gpt2Tokens);
  neoxLogits = await logitsFor(NEOX_FIXTURE, neoxTokens);
  const tokenizer = files(GPT2_TOKENIZER_DIR, ["tokenizer.json", "tokenizer_config.json"]);
  // Files a loader must not fetch: README, Flax and PyTorch weights next to safetensors.
  hub.addRevision("test-org/tiny-gpt2", "main", { ...gpt2Files(), "README.md": Buffer.from("# tiny"), "flax_model.msgpack": Buffer.alloc(4096, 7), "pytorch_model.bin": Buffer.alloc(4096, 9) });
  hub.addRevision("EleutherAI/pythia-70m", "main", { ...files(NEOX_FIXTURE, NEOX_FILES), ...tokenizer });
  hub.addRevision("EleutherAI/pythia-70m", "step1000", { "config.json": readFileSync(path.join(NEOX_FIXTURE, "config.json")), "pytorch_model.bin": readFileSync(path.join(FIXTURES, "pytorch-bin", "tiny-neox.bin")) });
  hub.addRevision("test-org/gated", "main", gpt2Files(), { token: "hf_secret" });
  hub.addRevision("test-org/listed-missing", "main", { "config.json": gpt2Files()["config.json"] }, { listedButMissing: ["model.safetensors"] });
  hub.addRevision("test-org/flaky", "main", gpt2Files());
  hub.addRevision("test-org/corrupt", "main", gpt2Files());
  process.env.HF_ENDPOINT = await hub.start();
  delete process.env.HF_TOKEN;
  delete process.env.HF_HUB_OFFLINE;
});
after(async () => {
  await hub.stop();
  await rm(tmp, { recursive: true, force: true });
});
beforeEach(async () => {
  cache = await hub.freshCache(tmp, "hub-cache-");
});

describe("download, cache reuse, offline", () => {
  test("first download fetches only config + weights, in Python's layout; a second load sends no request; offline and unreachable loads work", async () => {
    const lines: string[] = [];
    assert.deepEqual(await logitsFor("test-org/tiny-gpt2", gpt2Tokens, { progress: (l) => lines.push(l) }), gpt2Logits);
    const fetched = hub.log.filter((r) => r.method === "GET" && !r.url.startsWith("/api/")).map((r) => r.url);
    assert.ok(!fetched.some((u) => /README|msgpack|pytorch_model/.test(u)), `unneeded files fetched: ${fetched}`);
    // Layout: blobs named by sha256 (LFS) / git sha1 (small), relative symlinks, refs/main = commit.
    const commit = commitOf("test-org/tiny-gpt2@main");
    const repo = repoDir("test-org/tiny-gpt2");
    assert.equal(readFileSync(path.join(repo, "refs", "main"), "utf8"), commit);
    const st = gpt2Files();
    assert.deepEqual(readdirSync(path.join(repo, "blobs")).sort(), [sha256(st["model.safetensors"]), gitSha1(st["config.json"])].sort());
    assert.equal(readlinkSync(path.join(repo, "snapshots", commit, "model.safetensors")), `../../blobs/${sha256(st["model.safetensors"])}`);
    assert.equal(readlinkSync(path.join(repo, "snapshots", commit, "config.json")), `../../blobs/${gitSha1(st["config.json"])}`);
    assert.match(lines.at(-1) ?? "", /100% .* 801\.\d kB\/801\.\d kB .*\/s +ETA/);

    hub.log.length = 0;
    assert.deepEqual(await logitsFor("test-org/tiny-gpt2", gpt2Tokens), gpt2Logits);
    assert.deepEqual(hub.log, [], "cached: no request at all");
    process.env.HF_HUB_OFFLINE = "1";
    assert.deepEqual(await logitsFor("test-org/tiny-gpt2", gpt2Tokens), gpt2Logits);
    await expectLoadError(() => HookedTransformer.fromPretrained("test-org/flaky", noProgress), [
      /model "test-org\/flaky" not found/, /HF_HUB_OFFLINE is set/, /Missing: config\.json/, /npx lens download test-org\/flaky/, /models--test-org--flaky/,
    ]);
    assert.deepEqual(hub.log, []);
    delete process.env.HF_HUB_OFFLINE;
    const saved = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = "http://127.0.0.1:9"; // nothing listens there
    try {
      assert.deepEqual(await logitsFor("test-org/tiny-gpt2", gpt2Tokens), gpt2Logits);
      await expectLoadError(() => HookedTransformer.fromPretrained("test-org/flaky", noProgress), [/the Hub could not be reached/, /npx lens download/]);
    } finally {
      process.env.HF_ENDPOINT = saved;
    }
  });

  test("Pythia by alias: sharded BF16/F16 safetensors; checkpointValue 1000 → revision step1000 (pytorch_model.bin only) with main's tokenizer", async () => {
    assert.deepEqual(await logitsFor("pythia-70m", neoxTokens), neoxLogits);
    assert.ok(hub.log.some((r) => r.url.includes("model-00002-of-00002.safetensors")));
    hub.log.length = 0;
    const { stateDict, tokenizer } = await loadPretrained("pythia-70m", { checkpointValue: 1000, ...noProgress });
    tf.dispose([...stateDict.values()]);
    assert.ok(tokenizer, "the tokenizer comes from main");
    assert.ok(hub.log.some((r) => r.url === "/api/models/EleutherAI/pythia-70m/revision/step1000"));
    assert.equal(readFileSync(path.join(repoDir("EleutherAI/pythia-70m"), "refs", "step1000"), "utf8"), commitOf("EleutherAI/pythia-70m@step1000"));
    assert.deepEqual(await logitsFor("EleutherAI/pythia-70m", neoxTokens, { revision: "step1000", ...noProgress }), neoxLogits, ".bin gives the same logits");
    await expectLoadError(() => HookedTransformer.fromPretrained("pythia-70m", { checkpointValue: 1500 }), [/checkpointValue 1500 is not a saved Pythia step; nearest saved steps: 1000, 2000/]);
  });

  test("a cache written in Python's layout by this test (and TransformerLens's legacy `gpt2` repo folder) loads with no request", async () => {
    const commit = "a".repeat(40);
    for (const [repoId, name] of [["py-org/py-model", "py-org/py-model"], ["gpt2", "gpt2-small"]]) {
      const repo = repoDir(repoId);
      await mkdir(path.join(repo, "blobs"), { recursive: true });
      await mkdir(path.join(repo, "snapshots", commit), { recursive: true });
      await mkdir(path.join(repo, "refs"), { recursive: true });
      for (const [f, bytes] of Object.entries(gpt2Files())) {
        const etag = f.endsWith(".safetensors") ? sha256(bytes) : gitSha1(bytes);
        await writeFile(path.join(repo, "blobs", etag), bytes);
        await symlink(`../../blobs/${etag}`, path.join(repo, "snapshots", commit, f));
      }
      await writeFile(path.join(repo, "refs", "main"), commit);
      assert.deepEqual(await logitsFor(name, gpt2Tokens), gpt2Logits, name);
    }
    assert.deepEqual(hub.log, []);
  });
});

test("`lens download` (bin/lens.mjs, what `npx lens download` runs) fills the cache; then loading needs no network", async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      execFile(process.execPath, [path.join(__dirname, "../../../bin/lens.mjs"), ...args], { env: { ...process.env } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }),
      );
    });
  const first = await run(["download", "test-org/tiny-gpt2", "--checkpoint-value", "1000"]);
  assert.equal(first.code, 1);
  assert.match(first.out, /lens: test-org\/tiny-gpt2 has no training checkpoints by step/);
  const ok = await run(["download", "test-org/tiny-gpt2"]);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /test-org\/tiny-gpt2 \(test-org\/tiny-gpt2@main\): downloaded in .*snapshots/);
  assert.match((await run(["download", "test-org/tiny-gpt2"])).out, /already cached/);
  process.env.HF_HUB_OFFLINE = "1";
  hub.log.length = 0;
  assert.deepEqual(await logitsFor("test-org/tiny-gpt2", gpt2Tokens), gpt2Logits);
  assert.deepEqual(hub.log, []);
});

describe("errors", () => {
  test("unknown names list close matches; 404 RepoNotFound / RevisionNotFound / EntryNotFound", async () => {
    await expectLoadError(() => HookedTransformer.fromPretrained("gpt2-smal"), [/unknown model name "gpt2-smal"; did you mean "gpt2-small"/, /org\/name/]);
    await expectLoadError(() => HookedTransformer.fromPretrained("test-org/nope", noProgress), [/test-org\/nope: repository not found/, /RepoNotFound/]);
    await expectLoadError(() => HookedTransformer.fromPretrained("test-org/tiny-gpt2", { revision: "v9", ...noProgress }), [/revision "v9" not found/, /RevisionNotFound/]);
    await expectLoadError(() => HookedTransformer.fromPretrained("test-org/listed-missing", noProgress), [/model\.safetensors not found \(HTTP 404 EntryNotFound\)/]);
  });

  test("401 on a gated repo says how to authenticate; HF_TOKEN then works", async () => {
    await expectLoadError(() => HookedTransformer.fromPretrained("test-org/gated", noProgress), [/refused access \(HTTP 401 GatedRepo\)/, /No token was sent/, /HF_TOKEN=/, /huggingface-cli login/]);
    process.env.HF_TOKEN = "hf_secret";
    hub.log.length = 0;
    assert.deepEqual(await logitsFor("test-org/gated", gpt2Tokens), gpt2Logits);
    assert.ok(hub.log.filter((r) => r.url.startsWith("/api/")).every((r) => r.auth === "Bearer hf_secret"));
  });

  test("a transfer that breaks off leaves only blobs/*.incomplete; the next attempt resumes with Range", async () => {
    const bytes = gpt2Files()["model.safetensors"];
    const sha = sha256(bytes);
    hub.faults.set(sha, { kind: "truncate", remaining: 3 }); // the first try and both retries break off
    await expectLoadError(() => HookedTransformer.fromPretrained("test-org/flaky", noProgress), [/broke off after \d+ of 800480 bytes/, /run the same command again to resume/]);
    const blobs = path.join(repoDir("test-org/flaky"), "blobs");
    assert.ok(!existsSync(path.join(blobs, sha)), "no complete-looking blob");
    const part = (await stat(path.join(blobs, `${sha}.incomplete`))).size;
    assert.ok(part > 0 && part < bytes.length);
    assert.ok(!existsSync(path.join(repoDir("test-org/flaky"), "snapshots", commitOf("test-org/flaky@main"), "model.safetensors")));
    assert.ok(!existsSync(path.join(repoDir("test-org/flaky"), "refs", "main")));
    hub.log.length = 0;
    assert.deepEqual(await logitsFor("test-org/flaky", gpt2Tokens), gpt2Logits);
    assert.deepEqual(hub.log.filter((r) => r.url.startsWith("/cdn/")).map((r) => r.range), [`bytes=${part}-`]);
    assert.equal(sha256(await readFile(path.join(blobs, sha))), sha);
  });

  test("a corrupted blob is rejected by its hash and deleted", async () => {
    const sha = sha256(gpt2Files()["model.safetensors"]);
    hub.faults.set(sha, { kind: "corrupt", remaining: 1 });
    await expectLoadError(() => HookedTransformer.fromPretrained("test-org/corrupt", noProgress), [new RegExp(`model\\.safetensors: the downloaded file is corrupt \\(its hash is [0-9a-f]{64}, not ${sha}\\)`), /deleted/]);
    assert.deepEqual(readdirSync(path.join(repoDir("test-org/corrupt"), "blobs")), [gitSha1(gpt2Files()["config.json"])]);
    assert.deepEqual(await logitsFor("test-org/corrupt", gpt2Tokens), gpt2Logits, "a second try downloads it afresh");
  });
});
