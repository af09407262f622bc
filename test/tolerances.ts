/**
 * The one table of numeric tolerances for the test suite. A check passes when
 * |actual − expected| ≤ atol + rtol·|expected| elementwise. Never loosen a tolerance inside a single test:
 * change it here, with the reason.
 */
export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

export const TOLERANCES = {
  /** float32 tfjs against a float64 numpy reference: every hook activation. */
  activations: { atol: 1e-4, rtol: 1e-4 },
  /** float32 tfjs against a float64 numpy reference: logits. */
  logits: { atol: 1e-4, rtol: 1e-4 },
  /** Mean or per-token cross-entropy loss. */
  loss: { atol: 1e-4, rtol: 0 },
  /** Invariants that hold exactly in real arithmetic, computed twice in float32 (e.g. folded vs unfolded log-probs). */
  float32Invariant: { atol: 1e-4, rtol: 1e-4 },
  /** Operations that should be bit-for-bit identical in float32 (same ops, same order). */
  exact: { atol: 0, rtol: 0 },
  /** OpenBLAS sgemm against tfjs's own matmul kernel (K ≤ 200, entries in [−1, 1]): same float32 products summed in a different order. */
  blasMatmul: { atol: 2e-5, rtol: 1e-5 },
  /**
   * Threaded-SIMD wasm against stock single-threaded wasm (same XNNPACK kernels; the thread pool splits outputs by
   * rows/tiles, and a tile boundary can change which SIMD path sums a dot product): float32 rounding of O(1) logits.
   */
  threadedWasm: { atol: 1e-5, rtol: 1e-5 },
  /**
   * Autograd gradients (float32) against central finite differences of the same float32 loss with step 1e-2: the
   * truncation error is O(h²·f‴) ≈ 1e-4 and the rounding error of a ~2.5 loss is ~1e-7/h ≈ 1e-5 per difference.
   */
  finiteDifference: { atol: 2e-3, rtol: 2e-2 },
  /** Parameters after N training steps vs after N/2 steps, a checkpoint round trip and N/2 more (same kernels; OpenBLAS may sum in another order). */
  resumedTraining: { atol: 1e-5, rtol: 1e-4 },
  /**
   * Scalars read back from float32 tensors (`Math.abs(a − b) < TOLERANCES.scalarUlps.atol`), by how far the two sides'
   * float32 arithmetic differs. scalarUlps: an O(1) quantity (a probability, a fraction, a score in [0, 1], a
   * normalised metric) recomputed by the same kind of ops in another order, a few float32 ulps of 1 (1.2e-7 each).
   */
  scalarUlps: { atol: 1e-6, rtol: 0 },
  /** … scalarReduced: through a reduction or softmax over tens of terms, or an O(10) logit, on one side only: ~10–100 ulps. */
  scalarReduced: { atol: 1e-5, rtol: 0 },
  /** … scalarForward: a metric of a whole (patched, ablated) forward pass against the same pass rebuilt from other ops, as float32Invariant. */
  scalarForward: { atol: 1e-4, rtol: 0 },
  /** float64 linear algebra in JS (SVD, eigenvalues) against its own invariants. */
  float64: { atol: 1e-9, rtol: 1e-9 },
} as const satisfies Record<string, Tolerance>;
