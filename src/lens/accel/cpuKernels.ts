/**
 * Fast kernels for the pure-JS cpu backend (`accelerate.ts` installs them when cpu is chosen; `LENS_CPU_KERNELS=0`
 * keeps tfjs's): the elementwise ops (`cpuElementwise.ts`) and reductions/softmax (`cpuReductions.ts`), bit-identical
 * to the stock kernels (Sigmoid, Exp, Erf, Softmax: within 1 float32 ulp, see `fastExp.ts`). Gradients are unchanged:
 * tfjs looks them up by kernel name, and they run through these same kernels. The GELUs' one-pass forms are in
 * `cpuFused.ts` (called from activations.ts).
 */
import { CPU_ELEMENTWISE } from "./cpuElementwise";
import { CPU_REDUCTIONS } from "./cpuReductions";
import { overriddenKernels, overrideKernels } from "./tfjsInternals";

/** Every kernel name this file replaces on cpu. */
export const CPU_KERNEL_NAMES: readonly string[] = [...Object.keys(CPU_ELEMENTWISE), ...Object.keys(CPU_REDUCTIONS)];

let restore: (() => void) | undefined;

/** Replaces the cpu backend's elementwise, reduction and softmax kernels (idempotent). Returns the names replaced. */
export function installCpuKernels(): string[] {
  restore ??= overrideKernels("cpu", { ...CPU_ELEMENTWISE, ...CPU_REDUCTIONS });
  return cpuKernelsInstalled();
}

/** Restores tfjs's own cpu kernels (undoes `installCpuKernels`). */
export function uninstallCpuKernels(): void {
  restore?.();
  restore = undefined;
}

/** The cpu kernels currently replaced by this file. */
export function cpuKernelsInstalled(): string[] {
  return restore === undefined ? [] : overriddenKernels("cpu").filter((k) => CPU_KERNEL_NAMES.includes(k));
}
