/** Backend selection: automatic choice, explicit choice, LENS_BACKEND, and errors. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import * as path from "node:path";
import { architectureFor } from "../../src/lens/architectures/index";
import { backendInfo, ensureBackend, HookedTransformer, memoryNeedOf, resolveConfig, setBackend } from "../../src/lens/index";
import { GPT2_FIXTURE, tempDir, writeSparseGpt2 } from "./loading/checkpoints";

test("automatic selection skips what cannot load, says why, and picks a working backend", async () => {
  const saved = process.env.LENS_BACKEND;
  delete process.env.LENS_BACKEND;
  try {
    const info = await setBackend();
    assert.equal(info.chosenBy, "auto");
    assert.equal(tf.getBackend(), info.name);
    for (const s of info.skipped) assert.ok(s.reason.length > 0, `${s.name} skipped without a reason`);
    // The order is tensorflow → webgpu → wasm → cpu: whatever was chosen, everything before it was skipped.
    const order = ["tensorflow", "webgpu", "wasm", "cpu"];
    assert.deepEqual(info.skipped.map((s) => s.name), order.slice(0, order.indexOf(info.name)));
    const y = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])));
    assert.deepEqual(Array.from(await y.data()), [11]);
    y.dispose();
  } finally {
    if (saved !== undefined) process.env.LENS_BACKEND = saved;
  }
});

test("setBackend(name) and LENS_BACKEND choose; backendInfo reports it", async () => {
  assert.equal((await setBackend("cpu")).name, "cpu");
  assert.equal(backendInfo().chosenBy, "setBackend");
  process.env.LENS_BACKEND = "wasm";
  try {
    const info = await setBackend();
    assert.equal(info.name, "wasm");
    assert.equal(info.chosenBy, "LENS_BACKEND");
  } finally {
    delete process.env.LENS_BACKEND;
  }
  await tf.setBackend("cpu");
  assert.equal(backendInfo().name, "cpu", "backendInfo follows a tf.setBackend made outside lens");
});

test("an unknown or unavailable backend is an error naming the choices", async () => {
  await assert.rejects(setBackend("webgl"), /backend "webgl" is not available.*tensorflow, webgpu, wasm, cpu/);
  // No GPU here: webgpu is refused with the reason (package missing, no adapter, or a software adapter without
  // LENS_WEBGPU_ADAPTER=any, which this test clears).
  const switched = process.env.LENS_WEBGPU_ADAPTER;
  delete process.env.LENS_WEBGPU_ADAPTER;
  try {
    await assert.rejects(setBackend("webgpu"), /backend "webgpu" is not available \((.*webgpu.*not installed|.*adapter)/);
  } finally {
    if (switched !== undefined) process.env.LENS_WEBGPU_ADAPTER = switched;
  }
  process.env.LENS_BACKEND = "nonsense";
  try {
    await assert.rejects(setBackend(), /LENS_BACKEND=nonsense/);
  } finally {
    delete process.env.LENS_BACKEND;
  }
});

// Chosen by model size (backend.ts, loading/memory.ts). gpt2-xl's shape: 1,557,611,200 parameters (Hugging Face's
// count for gpt2-xl) + the untied W_U copy (50257 × 1600) = 1,638,022,400 floats = 6.55 GB of float32 weights, more than wasm's 4 GiB heap (4.29 GB). The checkpoint is sparse: a refusal that came after
// reading would read 6.2 GB of zeros (and on wasm abort the process), so these tests also show nothing is read first.
test("a backend asked for by name that cannot hold the model is refused with the sizes, before anything is allocated", async () => {
  const dir = await writeSparseGpt2(await tempDir("xl"));
  try {
    await setBackend("wasm");
    const before = tf.memory().numTensors;
    const message = /setBackend\("wasm"\): gpt2-xl needs \d\.\d\d GB \(6\.55 GB of float32 weights.*holds at most 4\.29 GB.*LENS_BACKEND=cpu.*webgpu.*unset/;
    await assert.rejects(HookedTransformer.fromPretrained(path.join(dir), { progress: false }).then(() => undefined), (e: Error) => {
      assert.match(e.message.replace(dir, "gpt2-xl"), message);
      return true;
    });
    assert.equal(tf.memory().numTensors, before, "nothing allocated");
    assert.equal(tf.getBackend(), "wasm", "the refused backend stays as asked");
    // The same through LENS_BACKEND, before any backend has started for this need.
    process.env.LENS_BACKEND = "wasm";
    try {
      await assert.rejects(setBackend(undefined, needOf("gpt2-xl", dir)), /LENS_BACKEND=wasm: gpt2-xl needs \d\.\d\d GB \(6\.55 GB.*4\.29 GB/);
    } finally {
      delete process.env.LENS_BACKEND;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("automatic selection moves off wasm for a model that does not fit, says why, and keeps wasm for one that does", async () => {
  const dir = await writeSparseGpt2(await tempDir("xl"));
  const saved = process.env.LENS_BACKEND;
  delete process.env.LENS_BACKEND;
  try {
    const auto = await setBackend();
    if (auto.name !== "wasm") return; // a GPU backend came first here: wasm's cap is not in play
    const small = await ensureBackend(needOf("tiny", GPT2_FIXTURE));
    assert.equal(small.name, "wasm", "a small model stays on wasm");
    const xl = await ensureBackend(needOf("gpt2-xl", dir));
    assert.equal(xl.name, "cpu");
    assert.equal(xl.chosenBy, "auto");
    const wasm = xl.skipped.find((s) => s.name === "wasm");
    assert.match(wasm?.reason ?? "", /gpt2-xl needs \d\.\d\d GB \(6\.55 GB .*more than 90% of the 4\.29 GB/);
    assert.match(backendInfo().reason, /chosen automatically.*holds gpt2-xl.*skipped .*wasm: gpt2-xl needs/);
  } finally {
    if (saved !== undefined) process.env.LENS_BACKEND = saved;
    await rm(dir, { recursive: true, force: true });
  }
});

test("backendInfo().reason says who chose the backend", async () => {
  await setBackend("cpu");
  assert.match(backendInfo().reason, /asked for by setBackend\("cpu"\)/);
  await tf.setBackend("wasm");
  assert.match(backendInfo().reason, /tf\.setBackend, outside lens/);
});

/** The memory need of the model in `folder`, from its config.json alone. */
function needOf(name: string, folder: string) {
  const hf = JSON.parse(readFileSync(path.join(folder, "config.json"), "utf8")) as Record<string, unknown>;
  return memoryNeedOf(name, resolveConfig(architectureFor(hf, folder).toConfig(hf, name)));
}
