/**
 * WebGPU in Node through Dawn (the `webgpu` npm package) for `@tensorflow/tfjs-backend-webgpu`. Both packages are
 * optional dependencies (`npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0`); `LENS_WEBGPU=0` turns
 * webgpu off.
 *
 * - Auto-selection uses webgpu only with a hardware adapter whose buffers can bind model weights. It probes Dawn in a
 *   child process first, so Dawn's stderr warnings ("maxDynamic…BuffersPerPipelineLayout artificially reduced") never
 *   reach the user's stderr when webgpu is not chosen.
 * - Asked for (`LENS_BACKEND=webgpu`, `setBackend("webgpu")`), software adapters (lavapipe, SwiftShader) are refused
 *   unless `LENS_WEBGPU_ADAPTER=any`: that switch lets CI and developers run the real WGSL kernels on the CPU.
 * - The device is created with the adapter's own maxStorageBufferBindingSize and maxBufferSize (WebGPU's defaults are
 *   128 MiB and 256 MiB); `webgpuLimits()` reports them for the binding checks in `bindingLimits.ts`.
 */
import { spawnSync } from "node:child_process";

/** What `judgeAdapter` needs to know about a WebGPU adapter. */
export interface AdapterSummary {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly isFallbackAdapter: boolean;
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
}

/** GPT-2 small's token embedding is 154 MB; below this auto-selection does not use an adapter. */
export const MIN_BINDING_BYTES = 256 * 2 ** 20;

/** Which adapters may run webgpu: "hardware" (default) or "any" (software ones too), from `LENS_WEBGPU_ADAPTER`. */
export function adapterPolicy(): "hardware" | "any" {
  const v = process.env.LENS_WEBGPU_ADAPTER;
  if (v === undefined || v === "" || v === "hardware") return "hardware";
  if (v === "any") return "any";
  throw new Error(`LENS_WEBGPU_ADAPTER=${v} is not understood: use "any" (software adapters allowed) or "hardware" (the default)`);
}

function isSoftware(a: AdapterSummary): boolean {
  const name = `${a.vendor} ${a.architecture} ${a.device} ${a.description}`;
  return a.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|software|cpu/i.test(name);
}

/**
 * Why an adapter is not used (undefined when it is good): none, a software rasteriser, or too small a binding.
 * `allowSoftware` (LENS_WEBGPU_ADAPTER=any, only when webgpu is asked for) accepts software adapters of any size.
 */
export function judgeAdapter(a: AdapterSummary | null | undefined, opts: { allowSoftware?: boolean } = {}): string | undefined {
  if (!a) return "Dawn found no WebGPU adapter (no GPU, or no Vulkan/Metal/D3D12 driver for it)";
  const name = `${a.vendor} ${a.architecture} ${a.device} ${a.description}`.trim();
  if (isSoftware(a)) {
    if (opts.allowSoftware) return undefined;
    return `only a software WebGPU adapter (${name || "fallback"}): slower than wasm + BLAS; LENS_BACKEND=webgpu with LENS_WEBGPU_ADAPTER=any uses it anyway`;
  }
  const limit = Math.min(a.maxStorageBufferBindingSize, a.maxBufferSize);
  if (limit < MIN_BINDING_BYTES) {
    return `the WebGPU adapter (${name}) binds at most ${Math.round(limit / 2 ** 20)} MiB per buffer; model weights need ≥ ${MIN_BINDING_BYTES / 2 ** 20} MiB`;
  }
  return undefined;
}

interface DeviceDescriptor {
  requiredFeatures?: unknown[];
  requiredLimits?: Record<string, number>;
}
interface DawnAdapter {
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  readonly isFallbackAdapter?: boolean;
  readonly limits: { maxStorageBufferBindingSize: number; maxBufferSize: number };
  requestDevice(d?: DeviceDescriptor): Promise<unknown>;
}
interface DawnGpu {
  requestAdapter(o?: { powerPreference?: string }): Promise<DawnAdapter | null>;
}
interface DawnModule {
  create(flags: string[]): DawnGpu;
  globals: Record<string, unknown>;
}

function summarise(adapter: DawnAdapter | null): AdapterSummary | null {
  if (!adapter) return null;
  const info = adapter.info ?? {};
  return {
    vendor: info.vendor ?? "", architecture: info.architecture ?? "", device: info.device ?? "", description: info.description ?? "",
    isFallbackAdapter: Boolean(adapter.isFallbackAdapter ?? info.isFallbackAdapter),
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize,
  };
}

function dawnPath(): string {
  try {
    return require.resolve("webgpu");
  } catch {
    throw new Error("the `webgpu` package (Dawn for Node) is not installed: npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0");
  }
}

