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
import { writeNeoxLayoutTokenizer } from "./pythiaShape";

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
    assert.match(chooseModel("toy-ioi", "gpt2", empty, "01").expected ?? "", /about 93 s on GPT-2 small/);
    assert.match(chooseModel("toy-ioi", "gpt2", empty, "04").expected ?? "", /about 2 minutes on GPT-2 small/, "123 s, said in minutes from 120 s on");
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
    // GPT-NeoX (rotary): no W_pos; with Pythia's special-token layout (pythiaShape.ts: <|endoftext|> 0 as BOS/EOS,
    // <|padding|> 1, GPT-2's other tokens at id + 2) the special ids and the start of the ordinary range follow it
    const neoxDir = await copyNeoxFolder(join(dir, "neox"));
    await writeNeoxLayoutTokenizer(neoxDir);
    const neox = await HookedTransformer.fromPretrained(neoxDir);
    assert.equal(hasPositionEmbeddings(neox), false);
    assert.deepStrictEqual(specialTokenIds(neox), [0, 1]);
    assert.equal(ordinaryTokenRange(neox).low, 2);
    assert.deepStrictEqual(neox.tokenizer!.encode(" Mary and John"), gpt2.tokenizer!.encode(" Mary and John").map((id) => id + 2));
    neox.dispose();
    gpt2.dispose();
  } finally {
    toy.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
