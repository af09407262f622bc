/**
 * The seam to tfjs internals (accel/tfjsInternals.ts): the version check and its fallback (warn once, stock kernels),
 * replace/restore of kernels, declining to the stock kernel on tensors the accessors do not recognise (a missing data
 * entry, another dtype, a backend without the expected fields), and the Emscripten import lookup.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  cpuFloats,
  cpuScratchOutput,
  findEmscriptenImport,
  overriddenKernels,
  overrideKernels,
  PINNED_TFJS,
  tfjsInternalsProblem,
  wasmFloats,
  type FastKernel,
} from "../../../src/lens/accel/tfjsInternals";
import { CORES_PROBE } from "../../../src/lens/accel/wasmThreads";
import { setBackend } from "../../../src/lens/backend";

/**
 * The tests below replace `Sign`, a kernel lens itself leaves to tfjs on cpu (its typed-array kernels replace Neg and
 * the other hot unary ops), so that "stock" means tfjs's kernel.
 */
function assertSignIsStock(): void {
  assert.ok(!overriddenKernels("cpu").includes("Sign"), "lens now replaces Sign on cpu: pick another kernel for these tests");
}

/** Captures console.warn while `f` runs. */
function warnings(f: () => void): string[] {
  const seen: string[] = [];
  const orig = console.warn;
  console.warn = (...a: unknown[]) => void seen.push(a.map(String).join(" "));
  try {
    f();
  } finally {
    console.warn = orig;
  }
  return seen;
}

