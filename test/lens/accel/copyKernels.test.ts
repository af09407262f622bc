/** The run-copy kernels (accel/copyKernels.ts) against tfjs's own wasm and cpu kernels: bit-identical results. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { copyKernelsInstalled, installCopyKernels, uninstallCopyKernels, type CopyBackend } from "../../../src/lens/accel/copyKernels";
import { setBackend } from "../../../src/lens/backend";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";

/** Distinct values (so a misplaced element shows), float32 or int32. */
function ramp(shape: number[], dtype: "float32" | "int32" = "float32"): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: n }, (_, i) => (dtype === "int32" ? i * 7 - 3 : i * 0.37 - 11)), shape, dtype);
}

/** `f` with the stock kernels, then with the copy kernels. */
function both(backend: CopyBackend, f: () => tf.Tensor): [tf.Tensor, tf.Tensor] {
  uninstallCopyKernels(backend);
  const stock = tf.tidy(f);
  installCopyKernels(backend);
  return [tf.tidy(f), stock];
}

for (const backend of ["wasm", "cpu"] as const) {
  async function same(f: () => tf.Tensor, label: string): Promise<void> {
    const [got, want] = both(backend, f);
    assert.deepEqual(got.shape, want.shape, label);
    assert.equal(got.dtype, want.dtype, label);
    await expectAllClose(got, want, TOLERANCES.exact, `${backend} ${label}`);
    tf.dispose([got, want]);
  }

  test(`${backend} copy kernels: installed with the backend; Slice, Transpose, GatherV2, Tile equal the stock kernels`, async () => {
    await setBackend(backend);
    assert.deepEqual(copyKernelsInstalled(backend).sort(), ["GatherV2", "Slice", "Tile", "Transpose"]);
    const before = tf.memory().numTensors;
    const x4 = ramp([3, 5, 4, 16]);
    const m = ramp([40, 40]);
    const i3 = ramp([2, 6, 10], "int32");
    // Slice: contiguous, strided in 1, 2 and 3 dims, the causal-mask shape, a run below the JS threshold, empty.
    await same(() => m.slice([0, 0], [12, 12]), "slice causal-mask style");
    await same(() => m.slice([5, 0], [20, 40]), "slice contiguous rows");
    await same(() => m.slice([3, 7], [-1, 20]), "slice size -1");
    await same(() => x4.slice([1, 2, 1, 3], [2, 3, 2, 10]), "slice strided rank 4");
    await same(() => x4.slice([0, 0, 0, 0], [3, 5, 4, 16]), "slice whole");
    await same(() => x4.slice([0, 1, 0, 0], [3, 2, 4, 16]), "slice middle axis");
    await same(() => x4.slice([0, 0, 0, 2], [3, 5, 4, 3]), "slice short last-axis runs (stock path)");
    await same(() => i3.slice([1, 2, 0], [1, 3, 10]), "slice int32");
    await same(() => m.slice([3, 3], [0, 10]), "slice empty");
    await same(() => ramp([30]).slice([4], [17]), "slice rank 1");
    // Transpose: the attention [b,p,h,d] ↔ [b,h,p,d] swap, others keeping the last axis, one moving it (stock path).
    await same(() => x4.transpose([0, 2, 1, 3]), "transpose 0213");
    await same(() => x4.transpose([2, 0, 1, 3]), "transpose 2013");
    await same(() => x4.transpose([1, 0, 2, 3]), "transpose 1023");
    await same(() => x4.transpose([0, 1, 2, 3]), "transpose identity");
    // Moving the last axis: tiled on cpu (tiles of 32, so sizes that are not multiples of it), stock path on wasm.
    await same(() => x4.transpose([0, 1, 3, 2]), "transpose moving the last axis");
    await same(() => ramp([9, 12]).transpose([1, 0]), "transpose 2-D");
    await same(() => ramp([70, 45]).transpose([1, 0]), "transpose 2-D over several tiles");
    await same(() => ramp([3, 40, 37]).transpose([0, 2, 1]), "transpose batched 2-D");
    await same(() => ramp([5, 33, 6]).transpose([2, 1, 0]), "transpose reversing three axes");
    await same(() => x4.transpose([3, 1, 0, 2]), "transpose 3102");
    await same(() => ramp([40, 34], "int32").transpose([1, 0]), "transpose 2-D int32");
    await same(() => i3.transpose([1, 0, 2]), "transpose int32");
    // GatherV2 on axis 0 (embeddings): 1-D and 2-D indices, repeats, int32 params; other axes use the stock kernel.
    await same(() => tf.gather(m, tf.tensor1d([3, 0, 39, 3], "int32")), "gather 1-D indices");
    await same(() => tf.gather(m, tf.tensor2d([[1, 2, 3], [39, 38, 0]], [2, 3], "int32")), "gather 2-D indices");
    await same(() => tf.gather(i3, tf.tensor1d([1, 1, 0], "int32")), "gather int32 params");
    await same(() => tf.gather(m, tf.tensor1d([5, 6], "int32"), 1), "gather axis 1 (stock path)");
    // Tile: the position-embedding tiling and a multi-axis one.
    await same(() => ramp([1, 12, 16]).tile([4, 1, 1]), "tile batch");
    await same(() => ramp([2, 3, 8]).tile([2, 3, 2]), "tile every axis");
    tf.dispose([x4, m, i3]);
    assert.equal(tf.memory().numTensors, before, "no tensors leaked");
  });

  test(`${backend} copy kernels: an out-of-range gather index throws like the stock kernel, and nothing leaks`, async () => {
    await setBackend(backend);
    installCopyKernels(backend);
    const m = ramp([10, 16]);
    const before = tf.memory().numTensors;
    const idx = tf.tensor1d([2, 10], "int32");
    assert.throws(() => tf.gather(m, idx), /GatherV2: the index value 10 is not in \[0, 9\]/);
    idx.dispose();
    assert.equal(tf.memory().numTensors, before);
    m.dispose();
  });
}
