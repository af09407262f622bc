/**
 * The system OpenBLAS, reached through the `koffi` FFI: `cblas_sgemm` for the BLAS-backed matmul kernels
 * (`blasKernels.ts`). Optional: without koffi or `libopenblas.so.0` (Debian/Ubuntu: `apt-get install libopenblas0`)
 * `loadBlas()` reports why and everything stays on tfjs's own kernels. `LENS_BLAS=0` turns it off.
 *
 * Core type: Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) can mis-identify a virtual CPU (e.g. as "Prescott") and then runs
 * several times slower. After loading, the detected core is compared with what `/proc/cpuinfo` says the CPU can do;
 * when it is weaker, the library is unloaded and loaded again with `OPENBLAS_CORETYPE` set (SkylakeX for AVX-512,
 * Haswell for AVX2, Sandybridge for AVX). An `OPENBLAS_CORETYPE` set by the user is never overridden; arm64 is left to
 * OpenBLAS.
 *
 * Threads: `LENS_BLAS_THREADS`, else `OPENBLAS_NUM_THREADS`, else min(8, available cores) — the documented default.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/** `cblas_sgemm` (row-major) on Float32Array views; `c` is written in place. */
export type Sgemm = (
  transA: boolean, transB: boolean, m: number, n: number, k: number,
  a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number,
) => void;

/** What `loadBlas` found. */
export interface BlasStatus {
  /** True when `sgemm` is usable. */
  readonly available: boolean;
  /** Why it is not available (or "" when it is). */
  readonly reason: string;
  /** The library's own description (`openblas_get_config()`), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH … SkylakeX". */
  readonly config?: string;
  /** The core type OpenBLAS runs kernels for (`openblas_get_corename()`), after any correction. */
  readonly corename?: string;
  /** What OpenBLAS detected by itself, when it was corrected (the corrected value is `corename`). */
  readonly detectedCorename?: string;
  /** How the core type was settled: "detected", "OPENBLAS_CORETYPE (user)", or the correction made and why. */
  readonly coreChoice?: string;
  /** BLAS threads in use. */
  readonly threads?: number;
}

interface Lib {
  func(decl: string): (...args: unknown[]) => unknown;
  unload(): void;
}

let status: BlasStatus | undefined;
let sgemmFn: Sgemm | undefined;
let setThreadsFn: ((n: number) => void) | undefined;

const LIB_NAMES = ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib", "libopenblas.0.dylib"];

/** ISA level a core-type name implies (OpenBLAS's names); undefined for names this table does not know. */
const CORE_LEVEL: Record<string, number> = {
  katmai: 0, coppermine: 0, northwood: 0, prescott: 0, banias: 0, atom: 0, core2: 0, penryn: 0, dunnington: 0,
  nehalem: 0, opteron: 0, opteron_sse3: 0, barcelona: 0, bobcat: 0, athlon: 0,
  sandybridge: 1, bulldozer: 1, piledriver: 1,
  haswell: 2, steamroller: 2, excavator: 2, zen: 2,
  skylakex: 3, cooperlake: 3, sapphirerapids: 3,
};
const LEVEL_CORE = ["", "Sandybridge", "Haswell", "SkylakeX"];

/** The ISA level /proc/cpuinfo flags allow: 3 AVX-512 (F, BW, VL, DQ), 2 AVX2+FMA, 1 AVX, 0 older. */
export function machineLevel(flags: ReadonlySet<string>): number {
  if (["avx512f", "avx512bw", "avx512vl", "avx512dq"].every((f) => flags.has(f))) return 3;
  if (flags.has("avx2") && flags.has("fma")) return 2;
  return flags.has("avx") ? 1 : 0;
}

/**
 * Decides whether OpenBLAS's detected core type must be overridden. Returns the `OPENBLAS_CORETYPE` to set (or
 * undefined to keep the detection) and a sentence saying why. Only x64 is corrected; unknown core names are kept.
 */
export function chooseCoreType(arch: string, flags: ReadonlySet<string>, detected: string): { coretype?: string; reason: string } {
  if (arch !== "x64") return { reason: `detected (${arch}: left to OpenBLAS)` };
  const have = CORE_LEVEL[detected.toLowerCase()];
  if (have === undefined) return { reason: `detected (core "${detected}" kept: not in the correction table)` };
  const can = machineLevel(flags);
  if (have >= can || can === 0) return { reason: "detected" };
  const coretype = LEVEL_CORE[can];
  return { coretype, reason: `corrected: OpenBLAS detected "${detected}" but the CPU has ${["", "AVX", "AVX2", "AVX-512"][can]}; set OPENBLAS_CORETYPE=${coretype}` };
}

