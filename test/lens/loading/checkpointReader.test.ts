/**
 * The memory-lean read path: readCheckpointTensors (shard by shard into tfjs, buffers skipped), CheckpointReader
 * (hands each tensor over once, frees what it still holds), loadPretrained leaving exactly the state dict allocated,
 * and a local folder holding only pytorch_model.bin (written by torch, see test/fixtures/pytorch-bin/README.md).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { copyFile, mkdir, rm } from "node:fs/promises";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { CheckpointReader } from "../../../src/lens/architectures/convert";
import { gptNeox } from "../../../src/lens/architectures/gptNeox";
import { ensureBackend, HookedTransformer } from "../../../src/lens/index";
import { loadPretrained } from "../../../src/lens/loading/fromPretrained";
import { readCheckpointTensors } from "../../../src/lens/loading/modelFolder";
import { readSafetensors } from "../../../src/lens/loading/safetensors";
import { FIXTURES, loadReference } from "../../fixtures";
import { logitsOf, NEOX_FILES, NEOX_FIXTURE, tempDir } from "./checkpoints";

let tmp: string;
before(async () => {
  await ensureBackend();
  tmp = await tempDir("reader");
});
after(() => rm(tmp, { recursive: true, force: true }));

test("readCheckpointTensors: every shard's tensors as float32 tfjs tensors equal to the file's values; buffers skipped", async () => {
  const before = tf.memory().numTensors;
  const got = await readCheckpointTensors(NEOX_FIXTURE, gptNeox.ignoredKeys);
  const expected = new Map([
    ...(await readSafetensors(path.join(NEOX_FIXTURE, NEOX_FILES[2]))),
    ...(await readSafetensors(path.join(NEOX_FIXTURE, NEOX_FILES[3]))),
  ]);
  const kept = [...expected.keys()].filter((k) => !gptNeox.ignoredKeys.test(k));
  assert.ok(kept.length < expected.size, "the fixture has rotary inv_freq buffers to skip");
  assert.deepEqual([...got.keys()].sort(), kept.sort());
  for (const k of kept) {
    const t = got.get(k)!;
    assert.equal(t.dtype, "float32");
    assert.deepEqual(Array.from(await t.data()), Array.from(expected.get(k)!.data), k);
  }
  assert.equal(tf.memory().numTensors, before + kept.length);
  tf.dispose([...got.values()]);
});

test("CheckpointReader hands each tensor over once and frees the rest on dispose", async () => {
  const before = tf.memory().numTensors;
  const reader = new CheckpointReader(new Map([["a", tf.tensor([1, 2])], ["b", tf.tensor([3])]]), "src");
  const a = reader.read("a", [2]);
  assert.deepEqual(Array.from(await a.data()), [1, 2]);
  assert.throws(() => reader.read("a", [2]), /"a" was read twice/);
  assert.throws(() => reader.read("b", [2]), /"b" has shape \[1\] but config\.json implies \[2\]/);
  assert.deepEqual(reader.unused(/^$/), ["b"]);
  reader.dispose();
  assert.equal(tf.memory().numTensors, before + 1, "only the handed-over tensor is left");
  a.dispose();
});

test("loadPretrained leaves exactly the state dict allocated", async () => {
  const before = tf.memory().numTensors;
  const { stateDict } = await loadPretrained(NEOX_FIXTURE);
  assert.equal(tf.memory().numTensors - before, stateDict.size);
  tf.dispose([...stateDict.values()]);
});

test("a folder with only pytorch_model.bin gives the same logits as the safetensors shards", async () => {
  const dir = path.join(tmp, "bin-only");
  await mkdir(dir);
  await copyFile(path.join(NEOX_FIXTURE, "config.json"), path.join(dir, "config.json"));
  await copyFile(path.join(FIXTURES, "pytorch-bin", "tiny-neox.bin"), path.join(dir, "pytorch_model.bin"));
  const tokens = (await loadReference("tiny-neox")).tokens;
  const [a, b] = [await HookedTransformer.fromPretrained(dir), await HookedTransformer.fromPretrained(NEOX_FIXTURE)];
  try {
    assert.deepEqual(await logitsOf(a, tokens), await logitsOf(b, tokens));
  } finally {
    a.dispose();
    b.dispose();
  }
});
