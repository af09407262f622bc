/**
 * Kernels training needs that a backend lacks. The wasm backend has no `UnsortedSegmentSum`, which is the gradient
 * of `tf.gather` (the token embedding `W_E[tokens]`); this registers a small JS one for it, so the forward of
 * `forward.ts` is differentiable on wasm as it is on cpu. Registered through `overrideKernels` (accel/tfjsInternals.ts),
 * which reaches the wasm heap.
 */
import * as tf from "@tensorflow/tfjs";
import { disposeOutput, overrideKernels, wasmOutput, wasmValues, type FastKernel } from "../accel/tfjsInternals";

/**
 * `out[segmentIds[i], ...] += x[i, ...]` with `out` `[numSegments, ...x.shape[segmentIds.rank:]]` (ids outside
 * [0, numSegments) are dropped, as in TensorFlow). float32 or int32 `x`, int32 ids.
 */
const unsortedSegmentSumWasm: FastKernel = ({ inputs, attrs, backend }) => {
  const { x, segmentIds } = inputs;
  const numSegments = Number(attrs?.numSegments);
  if (!x || !segmentIds || segmentIds.dtype !== "int32" || !(x.dtype === "float32" || x.dtype === "int32") || !Number.isInteger(numSegments) || numSegments < 0) return undefined;
  if (wasmValues(backend, x) === undefined || wasmValues(backend, segmentIds) === undefined) return undefined;
  const rest = x.shape.slice(segmentIds.shape.length);
  const inner = rest.reduce((a, c) => a * c, 1);
  const out = wasmOutput(backend, [numSegments, ...rest], x.dtype);
  if (out === undefined) return undefined;
  // Views after the allocation (it may grow the heap and detach earlier ones).
  const [xv, ids, ov] = [wasmValues(backend, x), wasmValues(backend, segmentIds), wasmValues(backend, out)];
  if (xv === undefined || ids === undefined || ov === undefined) {
    disposeOutput(backend, out);
    return undefined;
  }
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
  if (tf.getKernel("UnsortedSegmentSum", "wasm") === undefined) overrideKernels("wasm", { UnsortedSegmentSum: unsortedSegmentSumWasm });
}
