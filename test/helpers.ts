import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { Tolerance } from "./tolerances";

type Numeric = tf.Tensor | ArrayLike<number> | number;

export interface CloseReport {
  readonly ok: boolean;
  readonly maxAbs: number;
  readonly worstIndex: number;
  readonly actual: number;
  readonly expected: number;
}

async function flat(x: Numeric): Promise<{ values: ArrayLike<number>; shape: number[] }> {
  if (typeof x === "number") return { values: [x], shape: [] };
  if (x instanceof tf.Tensor) return { values: (await x.data()) as ArrayLike<number>, shape: x.shape };
  return { values: x, shape: [x.length] };
}

/**
 * Two-sided closeness: |a − e| ≤ atol + rtol·|e| everywhere. Equal infinities (masked attention scores) and
 * NaN against NaN count as equal. Reports the worst element by its excess over the allowed error.
 */
export function compareClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): CloseReport {
  assert.equal(actual.length, expected.length, `length ${actual.length} != expected ${expected.length}`);
  let ok = true;
  let maxAbs = 0;
  let worstIndex = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    const d = Math.abs(a - e);
    const excess = Number.isNaN(d) ? Infinity : d - (tol.atol + tol.rtol * Math.abs(e));
    if (!(d <= maxAbs)) maxAbs = d;
    if (excess > worstExcess) {
      worstExcess = excess;
      worstIndex = i;
    }
    if (excess > 0) ok = false;
  }
  const i = worstIndex;
  return { ok, maxAbs, worstIndex: i, actual: i >= 0 ? actual[i] : NaN, expected: i >= 0 ? expected[i] : NaN };
}

/** Asserts closeness (see compareClose) and that shapes match when both sides have one; returns the max |Δ|. */
export async function expectAllClose(
  actual: Numeric,
  expected: Numeric,
  tol: Tolerance,
  label = "value",
): Promise<number> {
  const a = await flat(actual);
  const e = await flat(expected);
  if (actual instanceof tf.Tensor && expected instanceof tf.Tensor) {
    assert.deepEqual(a.shape, e.shape, `${label}: shape [${a.shape}] != expected [${e.shape}]`);
  }
  const r = compareClose(a.values, e.values, tol);
  assert.ok(
    r.ok,
    `${label}: not close (atol ${tol.atol}, rtol ${tol.rtol}); max |Δ| = ${r.maxAbs.toExponential(3)}, ` +
      `worst at flat index ${r.worstIndex} (shape [${a.shape}]): ${r.actual} vs expected ${r.expected}`,
  );
  return r.maxAbs;
}