function loadDawn(): DawnModule {
  // This file must not be named webgpu.ts: tslab resolves require("webgpu") to a same-named module of the project.
  const mod = require(dawnPath()) as Partial<DawnModule> & { default?: DawnModule };
  const dawn = typeof mod.create !== "function" && typeof mod.default?.create === "function" ? mod.default : (mod as DawnModule);
  if (typeof dawn.create !== "function") {
    throw new Error(`the \`webgpu\` package loaded without a create() function (exports: ${Object.keys(mod).join(", ")}); reinstall it`);
  }
  return dawn;
}

/** The adapter Dawn offers, asked in a child process whose stderr is discarded (Dawn's warnings stay out of ours). */
export function probeAdapterQuietly(): AdapterSummary | null {
  const script = `const m = require(${JSON.stringify(dawnPath())}); const d = typeof m.create === "function" ? m : m.default;
d.create([]).requestAdapter({ powerPreference: "high-performance" }).then((a) => {
  const i = (a && a.info) || {};
  process.stdout.write(JSON.stringify(a && { vendor: i.vendor || "", architecture: i.architecture || "", device: i.device || "",
    description: i.description || "", isFallbackAdapter: Boolean(a.isFallbackAdapter ?? i.isFallbackAdapter),
    maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize, maxBufferSize: a.limits.maxBufferSize }));
  process.exit(0);
}, (e) => { process.stdout.write(JSON.stringify({ error: String(e) })); process.exit(0); });`;
  const r = spawnSync(process.execPath, ["--input-type=commonjs", "-e", script], { stdio: ["ignore", "pipe", "ignore"], timeout: 60_000, encoding: "utf8" });
  if (r.error) throw new Error(`probing Dawn in a child process failed: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`probing Dawn in a child process failed (exit ${r.status ?? r.signal}); run with LENS_BACKEND=webgpu to see Dawn's messages`);
  const out = JSON.parse(r.stdout || "null") as (AdapterSummary & { error?: string }) | null;
  if (out && out.error !== undefined) throw new Error(`Dawn's requestAdapter failed: ${out.error}`);
  return out;
}

interface Registered {
  readonly adapter: AdapterSummary;
  limits?: { maxStorageBufferBindingSize: number; maxBufferSize: number };
}
let registered: Registered | undefined;

/** The adapter webgpu runs on (undefined before it is registered). */
export function webgpuAdapter(): AdapterSummary | undefined {
  return registered?.adapter;
}

/** The limits of the webgpu device tfjs created (undefined before it exists). */
export function webgpuLimits(): { maxStorageBufferBindingSize: number; maxBufferSize: number } | undefined {
  return registered?.limits;
}

/**
 * Loads Dawn, checks the adapter, exposes `navigator.gpu` and registers tfjs's webgpu backend; throws the reason
 * otherwise. `asked`: webgpu was requested by name (no quiet probe; LENS_WEBGPU_ADAPTER=any applies).
 */
export async function registerWebGpu(asked = false): Promise<void> {
  if (process.env.LENS_WEBGPU === "0") throw new Error("disabled by LENS_WEBGPU=0");
  const allowSoftware = asked && adapterPolicy() === "any";
  if (registered) {
    const reason = judgeAdapter(registered.adapter, { allowSoftware });
    if (reason !== undefined) throw new Error(reason);
    return;
  }
  if (!asked) {
    const reason = judgeAdapter(probeAdapterQuietly());
    if (reason !== undefined) throw new Error(reason);
  }
  const dawn = loadDawn();
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  const summary = summarise(adapter);
  const reason = judgeAdapter(summary, { allowSoftware });
  if (reason !== undefined || summary === null) throw new Error(reason);
  const state: Registered = { adapter: summary };
  const requestAdapter = gpu.requestAdapter.bind(gpu);
  gpu.requestAdapter = async (o) => {
    const a = await requestAdapter(o);
    if (a) {
      const requestDevice = a.requestDevice.bind(a);
      a.requestDevice = (d: DeviceDescriptor = {}) => {
        // The adapter's real binding limits (tfjs asks for them too; WebGPU's defaults would cap buffers at 256 MiB).
        const limits = { maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize, maxBufferSize: a.limits.maxBufferSize };
        state.limits = limits;
        // tfjs 4.22 passes requiredFeatures as a nested array (['bgra8unorm-storage'] inside the list); flatten it for Dawn.
        return requestDevice({ ...d, requiredFeatures: (d.requiredFeatures ?? []).flat(), requiredLimits: { ...d.requiredLimits, ...limits } });
      };
    }
    return a;
  };
  Object.assign(globalThis, dawn.globals);
  Object.defineProperty(globalThis, "navigator", { value: { ...(globalThis as { navigator?: object }).navigator, gpu }, configurable: true, writable: true });
  try {
    require("@tensorflow/tfjs-backend-webgpu"); // registers "webgpu" because navigator.gpu now exists
  } catch (e) {
    throw new Error(`@tensorflow/tfjs-backend-webgpu could not be loaded (${(e as Error).message.split("\n")[0]}): npm install @tensorflow/tfjs-backend-webgpu@4.22.0`);
  }
  registered = state;
}
