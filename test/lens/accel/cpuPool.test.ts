/**
 * The cpu backend's pool of output arrays (accel/tfjsInternals.ts, cpuScratchOutput): a freed kernel output is reused
 * for the next output of its type and length; an array that was read out (`dataSync`) or that another tensor views
 * is never reused, so what the caller holds keeps its values; a model's forward with reused arrays equals a forward
 * with fresh ones bit for bit, and nothing leaks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { cpuFloats, cpuPoolBytes } from "../../../src/lens/accel/tfjsInternals";
import { cpuKernelsInstalled } from "../../../src/lens/accel/cpuKernels";
import { setBackend } from "../../../src/lens/backend";
import { ioiDataset } from "../../../src/lens/datasets/ioi";
import { HookedTransformer } from "../../../src/lens/hookedTransformer";

const N = 64 * 1024; // 256 KiB of float32: above the pool's minimum size
const ramp = (k: number) => tf.tensor1d(Float32Array.from({ length: N }, (_, i) => (i % 1000) * k));

async function onCpu(): Promise<void> {
  await setBackend("cpu");
  assert.ok(cpuKernelsInstalled().includes("Add"), "precondition: lens's cpu kernels are installed (LENS_CPU_KERNELS unset)");
}

test("a freed kernel output is handed to the next output of the same length, and the pool's bytes follow", async () => {
  await onCpu();
  const [x, y] = [ramp(1), ramp(2)];
  const a = tf.add(x, y);
  const array = cpuFloats(tf.backend(), a)!;
  const before = cpuPoolBytes();
  a.dispose();
  assert.equal(cpuPoolBytes(), before + 4 * N, "the freed array is pooled");
  const b = tf.mul(x, y);
  assert.equal(cpuFloats(tf.backend(), b), array, "the next output of that length reuses it");
  assert.equal(cpuPoolBytes(), before);
  const v = await b.data(); // read out: b's array may now be held by the caller
  for (const i of [0, 1, 999, N - 1]) assert.equal(v[i], (i % 1000) * (i % 1000) * 2);
  b.dispose();
  assert.equal(cpuPoolBytes(), before, "an array that was read out is not pooled");
  tf.dispose([x, y]);
});

test("an array read out with dataSync keeps its values after its tensor is disposed and more kernels run", async () => {
  await onCpu();
  const [x, y] = [ramp(1), ramp(3)];
  const a = tf.add(x, y);
  const held = a.dataSync() as Float32Array;
  const copy = held.slice();
  a.dispose();
  const later = [tf.sub(x, y), tf.mul(x, y), tf.add(y, y)];
  assert.ok(later.every((t) => cpuFloats(tf.backend(), t) !== held), "no later output is written into the caller's array");
  assert.deepEqual(held, copy);
  tf.dispose([x, y, ...later]);
});

test("an array another tensor views (a contiguous tf.slice on cpu is a view) is not reused while the view lives", async () => {
  await onCpu();
  const [x, y] = [ramp(1), ramp(5)];
  const a = tf.add(x, y);
  const array = cpuFloats(tf.backend(), a)!;
  const view = tf.slice(a, [N / 2], [N / 2]);
  assert.equal(cpuFloats(tf.backend(), view)!.buffer, array.buffer, "precondition: the slice is a view of a's array");
  const want = array.slice(N / 2);
  const before = cpuPoolBytes();
  a.dispose();
  assert.equal(cpuPoolBytes(), before, "a viewed array is not pooled");
  const later = [tf.sub(x, y), tf.mul(x, y)];
  assert.deepEqual(await view.data(), want);
  tf.dispose([x, y, view, ...later]);
});

test("toy-ioi on cpu: a forward on reused arrays equals the forward on fresh ones bit for bit; no tensor leaks", async () => {
  await onCpu();
  const model = await HookedTransformer.fromPretrained("toy-ioi");
  const prompts = ioiDataset(model, { n: 8, seed: 1 }).tokens;
  const other = ioiDataset(model, { n: 8, seed: 2 }).tokens;
  const logits = async (tokens: number[][]) => {
    const t = await model.forward(tokens);
    const v = Float32Array.from(await t.data());
    t.dispose();
    return new Uint32Array(v.buffer);
  };
  const n0 = tf.memory().numTensors;
  const fresh = await logits(prompts); // first forward: every array new (the derived weights are made here too)
  await logits(other); // different values in the pooled arrays
  const pooledBefore = cpuPoolBytes();
  assert.ok(pooledBefore > 0, "the forwards leave freed arrays in the pool");
  const reused = await logits(prompts);
  assert.equal(reused.length, fresh.length);
  const differing = reused.reduce((n, b, i) => n + (b === fresh[i] ? 0 : 1), 0);
  assert.equal(differing, 0, "logits on reused arrays differ from the fresh forward's");
  model.dispose();
  assert.ok(tf.memory().numTensors <= n0, `tensors leaked: ${tf.memory().numTensors} > ${n0}`);
});
