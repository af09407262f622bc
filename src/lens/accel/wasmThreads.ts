/**
 * Multi-threaded wasm in Node. tfjs-backend-wasm 4.22 ships a threaded-SIMD build, but under Node it never uses it:
 * `WASM_HAS_MULTITHREAD_SUPPORT` is false there, and its loader would hand Emscripten blob URLs that Node's
 * worker_threads cannot load. This file replaces the registered "wasm" backend factory with one that starts the
 * threaded-SIMD Emscripten module itself, with real file paths: the module script in node_modules, and its pthread
 * worker script written once to a temp folder (tfjs ships it as a string). The XNNPACK thread pool then runs the
 * backend's kernels on `threads` threads; tfjs's own kernels and memory layout are unchanged (the same `BackendWasm`).
 *
 * Pinned to tfjs 4.22 internals (`BackendWasm`, `setThreadsCount`, the `wasm-out/` file names, Emscripten's
 * `PThread`, and the `emscripten_num_logical_cores` import that the C++ side halves to cap its pool). Anything
 * different — another version, a missing file, a worker that does not start within 60 s — falls back quietly to the
 * stock single-threaded module, and `wasmThreadsInfo()` says why.
 *
 * Exit: pthread workers keep Node's event loop alive, so the pool's workers are `unref`ed once it is up; a process
 * using threaded wasm exits by itself when its work is done.
 *
 * Thread count (`LENS_WASM_THREADS`): a number n ≥ 2 asks for min(n, 8, logical cores) threads (8 is the pool size
 * the build pre-creates); 0 or 1 keeps the stock single-threaded module; unset ("auto") uses min(8, free cores)
 * threads when at least 2 cores are free, where free = physical cores − the 1-minute load average, rounded down, at the
 * moment wasm is chosen (physical = logical / SMT width from sysfs; tfjs's own C++ assumes 2-way SMT and halves the
 * logical count, which on a 2-vCPU VM with one thread per core would give 1). Threads on busy cores only contend:
 * on a shared machine under load, auto keeps the stock module; pin a count with LENS_WASM_THREADS for repeatability.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { findEmscriptenImport, PINNED_TFJS, replaceBackendFactory } from "./tfjsInternals";

/** The tfjs-backend-wasm version whose internals this loader relies on. */
export const PINNED_WASM_VERSION = PINNED_TFJS;
/** Emscripten pre-creates this many pthread workers; the C++ side never uses more. */
const MAX_THREADS = 8;
const START_TIMEOUT_MS = 60_000;
/** What Emscripten's emscripten_num_logical_cores looks like in Node, for a build whose import names are minified. */
export const CORES_PROBE = /require\("os"\)\.cpus\(\)\.length/;

/** What the wasm backend runs on: the threaded-SIMD module with `threads` threads, or the stock module and why. */
export interface WasmThreadsInfo {
  /** Threads the XNNPACK pool actually runs (1 for the stock module). */
  readonly threads: number;
  /** "threaded-simd" when the custom loader is in use, else "stock". */
  readonly module: "threaded-simd" | "stock";
  /** One line for people: how many threads and how the count was chosen, or why the stock module is used. */
  readonly detail: string;
}

/** The thread count the settings ask for, and why (see the file comment). `threads` ≤ 1 means the stock module. */
export function wasmThreadsRequest(
  env: NodeJS.ProcessEnv = process.env,
  logical: number = availableParallelism(),
  physical: number = physicalCores(logical),
  load: number = loadavg()[0],
): { threads: number; reason: string } {
  const raw = env.LENS_WASM_THREADS;
  if (raw !== undefined && raw !== "" && raw !== "auto") {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`LENS_WASM_THREADS=${raw}: expected a whole number (0 or 1: stock single-threaded wasm; n ≥ 2: n threads) or "auto"`);
    if (n <= 1) return { threads: 1, reason: `LENS_WASM_THREADS=${n}` };
    const threads = Math.min(n, MAX_THREADS, logical);
    return { threads, reason: `LENS_WASM_THREADS=${n}${threads < n ? ` (capped at min(8, ${logical} logical cores))` : ""}` };
  }
  const free = Math.max(0, Math.floor(physical - load));
  const threads = Math.min(MAX_THREADS, free);
  const why = `auto: ${physical} physical core${physical === 1 ? "" : "s"}, load ${load.toFixed(1)} → ${free} free`;
  return threads >= 2 ? { threads, reason: why } : { threads: 1, reason: `${why}; threads need 2 free cores` };
}

