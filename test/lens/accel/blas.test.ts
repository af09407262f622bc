/** OpenBLAS matmul kernels: core-type correction logic, and BatchMatMul/_FusedMatMul against tfjs's own kernels. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { chooseCoreType, defaultBlasThreads, loadBlas, machineLevel } from "../../../src/lens/accel/blas";
import { installBlasMatMul, uninstallBlasMatMul, blasMatMulInstalled, type BlasBackend } from "../../../src/lens/accel/blasKernels";
import { backendInfo, setBackend } from "../../../src/lens/backend";
import { fixtureLogits } from "./fixtureLogits";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";

const AVX512 = new Set(["sse2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"]);
const AVX2 = new Set(["sse2", "avx", "avx2", "fma"]);

test("core type: a weaker detected core is corrected from the CPU flags; good, unknown or arm64 cores are kept", () => {
  assert.equal(machineLevel(AVX512), 3);
  assert.equal(machineLevel(AVX2), 2);
  assert.equal(machineLevel(new Set(["avx"])), 1);
  assert.equal(machineLevel(new Set(["sse2"])), 0);
  assert.equal(chooseCoreType("x64", AVX512, "Prescott").coretype, "SkylakeX");
  assert.match(chooseCoreType("x64", AVX512, "Prescott").reason, /detected "Prescott".*AVX-512.*OPENBLAS_CORETYPE=SkylakeX/);
  assert.equal(chooseCoreType("x64", AVX2, "Prescott").coretype, "Haswell");
  assert.equal(chooseCoreType("x64", AVX512, "Haswell").coretype, "SkylakeX");
  assert.equal(chooseCoreType("x64", AVX2, "Haswell").coretype, undefined);
  assert.equal(chooseCoreType("x64", AVX512, "SkylakeX").coretype, undefined);
  assert.equal(chooseCoreType("x64", AVX2, "SkylakeX").coretype, undefined, "a stronger detection is not second-guessed");
  assert.equal(chooseCoreType("x64", AVX512, "SomeFutureCore").coretype, undefined);
  assert.equal(chooseCoreType("arm64", AVX512, "Prescott").coretype, undefined);
  assert.equal(chooseCoreType("x64", new Set(), "Prescott").coretype, undefined, "no flags (no /proc/cpuinfo): keep");
});

test("BLAS threads: LENS_BLAS_THREADS, then OPENBLAS_NUM_THREADS, then min(8, cores)", () => {
  assert.equal(defaultBlasThreads({ LENS_BLAS_THREADS: "3", OPENBLAS_NUM_THREADS: "5" }), 3);
  assert.equal(defaultBlasThreads({ OPENBLAS_NUM_THREADS: "5" }), 5);
  assert.equal(defaultBlasThreads({ LENS_BLAS_THREADS: "zero" }), Math.min(8, require("node:os").availableParallelism()));
});

const blas = loadBlas();
const skip = blas.available ? false : `OpenBLAS unavailable: ${blas.reason}`;

/** Deterministic values in [−1, 1]. */
function values(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) v[i] = ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  return tf.tensor(v, shape);
}

/** Runs `f` with the stock kernel (BLAS uninstalled) and then with BLAS; returns both results. */
async function both(backend: BlasBackend, f: () => tf.Tensor): Promise<[tf.Tensor, tf.Tensor]> {
  uninstallBlasMatMul(backend);
  const stock = tf.tidy(f);
  assert.ok(installBlasMatMul(backend));
  const withBlas = tf.tidy(f);
  return [withBlas, stock];
}

const CASES: Array<[string, number[], number[], boolean, boolean]> = [
  ["2-D", [7, 5], [5, 9], false, false],
  ["2-D transposeA", [5, 7], [5, 9], true, false],
  ["2-D transposeB", [7, 5], [9, 5], false, true],
  ["2-D both transposed", [5, 7], [9, 5], true, true],
  ["batched 3-D", [4, 6, 33], [4, 33, 8], false, false],
  ["batched 3-D transposeB (attention scores)", [4, 6, 16], [4, 6, 16], false, true],
  ["batched transposeA", [3, 16, 6], [3, 16, 5], true, false],
  ["3-D × 2-D (shared weight)", [3, 10, 200], [200, 12], false, false],
  ["3-D × 2-D transposeA", [3, 20, 10], [20, 12], true, false],
  ["2-D × 3-D (broadcast A)", [10, 20], [3, 20, 12], false, false],
  ["rank 4", [2, 3, 5, 7], [2, 3, 7, 4], false, false],
  ["rank 4 × rank 3, broadcast", [2, 3, 5, 7], [3, 7, 4], false, false],
  ["1-row product", [1, 64], [64, 1], false, false],
];

