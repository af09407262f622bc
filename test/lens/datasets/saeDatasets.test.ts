/**
 * Dataset streams in the SAE tools. `packSequences` against sequences worked out by hand from SAELens's
 * `concat_and_batch_sequences` rules (BOS starts every sequence and separates documents, never doubled where a document
 * already starts with BOS, empty documents skipped, the tail dropped). `ActivationStore` fed a `dataset` stream gives
 * the same activation rows as the same documents given as `tokens` (the in-memory path, tested against runWithCache in
 * test/lens/sae/splice.test.ts), restarts a HubDataset when it runs out, and says why a one-shot stream cannot;
 * `featureStats` / `featureDashboards` on a `dataset` equal them on the packed token rows; no tensor is left behind.
 * Model: the bundled toy-ioi (its word-level tokenizer reads the small language's text); texts from parquet files
 * written by hyparquet-writer.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { ActivationStore, corpusBatch, featureDashboards, featureStats, HookedTransformer, HubDataset, openParquet, SparseAutoencoder, tinyLanguage, vocabulary } from "../../../src/lens/index";
import { packedSequences, packSequences } from "../../../src/lens/datasets/documents";
import { tempDir } from "../loading/checkpoints";
import { textParquet } from "./parquetFixtures";

const HOOK = "blocks.1.hook_resid_pre";
let model: HookedTransformer;
let dir: string;
let texts: string[];
let ds: HubDataset;

async function* asAsync<T>(xs: readonly T[]): AsyncGenerator<T> { for (const x of xs) yield x; }
const arr = async (t: tf.Tensor) => { const v = Array.from(await t.data()); t.dispose(); return v; };

before(async () => {
  model = await HookedTransformer.fromPretrained("toy-ioi");
  dir = await tempDir("sae-datasets");
  const words = vocabulary();
  // sentences of the small language as text (BOS = id 0 dropped: the packer puts it back)
  texts = corpusBatch(tinyLanguage({ ioiFraction: 0.5 }), 5, 0, 40, 32).map((r) => r.filter((t) => t !== 0).map((t) => words[t]).join(" "));
  const file = path.join(dir, "train.parquet");
  await writeFile(file, textParquet(texts, { rowGroupSize: 16 }));
  const p = await openParquet(file);
  ds = new HubDataset("local/toy-text", "train", "text", [file], [p.numRows], p.columns, "main", "0".repeat(40), true);
  await p.close();
  // warm-up: a first forward pass may build and keep per-shape constants; the leak checks start after it
  const warm = new ActivationStore(model, { hookName: HOOK, contextSize: 16, tokens: [[1, 2, 3]], storeBatchSizePrompts: 4 });
  (await warm.nextChunk()).dispose();
  warm.dispose();
});
after(async () => {
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

test("packSequences follows SAELens's concat_and_batch_sequences rules (worked out by hand)", async () => {
  const docs = [[1, 2, 3], [4, 5], [], [0, 6], [7, 8, 9, 10, 11]];
  const seqs: number[][] = [];
  for await (const s of packSequences(asAsync(docs), 4, 0)) seqs.push(s);
  // [0 1 2 3] | [0 4 5] + doc [0 6] starts with BOS: no separator → [0 4 5 0] | [0 6] + sep + 7 → [0 6 0 7] | [0 8 9 10] | tail [0 11] dropped
  assert.deepEqual(seqs, [[0, 1, 2, 3], [0, 4, 5, 0], [0, 6, 0, 7], [0, 8, 9, 10]]);
  const plain: number[][] = [];
  for await (const s of packSequences(asAsync(docs), 3)) plain.push(s);
  assert.deepEqual(plain, [[1, 2, 3], [4, 5, 0], [6, 7, 8], [9, 10, 11]]);
  await assert.rejects(packedSequences(docs, undefined, { contextSize: 1, bos: 0, n: 1 }), /contextSize 1 must be an integer ≥ 2/);
  await assert.rejects(packedSequences(["text"], undefined, { contextSize: 4, n: 1 }), /a dataset of texts needs a model with a tokenizer/);
});

test("ActivationStore: a dataset stream gives the same rows as the same documents as tokens; a HubDataset restarts, a one-shot stream says why it cannot", async () => {
  const before = tf.memory().numTensors;
  const tok = model.tokenizer!;
  const opts = { hookName: HOOK, contextSize: 16, prependBos: true, storeBatchSizePrompts: 4 };
  const fromTokens = new ActivationStore(model, { ...opts, tokens: texts.map((t) => tok.encode(t)) });
  const fromDataset = new ActivationStore(model, { ...opts, dataset: ds });
  const fromTexts = new ActivationStore(model, { ...opts, dataset: texts });
  for (let i = 0; i < 3; i++) {
    const a = await arr(await fromTokens.nextChunk());
    assert.deepEqual(await arr(await fromDataset.nextChunk()), a, `chunk ${i}`);
    assert.deepEqual(await arr(await fromTexts.nextChunk()), a, `chunk ${i} (array of texts)`);
  }
  // 40 rows of at most 31 words ≈ 1240 tokens ≈ 80 sequences of 16: 33 chunks of 4 run out and restart
  for (let i = 0; i < 30; i++) (await fromDataset.nextChunk()).dispose();
  assert.ok(fromDataset.datasetEpochs >= 1, `restarted (${fromDataset.datasetEpochs})`);
  const oneShot = new ActivationStore(model, { ...opts, dataset: ds.texts({ limit: 10 }) });
  await assert.rejects(async () => { for (let i = 0; i < 20; i++) (await oneShot.nextChunk()).dispose(); }, /the dataset yields no sequence of 16 tokens .*HubDataset itself/);
  const batch = await fromDataset.nextBatch(32);
  assert.deepEqual(batch.shape, [32, model.cfg.dModel]);
  batch.dispose();
  for (const s of [fromTokens, fromDataset, fromTexts, oneShot]) s.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("featureStats and featureDashboards on a dataset equal them on the packed rows (BOS excluded by default)", async () => {
  const sae = new SparseAutoencoder({ dIn: model.cfg.dModel, dSae: 24, architecture: "standard", hookName: HOOK, seed: 3 });
  try {
    const before = tf.memory().numTensors;
    const rows = await packedSequences(ds, model.tokenizer, { contextSize: 16, bos: model.tokenizer!.bosTokenId, n: 20 });
    assert.equal(rows.length, 20);
    const latents = [0, 5, 11];
    const viaTokens = await featureStats(model, sae, latents, { tokens: rows, excludeTokenIds: [model.tokenizer!.bosTokenId], topK: 4 });
    const viaDataset = await featureStats(model, sae, latents, { dataset: ds, contextSize: 16, prependBos: true, nSequences: 20, topK: 4 });
    assert.deepEqual(viaDataset, viaTokens);
    const bos = model.tokenizer!.bosTokenId;
    assert.equal(viaDataset[0]!.nTokens, rows.flat().filter((t) => t !== bos).length, "BOS positions (first and separators) not counted");
    assert.ok(viaDataset[0]!.nTokens < 20 * 15, "some sequences hold a BOS separator");
    const views = await featureDashboards(model, sae, latents, { dataset: ds.texts(), contextSize: 16, prependBos: true, nSequences: 20, topK: 4 });
    assert.equal(views.length, 3);
    assert.match(views[0]!.text, /feature 0 at blocks\.1\.hook_resid_pre/);
    await assert.rejects(featureStats(model, sae, [0], {}), /pass opts\.tokens .* or opts\.dataset/);
    await assert.rejects(featureStats(model, sae, [0], { dataset: ["too short"], contextSize: 16 }), /gave no sequence of 16 tokens/);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    sae.dispose();
  }
});
