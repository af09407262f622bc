/**
 * Batch-broadcasting matMul on every backend under test against a float64 loop. Names the tfjs-backend-webgpu 4.22
 * bug worked around in accel/webgpuKernels.ts: its BatchMatMul reads each operand at `batch % batchSize`, so
 * [4,1,m,k]·[1,4,k,n] threw "Size(…) must match the product of shape 4,4,m,n" (notebook 03's compositionBaseline
 * cell) and [H,1,m,k]·[H,N,k,n] was silently wrong.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { batchBroadcastNeeded } from "../../../src/lens/accel/webgpuKernels";
import { setBackend } from "../../../src/lens/backend";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";
import { expectNoLeak, memorySnapshot, TEST_BACKENDS } from "../../backends";

/** Deterministic values in [−1, 1] (so a misplaced batch shows). */
function values(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(i * 0.731 + seed * 1.7));
}

/** numpy-style broadcast batched product in float64: a [...A, m, k] · b [...B, k, n]. */
function reference(a: number[], aShape: number[], b: number[], bShape: number[]): { out: number[]; shape: number[] } {
  const [m, k] = aShape.slice(-2) as [number, number];
  const n = bShape[bShape.length - 1]!;
  const ab = aShape.slice(0, -2), bb = bShape.slice(0, -2);
  const rank = Math.max(ab.length, bb.length);
  const pa = [...Array(rank - ab.length).fill(1), ...ab], pb = [...Array(rank - bb.length).fill(1), ...bb];
  const batch = pa.map((d, i) => Math.max(d, pb[i]));
  const total = batch.reduce((x, y) => x * y, 1);
  const out: number[] = [];
  for (let t = 0; t < total; t++) {
    let rest = t, ia = 0, ib = 0, sa = 1, sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const idx = rest % batch[d]!;
      rest = Math.floor(rest / batch[d]!);
      ia += (pa[d] === 1 ? 0 : idx) * sa;
      ib += (pb[d] === 1 ? 0 : idx) * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += a[ia * m * k + i * k + q]! * b[ib * k * n + q * n + j]!;
      out.push(s);
    }
  }
  return { out, shape: [...batch, m, n] };
}

test("batchBroadcastNeeded: equal batches and all-ones batches go to the kernel as they are; others are tiled", () => {
  assert.equal(batchBroadcastNeeded([2, 3, 4, 5], [2, 3, 5, 6]), undefined);
  assert.equal(batchBroadcastNeeded([1, 1, 4, 5], [2, 3, 5, 6]), undefined);
  assert.equal(batchBroadcastNeeded([4, 5], [2, 3, 5, 6]), undefined);
  assert.deepEqual(batchBroadcastNeeded([4, 1, 4, 5], [1, 4, 5, 6]), [4, 4]);
  assert.deepEqual(batchBroadcastNeeded([3, 1, 4, 5], [3, 7, 5, 6]), [3, 7]);
  assert.deepEqual(batchBroadcastNeeded([7, 4, 5], [3, 7, 5, 6]), [3, 7]);
});

for (const backend of TEST_BACKENDS) {
  test(`${backend}: matMul broadcasts batch dims like numpy (tfjs-backend-webgpu 4.22 BatchMatMul "batch % batchSize" bug)`, async () => {
    await setBackend(backend);
    const cases: Array<[number[], number[]]> = [
      [[4, 1, 8, 16], [1, 4, 16, 8]], // two-sided: threw "Size(…) must match the product of shape 4,4,8,8"
      [[3, 1, 5, 6], [3, 7, 6, 4]], // [H,1]·[H,N]: silently wrong before the workaround
      [[2, 6, 5], [3, 1, 5, 4]], // ranks differ
      [[2, 3, 5, 6], [2, 3, 6, 4]], // equal batches (the kernel's own path)
      [[5, 6], [2, 3, 6, 4]], // unbatched a
    ];
    const before = await memorySnapshot();
    for (const [i, [as, bs]] of cases.entries()) {
      const av = values(as.reduce((x, y) => x * y, 1), i), bv = values(bs.reduce((x, y) => x * y, 1), i + 10);
      const want = reference(av, as, bv, bs);
      const got = tf.tidy(() => tf.matMul(tf.tensor(av, as), tf.tensor(bv, bs)));
      assert.deepEqual(got.shape, want.shape, `case ${i}: shape`);
      await expectAllClose(got, want.out, TOLERANCES.blasMatmul, `case ${i} [${as}]·[${bs}]`);
      // transposed operands take the same path
      const gotT = tf.tidy(() => tf.matMul(tf.tensor(av, as).transpose([...as.keys()].map((d) => (d < as.length - 2 ? d : 2 * as.length - 3 - d))), tf.tensor(bv, bs), true, false));
      await expectAllClose(gotT, want.out, TOLERANCES.blasMatmul, `case ${i} transposeA`);
      tf.dispose([got, gotT]);
    }
    await expectNoLeak(before, "broadcast matMuls");
  });
}
