/**
 * The tfjs backends the backend-matrix tests run on: cpu and wasm everywhere (both work offline with no GPU).
 * Whether their matmuls go through OpenBLAS is chosen per process by LENS_BLAS (CI runs the suite with and without it).
 */
export const TEST_BACKENDS: readonly ("cpu" | "wasm" | "webgpu")[] = ["cpu", "wasm"];
