/**
 * Faster data-movement kernels for the wasm and cpu backends: `Slice`, `GatherV2` (axis 0), `Transpose` (last axis
 * kept) and `Tile`, as contiguous-run copies (`copyWithin` over the wasm heap; `set(subarray)` between the cpu
 * backend's TypedArrays, whose own Slice/Transpose go element by element through index arithmetic). tfjs 4.22's own versions are slow in ways a forward pass feels:
 * its `Slice` first copies the *whole* input out of the heap (`readSync`) — slicing the [nCtx, nCtx] causal mask or
 * W_pos costs a multi-megabyte copy per call — and its C++ `GatherV2`/`Tile` compute an index per element (~80 ms to
 * embed 512 tokens of GPT-2 small, against < 1 ms here). Element bits are copied, never converted, so results are
 * identical to the stock kernels. Only 4-byte dtypes (float32, int32) are handled; anything else (bool, string,
 * gather with batchDims or another axis, transposes that move the last axis, short runs) goes to the stock kernel.
 */
import * as tf from "@tensorflow/tfjs";
import { cpuValues, cpuOutput, disposeOutput, overriddenKernels, overrideKernels, wasmHeap, wasmOffset, wasmOutput, type FastKernel, type Info, type KernelArgs } from "./tfjsInternals";

/** A backend's memory: an array and an element offset for an input; a new output with the same. */
type Span = { arr: Int32Array | Float32Array; at: number };
interface Memory {
  /**
   * Allocates the output, then returns views (wasm: made after the allocation, which may grow the heap); undefined
   * (nothing left allocated) when an input is not what the backend should hold (tfjsInternals.ts).
   */
  output(backend: unknown, shape: number[], dtype: string, inputs: Info[]): { info: Info; out: Span; ins: Span[] } | undefined;
}

/** The backends this file knows. */
export type CopyBackend = "wasm" | "cpu";

const MEMORY: Record<CopyBackend, Memory> = {
  wasm: {
    output(backend, shape, dtype, inputs) {
      if (inputs.some((t) => wasmOffset(backend, t) === undefined)) return undefined;
      const info = wasmOutput(backend, shape, dtype);
      if (info === undefined) return undefined;
      const heap = new Int32Array(wasmHeap(backend)!);
      const at = [info, ...inputs].map((t) => wasmOffset(backend, t));
      if (at.some((o) => o === undefined)) {
        disposeOutput(backend, info);
        return undefined;
      }
      return { info, out: { arr: heap, at: at[0]! >>> 2 }, ins: at.slice(1).map((o) => ({ arr: heap, at: o! >>> 2 })) };
    },
  },
  cpu: {
    output(backend, shape, dtype, inputs) {
      const ins = inputs.map((t) => cpuValues(backend, t));
      if (!ins.every((v) => v instanceof Float32Array || v instanceof Int32Array)) return undefined;
      const o = cpuOutput<Float32Array | Int32Array>(backend, shape, dtype as "float32" | "int32");
      return o && { info: o.info, out: { arr: o.values, at: 0 }, ins: (ins as Array<Int32Array | Float32Array>).map((arr) => ({ arr, at: 0 })) };
    },
  },
};

/** Copies `n` elements from `src` to `dst` (same array: copyWithin; else set(subarray)). Bits are not converted. */
function copy(dst: Span["arr"], d: number, src: Span["arr"], s: number, n: number): void {
  if (dst === src) dst.copyWithin(d, s, s + n);
  else dst.set(src.subarray(s, s + n), d);
}

const FOUR_BYTE = new Set(["float32", "int32"]);
/** Runs shorter than this are left to the stock kernels (a JS call per run would cost more than it saves). */
const MIN_RUN = 8;

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * Copies `prod(outer)·run` elements: for each index of `outer` (row-major), `run` contiguous elements from
 * `src + Σ index_i·strides_i` to the next `run` slots at `dst`.
 */
function copyRuns(from: Span, src: number, strides: readonly number[], outer: readonly number[], run: number, to: Span): void {
  const r = outer.length;
  const total = prod(outer);
  const idx = new Array<number>(r).fill(0);
  let s = from.at + src;
  for (let i = 0, dst = to.at; i < total; i++, dst += run) {
    copy(to.arr, dst, from.arr, s, run);
    for (let d = r - 1; d >= 0; d--) {
      s += strides[d];
      if (++idx[d] < outer[d]) break;
      s -= strides[d] * outer[d];
      idx[d] = 0;
    }
  }
}

function slice(mem: Memory): FastKernel {
  return (args: KernelArgs) => {
    const x = args.inputs.x;
    if (!x || !args.attrs || !FOUR_BYTE.has(x.dtype)) return undefined;
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, args.attrs.begin as number[], args.attrs.size as number[]);
    const r = x.shape.length;
    let j = r; // dims j.. are taken whole: one contiguous run per index of dims ..j
    while (j > 0 && (j === r || size[j] === x.shape[j])) j--;
    const run = prod(size.slice(j));
    if (run < MIN_RUN && prod(size) > 0) return undefined;
    const m = mem.output(args.backend, size, x.dtype, [x]);
    if (m === undefined) return undefined;
    if (prod(size) === 0) return m.info;
    const strides = [...tf.util.computeStrides(x.shape), 1];
    const src = begin.reduce((a, v, i) => a + v * strides[i], 0);
    copyRuns(m.ins[0], src, strides.slice(0, j), size.slice(0, j), run, m.out);
    return m.info;
  };
}

