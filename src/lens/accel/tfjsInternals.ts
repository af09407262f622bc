/**
 * The one place lens touches tfjs internals: the kernel registry (replace a backend's kernels, restore the stock ones),
 * the backend registry (swap a backend's factory), the cpu backend's `data` map and the wasm backend's `dataIdMap` /
 * Emscripten heap, and one lookup in an Emscripten import object. Everything else in accel/ and training/ goes
 * through here.
 *
 * Written for tfjs 4.22.0 (`PINNED_TFJS`). On another version, or when a registry function is missing, the first
 * override warns once (console.warn) and every override is skipped: the stock kernels run, nothing throws.
 * The memory accessors never throw either: a tensor they do not recognise (no data entry, another dtype, a length
 * that does not match its shape, a backend without the expected fields) gives `undefined`, and a replaced kernel that
 * gets `undefined` hands the call to the stock kernel (`FastKernel` returns `undefined` to decline).
 */
import * as tf from "@tensorflow/tfjs";

/** The tfjs version whose internals this file was written against (all @tensorflow/* packages). */
export const PINNED_TFJS = "4.22.0";

export type Info = tf.TensorInfo;
/** What tfjs passes a kernel function. */
export interface KernelArgs {
  inputs: Record<string, Info | undefined>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}
/** A stock kernel function, called with the same arguments. */
export type StockKernel = (args: KernelArgs) => Info | Info[];
/** A replacement kernel: its result, or `undefined` to let the stock kernel run (unexpected input). */
export type FastKernel = (args: KernelArgs, stock: StockKernel) => Info | Info[] | undefined;

/** Why tfjs internals must not be touched here, or undefined when they match `PINNED_TFJS`. */
export function tfjsInternalsProblem(versions: Readonly<Record<string, string>> = tf.version as unknown as Record<string, string>): string | undefined {
  for (const pkg of ["tfjs-core", "tfjs-backend-cpu"]) {
    if (versions[pkg] !== PINNED_TFJS) return `${pkg} is ${versions[pkg] ?? "missing"}; lens's kernels are written for ${PINNED_TFJS}`;
  }
  for (const f of ["getKernel", "registerKernel", "unregisterKernel", "findBackendFactory", "registerBackend", "removeBackend"] as const) {
    if (typeof (tf as unknown as Record<string, unknown>)[f] !== "function") return `tf.${f} is missing`;
  }
  return undefined;
}

const warned = new Set<string>();
/** console.warn once per distinct message. */
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(`lens: ${message}`);
}

interface Override {
  stock: tf.KernelConfig | undefined;
  func: tf.KernelFunc;
}
const overrides = new Map<string, Override>(); // `${backend}/${kernel}` → the stock config and our function

/** Options of `overrideKernels` (for tests: the versions to check, instead of tfjs's own). */
export interface OverrideOptions {
  readonly versions?: Readonly<Record<string, string>>;
}

/**
 * Replaces `backendName`'s kernels by `kernels` (name → replacement; a kernel the backend lacks is added, with no stock
 * to fall back to). Kernels already replaced are left as they are. Returns a function that restores the stock kernels
 * this call replaced. On a tfjs version or registry other than `PINNED_TFJS`'s: warns once, changes nothing, and the
 * restore function does nothing.
 */
export function overrideKernels(backendName: string, kernels: Readonly<Record<string, FastKernel>>, options: OverrideOptions = {}): () => void {
  const problem = tfjsInternalsProblem(options.versions);
  if (problem !== undefined) {
    warnOnce(`${problem}: the stock tfjs kernels are used (${Object.keys(kernels).join(", ")} on ${backendName})`);
    return () => undefined;
  }
  const mine: string[] = [];
  for (const [name, fast] of Object.entries(kernels)) {
    const key = `${backendName}/${name}`;
    if (overrides.has(key)) continue;
    const stock = tf.getKernel(name, backendName);
    const stockFunc = stock?.kernelFunc as unknown as StockKernel | undefined;
    const func = ((args: KernelArgs) => {
      const out = fast(args, stockFunc ?? missing(name, backendName));
      if (out !== undefined) return out;
      if (stockFunc === undefined) throw new Error(`${name} on ${backendName}: lens's kernel cannot handle these inputs and tfjs has no kernel to fall back to`);
      return stockFunc(args);
    }) as unknown as tf.KernelFunc;
    if (stock !== undefined) tf.unregisterKernel(name, backendName);
    tf.registerKernel({ ...(stock ?? { kernelName: name, backendName }), kernelFunc: func });
    overrides.set(key, { stock, func });
    mine.push(name);
  }
  return () => {
    for (const name of mine) restoreKernel(backendName, name);
  };
}

