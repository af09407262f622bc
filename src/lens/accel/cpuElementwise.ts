/**
 * Elementwise kernels for the cpu backend as plain typed-array loops. tfjs-backend-cpu 4.22 computes a broadcast
 * binary op element by element through `indexToLoc`/`locToIndex` with a fresh array per element, which is where a
 * GPT-2 forward on cpu spent most of its time (bias adds, LayerNorm's row/column broadcasts, the causal mask). Here a
 * broadcast is planned once: dims are padded, dims of size 1 dropped, and neighbouring dims with the same broadcast
 * pattern merged, so the model's cases (same shape, row vector, column vector, scalar, [h,q,k] + [q,k]) run as one or
 * two nested loops with strides 0 or 1.
 *
 * Bits: each op is the stock kernel's own expression on the same float32 inputs (evaluated in double, stored to
 * float32), so results are bit-identical to tfjs's, except that Sigmoid, Exp and Erf take exp from `fastExp.ts`
 * (at most 1 float32 ulp from the stock kernel). Only float32 inputs are handled; other dtypes, complex, and
 * shapes that do not broadcast go to the stock kernel (which raises its own errors).
 */
import * as tf from "@tensorflow/tfjs";
import { fastExp } from "./fastExp";
import { cpuFloats, cpuScratchOutput, cpuValues, type FastKernel } from "./tfjsInternals";

type F32 = Float32Array;
/** o[oi + k] = op(a[ai + k·sa], b[bi + k·sb]) for k < n (sa, sb ∈ {0, 1}). One literal per op keeps each loop monomorphic. */
type Inner = (o: F32, oi: number, a: F32, ai: number, sa: number, b: F32, bi: number, sb: number, n: number) => void;

const BINARY: Record<string, Inner> = {
  Add: (o, oi, a, ai, sa, b, bi, sb, n) => { for (let k = 0; k < n; k++, ai += sa, bi += sb) o[oi + k] = a[ai] + b[bi]; },
  Sub: (o, oi, a, ai, sa, b, bi, sb, n) => { for (let k = 0; k < n; k++, ai += sa, bi += sb) o[oi + k] = a[ai] - b[bi]; },
  Multiply: (o, oi, a, ai, sa, b, bi, sb, n) => { for (let k = 0; k < n; k++, ai += sa, bi += sb) o[oi + k] = a[ai] * b[bi]; },
  RealDiv: (o, oi, a, ai, sa, b, bi, sb, n) => { for (let k = 0; k < n; k++, ai += sa, bi += sb) o[oi + k] = a[ai] / b[bi]; },
  Maximum: (o, oi, a, ai, sa, b, bi, sb, n) => { for (let k = 0; k < n; k++, ai += sa, bi += sb) o[oi + k] = Math.max(a[ai], b[bi]); },
  Minimum: (o, oi, a, ai, sa, b, bi, sb, n) => { for (let k = 0; k < n; k++, ai += sa, bi += sb) o[oi + k] = Math.min(a[ai], b[bi]); },
  SquaredDifference: (o, oi, a, ai, sa, b, bi, sb, n) => {
    for (let k = 0; k < n; k++, ai += sa, bi += sb) {
      const d = a[ai] - b[bi];
      o[oi + k] = d * d;
    }
  },
};

/** A broadcast planned once: merged output dims and each operand's stride per merged dim (0 where it broadcasts). */
export interface BroadcastPlan {
  readonly outShape: number[];
  readonly dims: number[];
  readonly sa: number[];
  readonly sb: number[];
}

/** numpy broadcasting of `a` and `b`, merged as described in the file comment; undefined when they do not broadcast. */
export function planBroadcast(a: readonly number[], b: readonly number[]): BroadcastPlan | undefined {
  const r = Math.max(a.length, b.length);
  const outShape: number[] = [];
  const dims: number[] = [];
  const pattern: number[] = []; // bit 1: a varies along the dim, bit 2: b does
  for (let d = 0; d < r; d++) {
    const x = a[d - (r - a.length)] ?? 1;
    const y = b[d - (r - b.length)] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    const o = Math.max(x, y);
    outShape.push(x === 0 || y === 0 ? 0 : o);
    if (o === 1 || x === 0 || y === 0) continue;
    const p = (x === o ? 1 : 0) | (y === o ? 2 : 0);
    if (pattern.length > 0 && pattern[pattern.length - 1] === p) dims[dims.length - 1] *= o;
    else {
      dims.push(o);
      pattern.push(p);
    }
  }
  const sa = new Array<number>(dims.length);
  const sb = new Array<number>(dims.length);
  for (let k = dims.length - 1, ea = 1, eb = 1; k >= 0; k--) {
    sa[k] = pattern[k] & 1 ? ea : 0;
    sb[k] = pattern[k] & 2 ? eb : 0;
    if (pattern[k] & 1) ea *= dims[k];
    if (pattern[k] & 2) eb *= dims[k];
  }
  return { outShape, dims, sa, sb };
}