/** Physical cores: logical cores divided by the SMT width of cpu0 (Linux sysfs), else by 2 (tfjs's assumption). */
export function physicalCores(logical: number = availableParallelism()): number {
  try {
    const list = readFileSync("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list", "utf8").trim();
    let width = 0;
    for (const part of list.split(",")) {
      const [a, b] = part.split("-").map(Number);
      width += b === undefined ? 1 : b - a + 1;
    }
    if (width >= 1) return Math.max(1, Math.floor(logical / width));
  } catch {
    // no sysfs (macOS, containers without it): fall through
  }
  return Math.max(1, Math.floor(logical / 2));
}

let info: WasmThreadsInfo | undefined;
let prepared = false;

/** How the wasm backend runs (undefined before `prepareWasmThreads` ran, i.e. before wasm was selected). */
export function wasmThreadsInfo(): WasmThreadsInfo | undefined {
  return info;
}

/** The part of the WebAssembly global used here (the project's TS lib has no DOM/WebAssembly typings). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<unknown>;
  instantiate(module: unknown, imports: object): Promise<unknown>;
}
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface WasmPackage {
  BackendWasm: new (module: unknown) => tf.KernelBackend;
  setThreadsCount(n: number): void;
}

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  PThread?: { runningWorkers: Array<{ unref(): void }>; unusedWorkers: Array<{ unref(): void }>; terminateAllThreads(): void };
  tfjs?: Record<string, unknown>;
}

/** Files and exports of the pinned version, or an Error saying what differs. */
function locate(): { pkg: WasmPackage; dir: string; jsPath: string; wasmPath: string; workerSource: string } {
  const pkgJson = require.resolve("@tensorflow/tfjs-backend-wasm/package.json");
  const version = JSON.parse(readFileSync(pkgJson, "utf8")).version;
  if (version !== PINNED_WASM_VERSION) throw new Error(`tfjs-backend-wasm is ${version}; the threaded loader is written for ${PINNED_WASM_VERSION}`);
  const dir = path.join(path.dirname(pkgJson), "wasm-out");
  const jsPath = path.join(dir, "tfjs-backend-wasm-threaded-simd.js");
  const wasmPath = path.join(dir, "tfjs-backend-wasm-threaded-simd.wasm");
  const workerModule = path.join(dir, "tfjs-backend-wasm-threaded-simd.worker.js");
  for (const f of [jsPath, wasmPath, workerModule]) if (!existsSync(f)) throw new Error(`${f} is missing`);
  const pkg = require("@tensorflow/tfjs-backend-wasm") as Partial<WasmPackage>;
  if (typeof pkg.BackendWasm !== "function" || typeof pkg.setThreadsCount !== "function") throw new Error("tfjs-backend-wasm no longer exports BackendWasm/setThreadsCount");
  const workerSource = (require(workerModule) as { wasmWorkerContents?: unknown }).wasmWorkerContents;
  if (typeof workerSource !== "string") throw new Error("the threaded worker script (wasmWorkerContents) is not where 4.22 keeps it");
  return { pkg: pkg as WasmPackage, dir, jsPath, wasmPath, workerSource };
}

/** Writes the pthread worker script to a temp file named by its hash (once per content) and returns its path. */
function workerFile(source: string): string {
  // tfjs escapes newlines the same way before making its blob: the script contains "\n" inside string literals.
  const text = source.replace(/\n/g, "\\n");
  const hash = createHash("sha256").update(text).digest("hex").slice(0, 16);
  const folder = path.join(tmpdir(), `lens-tfjs-wasm-${PINNED_WASM_VERSION}`);
  const file = path.join(folder, `threaded-simd-${hash}.worker.js`);
  if (!existsSync(file)) {
    mkdirSync(folder, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, file); // atomic: concurrent processes never see half a script
  }
  return file;
}

