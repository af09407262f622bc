/**
 * trainSae throughput (activations/s) at d_in 768, d_sae 6144, batch 4096 for each architecture, on random Gaussian
 * activations: one warm-up step, then `steps` timed steps (the whole trainer: batch sampling, Adam, clipping, dead
 * tracking, every-step logging off).
 *   tsx bench/saeTrain.ts [backend=cpu] [steps=3] [architectures=standard,topk,jumprelu,gated]
 */
import * as tf from "@tensorflow/tfjs";
import { backendInfo, setBackend, type BackendName } from "../src/lens/backend";
import { SparseAutoencoder } from "../src/lens/sae/sae";
import { trainSae } from "../src/lens/sae/trainer";

const [backend = "cpu", stepsArg = "3", archArg = "standard,topk,jumprelu,gated"] = process.argv.slice(2);

async function main(): Promise<void> {
  await setBackend(backend as BackendName);
  const dIn = 768, dSae = 6144, bs = 4096, steps = Number(stepsArg);
  const x = tf.randomNormal([2 * bs, dIn], 0, 1, "float32", 1) as tf.Tensor2D;
  console.log(`backend ${backend} (${backendInfo().matmul?.detail ?? "stock matmul"}), d_in ${dIn}, d_sae ${dSae}, batch ${bs}`);
  for (const arch of archArg.split(",")) {
    const sae = new SparseAutoencoder({ dIn, dSae, architecture: arch as "standard", k: 64, seed: 0 });
    await trainSae(sae, x, { steps: 1, batchSize: bs, lr: 3e-4, l1Coefficient: 5, logEvery: 1000 });
    const before = tf.memory().numTensors;
    const rep = await trainSae(sae, x, { steps, batchSize: bs, lr: 3e-4, l1Coefficient: 5, logEvery: 1000 });
    console.log(`${arch.padEnd(9)} ${(rep.seconds / steps).toFixed(2)} s/step  ${Math.round(rep.activationsPerSecond)} activations/s  leaked ${tf.memory().numTensors - before}`);
    sae.dispose();
  }
  x.dispose();
}

void main();
