/**
 * Reductions for the cpu backend as plain loops: Sum, Mean, Max over trailing axes (LayerNorm's mean and variance,
 * logsumexp) or leading axes (the bias gradients of backprop), and Softmax over the last axis in one pass per row.
 * tfjs-backend-cpu 4.22 builds these from other kernels: Mean = cast → divide every element → transpose (for leading
 * axes) → Sum; Softmax = Max → reshape → broadcast Sub → Exp → Sum → broadcast RealDiv, each with its own output.
 *
 * Bits: each is computed with the stock kernel's arithmetic in the stock order, so results are bit-identical (Softmax: within 1 float32 ulp, its exp is `fastExp.ts`'s):
 * - Sum: a double accumulator per output, adding the reduced elements in row-major order, stored to float32;
 * - Mean: the same sum of float32(x / n) (the stock kernel divides first, in float32);
 * - Max: the first element, then any greater element or NaN;
 * - Softmax: m = Max of the row, e = float32(fastExp(float32(x − m))), s = float32(Σ e in double), float32(e / s).
 * Axes that are neither a trailing nor a leading block, and dtypes other than float32, go to the stock kernel.
 */
import * as tf from "@tensorflow/tfjs";
import { fastExp } from "./fastExp";
import { cpuFloats, cpuScratchOutput, type FastKernel, type Info, type KernelArgs } from "./tfjsInternals";

type F32 = Float32Array;

/** How `axes` split `shape`: `outer × reduce` (trailing axes) or `reduce × inner` (leading axes). */
interface ReducePlan {
  readonly leading: boolean;
  readonly reduce: number;
  readonly keep: number;
  readonly outShape: number[];
}

function planReduce(x: Info, axisAttr: unknown, keepDims: boolean): ReducePlan | undefined {
  let axes: number[];
  try {
    axes = tf.util.parseAxisParam(axisAttr as number | number[], x.shape);
  } catch {
    return undefined; // the stock kernel raises its own error
  }
  const r = x.shape.length;
  const set = new Set(axes);
  if (set.size !== axes.length) return undefined;
  const trailing = axes.every((a) => a >= r - set.size);
  const leading = axes.every((a) => a < set.size);
  if (!trailing && !leading) return undefined;
  const size = (s: readonly number[]) => s.reduce((p, q) => p * q, 1);
  const reduced = x.shape.filter((_, i) => set.has(i));
  const kept = x.shape.filter((_, i) => !set.has(i));
  const outShape = keepDims ? x.shape.map((d, i) => (set.has(i) ? 1 : d)) : kept;
  return { leading: !trailing, reduce: size(reduced), keep: size(kept), outShape };
}

/** Sum (or Mean when `mean`) of float32 `x` per the plan into `o`. */
function sumInto(o: F32, x: F32, p: ReducePlan, mean: boolean): void {
  const n = p.reduce;
  if (!p.leading) {
    for (let i = 0, at = 0; i < p.keep; i++) {
      let s = 0;
      if (mean) for (let j = 0; j < n; j++, at++) s += Math.fround(x[at] / n);
      else for (let j = 0; j < n; j++, at++) s += x[at];
      o[i] = s;
    }
    return;
  }
  const c = p.keep;
  const acc = new Float64Array(c);
  for (let j = 0, at = 0; j < n; j++) {
    if (mean) for (let i = 0; i < c; i++, at++) acc[i] += Math.fround(x[at] / n);
    else for (let i = 0; i < c; i++, at++) acc[i] += x[at];
  }
  o.set(acc);
}

function reduction(kind: "Sum" | "Mean"): FastKernel {
  return ({ inputs, backend, attrs }: KernelArgs) => {
    const x = cpuFloats(backend, inputs.x);
    const p = x && planReduce(inputs.x!, attrs?.axis, Boolean(attrs?.keepDims));
    const out = p && cpuScratchOutput<F32>(backend, p.outShape, "float32");
    if (!x || !p || !out) return undefined;
    sumInto(out.values, x, p, kind === "Mean");
    return out.info;
  };
}

/** Max: the first element, then every element that is greater or NaN (tfjs's maxImpl). */
const max: FastKernel = ({ inputs, backend, attrs }) => {
  const x = cpuFloats(backend, inputs.x);
  const p = x && planReduce(inputs.x!, attrs?.reductionIndices, Boolean(attrs?.keepDims));
  if (!x || !p || p.reduce === 0) return undefined;
  const out = cpuScratchOutput<F32>(backend, p.outShape, "float32");
  if (!out) return undefined;
  const o = out.values;
  const n = p.reduce;
  if (!p.leading) {
    for (let i = 0, at = 0; i < p.keep; i++) {
      let m = x[at];
      for (let j = 0; j < n; j++, at++) {
        const v = x[at];
        if (v > m || Number.isNaN(v)) m = v;
      }
      o[i] = m;
    }
  } else {
    const c = p.keep;
    o.set(x.subarray(0, c));
    for (let j = 0, at = 0; j < n; j++) {
      for (let i = 0; i < c; i++, at++) {
        const v = x[at];
        if (v > o[i] || Number.isNaN(v)) o[i] = v;
      }
    }
  }
  return out.info;
};

/** Softmax over the last axis (the only one tfjs's cpu kernel supports). */
const softmax: FastKernel = ({ inputs, backend, attrs }) => {
  const logits = inputs.logits;
  const x = cpuFloats(backend, logits);
  if (!x || !logits || logits.shape.length === 0) return undefined;
  const r = logits.shape.length;
  const dim = Number(attrs?.dim ?? -1);
  if (dim !== -1 && dim !== r - 1) return undefined;
  const n = logits.shape[r - 1];
  const out = cpuScratchOutput<F32>(backend, logits.shape, "float32");
  if (!out || n === 0) return out?.info;
  const o = out.values;
  for (let at = 0; at < x.length; at += n) {
    let m = x[at];
    for (let j = at; j < at + n; j++) if (x[j] > m || Number.isNaN(x[j])) m = x[j];
    let s = 0;
    for (let j = at; j < at + n; j++) {
      const e = Math.fround(fastExp(Math.fround(x[j] - m)));
      o[j] = e;
      s += e;
    }
    const sf = Math.fround(s);
    for (let j = at; j < at + n; j++) o[j] = o[j] / sf;
  }
  return out.info;
};

/** The reduction replacements, by kernel name. */
export const CPU_REDUCTIONS: Readonly<Record<string, FastKernel>> = { Sum: reduction("Sum"), Mean: reduction("Mean"), Max: max, Softmax: softmax };
