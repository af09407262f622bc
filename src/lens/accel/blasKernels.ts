/**
 * Replaces a backend's `BatchMatMul` and `_FusedMatMul` kernels with `cblas_sgemm` on the tensors' own memory: the
 * cpu backend's Float32Arrays, or Float32Array views of the wasm heap — no copies in or out. Batched, transposed and
 * broadcast-batch products are supported; anything else (non-float32, prelu, a bias that is not a per-column vector or
 * scalar) falls through to the backend's own kernel.
 */
import { blasSgemm, loadBlas, type Sgemm } from "./blas";
import { cpuFloats, cpuScratchOutput, disposeOutput, overriddenKernels, overrideKernels, wasmFloats, wasmOutput, type FastKernel, type Info } from "./tfjsInternals";
import { broadcastBatchShape } from "../util/matMul";

/** The backends whose memory layout this file knows. */
export type BlasBackend = "cpu" | "wasm";

/** Raw-memory access for one backend (tfjsInternals.ts): views of inputs, and an output with a view of its storage. */
interface Memory {
  input(backend: unknown, t: Info | undefined): Float32Array | undefined;
  output(backend: unknown, shape: number[]): { info: Info; view: () => Float32Array | undefined } | undefined;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

const MEMORY: Record<BlasBackend, Memory> = {
  cpu: {
    input: cpuFloats,
    output(backend, shape) {
      const o = cpuScratchOutput<Float32Array>(backend, shape, "float32");
      return o && { info: o.info, view: () => o.values };
    },
  },
  wasm: {
    input: wasmFloats,
    output(backend, shape) {
      const info = wasmOutput(backend, shape, "float32");
      // Views are made after every allocation: growing the heap detaches earlier ones.
      return info && { info, view: () => wasmFloats(backend, info) };
    },
  },
};

/** For each output batch index, the flat batch index of an operand with batch shape `dims` (broadcast). */
function batchIndices(outDims: readonly number[], dims: readonly number[]): Int32Array {
  const total = size(outDims);
  const idx = new Int32Array(total);
  const pad = outDims.length - dims.length;
  for (let o = 0; o < total; o++) {
    let rem = o;
    let flat = 0;
    let stride = 1;
    for (let d = outDims.length - 1; d >= 0; d--) {
      const coord = rem % outDims[d];
      rem = Math.floor(rem / outDims[d]);
      const dim = d - pad;
      if (dim >= 0) {
        if (dims[dim] !== 1) flat += coord * stride;
        stride *= dims[dim];
      }
    }
    idx[o] = flat;
  }
  return idx;
}

interface Plan {
  outShape: number[];
  m: number;
  n: number;
  k: number;
  outDims: number[];
  aDims: number[];
  bDims: number[];
}

function plan(a: Info, b: Info, tA: boolean, tB: boolean): Plan | undefined {
  if (a.shape.length < 2 || b.shape.length < 2) return undefined;
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const m = tA ? ac : ar;
  const k = tA ? ar : ac;
  const n = tB ? br : bc;
  if ((tB ? bc : br) !== k) return undefined; // let the stock kernel raise its own error
  const aDims = a.shape.slice(0, -2);
  const bDims = b.shape.slice(0, -2);
  let outDims: number[];
  try {
    outDims = broadcastBatchShape(aDims, bDims);
  } catch {
    return undefined; // batch dims that do not broadcast: the stock kernel raises its own error
  }
  return { outShape: [...outDims, m, n], m, n, k, outDims, aDims, bDims };
}

/** C[i] = op(A[i])·op(B[i]) (+ C when beta = 1) for every batch index, with one GEMM when B is shared. */
function gemm(sgemm: Sgemm, p: Plan, A: Float32Array, B: Float32Array, C: Float32Array, tA: boolean, tB: boolean, beta: number): void {
  const { m, n, k } = p;
  const lda = tA ? m : k;
  const ldb = tB ? k : n;
  const batches = size(p.outDims);
  if (m === 0 || n === 0) return;
  if (k === 0) {
    if (beta === 0) C.fill(0);
    return;
  }
  if (!tA && size(p.bDims) === 1 && size(p.aDims) === batches) {
    sgemm(false, tB, batches * m, n, k, A, lda, B, ldb, beta, C, n); // rows of all A batches are contiguous
    return;
  }
  const ia = batchIndices(p.outDims, p.aDims);
  const ib = batchIndices(p.outDims, p.bDims);
  for (let i = 0; i < batches; i++) {
    const a = A.subarray(ia[i] * m * k, (ia[i] + 1) * m * k);
    const b = B.subarray(ib[i] * k * n, (ib[i] + 1) * k * n);
    sgemm(tA, tB, m, n, k, a, lda, b, ldb, beta, C.subarray(i * m * n, (i + 1) * m * n), n);
  }
}

function matMulWith(mem: Memory, fused: boolean): FastKernel {
  return (args) => {
    const sgemm = blasSgemm();
    const { a, b, bias, preluActivationWeights } = args.inputs;
    const tA = Boolean(args.attrs?.transposeA);
    const tB = Boolean(args.attrs?.transposeB);
    const activation = (args.attrs?.activation as string | undefined) ?? "linear";
    const p = a && b && sgemm && a.dtype === "float32" && b.dtype === "float32" ? plan(a, b, tA, tB) : undefined;
    const biasOk = !bias || (bias.dtype === "float32" && (size(bias.shape) === 1 || (p !== undefined && size(bias.shape) === p.n && bias.shape[bias.shape.length - 1] === p.n)));
    const actOk = !fused || (activation in ACTIVATIONS && !preluActivationWeights);
    if (!p || !sgemm || !biasOk || !actOk || mem.input(args.backend, a) === undefined || mem.input(args.backend, b) === undefined) return undefined;
    if (bias && mem.input(args.backend, bias) === undefined) return undefined;
    const out = mem.output(args.backend, p.outShape);
    if (out === undefined) return undefined;
    // Views of the inputs are taken after the output's allocation (on wasm it may grow the heap).
    const C = out.view();
    const A = mem.input(args.backend, a);
    const B = mem.input(args.backend, b);
    const bv = bias && mem.input(args.backend, bias);
    if (C === undefined || A === undefined || B === undefined || (bias && bv === undefined)) {
      disposeOutput(args.backend, out.info);
      return undefined;
    }
    let beta = 0;
    // An all-zero bias (GPT-2's b_U, most b_O after weight processing) is skipped: for the unembedding the
    // pre-fill plus sgemm's read-back of C is two extra passes over a [tokens, 50257] output.
    if (fused && bv && !allZero(bv)) {
      if (bv.length === 1) C.fill(bv[0]);
      else for (let r = 0; r < C.length; r += p.n) C.set(bv, r);
      beta = 1;
    }
    gemm(sgemm, p, A, B, C, tA, tB, beta);
    if (fused && activation !== "linear") ACTIVATIONS[activation](C, Number(args.attrs?.leakyreluAlpha ?? 0.2));
    return out.info;
  };
}

/** True when every element is ±0 (NaN is not). */
function allZero(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
  return true;
}

/** In-place activations of `_FusedMatMul` (tfjs's definitions); prelu falls through to the stock kernel. */
const ACTIVATIONS: Record<string, (c: Float32Array, alpha: number) => void> = {
  linear: () => undefined,
  relu: (c) => { for (let i = 0; i < c.length; i++) if (c[i] < 0) c[i] = 0; },
  relu6: (c) => { for (let i = 0; i < c.length; i++) c[i] = c[i] < 0 ? 0 : c[i] > 6 ? 6 : c[i]; },
  elu: (c) => { for (let i = 0; i < c.length; i++) if (c[i] < 0) c[i] = Math.exp(c[i]) - 1; },
  leakyrelu: (c, alpha) => { for (let i = 0; i < c.length; i++) if (c[i] < 0) c[i] *= alpha; },
  sigmoid: (c) => { for (let i = 0; i < c.length; i++) c[i] = 1 / (1 + Math.exp(-c[i])); },
};

const restore = new Map<BlasBackend, () => void>();

/**
 * Routes `BatchMatMul` and `_FusedMatMul` of `backend` through OpenBLAS. Returns false (and changes nothing) when
 * OpenBLAS is unavailable (see `loadBlas().reason`) or the tfjs internals differ (tfjsInternals.ts). Idempotent.
 */
export function installBlasMatMul(backend: BlasBackend): boolean {
  if (!loadBlas().available) return false;
  if (!restore.has(backend)) {
    restore.set(backend, overrideKernels(backend, { BatchMatMul: matMulWith(MEMORY[backend], false), _FusedMatMul: matMulWith(MEMORY[backend], true) }));
  }
  return blasMatMulInstalled(backend);
}

/** Restores the backend's own matmul kernels (undoes `installBlasMatMul`). */
export function uninstallBlasMatMul(backend: BlasBackend): void {
  restore.get(backend)?.();
  restore.delete(backend);
}

/** True when `backend`'s BatchMatMul currently runs through OpenBLAS. */
export function blasMatMulInstalled(backend: string): boolean {
  return restore.has(backend as BlasBackend) && overriddenKernels(backend).includes("BatchMatMul");
}
