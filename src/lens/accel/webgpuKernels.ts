/**
 * Workarounds for tfjs-backend-webgpu 4.22 kernel bugs, installed when webgpu is chosen (`accelerate.ts`).
 *
 * Bug (BatchMatMul batch broadcasting): the webgpu kernel flattens each operand's batch dims to one
 * number and reads operand X at `batch % batchSize(X)` (matmul_packed_webgpu.ts, matmul_small_output_size_webgpu.ts)
 * with an output batch of max(batchSize(a), batchSize(b)). That is right only when both batch shapes are equal or one
 * is all ones. Otherwise it either throws (`[4,1,m,k]·[1,4,k,n]`: "Size(4096) must match the product of shape
 * 4,4,32,32" from its final reshape) or is silently wrong (`[H,1,m,k]·[H,N,k,n]` reads a's batch h·N+j as
 * (h·N+j) mod H). The wrapper below tiles such operands to the broadcast batch shape before calling the original
 * kernel, so every caller (ours, and users' own tf.matMul in notebooks) gets numpy/cpu semantics.
 *
 * The replacement goes through `overrideKernels` (tfjsInternals.ts) and calls the Tile and Reshape kernels of the same
 * backend; when either is missing it leaves the call to the stock kernel.
 */
import * as tf from "@tensorflow/tfjs";
import { disposeOutput, overriddenKernels, overrideKernels, type FastKernel, type Info, type KernelArgs, type StockKernel } from "./tfjsInternals";

/** The batch shape both operands are tiled to, or undefined when the webgpu kernel already handles the pair. */
export function batchBroadcastNeeded(aShape: readonly number[], bShape: readonly number[]): number[] | undefined {
  const a = aShape.slice(0, -2);
  const b = bShape.slice(0, -2);
  const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
  if (size(a) === 1 || size(b) === 1) return undefined;
  const rank = Math.max(a.length, b.length);
  const pa = [...new Array<number>(rank - a.length).fill(1), ...a];
  const pb = [...new Array<number>(rank - b.length).fill(1), ...b];
  if (pa.every((d, i) => d === pb[i])) return undefined;
  return pa.map((d, i) => Math.max(d, pb[i]!)); // (a mismatch other than 1 is left to the kernel's own error)
}

function expandBatch(x: Info, batch: number[], args: KernelArgs, made: Info[]): Info | undefined {
  const own = x.shape.slice(0, -2);
  const inner = x.shape.slice(-2);
  const padded = [...new Array<number>(batch.length - own.length).fill(1), ...own];
  if (padded.every((d, i) => d === batch[i])) return x;
  const reshape = tf.getKernel("Reshape", "webgpu")?.kernelFunc as unknown as StockKernel | undefined;
  const tile = tf.getKernel("Tile", "webgpu")?.kernelFunc as unknown as StockKernel | undefined;
  if (reshape === undefined || tile === undefined) return undefined;
  const r = reshape({ inputs: { x }, backend: args.backend, attrs: { shape: [...padded, ...inner] } }) as Info;
  made.push(r);
  const t = tile({ inputs: { x: r }, backend: args.backend, attrs: { reps: [...padded.map((d, i) => (d === batch[i] ? 1 : batch[i]!)), 1, 1] } }) as Info;
  made.push(t);
  return t;
}

/** BatchMatMul with operands tiled to their broadcast batch shape first (declines when no tiling is needed). */
const broadcastingMatMul: FastKernel = (args, stock) => {
  const { a, b } = args.inputs;
  const batch = a && b ? batchBroadcastNeeded(a.shape, b.shape) : undefined;
  if (!a || !b || batch === undefined) return undefined;
  const made: Info[] = [];
  try {
    const ea = expandBatch(a, batch, args, made);
    const eb = expandBatch(b, batch, args, made);
    if (ea === undefined || eb === undefined) return undefined;
    return stock({ ...args, inputs: { ...args.inputs, a: ea, b: eb } });
  } finally {
    for (const t of made) disposeOutput(args.backend, t);
  }
};

let installed = false;

/** Installs the webgpu workarounds (idempotent). */
export function installWebgpuKernels(): void {
  if (installed || tf.getKernel("BatchMatMul", "webgpu") === undefined) return;
  // (tf.fused.matMul reshapes to rank 3 in tfjs-core before its kernel: no batch broadcast there)
  overrideKernels("webgpu", { BatchMatMul: broadcastingMatMul });
  installed = true;
}

/** Whether the broadcasting BatchMatMul wrapper is installed. */
export function webgpuKernelsInstalled(): boolean {
  return overriddenKernels("webgpu").includes("BatchMatMul");
}