function missing(name: string, backendName: string): StockKernel {
  return () => {
    throw new Error(`${name} on ${backendName}: tfjs has no kernel to fall back to`);
  };
}

/** Puts back the stock kernel (or removes an added one) if `name` on `backendName` is still lens's. */
function restoreKernel(backendName: string, name: string): void {
  const key = `${backendName}/${name}`;
  const o = overrides.get(key);
  if (o === undefined) return;
  overrides.delete(key);
  if (tf.getKernel(name, backendName)?.kernelFunc !== o.func) return; // replaced by someone else since: leave theirs
  tf.unregisterKernel(name, backendName);
  if (o.stock !== undefined) tf.registerKernel(o.stock);
}

/** The kernels of `backendName` currently replaced through `overrideKernels`. */
export function overriddenKernels(backendName: string): string[] {
  return [...overrides.keys()].filter((k) => k.startsWith(`${backendName}/`)).map((k) => k.slice(backendName.length + 1));
}

/**
 * Replaces the registered factory of backend `name` (before it is first initialised) and returns the stock factory,
 * or undefined (and changes nothing) when no factory is registered, the backend already started, or the internals
 * differ from the pinned version.
 */
export function replaceBackendFactory(name: string, make: (stock: () => tf.KernelBackend | Promise<tf.KernelBackend>) => () => Promise<tf.KernelBackend>, priority: number): (() => tf.KernelBackend | Promise<tf.KernelBackend>) | undefined {
  const problem = tfjsInternalsProblem();
  if (problem !== undefined) {
    warnOnce(`${problem}: the stock "${name}" backend is used`);
    return undefined;
  }
  const stock = tf.findBackendFactory(name);
  if (stock === null || tf.findBackend(name) !== null) return undefined;
  tf.removeBackend(name);
  tf.registerBackend(name, make(stock), priority);
  return stock;
}

// ---- memory of the cpu backend (tfjs-backend-cpu's MathBackendCPU) ----

/** The typed arrays a cpu tensor of these dtypes is stored in. */
export type CpuArray = Float32Array | Int32Array | Uint8Array;
const CPU_ARRAY: Record<string, { new (n: number): CpuArray; readonly BYTES_PER_ELEMENT: number }> = { float32: Float32Array, int32: Int32Array, bool: Uint8Array };

interface CpuBackendLike {
  data: { get(id: unknown): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: string, values: CpuArray): Info;
  disposeData(id: unknown): void;
}
function cpuBackend(b: unknown): CpuBackendLike | undefined {
  const c = b as Partial<CpuBackendLike> | null;
  return c && typeof c.data?.get === "function" && typeof c.makeTensorInfo === "function" ? (c as CpuBackendLike) : undefined;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * The cpu backend's storage of `t` when it is a float32/int32/bool typed array of the right length (and, if given,
 * dtype `dtype`); else undefined.
 */
export function cpuValues(backend: unknown, t: Info | undefined, dtype?: string): CpuArray | undefined {
  const b = cpuBackend(backend);
  if (b === undefined || t === undefined || (dtype !== undefined && t.dtype !== dtype)) return undefined;
  const Ctor = CPU_ARRAY[t.dtype];
  let v: unknown;
  try {
    v = b.data.get(t.dataId)?.values;
  } catch {
    return undefined;
  }
  return Ctor !== undefined && v instanceof Ctor && v.length === size(t.shape) ? v : undefined;
}

/** `cpuValues` for a float32 tensor. */
export function cpuFloats(backend: unknown, t: Info | undefined): Float32Array | undefined {
  return cpuValues(backend, t, "float32") as Float32Array | undefined;
}

/**
 * A new cpu tensor of `shape`/`dtype` with its array, for a kernel that writes **every** element: the array may come
 * from the backend's pool (below) and hold an earlier tensor's values. Undefined if not a cpu backend.
 */
export function cpuScratchOutput<A extends CpuArray>(backend: unknown, shape: number[], dtype: "float32" | "int32" | "bool"): { info: Info; values: A } | undefined {
  const b = cpuBackend(backend);
  const Ctor = CPU_ARRAY[dtype];
  if (b === undefined || Ctor === undefined) return undefined;
  const n = size(shape);
  const pool = n * Ctor.BYTES_PER_ELEMENT >= POOL_MIN_BYTES ? poolOf(b) : undefined;
  const v = (pool ? take(pool, Ctor, n) : new Ctor(n)) as A;
  return { info: b.makeTensorInfo(shape, dtype, v), values: v };
}