test("version check: the installed tfjs is the pinned one; another version or a missing registry function is named", () => {
  assert.equal(tf.version_core, PINNED_TFJS, "the project pins all @tensorflow/* packages to 4.22.0");
  assert.equal(tfjsInternalsProblem(), undefined);
  assert.match(tfjsInternalsProblem({ "tfjs-core": "4.23.0", "tfjs-backend-cpu": "4.23.0" })!, /tfjs-core is 4\.23\.0; lens's kernels are written for 4\.22\.0/);
  assert.match(tfjsInternalsProblem({ "tfjs-core": PINNED_TFJS })!, /tfjs-backend-cpu is missing/);
});

test("on a version mismatch overrideKernels warns once, changes nothing, and the stock kernel runs", async () => {
  await setBackend("cpu");
  assertSignIsStock();
  const before = tf.getKernel("Sign", "cpu");
  const never: FastKernel = () => {
    throw new Error("the replacement must not be installed");
  };
  const versions = { "tfjs-core": "5.0.0", "tfjs-backend-cpu": "5.0.0" };
  const seen = warnings(() => {
    const restore = overrideKernels("cpu", { Sign: never }, { versions });
    overrideKernels("cpu", { Sign: never }, { versions });
    restore();
  });
  assert.equal(seen.length, 1, `warned once: ${JSON.stringify(seen)}`);
  assert.match(seen[0], /tfjs-core is 5\.0\.0.*the stock tfjs kernels are used \(Sign on cpu\)/);
  assert.equal(tf.getKernel("Sign", "cpu"), before, "the registry is untouched");
  assert.ok(!overriddenKernels("cpu").includes("Sign"));
  const y = tf.sign(tf.tensor1d([1, -2]));
  assert.deepEqual(Array.from(await y.data()), [1, -1]);
  y.dispose();
});

test("overrideKernels replaces a kernel, declines to the stock one, and restore puts the stock kernel back", async () => {
  await setBackend("cpu");
  assertSignIsStock();
  const stock = tf.getKernel("Sign", "cpu");
  let calls = 0;
  // Sign of float32 via the cpu accessors; declines (undefined) for anything else, so int32 goes to tfjs's kernel.
  const fastSign: FastKernel = (args) => {
    calls++;
    const x = cpuFloats(args.backend, args.inputs.x);
    if (x === undefined) return undefined;
    const out = cpuScratchOutput<Float32Array>(args.backend, args.inputs.x!.shape, "float32")!;
    x.forEach((v, k) => (out.values[k] = Math.sign(v)));
    return out.info;
  };
  const restore = overrideKernels("cpu", { Sign: fastSign });
  assert.ok(overriddenKernels("cpu").includes("Sign"));
  const ours = tf.getKernel("Sign", "cpu")!.kernelFunc;
  const again = overrideKernels("cpu", { Sign: () => undefined });
  assert.equal(tf.getKernel("Sign", "cpu")!.kernelFunc, ours, "a second override of the same kernel is skipped");
  again(); // restores nothing: Sign was already replaced by the first call
  assert.ok(overriddenKernels("cpu").includes("Sign"));
  const f = tf.sign(tf.tensor1d([1.5, -2]));
  const i = tf.sign(tf.tensor1d([3, -4], "int32"));
  assert.deepEqual(Array.from(await f.data()), [1, -1]);
  assert.deepEqual(Array.from(await i.data()), [1, -1], "int32 declined → the stock kernel");
  assert.equal(i.dtype, "int32");
  assert.equal(calls, 2);
  restore();
  assert.equal(tf.getKernel("Sign", "cpu"), stock, "the stock config is registered again");
  assert.ok(!overriddenKernels("cpu").includes("Sign"));
  tf.dispose([f, i]);
});

test("memory accessors: a missing data entry, a wrong dtype or length, or a foreign backend give undefined, never a throw", async () => {
  await setBackend("cpu");
  const t = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  const backend = tf.backend();
  const info = { dataId: t.dataId, shape: t.shape, dtype: t.dtype } as tf.TensorInfo;
  assert.deepEqual(Array.from(cpuFloats(backend, info)!), [1, 2, 3, 4]);
  assert.equal(cpuFloats(backend, { ...info, dataId: {} }), undefined, "no data entry");
  assert.equal(cpuFloats(backend, { ...info, dtype: "int32" }), undefined, "another dtype");
  assert.equal(cpuFloats(backend, { ...info, shape: [3, 2] }), undefined, "length does not match the shape");
  assert.equal(cpuFloats({}, info), undefined, "not a cpu backend");
  assert.equal(cpuFloats({ data: { get: () => { throw new Error("internal changed"); } }, makeTensorInfo: () => info }, info), undefined, "a throwing data map");
  assert.equal(wasmFloats(backend, info), undefined, "a cpu backend is not wasm");
  const heap = new Uint8Array(64);
  const fakeWasm = { dataIdMap: { get: () => ({ memoryOffset: 60 }) }, wasm: { HEAPU8: heap }, makeOutput: () => info };
  assert.equal(wasmFloats(fakeWasm, info), undefined, "offset + 16 bytes runs past the heap");
  assert.equal(wasmFloats({ ...fakeWasm, dataIdMap: { get: () => undefined } }, info), undefined, "no dataIdMap entry");
  assert.equal(wasmFloats({ ...fakeWasm, dataIdMap: { get: () => ({ memoryOffset: 8 }) } }, info)!.length, 4);
  t.dispose();
});

test("a replaced kernel whose accessor finds nothing falls back to the stock kernel (simulated missing internal)", async () => {
  await setBackend("cpu");
  assertSignIsStock();
  // The BLAS/copy/cpu kernels all read through cpuFloats; a backend that lost its `data` map must reach the stock kernel.
  let declined = 0;
  const restore = overrideKernels("cpu", {
    Sign: (args) => {
      const x = cpuFloats({ ...(args.backend as object), data: undefined }, args.inputs.x);
      if (x === undefined) declined++;
      return undefined;
    },
  });
  const y = tf.sign(tf.tensor1d([2, -3]));
  assert.deepEqual(Array.from(await y.data()), [1, -1]);
  assert.equal(declined, 1);
  restore();
  y.dispose();
});

test("findEmscriptenImport: by its unminified name, else the one function matching the probe, else undefined", () => {
  const cores = () => 4;
  assert.equal(findEmscriptenImport({ a: () => 1, emscripten_num_logical_cores: cores }, "emscripten_num_logical_cores", CORES_PROBE), "emscripten_num_logical_cores");
  // A minified build: the import is "b", recognised by its body.
  const minified = { a: () => 1, b: new Function('return require("os").cpus().length') };
  assert.equal(findEmscriptenImport(minified, "emscripten_num_logical_cores", CORES_PROBE), "b");
  const twice = { ...minified, c: new Function('return require("os").cpus().length + 0') };
  assert.equal(findEmscriptenImport(twice, "emscripten_num_logical_cores", CORES_PROBE), undefined, "ambiguous");
  assert.equal(findEmscriptenImport({ a: () => 1 }, "emscripten_num_logical_cores", CORES_PROBE), undefined, "absent");
});
