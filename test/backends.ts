/**
 * The backends a backend-matrix test runs on, and leak checks that work on each of them.
 *
 * - Default: cpu and wasm (both run everywhere, offline).
 * - `LENS_TEST_WEBGPU=1`: cpu, wasm and webgpu. `LENS_TEST_WEBGPU=only`: webgpu alone (CI's webgpu pass; cpu and wasm
 *   ran in the main pass). Without a GPU, webgpu needs a software adapter and `LENS_WEBGPU_ADAPTER=any` (Mesa ≥ 25
 *   lavapipe: see .ci/run); setBackend("webgpu") fails with the reason otherwise.
 * Whether cpu and wasm matmuls go through OpenBLAS is chosen per process by LENS_BLAS (CI runs the suite with and without it).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import type { BackendName } from "../src/lens/backend";

function testBackends(): readonly BackendName[] {
  const v = process.env.LENS_TEST_WEBGPU;
  if (v === undefined || v === "" || v === "0") return ["cpu", "wasm"];
  if (v === "1") return ["cpu", "wasm", "webgpu"];
  if (v === "only") return ["webgpu"];
  throw new Error(`LENS_TEST_WEBGPU=${v}: use 1 (cpu, wasm and webgpu), only (webgpu alone) or 0`);
}

/** The backends under test, in order. */
export const TEST_BACKENDS: readonly BackendName[] = testBackends();

/** True when this run tests webgpu (choose smaller inputs there: lavapipe is slow; never weaker assertions). */
export const TESTING_WEBGPU = TEST_BACKENDS.includes("webgpu");

/** What a leak check compares: live tensors, and on webgpu the bytes held in GPU buffers by live tensors. */
export interface MemorySnapshot {
  readonly backend: string;
  readonly numTensors: number;
  readonly numBytesInGPU?: number;
}

/**
 * On webgpu, buffers freed while commands are queued (and uniform/staging buffers) are only released when tfjs submits
 * its queue; a readback of a GPU-computed tensor submits it, so counts are compared at the same settled point.
 */
async function settle(): Promise<void> {
  if (tf.getBackend() !== "webgpu") return;
  const a = tf.fill([256], 1); // computed on the GPU (a CPU-valued input would be handed to the CPU instead)
  const b = a.add(a);
  await b.data();
  tf.dispose([a, b]);
}

/** Tensor count (and on webgpu GPU bytes in use) at a settled point. */
export async function memorySnapshot(): Promise<MemorySnapshot> {
  await settle();
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  const backend = tf.getBackend();
  return backend === "webgpu" ? { backend, numTensors: m.numTensors, numBytesInGPU: m.numBytesInGPU } : { backend, numTensors: m.numTensors };
}

/** Asserts nothing is left allocated since `before` (tensors; on webgpu also GPU bytes). */
export async function expectNoLeak(before: MemorySnapshot, label = "call"): Promise<void> {
  const now = await memorySnapshot();
  assert.equal(now.numTensors, before.numTensors, `${label} leaked ${now.numTensors - before.numTensors} tensor(s) on ${now.backend}`);
  if (before.numBytesInGPU !== undefined && now.numBytesInGPU !== undefined) {
    assert.equal(now.numBytesInGPU, before.numBytesInGPU, `${label} left ${now.numBytesInGPU - before.numBytesInGPU} bytes in GPU buffers on webgpu`);
  }
}

/** Runs `fn` and asserts it left tensor counts (and on webgpu GPU bytes) as it found them. */
export async function withoutLeaks<T>(label: string, fn: () => Promise<T> | T): Promise<T> {
  const before = await memorySnapshot();
  const r = await fn();
  await expectNoLeak(before, label);
  return r;
}