// ---- reuse of the cpu backend's output arrays ----
// A fresh typed array of a few MB costs page faults and zeroing on first touch and a finaliser when collected (a 6 MB
// Float32Array: 10 ms made fresh against 2.8 ms reused, measured); a forward makes hundreds. So the arrays that
// cpuScratchOutput makes are handed back to a per-backend pool when their tensor's data is freed, and reused for the
// next output of the same type and length. An array is pooled only when nothing else can still see it: it was
// registered for exactly one tensor, was never read out (`readSync`/`read` hand out the backend's own array, which
// `dataSync()` returns to the caller), and no other tensor was registered on a view of its memory (tfjs's cpu Slice
// returns a subarray of its input). The free arrays hold at most LENS_CPU_POOL_MB (default 256) MiB; LENS_CPU_POOL=0
// turns the pool off.

/** Arrays smaller than this are left to the allocator (small typed arrays are cheap to make). */
const POOL_MIN_BYTES = 16 * 1024;

interface Pooled {
  readonly array: CpuArray;
  registered: boolean; // holds one tensor's data now
  escaped: boolean; // seen outside lens's kernels: never reused
}
interface CpuPool {
  readonly free: Map<string, CpuArray[]>;
  readonly made: WeakMap<ArrayBufferLike, Pooled>;
  readonly capBytes: number;
  bytes: number;
}
interface CpuBackendMethods {
  data: { has(id: unknown): boolean; get(id: unknown): { values?: unknown } | undefined };
  write(values: unknown, shape: number[], dtype: string): unknown;
  move(dataId: unknown, values: unknown, shape: number[], dtype: string, refCount: number): void;
  readSync(dataId: unknown): unknown;
  read(dataId: unknown): Promise<unknown>;
  disposeData(dataId: unknown, force?: boolean): boolean;
}
const pools = new WeakMap<object, CpuPool | null>();

/** The pool's size limit in bytes from LENS_CPU_POOL / LENS_CPU_POOL_MB (0: off). */
function poolCapBytes(): number {
  if (process.env.LENS_CPU_POOL === "0") return 0;
  const mb = Number(process.env.LENS_CPU_POOL_MB ?? 256);
  return Number.isFinite(mb) && mb > 0 ? mb * 2 ** 20 : 0;
}

/** The backend's pool, made (and the backend's memory methods wrapped) on first use; undefined when off or unknown. */
function poolOf(backend: CpuBackendLike): CpuPool | undefined {
  let pool = pools.get(backend);
  if (pool === undefined) {
    pool = wrapForPool(backend as unknown as Partial<CpuBackendMethods>);
    pools.set(backend, pool);
  }
  return pool ?? undefined;
}

function wrapForPool(b: Partial<CpuBackendMethods>): CpuPool | null {
  const capBytes = poolCapBytes();
  const { write, move, readSync, read, disposeData } = b;
  if (capBytes === 0 || typeof b.data?.has !== "function" || !write || !move || !readSync || !read || !disposeData) return null;
  const data = b.data;
  const pool: CpuPool = { free: new Map(), made: new WeakMap(), capBytes, bytes: 0 };
  const stateOf = (v: unknown) => (ArrayBuffer.isView(v) ? pool.made.get(v.buffer) : undefined);
  const registering = (v: unknown) => {
    const st = stateOf(v);
    if (st === undefined) return;
    if (st.registered || v !== st.array) st.escaped = true;
    else st.registered = true;
  };
  const valuesOf = (id: unknown) => (data.has(id) ? data.get(id)?.values : undefined);
  const readOut = (id: unknown) => {
    const st = stateOf(valuesOf(id));
    if (st !== undefined) st.escaped = true;
  };
  b.write = function (this: unknown, values, shape, dtype) {
    registering(values);
    return write.call(this, values, shape, dtype);
  };
  b.move = function (this: unknown, dataId, values, shape, dtype, refCount) {
    registering(values);
    return move.call(this, dataId, values, shape, dtype, refCount);
  };
  b.readSync = function (this: unknown, dataId) {
    readOut(dataId);
    return readSync.call(this, dataId);
  };
  b.read = function (this: unknown, dataId) {
    readOut(dataId);
    return read.call(this, dataId);
  };
  b.disposeData = function (this: unknown, dataId, force) {
    const v = valuesOf(dataId);
    const freed = disposeData.call(this, dataId, force);
    if (v !== undefined && !data.has(dataId)) release(pool, v);
    return freed;
  };
  return pool;
}

const poolKey = (Ctor: { name: string }, n: number) => `${Ctor.name}:${n}`;

function take(pool: CpuPool, Ctor: new (n: number) => CpuArray, n: number): CpuArray {
  const reused = pool.free.get(poolKey(Ctor, n))?.pop();
  if (reused !== undefined) {
    pool.bytes -= reused.byteLength;
    return reused;
  }
  const array = new Ctor(n);
  pool.made.set(array.buffer, { array, registered: false, escaped: false });
  return array;
}

