/**
 * `tf.matMul` with NumPy's batch broadcasting on every backend.
 *
 * tfjs 4.22's stock BatchMatMul kernels (cpu, wasm, webgpu) flatten the batch dims of each operand to one number and
 * index operand batches by `i % batchSize`. That is right when the batch shapes are equal, when one operand's batch is
 * a single matrix, or when the smaller batch shape is a suffix of the larger; any other broadcast — `[H, 1]` against
 * `[1, M]`, `[3, 1]` against `[3, 5]` — silently returns wrong values on cpu and wasm (uninitialised memory on cpu:
 * NaN in composition scores) and throws a size error on webgpu. The OpenBLAS kernel broadcasts properly, so results
 * differed between `LENS_BLAS=0` and the default. This helper broadcasts the operands explicitly in exactly those cases
 * (test/lens/util/matMul.test.ts pins the tfjs behaviour it works around).
 */
import * as tf from "@tensorflow/tfjs";

/** The broadcast batch shape of two operands' batch dims, or an Error naming both shapes. */
export function broadcastBatchShape(a: readonly number[], b: readonly number[], what = "matMul"): number[] {
  const len = Math.max(a.length, b.length);
  return Array.from({ length: len }, (_, i) => {
    const da = a[a.length - len + i] ?? 1;
    const db = b[b.length - len + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`${what}: batch dims [${a}] and [${b}] do not broadcast; make them equal or 1`);
    return da === 1 ? db : da;
  });
}

const product = (dims: readonly number[]) => dims.reduce((x, y) => x * y, 1);

/** Whether tfjs's flattened `i % batchSize` indexing gives the broadcast result for an operand with batch `dims`. */
function stockIndexingIsRight(dims: readonly number[], full: readonly number[]): boolean {
  if (product(dims) === 1) return true;
  const tail = full.slice(full.length - dims.length);
  // dims (after dropping leading 1s) must equal the trailing dims of the broadcast shape
  let i = 0;
  while (i < dims.length && dims[i] === 1) i++;
  return dims.slice(i).every((d, j) => d === tail[i + j]);
}

/** `a·b` over the last two dims with batch dims broadcast as NumPy does (see the file comment). Caller owns the result. */
export function matMulBroadcast(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  if (a.rank < 2 || b.rank < 2) throw new Error(`matMulBroadcast: operands must have rank ≥ 2, got [${a.shape}] and [${b.shape}]`);
  const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
  const full = broadcastBatchShape(ba, bb);
  const okA = stockIndexingIsRight(ba, full), okB = stockIndexingIsRight(bb, full);
  if (okA && okB) return tf.matMul(a, b, transposeA, transposeB);
  return tf.tidy(() => {
    const aa = okA ? a : tf.broadcastTo(a, [...full, ...a.shape.slice(-2)]);
    const bbT = okB ? b : tf.broadcastTo(b, [...full, ...b.shape.slice(-2)]);
    return tf.matMul(aa, bbT, transposeA, transposeB);
  });
}
