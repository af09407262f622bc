/** The SAE training step of the benchmark: relu encoder, linear decoder, MSE + L1, Adam, via optimizer.minimize. */
import * as tf from "@tensorflow/tfjs";

/** Builds a d_in 768 / d_sae 6144 SAE, runs one warm-up step and `n` timed steps on a 4096 batch; best seconds. */
export async function saeStep(n: number, dIn = 768, dSae = 6144, batch = 4096): Promise<number> {
  // tf.variable(x) keeps x alive as a separate tensor: make the initial values inside tidy so they are freed.
  const W_enc = tf.tidy(() => tf.variable(tf.randomUniform([dIn, dSae], -0.02, 0.02, "float32", 1)));
  const b_enc = tf.tidy(() => tf.variable(tf.zeros([dSae])));
  const W_dec = tf.tidy(() => tf.variable(tf.randomUniform([dSae, dIn], -0.02, 0.02, "float32", 2)));
  const b_dec = tf.tidy(() => tf.variable(tf.zeros([dIn])));
  const x = tf.randomNormal([batch, dIn], 0, 1, "float32", 3);
  const opt = tf.train.adam(1e-4);
  const l1 = 1e-3;
  const loss = () =>
    tf.tidy(() => {
      const f = tf.fused.matMul({ a: x.sub(b_dec), b: W_enc, bias: b_enc, activation: "relu" });
      const xHat = tf.fused.matMul({ a: f, b: W_dec, bias: b_dec });
      const mse = xHat.sub(x).square().sum(-1).mean();
      return mse.add(f.abs().sum(-1).mean().mul(l1)) as tf.Scalar;
    });
  const step = async () => {
    const v = opt.minimize(loss, true)!;
    await v.data();
    v.dispose();
  };
  await step();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await step();
    ts.push((performance.now() - t0) / 1000);
  }
  opt.dispose();
  tf.dispose([W_enc, b_enc, W_dec, b_dec, x]);
  return Math.min(...ts);
}
