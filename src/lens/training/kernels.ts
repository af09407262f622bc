/**
 * Kernels training needs that a backend lacks. The wasm backend has no `UnsortedSegmentSum`, which is the gradient
 * of `tf.gather` (the token embedding `W_E[tokens]`); this registers a small JS one for it, so the forward of
 * `forward.ts` is differentiable on wasm as it is on cpu.
 */
import * as tf from "@tensorflow/tfjs";

interface WasmLike {
  readSync(dataId: tf.DataId): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
}

/**
 * `out[segmentIds[i], ...] += x[i, ...]` with `out` `[numSegments, ...x.shape[segmentIds.rank:]]` (ids outside
 * [0, numSegments) are dropped, as in TensorFlow).
 */
const unsortedSegmentSumWasm: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const b = backend as unknown as WasmLike;
  const xv = b.readSync(x.dataId);
  const ids = b.readSync(segmentIds.dataId);
  const rest = x.shape.slice(segmentIds.shape.length);
  const inner = rest.reduce((a, c) => a * c, 1);
  const out = b.makeOutput([numSegments, ...rest], x.dtype);
  const ov = b.typedArrayFromHeap(out);
  ov.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner, xi = i * inner;
    for (let j = 0; j < inner; j++) ov[o + j]! += xv[xi + j]!;
  }
  return out;
};

/** Registers the missing training kernels (idempotent; safe before or after the wasm backend starts). */
export function registerTrainingKernels(): void {
  if (tf.getKernel("UnsortedSegmentSum", "wasm") === undefined) {
    tf.registerKernel({ kernelName: "UnsortedSegmentSum", backendName: "wasm", kernelFunc: unsortedSegmentSumWasm });
  }
}