for (const backend of ["cpu", "wasm"] as const) {
  test(`${backend}: BLAS BatchMatMul matches the stock kernel (transposed, batched, broadcast)`, { skip }, async () => {
    await setBackend(backend);
    assert.ok(blasMatMulInstalled(backend), "setBackend installs the BLAS kernels");
    assert.equal(backendInfo().matmul?.via, "openblas");
    assert.match(backendInfo().matmul?.detail ?? "", /OpenBLAS cblas_sgemm \(core \w+/);
    const before = tf.memory().numTensors;
    for (const [label, sa, sb, tA, tB] of CASES) {
      const a = values(sa, 1);
      const b = values(sb, 2);
      const [got, want] = await both(backend, () => tf.matMul(a, b, tA, tB));
      await expectAllClose(got, want, TOLERANCES.blasMatmul, `${backend} ${label}`);
      tf.dispose([a, b, got, want]);
    }
    assert.equal(tf.memory().numTensors, before, "no tensors leaked");
  });

  test(`${backend}: broadcast batch dims [2,1] × [1,3] against a per-slice reference`, { skip }, async () => {
    await setBackend(backend);
    const a = values([2, 1, 4, 6], 3);
    const b = values([1, 3, 6, 5], 4);
    const got = tf.matMul(a, b);
    assert.deepEqual(got.shape, [2, 3, 4, 5]);
    // Reference: each [i, j] slice multiplied on its own (2-D products, checked above against the stock kernel).
    uninstallBlasMatMul(backend);
    const want = tf.tidy(() =>
      tf.stack([0, 1].map((i) => tf.stack([0, 1, 2].map((j) =>
        tf.matMul(a.slice([i, 0, 0, 0], [1, 1, 4, 6]).reshape([4, 6]), b.slice([0, j, 0, 0], [1, 1, 6, 5]).reshape([6, 5]))))),
      ),
    );
    installBlasMatMul(backend);
    await expectAllClose(got, want, TOLERANCES.blasMatmul, `${backend} broadcast [2,1]×[1,3]`);
    tf.dispose([a, b, got, want]);
  });

  test(`${backend}: fused matMul (bias, activations) and gradients match the stock kernels; int32 falls through`, { skip }, async () => {
    await setBackend(backend);
    const a = values([3, 8, 20], 5);
    const w = values([20, 11], 6);
    const bias = values([11], 7);
    // The reference is the unfused matMul + add + activation on the stock kernels: tfjs 4.22's own wasm _FusedMatMul
    // gives wrong values for a 3-D × 2-D batch broadcast and for transposeA, so it cannot serve as the reference.
    const act = { linear: (x: tf.Tensor) => x, relu: tf.relu, elu: tf.elu, relu6: tf.relu6, sigmoid: tf.sigmoid, leakyrelu: (x: tf.Tensor) => tf.leakyRelu(x, 0.2) };
    for (const activation of ["linear", "relu", "elu", "relu6", "sigmoid", "leakyrelu"] as const) {
      uninstallBlasMatMul(backend);
      const want = tf.tidy(() => act[activation](tf.matMul(a, w).add(bias)));
      installBlasMatMul(backend);
      const got = tf.fused.matMul({ a, b: w, bias, activation });
      await expectAllClose(got, want, TOLERANCES.blasMatmul, `${backend} fused ${activation}`);
      tf.dispose([got, want]);
    }
    uninstallBlasMatMul(backend);
    const want = tf.tidy(() => tf.matMul(w, w, true).add(bias)); // wasm's stock fused kernel is wrong here too
    installBlasMatMul(backend);
    const got = tf.fused.matMul({ a: w, b: w, transposeA: true, bias });
    await expectAllClose(got, want, TOLERANCES.blasMatmul, `${backend} fused transposeA with bias`);
    const loss = (x: tf.Tensor) => tf.fused.matMul({ a: x.reshape([24, 20]), b: w, bias, activation: "relu" }).square().sum() as tf.Scalar;
    const [gGot, gWant] = await both(backend, () => tf.grad(loss)(a));
    await expectAllClose(gGot, gWant, TOLERANCES.blasMatmul, `${backend} gradient through fused matMul`);
    if (backend === "cpu") {
      const i = tf.tensor2d([[1, 2], [3, 4]], [2, 2], "int32");
      const p = tf.matMul(i, i);
      assert.equal(p.dtype, "int32");
      assert.deepEqual(Array.from(await p.data()), [7, 10, 15, 22]);
      tf.dispose([i, p]);
    }
    tf.dispose([a, w, bias, got, want, gGot, gWant]);
  });
}

test("LENS_BLAS=0: stock kernels, said so in backendInfo, and the same logits as with BLAS (wasm and cpu)", { skip }, async () => {
  for (const backend of ["wasm", "cpu"] as const) {
    const code =
      `const m = require("./test/lens/accel/fixtureLogits.ts"); m.fixtureLogits("${backend}").then((v) => ` +
      `console.log(JSON.stringify({ info: require("./src/lens/backend.ts").backendInfo().matmul, logits: Array.from(v) })))`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "-e", code], { env: { ...process.env, LENS_BLAS: "0" }, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const child = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(child.info.via, "backend");
    assert.match(child.info.detail, /LENS_BLAS=0/);
    await expectAllClose(await fixtureLogits(backend), child.logits, TOLERANCES.float32Invariant, `${backend} logits, BLAS vs stock`);
  }
});

test("OpenBLAS reports its core type and thread count", { skip }, () => {
  assert.ok(blas.corename && blas.corename.length > 0);
  assert.ok(blas.threads !== undefined && blas.threads >= 1);
  assert.match(blas.config ?? "", /OpenBLAS/);
});
