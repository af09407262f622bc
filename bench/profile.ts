/**
 * Where the forward's time goes, per kernel kind: `tsx bench/profile.ts <backend> <modelDir> [batch] [pos] [--cache] [--time N]`.
 * Uses tf.profile (per-kernel wall time; synchronous backends only: cpu, wasm) after one warm-up forward.
 * `--time N`: also the best of N un-profiled forwards (wall time, with the 1-minute load average before and after),
 * printed first as one JSON line `{"backend", "shape", "forwardS", "cpuUserS", "cpuSysS", "load"}` for scripts that compare
 * backends. `--cpu-time`: per-kernel CPU time (process.cpuUsage around each kernel call, summed over 2 forwards and
 * halved) instead of tf.profile's wall time: on a machine shared with other jobs, wall time measures the queue.
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
const cpuTime = process.argv.includes("--cpu-time");

/** Wraps every registered kernel of `name` (public registry API) to add its CPU time (µs) to `acc`. */
function timeKernels(name: string, acc: Map<string, { us: number; n: number }>): void {
  for (const k of tf.getKernelsForBackend(name)) {
    const f = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, name);
    const timed = ((args: Parameters<tf.KernelFunc>[0]) => {
      const u = process.cpuUsage();
      try {
        return f(args);
      } finally {
        const d = process.cpuUsage(u);
        const e = acc.get(k.kernelName) ?? { us: 0, n: 0 };
        acc.set(k.kernelName, { us: e.us + d.user + d.system, n: e.n + 1 });
      }
    }) as tf.KernelFunc;
    tf.registerKernel({ ...k, kernelFunc: timed });
  }
}

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
    let cpu = { user: Infinity, system: Infinity };
    for (let i = 0; i < timeReps; i++) {
      const t = performance.now();
      const u = process.cpuUsage();
      await run();
      const c = process.cpuUsage(u);
      best = Math.min(best, performance.now() - t);
      if (c.user + c.system < cpu.user + cpu.system) cpu = c;
    }
    const load = [load0, loadavg()[0]].map((l) => Number(l.toFixed(1)));
    // CPU time (user + system, this process) survives a loaded machine better than wall time.
    const s = (us: number) => Number((us / 1e6).toFixed(3));
    console.log(JSON.stringify({ backend, shape: `${b}x${p}`, forwardS: s(best * 1000), cpuUserS: s(cpu.user), cpuSysS: s(cpu.system), load }));
  }
  if (cpuTime) {
    const acc = new Map<string, { us: number; n: number }>();
    timeKernels(tf.getBackend(), acc);
    await run();
    acc.clear();
    const u = process.cpuUsage();
    await run();
    await run();
    const d = process.cpuUsage(u);
    const total = [...acc.values()].reduce((a, e) => a + e.us, 0) / 2;
    console.log(`${backend} (${backendInfo().matmul?.detail}), ${b}×${p}: forward CPU time ${((d.user + d.system) / 2e6).toFixed(2)} s, in kernels ${(total / 1e6).toFixed(2)} s (load ${loadavg()[0].toFixed(1)})`);
    console.log("| kernel | calls | CPU ms | share |\n|---|---|---|---|");
    for (const [name, e] of [...acc].sort((x, y) => y[1].us - x[1].us)) {
      console.log(`| ${name} | ${e.n / 2} | ${(e.us / 2000).toFixed(0)} | ${((50 * e.us) / total).toFixed(1)}% |`);
    }
    process.exit(0);
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
