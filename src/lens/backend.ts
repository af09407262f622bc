/**
 * Backend selection: the fastest tfjs backend that works here — tfjs-node-gpu / tfjs-node ("tensorflow") when they
 * load, else WebGPU (Dawn) with a hardware adapter, else wasm, else the pure-JS cpu backend; cpu and wasm matmuls run
 * through OpenBLAS when it is installed (see accel/). Override with the `LENS_BACKEND` environment variable or `setBackend`.
 *
 * wasm threads (`LENS_WASM_THREADS`, accel/wasmThreads.ts): tfjs-backend-wasm runs single-threaded in Node; lens can
 * start its threaded-SIMD build instead. `LENS_WASM_THREADS=n` (n ≥ 2) asks for min(n, 8, logical cores) threads;
 * `0` or `1` keeps the stock module; unset or `auto` uses min(8, free cores) threads when at least 2 cores are free
 * (free = physical cores − 1-minute load average, when wasm is chosen), else the stock module — threads on busy cores
 * only contend. Any failure of the threaded loader falls back to the stock module; `backendInfo().wasm` says which
 * module runs, with how many threads, and why.
 * Room for more: an entry in CANDIDATES (e.g. "webgpu", a BLAS-backed matmul) is all a new accelerator needs.
 */
import * as tf from "@tensorflow/tfjs";
import { accelerateBackend, matmulInfo, type MatmulInfo } from "./accel/accelerate";
import { registerWebGpu } from "./accel/dawnWebgpu";
import { prepareWasmThreads, wasmThreadsInfo, type WasmThreadsInfo } from "./accel/wasmThreads";

export type BackendName = "tensorflow" | "wasm" | "cpu" | "webgl" | "webgpu";

/** What is in use and what was tried. */
export interface BackendInfo {
  /** The tfjs backend in use, e.g. "wasm". */
  readonly name: string;
  /** Why it was chosen: "LENS_BACKEND", "setBackend" or "auto". */
  readonly chosenBy: string;
  /** Candidates tried before it, with the reason each was skipped. */
  readonly skipped: ReadonlyArray<{ name: string; reason: string }>;
  /** How matrix products run: OpenBLAS (`cblas_sgemm` on cpu/wasm, off with LENS_BLAS=0) or the backend's kernel, and why. */
  readonly matmul?: MatmulInfo;
  /** On wasm: the module in use (threaded-SIMD or stock), its thread count, and why (see `LENS_WASM_THREADS`). */
  readonly wasm?: WasmThreadsInfo;
}

interface Candidate {
  readonly name: BackendName;
  /** Registers the backend with tfjs (by importing its package); throws when unavailable. `asked`: chosen by name, not auto. */
  readonly register: (asked: boolean) => void | Promise<void>;
}

const CANDIDATES: readonly Candidate[] = [
  {
    name: "tensorflow",
    register: () => {
      const errors: string[] = [];
      for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
        try {
          require(pkg);
          return;
        } catch (e) {
          errors.push(`${pkg}: ${String((e as Error).message).split("\n")[0]}`);
        }
      }
      throw new Error(errors.join("; "));
    },
  },
  // Auto: only a hardware adapter, probed quietly; by name: software ones too with LENS_WEBGPU_ADAPTER=any (accel/dawnWebgpu.ts).
  { name: "webgpu", register: registerWebGpu },
  {
    name: "wasm",
    register: () => {
      require("@tensorflow/tfjs-backend-wasm");
      prepareWasmThreads(); // threaded-SIMD module per LENS_WASM_THREADS (accel/wasmThreads.ts)
    },
  },
  { name: "cpu", register: () => undefined },
];

let info: BackendInfo | undefined;

/** The per-backend parts of BackendInfo: the matmul route, and on wasm the threading. */
function details(name: string): Pick<BackendInfo, "matmul" | "wasm"> {
  const wasm = name === "wasm" ? wasmThreadsInfo() : undefined;
  return wasm ? { matmul: matmulInfo(name), wasm } : { matmul: matmulInfo(name) };
}

async function activate(c: Candidate, asked: boolean): Promise<void> {
  await c.register(asked);
  if (tf.findBackendFactory(c.name) === null) throw new Error(`importing it did not register a "${c.name}" backend`);
  if (!(await tf.setBackend(c.name))) throw new Error(`tf.setBackend("${c.name}") failed to initialise`);
  await tf.ready();
  accelerateBackend(tf.getBackend()); // cpu/wasm matmuls → OpenBLAS (LENS_BLAS=0: off); cpu/wasm copy kernels (LENS_COPY_KERNELS=0: off)
}

/**
 * Selects a backend: `name` if given (throws if it cannot start), else `LENS_BACKEND`, else the first candidate that
 * works. Returns what is now in use.
 */
export async function setBackend(name?: BackendName): Promise<BackendInfo> {
  const wanted = name ?? (process.env.LENS_BACKEND as BackendName | undefined);
  if (wanted) {
    const c = CANDIDATES.find((x) => x.name === wanted) ?? { name: wanted, register: () => undefined };
    try {
      await activate(c, true);
    } catch (e) {
      const how = name ? `setBackend("${name}")` : `LENS_BACKEND=${wanted}`;
      throw new Error(`${how}: backend "${wanted}" is not available (${(e as Error).message}); use one of ${CANDIDATES.map((x) => x.name).join(", ")}`);
    }
    info = { name: tf.getBackend(), chosenBy: name ? "setBackend" : "LENS_BACKEND", skipped: [], ...details(tf.getBackend()) };
    return info;
  }
  const skipped: { name: string; reason: string }[] = [];
  for (const c of CANDIDATES) {
    try {
      await activate(c, false);
      info = { name: tf.getBackend(), chosenBy: "auto", skipped, ...details(tf.getBackend()) };
      return info;
    } catch (e) {
      skipped.push({ name: c.name, reason: (e as Error).message });
    }
  }
  throw new Error(`no tfjs backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}`);
}

/** Makes sure a backend has been chosen (once per process); called by `fromPretrained`. */
export async function ensureBackend(): Promise<BackendInfo> {
  return info ?? setBackend();
}

/** The backend in use and how it was chosen (before any selection: tfjs's default, chosen by "tfjs"). */
export function backendInfo(): BackendInfo {
  const name = tf.getBackend();
  if (info === undefined) return { name, chosenBy: "tfjs default", skipped: [], ...details(name) };
  return info.name === name ? { ...info, ...details(name) } : { name, chosenBy: "tf.setBackend (outside lens)", skipped: [], ...details(name) };
}
