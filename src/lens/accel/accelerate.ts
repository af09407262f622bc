/**
 * The accelerators `backend.ts` applies after choosing a backend, and how they are reported in `backendInfo().matmul`.
 * Today: OpenBLAS matmul kernels for the cpu and wasm backends (`blasKernels.ts`); `LENS_BLAS=0` keeps tfjs's kernels.
 * On wasm and cpu also run-copy Slice/Transpose/GatherV2/Tile kernels (`copyKernels.ts`); `LENS_COPY_KERNELS=0` keeps tfjs's.
 * On cpu also typed-array elementwise, reduction and softmax kernels (`cpuKernels.ts`); `LENS_CPU_KERNELS=0` keeps tfjs's.
 * On webgpu: workarounds for tfjs-backend-webgpu kernel bugs (`webgpuKernels.ts`).
 */
import { loadBlas, type BlasStatus } from "./blas";
import { blasMatMulInstalled, installBlasMatMul } from "./blasKernels";
import { installCopyKernels } from "./copyKernels";
import { installCpuKernels } from "./cpuKernels";
import { installWebgpuKernels } from "./webgpuKernels";

/** Everything this folder does for `backend` once it is chosen: copy kernels and BLAS matmuls (cpu, wasm), cpu kernels. */
export function accelerateBackend(backend: string): void {
  if ((backend === "wasm" || backend === "cpu") && process.env.LENS_COPY_KERNELS !== "0") installCopyKernels(backend);
  if (backend === "cpu" && process.env.LENS_CPU_KERNELS !== "0") installCpuKernels();
  if (backend === "webgpu") installWebgpuKernels();
  accelerateMatmul(backend);
}

/** How matrix products run on a backend. */
export interface MatmulInfo {
  /** "openblas" when BatchMatMul/_FusedMatMul call `cblas_sgemm`, else "backend" (the backend's own kernel). */
  readonly via: "openblas" | "backend";
  /** One line for people: the library, core type and threads, or why BLAS is not used. */
  readonly detail: string;
  /** The OpenBLAS load status (absent when it was never relevant, e.g. on the tensorflow backend). */
  readonly blas?: BlasStatus;
}

const BLAS_BACKENDS = new Set(["cpu", "wasm"]);

/** Routes `backend`'s matmuls through OpenBLAS when it is cpu or wasm, OpenBLAS loads, and LENS_BLAS is not "0". */
export function accelerateMatmul(backend: string): void {
  if (process.env.LENS_BLAS === "0" || !BLAS_BACKENDS.has(backend)) return;
  installBlasMatMul(backend as "cpu" | "wasm");
}

/** Describes how `backend`'s matmuls run now. */
export function matmulInfo(backend: string): MatmulInfo {
  if (blasMatMulInstalled(backend)) {
    const s = loadBlas();
    return { via: "openblas", detail: `OpenBLAS cblas_sgemm (core ${s.corename}, ${s.coreChoice}; ${s.threads} thread${s.threads === 1 ? "" : "s"})`, blas: s };
  }
  if (!BLAS_BACKENDS.has(backend)) return { via: "backend", detail: `the ${backend} backend's own kernels (BLAS routing applies to cpu and wasm only)` };
  if (process.env.LENS_BLAS === "0") return { via: "backend", detail: `the ${backend} backend's own kernels (BLAS disabled by LENS_BLAS=0)` };
  const s = loadBlas();
  return { via: "backend", detail: `the ${backend} backend's own kernels (${s.available ? "BLAS not installed on this backend" : s.reason})`, blas: s };
}
