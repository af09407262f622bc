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
 *
 * Chosen by model size: `fromPretrained` computes, from config.json alone and before any tensor exists, what the model
 * needs (`MemoryNeed`, loading/memory.ts). wasm keeps every tensor in one 4 GiB heap and a full heap aborts the process,
 * so automatic selection takes wasm only when the weights plus their derived forms and one forward of
 * min(nCtx, 1024) tokens fit in 90% of it; else it moves on (cpu has no cap: its TypedArrays live outside any heap).
 * A backend asked for by name that cannot hold the weights at all is refused with an Error giving the sizes.
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
  /** Why this backend, in one sentence (who asked for it, or which candidates were skipped and why; model size). */
  readonly reason: string;
}

/** What a model needs in memory, in bytes, from its config (loading/memory.ts); passed by `fromPretrained`. */
export interface MemoryNeed {
  /** The model, for messages. */
  readonly model: string;
  /** Its float32 weights. */
  readonly weightBytes: number;
  /** The extra peak while loading (one parameter converted or processed at a time). */
  readonly transientBytes: number;
  /** Derived weights the forward caches after its first call (flattened W_Q/K/V, causal mask). */
  readonly derivedBytes: number;
  /** Live activations of one forward of min(nCtx, 1024) tokens. */
  readonly forwardBytes: number;
}

/** The wasm heap: 4 GiB (32-bit addresses), for every tensor on the backend. */
export const WASM_HEAP_BYTES = 4 * 2 ** 30;
/** Automatic selection keeps this share of the heap free (fragmentation, activations of longer runs). */
const WASM_AUTO_SHARE = 0.9;

const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;
/** Bytes the model cannot do without: weights plus the larger of the loading peak and the derived weights. */
const hardNeed = (n: MemoryNeed) => n.weightBytes + Math.max(n.transientBytes, n.derivedBytes);
/** Bytes automatic selection plans for: the hard need plus one forward's activations. */
const autoNeed = (n: MemoryNeed) => n.weightBytes + Math.max(n.transientBytes, n.derivedBytes + n.forwardBytes);
/** Bytes already held by tensors on the wasm backend (another model loaded earlier counts against the heap). */
const wasmInUse = () => (tf.getBackend() === "wasm" ? tf.memory().numBytes : 0);

function describeNeed(n: MemoryNeed, withForward: boolean): string {
  const parts = [`${gb(n.weightBytes)} of float32 weights`, `${gb(Math.max(n.transientBytes, n.derivedBytes + (withForward ? n.forwardBytes : 0)))} ${withForward ? "for loading or for derived weights and a 1024-token forward" : "while loading or for derived weights"}`];
  return `${n.model} needs ${gb(withForward ? autoNeed(n) : hardNeed(n))} (${parts.join(" + ")})`;
}

/** The error for a backend asked for by name that cannot hold the model. */
function tooBig(how: string, backend: string, n: MemoryNeed, capacity: number): Error {
  const inUse = wasmInUse();
  return new Error(
    `${how}: ${describeNeed(n, false)}, but the ${backend} backend holds at most ${gb(capacity)} ` +
      `(its heap is 4 GiB${inUse ? `, ${gb(inUse)} of it already used by other tensors` : ""}). ` +
      `Use LENS_BACKEND=cpu (no size limit; slower), or a GPU backend (webgpu, or tensorflow via @tensorflow/tfjs-node-gpu) where one is usable, ` +
      `or leave LENS_BACKEND unset to let lens choose by size.`,
  );
}

