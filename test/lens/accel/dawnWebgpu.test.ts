/**
 * WebGPU selection: which adapters are used; LENS_WEBGPU_ADAPTER=any for software adapters when webgpu is asked for;
 * auto-selection's probe keeps Dawn's stderr out of the process; without a usable adapter webgpu is skipped with a reason.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { adapterPolicy, judgeAdapter, MIN_BINDING_BYTES, probeAdapterQuietly, type AdapterSummary } from "../../../src/lens/accel/dawnWebgpu";
import { setBackend } from "../../../src/lens/backend";

const ROOT = path.resolve(__dirname, "../../..");
const GPU: AdapterSummary = {
  vendor: "nvidia", architecture: "blackwell", device: "", description: "NVIDIA GB10", isFallbackAdapter: false,
  maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 34,
};
const LAVAPIPE: AdapterSummary = {
  vendor: "mesa", architecture: "software", device: "llvmpipe-llvm-15-0-6-256-bits-", description: "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)",
  isFallbackAdapter: false, maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 2 ** 32 - 1,
};

/** Runs `fn` with these environment variables set (undefined: unset), restoring them when it (or its promise) ends. */
function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const apply = (vars: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vars)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  };
  apply(env);
  let out: T;
  try {
    out = fn();
  } catch (e) {
    apply(saved);
    throw e;
  }
  if (out instanceof Promise) return out.finally(() => apply(saved)) as T;
  apply(saved);
  return out;
}

test("judgeAdapter: a hardware adapter with room is used; none, software or small ones are refused with a reason", () => {
  assert.equal(judgeAdapter(GPU), undefined);
  assert.match(judgeAdapter(null)!, /no WebGPU adapter/);
  assert.match(judgeAdapter({ ...GPU, isFallbackAdapter: true })!, /software/);
  assert.match(judgeAdapter({ ...GPU, vendor: "google", description: "SwiftShader Device (Subzero)" })!, /software.*SwiftShader/);
  assert.match(judgeAdapter(LAVAPIPE)!, /software.*llvmpipe.*LENS_WEBGPU_ADAPTER=any/);
  assert.match(judgeAdapter({ ...GPU, maxStorageBufferBindingSize: 128 * 2 ** 20 })!, /binds at most 128 MiB/);
  assert.equal(judgeAdapter({ ...GPU, maxStorageBufferBindingSize: MIN_BINDING_BYTES }), undefined);
});

test("LENS_WEBGPU_ADAPTER=any accepts software adapters (any binding size) only through allowSoftware; bad values are errors", () => {
  assert.equal(judgeAdapter(LAVAPIPE, { allowSoftware: true }), undefined);
  assert.match(judgeAdapter(null, { allowSoftware: true })!, /no WebGPU adapter/);
  assert.equal(withEnv({ LENS_WEBGPU_ADAPTER: "any" }, adapterPolicy), "any");
  assert.equal(withEnv({ LENS_WEBGPU_ADAPTER: undefined }, adapterPolicy), "hardware");
  assert.throws(() => withEnv({ LENS_WEBGPU_ADAPTER: "software" }, adapterPolicy), /LENS_WEBGPU_ADAPTER=software.*"any"/);
});

test("auto-selection probes Dawn quietly: nothing of Dawn's reaches stderr, and a software adapter is skipped", () => {
  const script = `require("./src/lens/backend").setBackend().then((i) => console.log(JSON.stringify(i)))`;
  const env = { ...process.env, LENS_BACKEND: "", LENS_WEBGPU_ADAPTER: "any" }; // the switch never applies to auto-selection
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { cwd: ROOT, env, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout.trim().split("\n").pop()!) as { name: string; skipped: { name: string; reason: string }[] };
  if (info.name === "webgpu") return; // a real GPU (never on the CI machine)
  assert.doesNotMatch(r.stderr, /Warning|artificially reduced|Dawn|Vulkan/i, "Dawn's messages leaked to stderr");
  assert.match(info.skipped.find((s) => s.name === "webgpu")!.reason, /not installed|adapter|LENS_WEBGPU=0/);
});

test("asked for by name, webgpu runs on a software adapter only with LENS_WEBGPU_ADAPTER=any", async (t) => {
  const probed = probeAdapterQuietly();
  if (probed === null || judgeAdapter(probed) === undefined) return t.skip(`no software adapter here (${probed ? "a GPU" : "none"})`);
  await withEnv({ LENS_WEBGPU_ADAPTER: undefined }, () => assert.rejects(setBackend("webgpu"), /software WebGPU adapter.*LENS_WEBGPU_ADAPTER=any/));
  const info = await withEnv({ LENS_WEBGPU_ADAPTER: "any" }, () => setBackend("webgpu"));
  assert.equal(info.name, "webgpu");
  await withEnv({ LENS_WEBGPU_ADAPTER: undefined }, () => assert.rejects(setBackend("webgpu"), /software WebGPU adapter/)); // refused again once the switch is off
  await setBackend("cpu");
});
