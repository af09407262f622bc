/**
 * Faster data-movement kernels for the wasm and cpu backends: `Slice`, `GatherV2` (axis 0), `Transpose` (last axis
 * kept) and `Tile`, as contiguous-run copies (`copyWithin` over the wasm heap; `set(subarray)` between the cpu
 * backend's TypedArrays, whose own Slice/Transpose go element by element through index arithmetic). tfjs 4.22's own versions are slow in ways a forward pass feels:
 * its `Slice` first copies the *whole* input out of the heap (`readSync`) — slicing the [nCtx, nCtx] causal mask or
 * W_pos costs a multi-megabyte copy per call — and its C++ `GatherV2`/`Tile` compute an index per element (~80 ms to
 * embed 512 tokens of GPT-2 small, against < 1 ms here). Element bits are copied, never converted, so results are
 * identical to the stock kernels. Only 4-byte dtypes (float32, int32) are handled; anything else (bool, string,
 * gather with batchDims or another axis, short runs, and on wasm transposes that move the last axis) goes to the stock
 * kernel. On cpu a transpose that moves the last axis is copied in cache-sized tiles (`copyTiles`).
 */
import * as tf from "@tensorflow/tfjs";
import { cpuValues, cpuScratchOutput, disposeOutput, overriddenKernels, overrideKernels, wasmHeap, wasmOffset, wasmOutput, type FastKernel, type Info, type KernelArgs } from "./tfjsInternals";

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
      const o = cpuScratchOutput<Float32Array | Int32Array>(backend, shape, dtype as "float32" | "int32");
      // Int32 views of the same memory: short runs are copied element by element as integers, bits unchanged.
      return o && { info: o.info, out: { arr: ints(o.values), at: 0 }, ins: (ins as Array<Int32Array | Float32Array>).map((arr) => ({ arr: ints(arr), at: 0 })) };
    },
  },
};

const ints = (v: Int32Array | Float32Array) => (v instanceof Int32Array ? v : new Int32Array(v.buffer, v.byteOffset, v.length));

/** Runs up to this long are copied by a loop between different arrays (a subarray view per run costs more). */
const LOOP_RUN = 256;

/**
 * Copies `n` elements from `src` to `dst` (same array: copyWithin; short runs: a loop over the Int32 views the cpu path
 * uses; else set(subarray)). Bits are not converted.
 */
