/**
 * Where the forward's time goes, per kernel kind: `tsx bench/profile.ts <backend> <modelDir> [batch] [pos] [--cache] [--time N]`.
 * Uses tf.profile (per-kernel wall time; synchronous backends only: cpu, wasm) after one warm-up forward.
 * `--time N`: also the best of N un-profiled forwards (wall time, with the 1-minute load average before and after),
 * printed first as one JSON line `{"backend", "shape", "forwardS", "load"}` for scripts that compare backends.
 */
import { loadavg } from "node:os";
import * as tf from "@tensorflow/tfjs";
import { HookedTransformer } from "../src/lens/hookedTransformer";
import { backendInfo, setBackend, type BackendName } from "../src/lens/backend";
import { benchTokens } from "./checkpoint";

const [backend, modelDir, b = "4", p = "128"] = process.argv.slice(2);
const withCache = process.argv.includes("--cache");
const timeArg = process.argv.indexOf("--time");
const timeReps = timeArg > 0 ? Number(process.argv[timeArg + 1]) : 0;

(async () => {
  await setBackend(backend as BackendName);
  const model = await HookedTransformer.fromPretrainedNoProcessing(modelDir);
  const tokens = tf.tensor2d(benchTokens(Number(b), Number(p)), [Number(b), Number(p)], "int32");
  const run = async () => {
    if (withCache) {
      const [out, cache] = await model.runWithCache(tokens);
      await (out as tf.Tensor).data();
      (out as tf.Tensor).dispose();
      cache.dispose();
    } else {
      const out = (await model.forward(tokens)) as tf.Tensor;
      await out.data();
      out.dispose();
    }
  };
  await run();
  if (timeReps > 0) {
    const load0 = loadavg()[0];
    let best = Infinity;
    for (let i = 0; i < timeReps; i++) {
      const t = performance.now();
      await run();
      best = Math.min(best, performance.now() - t);
    }
    const load = [load0, loadavg()[0]].map((l) => Number(l.toFixed(1)));
    console.log(JSON.stringify({ backend, shape: `${b}x${p}`, forwardS: Number((best / 1000).toFixed(3)), load }));
  }
  const t0 = performance.now();
  const info = await tf.profile(run);
  const wall = performance.now() - t0;
  const byKind = new Map<string, { ms: number; n: number }>();
  for (const k of info.kernels) {
    if (k.name.endsWith("__op")) continue; // an op scope (e.g. fused matMul's customGrad wrapper), not a kernel
    const e = byKind.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += Number(k.kernelTimeMs);
    e.n++;
    byKind.set(k.name, e);
  }
  const total = [...byKind.values()].reduce((a, e) => a + e.ms, 0);
  console.log(`${backend} (${backendInfo().matmul?.detail}), ${b}×${p}${withCache ? ", runWithCache (all hooks)" : ""}: wall ${(wall / 1000).toFixed(2)} s (profiled), kernels ${(total / 1000).toFixed(2)} s`);
  console.log("| kernel | calls | ms | share |\n|---|---|---|---|");
  for (const [name, e] of [...byKind].sort((x, y) => y[1].ms - x[1].ms)) {
    console.log(`| ${name} | ${e.n} | ${e.ms.toFixed(0)} | ${((100 * e.ms) / total).toFixed(1)}% |`);
  }
  process.exit(0);
})();