interface Candidate {
  readonly name: BackendName;
  /** Registers the backend with tfjs (by importing its package); throws when unavailable. `asked`: chosen by name, not auto. */
  readonly register: (asked: boolean) => void | Promise<void>;
  /** Bytes its tensors may take in all, when the backend has a hard cap (wasm's heap); undefined: no cap known. */
  readonly capacity?: () => number;
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
    capacity: () => WASM_HEAP_BYTES - wasmInUse(),
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
 * Selects a backend: `name` if given (throws if it cannot start, or cannot hold `need`), else `LENS_BACKEND`, else
 * the first candidate that works and, when `need` is given, holds the model with room. Returns what is now in use.
 */
export async function setBackend(name?: BackendName, need?: MemoryNeed): Promise<BackendInfo> {
  const wanted = name ?? (process.env.LENS_BACKEND as BackendName | undefined);
  if (wanted) {
    // typed: tslab's TypeScript 5.0 infers a union without `capacity` and fails every notebook's import cell
    const c: Candidate = CANDIDATES.find((x) => x.name === wanted) ?? { name: wanted, register: () => undefined };
    const how = name ? `setBackend("${name}")` : `LENS_BACKEND=${wanted}`;
    const cap = c.capacity?.();
    if (need && cap !== undefined && hardNeed(need) > cap) throw tooBig(how, wanted, need, cap); // before starting it
    try {
      await activate(c, true);
    } catch (e) {
      throw new Error(`${how}: backend "${wanted}" is not available (${(e as Error).message}); use one of ${CANDIDATES.map((x) => x.name).join(", ")}`);
    }
    const reason = `asked for by ${how}` + (need ? `; it holds ${need.model} (${gb(hardNeed(need))})` : "");
    info = { name: tf.getBackend(), chosenBy: name ? "setBackend" : "LENS_BACKEND", skipped: [], reason, ...details(tf.getBackend()) };
    return info;
  }
  const skipped: { name: string; reason: string }[] = [];
  for (const c of CANDIDATES) {
    const cap = c.capacity?.();
    if (need && cap !== undefined && autoNeed(need) > WASM_AUTO_SHARE * cap) {
      skipped.push({ name: c.name, reason: `${describeNeed(need, true)}, more than ${Math.round(WASM_AUTO_SHARE * 100)}% of the ${gb(cap)} it can hold` });
      continue;
    }
    try {
      await activate(c, false);
      const why = skipped.length ? ` (skipped ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")})` : "";
      const reason = `chosen automatically: the first of ${CANDIDATES.map((x) => x.name).join(" > ")} that starts${need ? ` and holds ${need.model}` : ""}${why}`;
      info = { name: tf.getBackend(), chosenBy: "auto", skipped, reason, ...details(tf.getBackend()) };
      return info;
    } catch (e) {
      skipped.push({ name: c.name, reason: (e as Error).message });
    }
  }
  throw new Error(`no tfjs backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}`);
}

/**
 * Makes sure a backend has been chosen (once per process) and, given `need`, that it can hold the model: an
 * automatically chosen backend that cannot is replaced by the next candidate that can (tensors already on the old
 * one move when next used); one asked for by name throws an Error naming the sizes. Called by `fromPretrained`.
 */
export async function ensureBackend(need?: MemoryNeed): Promise<BackendInfo> {
  if (info === undefined) return setBackend(undefined, need);
  const current = tf.getBackend();
  const cap = need && CANDIDATES.find((c) => c.name === current)?.capacity?.();
  if (need === undefined || cap === undefined) return backendInfo();
  if (info.chosenBy === "auto" && info.name === current) return autoNeed(need) > WASM_AUTO_SHARE * cap ? setBackend(undefined, need) : info;
  if (hardNeed(need) > cap) {
    const how = info.name !== current ? `tf.setBackend("${current}")` : info.chosenBy === "setBackend" ? `setBackend("${current}")` : `LENS_BACKEND=${current}`;
    throw tooBig(how, current, need, cap);
  }
  return backendInfo();
}

/** The backend in use and how it was chosen (before any selection: tfjs's default, chosen by "tfjs"). */
export function backendInfo(): BackendInfo {
  const name = tf.getBackend();
  if (info === undefined) return { name, chosenBy: "tfjs default", skipped: [], reason: "no lens selection yet: tfjs's own default", ...details(name) };
  if (info.name === name) return { ...info, ...details(name) };
  return { name, chosenBy: "tf.setBackend (outside lens)", skipped: [], reason: "set with tf.setBackend, outside lens", ...details(name) };
}