function release(pool: CpuPool, v: unknown): void {
  const st = ArrayBuffer.isView(v) ? pool.made.get(v.buffer) : undefined;
  if (st === undefined || st.escaped || v !== st.array) return;
  st.registered = false;
  if (pool.bytes + st.array.byteLength > pool.capBytes) {
    pool.made.delete(st.array.buffer); // over the limit: left to the garbage collector
    return;
  }
  const key = poolKey(st.array.constructor, st.array.length);
  const list = pool.free.get(key);
  if (list) list.push(st.array);
  else pool.free.set(key, [st.array]);
  pool.bytes += st.array.byteLength;
}

/** Bytes of free arrays held in `backend`'s pool (0 when it has none). */
export function cpuPoolBytes(backend: unknown = tf.backend()): number {
  return (backend !== null && typeof backend === "object" ? pools.get(backend)?.bytes : undefined) ?? 0;
}

/**
 * Whether tfjs is recording a gradient tape (inside `tf.grad`/`variableGrads`/`customGrad`): the engine's
 * `state.gradientDepth > 0`. True when that field is missing, so callers that skip the tape when it is off stay safe.
 */
export function gradientTapeActive(): boolean {
  const depth = (tf.engine() as unknown as { state?: { gradientDepth?: unknown } }).state?.gradientDepth;
  return typeof depth !== "number" || depth > 0;
}

// ---- memory of the wasm backend (tfjs-backend-wasm's BackendWasm) ----

interface WasmBackendLike {
  dataIdMap: { get(id: unknown): { memoryOffset?: unknown } | undefined };
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: string): Info;
  disposeData(id: unknown): void;
}
function wasmBackend(b: unknown): WasmBackendLike | undefined {
  const w = b as Partial<WasmBackendLike> | null;
  return w && typeof w.dataIdMap?.get === "function" && w.wasm?.HEAPU8 instanceof Uint8Array && typeof w.makeOutput === "function" ? (w as WasmBackendLike) : undefined;
}

/** The wasm heap as bytes (re-read after every allocation: growing the heap detaches earlier views); undefined if not wasm. */
export function wasmHeap(backend: unknown): ArrayBuffer | undefined {
  return wasmBackend(backend)?.wasm.HEAPU8.buffer as ArrayBuffer | undefined;
}

/** The byte offset of `t`'s data in the wasm heap (4-byte aligned, inside the heap), or undefined. */
export function wasmOffset(backend: unknown, t: Info | undefined): number | undefined {
  const b = wasmBackend(backend);
  if (b === undefined || t === undefined) return undefined;
  const off = b.dataIdMap.get(t.dataId)?.memoryOffset;
  const bytes = 4 * size(t.shape);
  return typeof off === "number" && off % 4 === 0 && off >= 0 && off + bytes <= b.wasm.HEAPU8.length ? off : undefined;
}

/** A Float32Array view of float32 tensor `t` in the wasm heap, or undefined. */
export function wasmFloats(backend: unknown, t: Info | undefined): Float32Array | undefined {
  const off = t?.dtype === "float32" ? wasmOffset(backend, t) : undefined;
  return off === undefined ? undefined : new Float32Array(wasmHeap(backend)!, off, size(t!.shape));
}

/** A typed view of `t` (float32 or int32) in the wasm heap, or undefined. */
export function wasmValues(backend: unknown, t: Info | undefined): Float32Array | Int32Array | undefined {
  if (t?.dtype === "float32") return wasmFloats(backend, t);
  const off = t?.dtype === "int32" ? wasmOffset(backend, t) : undefined;
  return off === undefined ? undefined : new Int32Array(wasmHeap(backend)!, off, size(t!.shape));
}

/** Allocates a wasm tensor; undefined (nothing allocated) when the backend is not wasm. */
export function wasmOutput(backend: unknown, shape: number[], dtype: string): Info | undefined {
  return wasmBackend(backend)?.makeOutput(shape, dtype);
}

/** Frees a tensor made by a kernel that then declines (cpu or wasm). */
export function disposeOutput(backend: unknown, t: Info): void {
  (backend as { disposeData?(id: unknown): void }).disposeData?.(t.dataId);
}

// ---- Emscripten ----

/**
 * The key of import `name` in an Emscripten import object (`imports.env`): `name` itself when present (tfjs 4.22's
 * builds keep the unminified names), else the one function whose source matches `sourceProbe` (a minified build);
 * undefined when none or several match.
 */
export function findEmscriptenImport(env: Record<string, unknown>, name: string, sourceProbe: RegExp): string | undefined {
  if (typeof env[name] === "function") return name;
  const hits = Object.keys(env).filter((k) => typeof env[k] === "function" && sourceProbe.test(Function.prototype.toString.call(env[k])));
  return hits.length === 1 ? hits[0] : undefined;
}
