/** WebGPU selection: which adapters are used, and that without a GPU it is skipped with a reason. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { judgeAdapter, MIN_BINDING_BYTES, type AdapterSummary } from "../../../src/lens/accel/dawnWebgpu";
import { setBackend } from "../../../src/lens/backend";

const GPU: AdapterSummary = {
  vendor: "nvidia", architecture: "blackwell", device: "", description: "NVIDIA GB10", isFallbackAdapter: false,
  maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 34,
};

test("judgeAdapter: a hardware adapter with room is used; none, software or small ones are refused with a reason", () => {
  assert.equal(judgeAdapter(GPU), undefined);
  assert.match(judgeAdapter(null)!, /no WebGPU adapter/);
  assert.match(judgeAdapter({ ...GPU, isFallbackAdapter: true })!, /software/);
  assert.match(judgeAdapter({ ...GPU, vendor: "google", description: "SwiftShader Device (Subzero)" })!, /software.*SwiftShader/);
  assert.match(judgeAdapter({ ...GPU, vendor: "mesa", description: "llvmpipe (LLVM 15.0.6, 256 bits)" })!, /software/);
  assert.match(judgeAdapter({ ...GPU, maxStorageBufferBindingSize: 128 * 2 ** 20 })!, /binds at most 128 MiB/);
  assert.equal(judgeAdapter({ ...GPU, maxStorageBufferBindingSize: MIN_BINDING_BYTES }), undefined);
});

test("auto-selection skips webgpu with a reason on a machine without a usable GPU adapter", async () => {
  const saved = process.env.LENS_BACKEND;
  delete process.env.LENS_BACKEND;
  try {
    const info = await setBackend();
    if (info.name === "webgpu") return; // a real GPU: nothing to check here (never the case on the CI machine)
    const s = info.skipped.find((x) => x.name === "webgpu");
    assert.ok(s, "webgpu was tried before wasm/cpu");
    assert.match(s.reason, /not installed|adapter|LENS_WEBGPU=0/);
  } finally {
    if (saved !== undefined) process.env.LENS_BACKEND = saved;
  }
});