function transpose(mem: Memory): FastKernel {
  return (args: KernelArgs) => {
    const x = args.inputs.x;
    const perm = args.attrs?.perm as number[] | undefined;
    if (!x || !perm || perm.length !== x.shape.length) return undefined;
    const r = x.shape.length;
    let k = r; // output dims k.. are the input's trailing dims in order: contiguous runs
    while (k > 0 && perm[k - 1] === k - 1) k--;
    const run = prod(x.shape.slice(k));
    if (!FOUR_BYTE.has(x.dtype) || run < MIN_RUN) return undefined;
    const outShape = perm.map((p) => x.shape[p]);
    const m = mem.output(args.backend, outShape, x.dtype, [x]);
    if (m === undefined) return undefined;
    if (prod(outShape) === 0) return m.info;
    const strides = [...tf.util.computeStrides(x.shape), 1];
    copyRuns(m.ins[0], 0, perm.slice(0, k).map((p) => strides[p]), outShape.slice(0, k), run, m.out);
    return m.info;
  };
}

function gather(mem: Memory): FastKernel {
  return (args: KernelArgs) => {
    const { x, indices } = args.inputs;
    if (!x || !indices || !args.attrs) return undefined;
    const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0];
    const batchDims = Number(args.attrs.batchDims ?? 0);
    const run = prod(x.shape.slice(1));
    if (!FOUR_BYTE.has(x.dtype) || indices.dtype !== "int32" || axis !== 0 || batchDims !== 0 || run < MIN_RUN) return undefined;
    const n = prod(indices.shape);
    const m = mem.output(args.backend, [...indices.shape, ...x.shape.slice(1)], x.dtype, [x, indices]);
    if (m === undefined) return undefined;
    const [src, ids] = m.ins;
    const rows = x.shape[0];
    for (let i = 0, dst = m.out.at; i < n; i++, dst += run) {
      const row = ids.arr[ids.at + i];
      if (!(row >= 0 && row < rows)) {
        disposeOutput(args.backend, m.info);
        throw new Error(`GatherV2: the index value ${row} is not in [0, ${rows - 1}]`);
      }
      copy(m.out.arr, dst, src.arr, src.at + row * run, run);
    }
    return m.info;
  };
}

function tile(mem: Memory): FastKernel {
  return (args: KernelArgs) => {
    const x = args.inputs.x;
    const reps = args.attrs?.reps as number[] | undefined;
    if (!x || !reps) return undefined;
    const r = x.shape.length;
    const run = r > 0 ? x.shape[r - 1] : 1;
    if (!FOUR_BYTE.has(x.dtype) || r === 0 || reps.length !== r || run < MIN_RUN) return undefined;
    const outShape = x.shape.map((d, i) => d * reps[i]);
    const m = mem.output(args.backend, outShape, x.dtype, [x]);
    if (m === undefined) return undefined;
    if (prod(outShape) === 0) return m.info;
    const strides = tf.util.computeStrides(x.shape);
    const src = m.ins[0].at;
    let dst = m.out.at;
    const outer = outShape.slice(0, r - 1);
    const idx = new Array<number>(r - 1).fill(0);
    for (let i = 0, total = prod(outer); i < total; i++) {
      let s = src;
      for (let d = 0; d < r - 1; d++) s += (idx[d] % x.shape[d]) * strides[d];
      for (let t = 0; t < reps[r - 1]; t++, dst += run) copy(m.out.arr, dst, m.ins[0].arr, s, run);
      for (let d = r - 2; d >= 0; d--) {
        if (++idx[d] < outer[d]) break;
        idx[d] = 0;
      }
    }
    return m.info;
  };
}

const KERNELS: Record<string, (mem: Memory) => FastKernel> = { Slice: slice, Transpose: transpose, GatherV2: gather, Tile: tile };
const restore = new Map<CopyBackend, () => void>();

/** Replaces `backend`'s Slice, Transpose, GatherV2 and Tile kernels (idempotent). Returns the kernel names replaced. */
export function installCopyKernels(backend: CopyBackend = "wasm"): string[] {
  if (!restore.has(backend)) {
    restore.set(backend, overrideKernels(backend, Object.fromEntries(Object.entries(KERNELS).map(([name, make]) => [name, make(MEMORY[backend])]))));
  }
  return copyKernelsInstalled(backend);
}

/** Restores tfjs's own kernels on `backend` (undoes `installCopyKernels`). */
export function uninstallCopyKernels(backend: CopyBackend = "wasm"): void {
  restore.get(backend)?.();
  restore.delete(backend);
}

/** The kernels of `backend` currently replaced by this file. */
export function copyKernelsInstalled(backend: CopyBackend = "wasm"): string[] {
  return restore.has(backend) ? overriddenKernels(backend).filter((k) => k in KERNELS) : [];
}