/** CPU flags from /proc/cpuinfo (empty where there is none). */
export function cpuFlags(): Set<string> {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => /^flags\s*:/.test(l));
    return new Set(line ? line.split(":")[1].trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

/** The documented default BLAS thread count (see the file comment). */
export function defaultBlasThreads(env: NodeJS.ProcessEnv = process.env): number {
  for (const v of [env.LENS_BLAS_THREADS, env.OPENBLAS_NUM_THREADS]) {
    const n = Number(v);
    if (v !== undefined && v !== "" && Number.isInteger(n) && n > 0) return n;
  }
  return Math.min(8, availableParallelism());
}

function openLib(koffi: { load(name: string): Lib }): { lib: Lib; name: string } {
  const errors: string[] = [];
  for (const name of LIB_NAMES) {
    try {
      return { lib: koffi.load(name), name };
    } catch (e) {
      errors.push(`${name}: ${String((e as Error).message).split("\n")[0]}`);
    }
  }
  throw new Error(`OpenBLAS not found (${errors[0]}); install it (Debian/Ubuntu: apt-get install libopenblas0)`);
}

function load(): BlasStatus {
  if (process.env.LENS_BLAS === "0") return { available: false, reason: "disabled by LENS_BLAS=0" };
  let koffi: { load(name: string): Lib };
  try {
    koffi = require("koffi");
  } catch (e) {
    return { available: false, reason: `koffi (FFI) not installed: ${String((e as Error).message).split("\n")[0]}; npm install koffi` };
  }
  let lib: Lib;
  let libName: string;
  try {
    ({ lib, name: libName } = openLib(koffi));
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
  const corename = () => String(lib.func("const char* openblas_get_corename()")());
  let detected: string | undefined;
  let coreChoice = "OPENBLAS_CORETYPE (user)";
  if (!process.env.OPENBLAS_CORETYPE) {
    detected = corename();
    const choice = chooseCoreType(process.arch, cpuFlags(), detected);
    coreChoice = choice.reason;
    if (choice.coretype !== undefined) {
      // OpenBLAS reads OPENBLAS_CORETYPE once, when it is loaded: unload, set it, load again.
      lib.unload();
      process.env.OPENBLAS_CORETYPE = choice.coretype;
      lib = koffi.load(libName);
    } else {
      detected = undefined;
    }
  }
  const raw = lib.func(
    "void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)",
  );
  sgemmFn = (tA, tB, m, n, k, a, lda, b, ldb, beta, c, ldc) =>
    void raw(101, tA ? 112 : 111, tB ? 112 : 111, m, n, k, 1, a, lda, b, ldb, beta, c, ldc);
  const setThreads = lib.func("void openblas_set_num_threads(int n)");
  setThreadsFn = (n) => void setThreads(n);
  const threads = defaultBlasThreads();
  setThreadsFn(threads);
  return {
    available: true,
    reason: "",
    config: String(lib.func("const char* openblas_get_config()")()),
    corename: corename(),
    detectedCorename: detected,
    coreChoice,
    threads,
  };
}

/** Loads OpenBLAS once per process (later calls return the same status). Never throws. */
export function loadBlas(): BlasStatus {
  if (status === undefined) {
    try {
      status = load();
    } catch (e) {
      status = { available: false, reason: `OpenBLAS failed to load: ${(e as Error).message}` };
    }
  }
  return status;
}

/** `cblas_sgemm`, or undefined when OpenBLAS is unavailable (loads it on first use). */
export function blasSgemm(): Sgemm | undefined {
  return loadBlas().available ? sgemmFn : undefined;
}

/** Sets the BLAS thread count (a positive integer); throws when OpenBLAS is not loaded. */
export function setBlasThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setBlasThreads(${n}): the thread count must be a positive integer`);
  const s = loadBlas();
  if (!s.available || setThreadsFn === undefined) throw new Error(`setBlasThreads: OpenBLAS is not available (${s.reason})`);
  setThreadsFn(n);
  status = { ...s, threads: n };
}
