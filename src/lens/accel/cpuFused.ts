/**
 * The two GELUs as one pass each on the cpu backend (instead of the 6 and 5 elementwise kernels of activations.ts,
 * each a full read and write of the [batch·pos, dMlp] activations). Each step is rounded to float32 exactly where the
 * unfused chain stores a kernel's output, with the same float32 constants, so the result is bit-identical to the
 * unfused chain on the cpu kernels (Sigmoid/Erf within 1 float32 ulp of tfjs's own, see fastExp.ts).
 *
 * Used only when the cpu backend has the lens kernels installed and no gradient tape is recording: under `tf.grad`
 * the unfused chain runs, so backprop sees the stock ops and their gradients. Otherwise undefined (caller runs the
 * unfused chain).
 */
import * as tf from "@tensorflow/tfjs";
import { cpuKernelsInstalled } from "./cpuKernels";
import { erf } from "./cpuElementwise";
import { fastExp } from "./fastExp";
import { cpuFloats, cpuScratchOutput, gradientTapeActive } from "./tfjsInternals";

const f = Math.fround;

/** x, or undefined when the fused path does not apply (see the file comment). */
function fusable(x: tf.Tensor): Float32Array | undefined {
  if (x.dtype !== "float32" || tf.getBackend() !== "cpu" || gradientTapeActive() || !cpuKernelsInstalled().includes("Sigmoid")) return undefined;
  return cpuFloats(tf.backend(), x);
}

function run(x: tf.Tensor, loop: (o: Float32Array, v: Float32Array) => void): tf.Tensor | undefined {
  const v = fusable(x);
  const out = v && cpuScratchOutput<Float32Array>(tf.backend(), x.shape, "float32");
  if (!v || !out) return undefined;
  loop(out.values, v);
  return tf.engine().makeTensorFromTensorInfo(out.info);
}

/** x·sigmoid((x²·c₁ + c)·x) as activations.ts's geluNew writes it, with c = float32(2√(2/π)), c₁ = float32(c·0.044715). */
export function cpuGeluNew(x: tf.Tensor, c: number, c1: number): tf.Tensor | undefined {
  const [cf, c1f] = [f(c), f(c1)];
  return run(x, (o, v) => {
    for (let i = 0; i < v.length; i++) {
      const xi = v[i];
      const u = f(f(f(f(xi * xi) * c1f) + cf) * xi);
      o[i] = xi * f(1 / (1 + fastExp(-u)));
    }
  });
}

/** ((erf(x·s) + 1)·x)·0.5 as activations.ts's geluErf writes it, with s = float32(√½). */
export function cpuGeluErf(x: tf.Tensor, s: number): tf.Tensor | undefined {
  const sf = f(s);
  return run(x, (o, v) => {
    for (let i = 0; i < v.length; i++) {
      const xi = v[i];
      o[i] = f(xi * f(f(erf(f(xi * sf))) + 1)) * 0.5;
    }
  });
}
