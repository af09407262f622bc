/**
 * HookedTransformer.fromPretrained on checkpoint variants built from the committed fixtures in temp folders:
 * `transformer.`-prefixed keys, an untied `lm_head`, the Hugging Face cache layout (HF_HUB_CACHE / HF_HOME, refs and
 * commit revisions), a real GPT-2 tokenizer, a sequential GPT-NeoX; and every bad-checkpoint error, each naming the
 * problem and the fix and leaving no tensor allocated.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, symlink, truncate, unlink, writeFile, copyFile } from "node:fs/promises";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { ensureBackend, HookedTransformer } from "../../../src/lens/index";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";
import { loadReference } from "../../fixtures";
import {
  copyNeoxFolder, expectLoadError, GPT2_FIXTURE, gpt2Tensors, logitsOf, NEOX_FILES, NEOX_FIXTURE, tempDir, writeGpt2Folder,
  writeTinyGpt2WithTokenizer, type Tensors,
} from "./checkpoints";

let tmp: string;
let tokens: number[][];
/** Logits of the unmodified fixture, unprocessed and processed. */
let rawLogits: Float32Array;
let processedLogits: Float32Array;

before(async () => {
  await ensureBackend();
  tmp = await tempDir("fromPretrained");
  tokens = (await loadReference("tiny-gpt2")).tokens;
  const raw = await HookedTransformer.fromPretrainedNoProcessing(GPT2_FIXTURE);
  rawLogits = await logitsOf(raw, tokens);
  raw.dispose();
  const processed = await HookedTransformer.fromPretrained(GPT2_FIXTURE);
  processedLogits = await logitsOf(processed, tokens);
  processed.dispose();
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Loads `nameOrPath`, checks its logits on the reference tokens against `expected` bit for bit, disposes it. */
async function expectSameLogits(nameOrPath: string, expected: Float32Array, opts: Parameters<typeof HookedTransformer.fromPretrained>[1] = {}) {
  const model = await HookedTransformer.fromPretrained(nameOrPath, opts);
  try {
    await expectAllClose(await logitsOf(model, tokens), expected, TOLERANCES.exact, `logits of ${nameOrPath}`);
  } finally {
    model.dispose();
  }
}

describe("checkpoint variants", () => {
  test("keys with a `transformer.` prefix give identical logits", async () => {
    const src = await gpt2Tensors();
    const prefixed: Tensors = Object.fromEntries(Object.entries(src).map(([k, v]) => [`transformer.${k}`, v]));
    const dir = await writeGpt2Folder(path.join(tmp, "prefixed"), prefixed);
    await expectSameLogits(dir, processedLogits);
    await expectSameLogits(dir, rawLogits, { foldLn: false, centerWritingWeights: false, centerUnembed: false, foldValueBiases: false });
  });

  test("an explicit untied lm_head.weight is used as W_U", async () => {
    const t = await gpt2Tensors();
    const wte = t["wte.weight"];
    // lm_head = 2·wte: W_U = lm_headᵀ, and since scaling by 2 is exact in floating point, logits = 2 × the tied logits.
    t["lm_head.weight"] = { shape: wte.shape, data: wte.data.map((x) => 2 * x) };
    const dir = await writeGpt2Folder(path.join(tmp, "untied"), t);
    const model = await HookedTransformer.fromPretrainedNoProcessing(dir);
    try {
      const [V, D] = wte.shape;
      assert.deepEqual(model.W_U.shape, [D, V]);
      const W_U = await model.W_U.data();
      const expected = new Float32Array(D * V);
      for (let v = 0; v < V; v++) for (let d = 0; d < D; d++) expected[d * V + v] = 2 * wte.data[v * D + d];
      await expectAllClose(W_U, expected, TOLERANCES.exact, "W_U = lm_head.weightᵀ");
      await expectAllClose(await logitsOf(model, tokens), rawLogits.map((x) => 2 * x), TOLERANCES.exact, "logits doubled");
    } finally {
      model.dispose();
    }
  });
});

describe("the Hugging Face cache layout", () => {
  const sha = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c";
  let hub: string;

  before(async () => {
    // <hub>/models--tiny-org--tiny-gpt2/{blobs/<sha256>, snapshots/<commit>/<file> → ../../blobs/<sha256>, refs/main}
    hub = path.join(tmp, "hfhome", "hub");
    const repo = path.join(hub, "models--tiny-org--tiny-gpt2");
    await mkdir(path.join(repo, "blobs"), { recursive: true });
    await mkdir(path.join(repo, "snapshots", sha), { recursive: true });
    await mkdir(path.join(repo, "refs"), { recursive: true });
    for (const f of ["config.json", "model.safetensors"]) {
      const bytes = await readFile(path.join(GPT2_FIXTURE, f));
      const blob = createHash("sha256").update(bytes).digest("hex");
      await writeFile(path.join(repo, "blobs", blob), bytes);
      await symlink(path.join("..", "..", "blobs", blob), path.join(repo, "snapshots", sha, f));
    }
    await writeFile(path.join(repo, "refs", "main"), sha);
  });

  async function withEnv(env: { HF_HUB_CACHE?: string; HF_HOME?: string }, fn: () => Promise<void>): Promise<void> {
    // HF_HUB_OFFLINE: these repo ids must never be looked up on the real Hub (machines with internet would try).
    const saved = { HF_HUB_CACHE: process.env.HF_HUB_CACHE, HF_HOME: process.env.HF_HOME, HF_HUB_OFFLINE: process.env.HF_HUB_OFFLINE };
    const set = (k: "HF_HUB_CACHE" | "HF_HOME" | "HF_HUB_OFFLINE", v: string | undefined) => (v === undefined ? delete process.env[k] : (process.env[k] = v));
    try {
      set("HF_HUB_CACHE", env.HF_HUB_CACHE);
      set("HF_HOME", env.HF_HOME);
      set("HF_HUB_OFFLINE", "1");
      await fn();
    } finally {
      set("HF_HUB_CACHE", saved.HF_HUB_CACHE);
      set("HF_HOME", saved.HF_HOME);
      set("HF_HUB_OFFLINE", saved.HF_HUB_OFFLINE);
    }
  }

  test("a repo id resolves through HF_HUB_CACHE and refs/main", () =>
    withEnv({ HF_HUB_CACHE: hub }, () => expectSameLogits("tiny-org/tiny-gpt2", processedLogits)));

  test("…and through HF_HOME/hub", () => withEnv({ HF_HOME: path.dirname(hub) }, () => expectSameLogits("tiny-org/tiny-gpt2", processedLogits)));

  test("revision by commit sha", () => withEnv({ HF_HUB_CACHE: hub }, () => expectSameLogits("tiny-org/tiny-gpt2", processedLogits, { revision: sha })));

  test("a revision or repo that is not cached names the cache, the revision and the download command", () =>
    withEnv({ HF_HUB_CACHE: hub }, async () => {
      await expectLoadError(() => HookedTransformer.fromPretrained("tiny-org/tiny-gpt2", { revision: "v9" }), [
        new RegExp(`${hub.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} has no snapshot of it at revision "v9"`),
        /huggingface-cli download tiny-org\/tiny-gpt2/,
      ]);
      await expectLoadError(() => HookedTransformer.fromPretrained("tiny-org/other"), [/model "tiny-org\/other" not found/, /huggingface-cli download/]);
    }));
});

describe("a tokenizer in the folder", () => {
  let model: HookedTransformer;
  before(async () => {
    model = await HookedTransformer.fromPretrained(await writeTinyGpt2WithTokenizer(path.join(tmp, "with-tokenizer")));
    (await model.forward([[0]])).dispose(); // the first forward caches derived weights (flattened W_Q/W_K/W_V/W_O, mask) for good
  });
  after(() => model.dispose());

  test("toTokens puts BOS first for GPT-2", async () => {
    assert.equal(model.cfg.dVocab, 50257);
    const t = model.toTokens("Hello, I'm a");
    // Ids from test/fixtures/gpt2-tokenizer-table.json (a from-scratch BPE), with BOS = <|endoftext|> = 50256 first.
    assert.deepEqual(await t.array(), [[50256, 15496, 11, 314, 1101, 257]]);
    t.dispose();
  });

  test("forward(text) equals forward(toTokens(text))", async () => {
    const before = tf.memory().numTensors;
    const t = model.toTokens("Hello, I'm a");
    const fromIds = await logitsOf(model, t);
    t.dispose();
    const fromText = await logitsOf(model, "Hello, I'm a");
    assert.equal(fromText.length, 6 * 50257);
    await expectAllClose(fromText, fromIds, TOLERANCES.exact, "text vs ids");
    assert.equal(tf.memory().numTensors, before);
  });

  test("a list of texts is padded (right, with the pad token = <|endoftext|>)", async () => {
    const t = model.toTokens(["Hello", "Hello, I'm a"]);
    assert.deepEqual(await t.array(), [[50256, 15496, 50256, 50256, 50256, 50256], [50256, 15496, 11, 314, 1101, 257]]);
    t.dispose();
    const logits = await model.forward(["Hello", "Hello, I'm a"]);
    assert.deepEqual(logits.shape, [2, 6, 50257]);
    // Causal attention: the first two positions of row 0 see the same tokens as in row 1.
    const both = (await logits.array()) as number[][][];
    logits.dispose();
    await expectAllClose(both[0].slice(0, 2).flat(), both[1].slice(0, 2).flat(), TOLERANCES.float32Invariant, "shared prefix");
  });

  test("a text longer than nCtx throws unless truncate", async () => {
    const long = " a".repeat(40); // 40 tokens + BOS > nCtx = 32
    const before = tf.memory().numTensors;
    await assert.rejects(model.forward(long), /41 tokens long \(BOS included\) but nCtx is 32; pass truncate: true/);
    assert.equal(tf.memory().numTensors, before);
    const cut = await model.forward(long, { truncate: true });
    assert.deepEqual(cut.shape, [1, 32, 50257]);
    cut.dispose();
  });
});

describe("bad checkpoints: an Error naming the problem and the fix, nothing leaked", () => {
  test("missing folder", () =>
    expectLoadError(() => HookedTransformer.fromPretrained(path.join(tmp, "no-such-folder")), [/not found: it is not a folder/, /Pass a folder with config\.json/]));

  test("folder without config.json", async () => {
    const dir = path.join(tmp, "no-config");
    await mkdir(dir);
    await copyFile(path.join(GPT2_FIXTURE, "model.safetensors"), path.join(dir, "model.safetensors"));
    await expectLoadError(() => HookedTransformer.fromPretrained(dir), [/has no config\.json/, /Hugging Face model folder/]);
  });

  test("config.json not JSON", async () => {
    const dir = await writeGpt2Folder(path.join(tmp, "bad-json"), await gpt2Tensors());
    await writeFile(path.join(dir, "config.json"), '{"model_type": "gpt2",');
    await expectLoadError(() => HookedTransformer.fromPretrained(dir), [/config\.json is not valid JSON/, /download it again/]);
  });

  test("unknown model_type lists the supported ones", async () => {
    const cfg = JSON.parse(await readFile(path.join(GPT2_FIXTURE, "config.json"), "utf8"));
    const dir = await writeGpt2Folder(path.join(tmp, "llama"), await gpt2Tensors(), { ...cfg, model_type: "llama" });
    await expectLoadError(() => HookedTransformer.fromPretrained(dir), [/unsupported model_type "llama"/, /"gpt2"/, /"gpt_neox"/]);
  });

  test("no model.safetensors and no index", async () => {
    const dir = path.join(tmp, "no-weights");
    await mkdir(dir);
    await copyFile(path.join(GPT2_FIXTURE, "config.json"), path.join(dir, "config.json"));
    await expectLoadError(() => HookedTransformer.fromPretrained(dir), [/neither model\.safetensors nor model\.safetensors\.index\.json/, /download/]);
  });

  test("an unexpected extra tensor is listed", async () => {
    const t = await gpt2Tensors();
    t["h.1.attn.rotary.inv_freq"] = { shape: [4], data: new Float32Array(4) };
    const dir = await writeGpt2Folder(path.join(tmp, "extra-key"), t);
    await expectLoadError(() => HookedTransformer.fromPretrained(dir), [/1 checkpoint tensor\(s\) were not used by the gpt2 converter \(h\.1\.attn\.rotary\.inv_freq\)/, /do not match config\.json's model_type/]);
  });

  test("a missing tensor is named", async () => {
    const t = await gpt2Tensors();
    delete t["h.1.mlp.c_fc.bias"];
    const dir = await writeGpt2Folder(path.join(tmp, "missing-key"), t);
    await expectLoadError(() => HookedTransformer.fromPretrained(dir), [/checkpoint has no tensor "h\.1\.mlp\.c_fc\.bias"/, /does not match the architecture in config\.json, or it is incomplete/]);
  });

  test("a tensor with the wrong shape names the key and both shapes", async () => {
    const t = await gpt2Tensors();
    t["h.2.attn.c_proj.weight"] = { shape: [64, 32], data: new Float32Array(64 * 32) };
    const dir = await writeGpt2Folder(path.join(tmp, "bad-shape"), t);
    await expectLoadError(() => HookedTransformer.fromPretrained(dir), [/"h\.2\.attn\.c_proj\.weight" has shape \[64,32\] but config\.json implies \[64,64\]/, /config and weights disagree/]);
  });

  test("a truncated model.safetensors (cut in half)", async () => {
    const dir = await writeGpt2Folder(path.join(tmp, "truncated"), await gpt2Tensors());
    const file = path.join(dir, "model.safetensors");
    const size = (await readFile(file)).length;
    await truncate(file, Math.floor(size / 2));
    await expectLoadError(() => HookedTransformer.fromPretrained(dir), [/model\.safetensors: tensor ".+" ends at byte \d+ of the data section/, /truncated — download it again/]);
  });

  test("an index pointing to a missing shard", async () => {
    const dir = await copyNeoxFolder(path.join(tmp, "missing-shard"));
    await unlink(path.join(dir, NEOX_FILES[3]));
    await expectLoadError(() => HookedTransformer.fromPretrained(dir), [/model\.safetensors\.index\.json lists shard model-00002-of-00002\.safetensors/, /download/]);
  });
});

describe("GPT-NeoX with use_parallel_residual: false", () => {
  test("is sequential from the config flag: hook_resid_mid exists and resid_mid = resid_pre + attn_out", async () => {
    const dir = await copyNeoxFolder(path.join(tmp, "neox-seq"), (c) => (c.use_parallel_residual = false));
    const seq = await HookedTransformer.fromPretrainedNoProcessing(dir);
    const par = await HookedTransformer.fromPretrainedNoProcessing(NEOX_FIXTURE);
    try {
      assert.equal(seq.cfg.parallelAttnMlp, false);
      assert.equal(par.cfg.parallelAttnMlp, true);
      assert.ok(seq.hookNames().includes("blocks.0.hook_resid_mid"));
      assert.ok(!par.hookNames().includes("blocks.0.hook_resid_mid"));
      const [logits, cache] = await seq.runWithCache(tokens, { namesFilter: (n) => n.startsWith("blocks.1.") });
      const sum = tf.add(cache.get("blocks.1.hook_resid_pre"), cache.get("blocks.1.hook_attn_out"));
      await expectAllClose(cache.get("blocks.1.hook_resid_mid"), sum, TOLERANCES.exact, "resid_mid");
      const parLogits = await logitsOf(par, tokens);
      const seqLogits = (await logits.data()) as Float32Array;
      assert.ok(seqLogits.some((x, i) => Math.abs(x - parLogits[i]) > 1e-3), "the flag changes the computation");
      tf.dispose([logits, sum]);
      cache.dispose();
    } finally {
      seq.dispose();
      par.dispose();
    }
  });
});
