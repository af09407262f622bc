/** Backend selection: automatic choice, explicit choice, LENS_BACKEND, and errors. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { backendInfo, setBackend } from "../../src/lens/index";

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