/** Runs `inner` over a plan: the last merged dim is the inner loop, the others an odometer. */
export function runBroadcast(p: BroadcastPlan, inner: Inner, o: F32, a: F32, b: F32): void {
  if (o.length === 0) return;
  const r = p.dims.length;
  if (r === 0) return inner(o, 0, a, 0, 0, b, 0, 0, 1);
  const n = p.dims[r - 1];
  const ia = p.sa[r - 1] === 0 ? 0 : 1;
  const ib = p.sb[r - 1] === 0 ? 0 : 1;
  const idx = new Array<number>(r - 1).fill(0);
  let ai = 0;
  let bi = 0;
  for (let oi = 0; oi < o.length; oi += n) {
    inner(o, oi, a, ai, ia, b, bi, ib, n);
    for (let d = r - 2; d >= 0; d--) {
      ai += p.sa[d];
      bi += p.sb[d];
      if (++idx[d] < p.dims[d]) break;
      ai -= p.sa[d] * p.dims[d];
      bi -= p.sb[d] * p.dims[d];
      idx[d] = 0;
    }
  }
}

function binary(inner: Inner): FastKernel {
  return ({ inputs, backend }) => {
    const a = cpuFloats(backend, inputs.a);
    const b = cpuFloats(backend, inputs.b);
    if (a === undefined || b === undefined) return undefined;
    const p = planBroadcast(inputs.a!.shape, inputs.b!.shape);
    const out = p && cpuScratchOutput<F32>(backend, p.outShape, "float32");
    if (!p || !out) return undefined;
    runBroadcast(p, inner, out.values, a, b);
    return out.info;
  };
}

const { ERF_P, ERF_A1, ERF_A2, ERF_A3, ERF_A4, ERF_A5 } = tf.backend_util;
/** The stock cpu Erf's expression (Abramowitz–Stegun 7.1.26), with `fastExp`. */
export function erf(xi: number): number {
  const v = Math.abs(xi);
  const t = 1.0 / (1.0 + ERF_P * v);
  return Math.sign(xi) * (1.0 - (((((ERF_A5 * t + ERF_A4) * t) + ERF_A3) * t + ERF_A2) * t + ERF_A1) * t * fastExp(-v * v));
}

/** The stock cpu expressions (tfjs-backend-cpu 4.22 kernels/<Name>.ts), one loop each. */
const UNARY: Record<string, (o: F32, x: F32) => void> = {
  Sigmoid: (o, x) => { for (let i = 0; i < x.length; i++) o[i] = 1 / (1 + fastExp(-x[i])); },
  Tanh: (o, x) => { for (let i = 0; i < x.length; i++) o[i] = Math.tanh(x[i]); },
  Exp: (o, x) => { for (let i = 0; i < x.length; i++) o[i] = fastExp(x[i]); },
  Log: (o, x) => { for (let i = 0; i < x.length; i++) o[i] = Math.log(x[i]); },
  Square: (o, x) => { for (let i = 0; i < x.length; i++) o[i] = x[i] * x[i]; },
  Sqrt: (o, x) => { for (let i = 0; i < x.length; i++) o[i] = Math.sqrt(x[i]); },
  Rsqrt: (o, x) => { for (let i = 0; i < x.length; i++) o[i] = 1 / Math.sqrt(x[i]); },
  Reciprocal: (o, x) => { for (let i = 0; i < x.length; i++) o[i] = 1 / x[i]; },
  Neg: (o, x) => { for (let i = 0; i < x.length; i++) o[i] = -1 * x[i]; },
  Abs: (o, x) => { for (let i = 0; i < x.length; i++) o[i] = Math.abs(x[i]); },
  Relu: (o, x) => { for (let i = 0; i < x.length; i++) o[i] = Math.max(0, x[i]); },
  Erf: (o, x) => { for (let i = 0; i < x.length; i++) o[i] = erf(x[i]); },
};

function unary(loop: (o: F32, x: F32) => void): FastKernel {
  return ({ inputs, backend }) => {
    const x = cpuFloats(backend, inputs.x);
    const out = x && cpuScratchOutput<F32>(backend, inputs.x!.shape, "float32");
    if (!x || !out) return undefined;
    loop(out.values, x);
    return out.info;
  };
}

/** `where(condition, t, e)` with a condition of t's shape (other condition shapes: stock kernel). */
const select: FastKernel = ({ inputs, backend }) => {
  const { condition, t, e } = inputs;
  if (!condition || !t || !e || t.dtype !== e.dtype || (t.dtype !== "float32" && t.dtype !== "int32")) return undefined;
  const c = cpuValues(backend, condition, "bool");
  const tv = cpuValues(backend, t);
  const ev = cpuValues(backend, e);
  if (!c || !tv || !ev || c.length !== tv.length || ev.length !== tv.length) return undefined;
  const out = cpuScratchOutput(backend, t.shape, t.dtype as "float32" | "int32");
  if (!out) return undefined;
  const o = out.values;
  for (let i = 0; i < o.length; i++) o[i] = c[i] === 1 ? tv[i] : ev[i];
  return out.info;
};

/** The elementwise replacements, by kernel name. */
export const CPU_ELEMENTWISE: Readonly<Record<string, FastKernel>> = {
  ...Object.fromEntries(Object.entries(BINARY).map(([name, inner]) => [name, binary(inner)])),
  ...Object.fromEntries(Object.entries(UNARY).map(([name, loop]) => [name, unary(loop)])),
  Select: select,
};