/** Starts the threaded-SIMD Emscripten module with `threads` threads; resolves to the module (tfjs's cwraps added). */
async function startThreaded(threads: number): Promise<{ module: EmscriptenModule; pkg: WasmPackage }> {
  const { pkg, dir, jsPath, wasmPath, workerSource } = locate();
  const worker = workerFile(workerSource);
  const factory = require(jsPath) as (config: object) => Promise<EmscriptenModule>;
  let fail!: (e: Error) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const config: Record<string, unknown> = {
    locateFile: (p: string) => (p.endsWith(".worker.js") ? worker : path.join(dir, p)),
    mainScriptUrlOrBlob: jsPath, // pthread workers evaluate this file (importScripts → fs.readFileSync)
    instantiateWasm(imports: { env: Record<string, unknown> }, receive: (instance: unknown, module: unknown) => void) {
      // The C++ side caps its pool at emscripten_num_logical_cores()/2: report 2·threads so the cap is `threads`.
      const cores = findEmscriptenImport(imports.env, "emscripten_num_logical_cores", CORES_PROBE);
      if (cores === undefined) {
        fail(new Error("the threaded module has no recognisable emscripten_num_logical_cores import"));
        return {};
      }
      imports.env[cores] = () => 2 * threads;
      WebAssemblyApi.compile(readFileSync(wasmPath))
        .then((m) => WebAssemblyApi.instantiate(m, imports).then((i) => receive(i, m)))
        .catch((e: unknown) => fail(e as Error));
      return {};
    },
    onAbort: (what: unknown) => fail(new Error(`the threaded module aborted: ${String(what)}`)),
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the threaded module did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    timer.unref();
  });
  try {
    const module = await Promise.race([factory(config), failed, timeout]);
    module.tfjs = {
      init: module.cwrap("init", null, []),
      initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
      getThreadsCount: module.cwrap("get_threads_count", "number", []),
      registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
      disposeData: module.cwrap("dispose_data", null, ["number"]),
      dispose: module.cwrap("dispose", null, []),
    };
    return { module, pkg };
  } catch (e) {
    (config.PThread as EmscriptenModule["PThread"])?.terminateAllThreads(); // workers waiting for "load" would hold the process
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Called after `@tensorflow/tfjs-backend-wasm` is imported and before the "wasm" backend is first initialised:
 * decides the thread count (`wasmThreadsRequest`) and, for 2 or more, replaces the registered "wasm" factory with the
 * threaded loader (which falls back to the stock factory on any failure). Does nothing once wasm has been started.
 * Throws only for an invalid `LENS_WASM_THREADS`.
 */
export function prepareWasmThreads(env: NodeJS.ProcessEnv = process.env): void {
  const { threads, reason } = wasmThreadsRequest(env);
  if (prepared) return;
  const stock = tf.findBackendFactory("wasm");
  if (stock === null) return; // the package is not imported: nothing to replace
  if (tf.findBackend("wasm") !== null) {
    info ??= { threads: 1, module: "stock", detail: "stock single-threaded wasm (already initialised before lens chose it)" };
    return;
  }
  prepared = true;
  if (threads <= 1) {
    info = { threads: 1, module: "stock", detail: `stock single-threaded wasm (${reason})` };
    return;
  }
  const factory = async (): Promise<tf.KernelBackend> => {
    try {
      const { module, pkg } = await startThreaded(threads);
      pkg.setThreadsCount(threads);
      const backend = new pkg.BackendWasm(module); // runs init_with_threads_count: the pool's threads start here
      const actual = Number((module.tfjs!.getThreadsCount as () => number)());
      for (const w of [...(module.PThread?.runningWorkers ?? []), ...(module.PThread?.unusedWorkers ?? [])]) w.unref();
      info = { threads: actual, module: "threaded-simd", detail: `threaded-SIMD wasm, ${actual} threads (${reason})` };
      return backend;
    } catch (e) {
      info = { threads: 1, module: "stock", detail: `stock single-threaded wasm (threaded loader failed: ${(e as Error).message})` };
      return stock() as Promise<tf.KernelBackend>;
    }
  };
  if (replaceBackendFactory("wasm", () => factory, 2) === undefined) { // 2: tfjs-backend-wasm's own priority
    info = { threads: 1, module: "stock", detail: "stock single-threaded wasm (the tfjs internals differ from the pinned version)" };
  }
}
