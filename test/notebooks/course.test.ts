/**
 * notebooks/course.ts: the order in which a notebook picks its model (LENS_MODEL → harness → cached real model →
 * bundled), the expected run time it prints for an automatically chosen GPT-2, and the model-generic helpers the
 * notebooks use instead of vocabulary-size tests: special token ids, the range of ordinary ids, the IOI prompt the
 * tokenizer can read, and whether the model has learned position embeddings.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { chooseModel, hasPositionEmbeddings, ioiExample, ordinaryTokenRange, specialTokenIds } from "../../notebooks/course";
import { HookedTransformer } from "../../src/lens/index";
import { copyNeoxFolder, tempDir, writeTinyGpt2WithTokenizer } from "../lens/loading/checkpoints";

test("chooseModel: LENS_MODEL first, then the harness's bundled flag, then a cached real model, then the bundled one", () => {
  const cache = mkdtempSync(join(tmpdir(), "lens-course-"));
  try {
    const empty = { HF_HUB_CACHE: cache };
    assert.equal(chooseModel("toy-ioi", "gpt2", empty).name, "toy-ioi");
    assert.match(chooseModel("toy-ioi", "gpt2", empty).why, /npm run download -- gpt2/);
    assert.equal(chooseModel("toy-ioi", "gpt2", empty, "02").expected, undefined, "no run-time note for the bundled model");
    // Make gpt2 look cached: refs/main → a snapshot holding config.json (the HF cache layout).
    const repo = join(cache, "models--gpt2");
    mkdirSync(join(repo, "refs"), { recursive: true });
    mkdirSync(join(repo, "snapshots", "abc123"), { recursive: true });
    writeFileSync(join(repo, "refs", "main"), "abc123");
    writeFileSync(join(repo, "snapshots", "abc123", "config.json"), "{}");
    assert.equal(chooseModel("toy-ioi", "gpt2", empty).name, "gpt2");
    assert.match(chooseModel("toy-ioi", "gpt2", empty).why, /picked automatically/);
    assert.match(chooseModel("toy-ioi", "gpt2", empty, "02").expected ?? "", /about 16 minutes on GPT-2 small with a 2-core CPU \(measured/);
    assert.match(chooseModel("toy-ioi", "gpt2", empty, "04").expected ?? "", /about 119 s on GPT-2 small/);
    assert.equal(chooseModel("toy-ioi", "gpt2", { ...empty, LENS_MODEL: "gpt2" }, "01").expected, undefined, "asked for explicitly: no note");
    assert.equal(chooseModel("toy-attn-2l", "gpt2", { ...empty, LENS_COURSE_MODELS: "bundled" }).name, "toy-attn-2l");
    assert.equal(chooseModel("toy-ioi", "gpt2", { ...empty, LENS_COURSE_MODELS: "bundled", LENS_MODEL: "pythia-70m" }).name, "pythia-70m");
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test("model-generic helpers: special ids, ordinary id range and IOI prompt come from the tokenizer; W_pos from the config", async () => {
  const toy = await HookedTransformer.fromPretrained("toy-ioi");
  const dir = await tempDir("course");
  try {
    // toy-ioi's tokenizer.json: added special tokens 0 <|endoftext|> and 1 [UNK]; 275 ids
    assert.deepStrictEqual(specialTokenIds(toy), [0, 1]);
    assert.deepStrictEqual(ordinaryTokenRange(toy), { low: 2, high: 275 });
    assert.deepStrictEqual(ioiExample(toy), { prompt: "After Eric and Tom went to the station, Tom gave the bone to", answer: " Eric", subject: " Tom", english: false });
    assert.equal(hasPositionEmbeddings(toy), true);
    // the real GPT-2 tokenizer: <|endoftext|> = 50256 is BOS, EOS and PAD
    const gpt2 = await HookedTransformer.fromPretrained(await writeTinyGpt2WithTokenizer(join(dir, "gpt2")));
    assert.deepStrictEqual(specialTokenIds(gpt2), [50256]);
    assert.deepStrictEqual(ordinaryTokenRange(gpt2), { low: 0, high: 50256 });
    assert.equal(ioiExample(gpt2).english, true);
    assert.equal(ioiExample(gpt2).answer, " Mary");
    gpt2.dispose();
    // GPT-NeoX (rotary): no W_pos
    const neox = await HookedTransformer.fromPretrained(await copyNeoxFolder(join(dir, "neox")));
    assert.equal(hasPositionEmbeddings(neox), false);
    neox.dispose();
  } finally {
    toy.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