function copy(dst: Span["arr"], d: number, src: Span["arr"], s: number, n: number): void {
  if (dst === src) dst.copyWithin(d, s, s + n);
  else if (n <= LOOP_RUN && dst instanceof Int32Array && src instanceof Int32Array) for (let k = 0; k < n; k++) dst[d + k] = src[s + k];
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

/** Tile edge of `copyTiles`: a 32×32 tile of 4-byte elements reads and writes 32 cache lines each. */
const TILE = 32;

/**
 * A transpose that moves the last axis (the weight converter's 2-D transposes): the last two output dims are copied in
 * TILE×TILE tiles, so both the reads (input stride `s0`/`s1`) and the writes stay within a few cache lines; the other
 * output dims are an odometer over `inStrides`. Elements are copied as Int32 bits.
 */
function copyTiles(from: Span, inStrides: readonly number[], outShape: readonly number[], to: Span): void {
  const r = outShape.length;
  const [n0, n1] = [outShape[r - 2], outShape[r - 1]];
  const [s0, s1] = [inStrides[r - 2], inStrides[r - 1]];
  const outer = outShape.slice(0, r - 2);
  const idx = new Array<number>(r - 2).fill(0);
  const src = from.arr;
  const dst = to.arr;
  let base = from.at;
  for (let i = 0, total = prod(outer), o = to.at; i < total; i++, o += n0 * n1) {
    for (let a0 = 0; a0 < n0; a0 += TILE) {
      const a1 = Math.min(n0, a0 + TILE);
      for (let b0 = 0; b0 < n1; b0 += TILE) {
        const b1 = Math.min(n1, b0 + TILE);
        for (let a = a0; a < a1; a++) {
          const d = o + a * n1;
          for (let b = b0, sIdx = base + a * s0 + b0 * s1; b < b1; b++, sIdx += s1) dst[d + b] = src[sIdx];
        }
      }
    }
    for (let d = r - 3; d >= 0; d--) {
      base += inStrides[d];
      if (++idx[d] < outer[d]) break;
      base -= inStrides[d] * outer[d];
      idx[d] = 0;
    }
  }
}

/**
 * Slice. On cpu a slice that is one contiguous run is left to the stock kernel, which returns a view of the input's
 * array (no copy, no new memory).
 */
function slice(mem: Memory, stockViews: boolean): FastKernel {
  return (args: KernelArgs) => {
    const x = args.inputs.x;
    if (!x || !args.attrs || !FOUR_BYTE.has(x.dtype)) return undefined;
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, args.attrs.begin as number[], args.attrs.size as number[]);
    const r = x.shape.length;
    let j = r; // dims j.. are taken whole: one contiguous run per index of dims ..j
    while (j > 0 && (j === r || size[j] === x.shape[j])) j--;
    const run = prod(size.slice(j));
    if (run < MIN_RUN && prod(size) > 0) return undefined;
    if (stockViews && j === 0) return undefined;
    const m = mem.output(args.backend, size, x.dtype, [x]);
    if (m === undefined) return undefined;
    if (prod(size) === 0) return m.info;
    const strides = [...tf.util.computeStrides(x.shape), 1];
    const src = begin.reduce((a, v, i) => a + v * strides[i], 0);
    copyRuns(m.ins[0], src, strides.slice(0, j), size.slice(0, j), run, m.out);
    return m.info;
  };
}

function transpose(mem: Memory, blockLastAxis: boolean): FastKernel {
  return (args: KernelArgs) => {
    const x = args.inputs.x;
    const perm = args.attrs?.perm as number[] | undefined;
    if (!x || !perm || perm.length !== x.shape.length) return undefined;
    const r = x.shape.length;
    let k = r; // output dims k.. are the input's trailing dims in order: contiguous runs
    while (k > 0 && perm[k - 1] === k - 1) k--;
    const run = prod(x.shape.slice(k));
    const tiled = run === 1 && blockLastAxis && r >= 2;
    if (!FOUR_BYTE.has(x.dtype) || (run < MIN_RUN && !tiled)) return undefined;
    const outShape = perm.map((p) => x.shape[p]);
    const m = mem.output(args.backend, outShape, x.dtype, [x]);
    if (m === undefined) return undefined;
    if (prod(outShape) === 0) return m.info;
    const strides = [...tf.util.computeStrides(x.shape), 1];
    if (run >= MIN_RUN) copyRuns(m.ins[0], 0, perm.slice(0, k).map((p) => strides[p]), outShape.slice(0, k), run, m.out);
    else copyTiles(m.ins[0], perm.map((p) => strides[p]), outShape, m.out);
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

/** wasm keeps its own C++ transpose for perms that move the last axis; cpu's JS one goes element by element through index arithmetic (~200 s of a Pythia-2.8B load). */
const KERNELS: Record<string, (mem: Memory, backend: CopyBackend) => FastKernel> = { Slice: (mem, b) => slice(mem, b === "cpu"), Transpose: (mem, b) => transpose(mem, b === "cpu"), GatherV2: gather, Tile: tile };
const restore = new Map<CopyBackend, () => void>();

/** Replaces `backend`'s Slice, Transpose, GatherV2 and Tile kernels (idempotent). Returns the kernel names replaced. */
export function installCopyKernels(backend: CopyBackend = "wasm"): string[] {
  if (!restore.has(backend)) {
    restore.set(backend, overrideKernels(backend, Object.fromEntries(Object.entries(KERNELS).map(([name, make]) => [name, make(MEMORY[backend], backend)]))));
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
