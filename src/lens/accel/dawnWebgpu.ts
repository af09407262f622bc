/**
 * WebGPU in Node through Dawn (the `webgpu` npm package) for `@tensorflow/tfjs-backend-webgpu`: registers the
 * "webgpu" backend only when a real (hardware) adapter with room for model weights exists; otherwise throws an Error
 * whose message is the reason, which `backend.ts` records in `skipped`. Both packages are optional and not installed by
 * default: `npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0`. `LENS_WEBGPU=0` turns it off.
 *
 * Status: the adapter judgement is unit-tested; the Dawn path itself has not been run on a machine with a GPU.
 */

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

/** GPT-2 small's token embedding is 154 MB; below this a model's weights cannot be bound. */
export const MIN_BINDING_BYTES = 256 * 2 ** 20;

/** Why an adapter is not used (undefined when it is good): none, a software rasteriser, or too small a binding. */
export function judgeAdapter(a: AdapterSummary | null | undefined): string | undefined {
  if (!a) return "Dawn found no WebGPU adapter (no GPU, or no Vulkan/Metal/D3D12 driver for it)";
  const name = `${a.vendor} ${a.architecture} ${a.device} ${a.description}`.trim();
  if (a.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|software|cpu/i.test(name)) {
    return `only a software WebGPU adapter (${name || "fallback"}): slower than wasm + BLAS`;
  }
  const limit = Math.min(a.maxStorageBufferBindingSize, a.maxBufferSize);
  if (limit < MIN_BINDING_BYTES) {
    return `the WebGPU adapter (${name}) binds at most ${Math.round(limit / 2 ** 20)} MiB per buffer; model weights need ≥ ${MIN_BINDING_BYTES / 2 ** 20} MiB`;
  }
  return undefined;
}

interface DawnAdapter {
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  readonly isFallbackAdapter?: boolean;
  readonly limits: { maxStorageBufferBindingSize: number; maxBufferSize: number };
  requestDevice(d?: { requiredFeatures?: unknown[] }): Promise<unknown>;
}
interface DawnGpu {
  requestAdapter(o?: { powerPreference?: string }): Promise<DawnAdapter | null>;
}

/** Loads Dawn, checks the adapter, exposes `navigator.gpu` and registers tfjs's webgpu backend; throws the reason otherwise. */
export async function registerWebGpu(): Promise<void> {
  if (process.env.LENS_WEBGPU === "0") throw new Error("disabled by LENS_WEBGPU=0");
  let dawn: { create(flags: string[]): DawnGpu; globals: Record<string, unknown> };
  try {
    dawn = require("webgpu");
  } catch {
    throw new Error("the `webgpu` package (Dawn for Node) is not installed: npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0");
  }
  // This file must not be named webgpu.ts: tslab resolves require("webgpu") to a same-named module of the project.
  const mod = dawn as unknown as { create?: unknown; default?: typeof dawn };
  if (typeof mod.create !== "function" && typeof mod.default?.create === "function") dawn = mod.default;
  if (typeof dawn.create !== "function") {
    throw new Error(`the \`webgpu\` package loaded without a create() function (exports: ${Object.keys(mod).join(", ")}); reinstall it`);
  }
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  const info = adapter?.info ?? {};
  const reason = judgeAdapter(
    adapter && {
      vendor: info.vendor ?? "", architecture: info.architecture ?? "", device: info.device ?? "", description: info.description ?? "",
      isFallbackAdapter: Boolean(adapter.isFallbackAdapter ?? info.isFallbackAdapter),
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize,
    },
  );
  if (reason !== undefined) throw new Error(reason);
  // tfjs 4.22 passes requiredFeatures as a nested array (['bgra8unorm-storage'] inside the list); flatten it for Dawn.
  const requestAdapter = gpu.requestAdapter.bind(gpu);
  gpu.requestAdapter = async (o) => {
    const a = await requestAdapter(o);
    if (a) {
      const requestDevice = a.requestDevice.bind(a);
      a.requestDevice = (d) => requestDevice(d?.requiredFeatures ? { ...d, requiredFeatures: d.requiredFeatures.flat() } : d);
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
}
