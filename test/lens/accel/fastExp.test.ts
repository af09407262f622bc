/**
 * fastExp (accel/fastExp.ts) against `Math.exp`, and the cpu kernels that use it (Sigmoid, Exp, Erf, Softmax)
 * against tfjs-backend-cpu's own kernels on a dense sweep: within 1 float32 ulp (the bound fastExp.ts states), and
 * the count of elements that differ at all is printed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { fastExp } from "../../../src/lens/accel/fastExp";
import { CPU_ELEMENTWISE } from "../../../src/lens/accel/cpuElementwise";
import { CPU_REDUCTIONS } from "../../../src/lens/accel/cpuReductions";
import { installCpuKernels, uninstallCpuKernels } from "../../../src/lens/accel/cpuKernels";
import type { KernelArgs, StockKernel } from "../../../src/lens/accel/tfjsInternals";
import { setBackend } from "../../../src/lens/backend";

test("fastExp: relative error ≤ 1e-15 against Math.exp on [-700, 700], and Math.exp's own value outside and for NaN/±∞", () => {
  let worst = 0;
  for (let i = 0; i <= 2_000_000; i++) {
    const x = -700 + (1400 * i) / 2_000_000 + 1e-7 * (i % 13);
    const want = Math.exp(x);
    worst = Math.max(worst, Math.abs(fastExp(x) - want) / want);
  }
  assert.ok(worst <= 1e-15, `max relative error ${worst}`);
  for (const x of [NaN, Infinity, -Infinity, -745, -710, 709.7, 800, 0, -0]) assert.ok(Object.is(fastExp(x), Math.exp(x)), `fastExp(${x})`);
});

/** Float32 ulps between a and b (same sign assumed away: counts through the ordered integer line); NaN = NaN. */
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) && Number.isNaN(b)) return 0;
  const i = new Int32Array(new Float32Array([a, b]).buffer);
  const ord = (v: number) => (v < 0 ? -2147483648 - v : v);
  return Math.abs(ord(i[0]) - ord(i[1]));
}

const declines: StockKernel = () => {
  throw new Error("the fast kernel declined to the stock kernel");
};

test("Sigmoid, Exp, Erf and Softmax on 2^20 values: within 1 float32 ulp of the stock kernels", async () => {
  await setBackend("cpu");
  const n = 1 << 20;
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = -110 + (200 * i) / n + ((i * 7919) % 1000) * 1e-6;
  const x = tf.tensor(v, [n / 1024, 1024]);
  // [kernel, its input's name, input = x / scale, the same op through tf (stock kernels), attrs]
  const cases: Array<[string, string, number, (t: tf.Tensor) => tf.Tensor, Record<string, unknown>]> = [
    ["Sigmoid", "x", 1, (t) => tf.sigmoid(t), {}],
    ["Exp", "x", 1, (t) => tf.exp(t), {}],
    ["Erf", "x", 30, (t) => tf.erf(t), {}],
    ["Softmax", "logits", 8, (t) => tf.softmax(t), { dim: -1 }],
  ];
  for (const [name, key, scale, ref, attrs] of cases) {
    const input = scale === 1 ? x : tf.tidy(() => x.div(scale));
    uninstallCpuKernels();
    const want = tf.tidy(() => ref(input));
    installCpuKernels();
    const kernel = CPU_ELEMENTWISE[name] ?? CPU_REDUCTIONS[name];
    const args: KernelArgs = { inputs: { [key]: { dataId: input.dataId, shape: input.shape, dtype: input.dtype } }, backend: tf.backend(), attrs };
    const info = kernel(args, declines);
    assert.ok(info !== undefined && !Array.isArray(info));
    const got = tf.engine().makeTensorFromTensorInfo(info);
    const g = await got.data();
    const w = await want.data();
    let worst = 0;
    let differ = 0;
    for (let i = 0; i < g.length; i++) {
      const u = ulps(g[i], w[i]);
      worst = Math.max(worst, u);
      if (u > 0) differ++;
    }
    console.log(`${name}: ${differ} of ${g.length} elements differ from the stock kernel, by at most ${worst} ulp`);
    assert.ok(worst <= 1, `${name}: ${worst} ulp`);
    tf.dispose([got, want]);
    if (input !== x) input.dispose();
  }
  x.dispose();
});
