/**
 * Large shapes (part of `npm run bench`; alone: `npx tsx bench/large.ts`): random checkpoints with the real shapes of
 * gpt2-xl (F32) and Pythia-2.8B (F16), written by bench/largeShapes.ts into .tmp/bench-large/ (gitignored; deleted
 * after the run unless BENCH_KEEP=1). For each, in a fresh child process with the defaults (backend chosen by size):
 * fromPretrained with default processing, a 1×128 forward, a filtered runWithCache (hook_resid_post), peak RSS; then
 * bench/numpy_large.py on the same file in the same run. One model at a time (the machine's memory is shared).
 * BENCH_LARGE_SHAPES="gpt2-xl" picks shapes; BLAS threads as in run.ts (BENCH_THREADS, default 1). The table goes to
 * stdout and into bench/RESULTS.md between the large-shapes markers.
 */
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import * as path from "node:path";
import { benchTokens, forwardFlops } from "./checkpoint";
import { LARGE_SHAPES, writeLargeCheckpoint, type LargeShape } from "./largeShapes";
import { writeResultsSection } from "./results";

const MiB = 2 ** 20;
const threads = process.env.BENCH_THREADS ?? "1";
const env = { ...process.env, OPENBLAS_NUM_THREADS: threads, LENS_BLAS_THREADS: threads, LENS_WASM_THREADS: threads };
const load = () => loadavg().map((x) => x.toFixed(1)).join(", ");
const rss = () => process.memoryUsage().rss;

async function child(dir: string, id: string): Promise<void> {
  const tf = await import("@tensorflow/tfjs");
  const { HookedTransformer, estimateRunWithCacheBytes, backendInfo } = await import("../src/lens/index");
  const shape = LARGE_SHAPES[id];
  const before = rss();
  let t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const model = await HookedTransformer.fromPretrained(dir);
  const loadS = (performance.now() - t0) / 1000;
  const loadCpu = process.cpuUsage(cpu0);
  const loadCpuS = (loadCpu.user + loadCpu.system) / 1e6; // CPU time: what the load costs on a machine of its own
  const loadPeak = process.resourceUsage().maxRSS * 1024;
  const afterLoad = rss();
  if (process.env.BENCH_LOAD_ONLY === "1") {
    console.log(JSON.stringify({ backend: backendInfo().name, weightBytes: model.weightBytes, loadS, loadCpuS, loadPeakMiB: loadPeak / MiB, rssAfterLoadMiB: afterLoad / MiB }));
    process.exit(0);
  }
  const tokens = tf.tensor2d(benchTokens(1, 128, shape.dVocab), [1, 128], "int32");
  t0 = performance.now();
  (await model.forward(tokens)).dispose(); // first call also builds the derived weights (flattened W_Q/K/V)
  const firstS = (performance.now() - t0) / 1000;
  const start = tf.memory().numTensors;
  t0 = performance.now();
  const logits = (await model.forward(tokens)) as import("@tensorflow/tfjs").Tensor3D;
  const forwardS = (performance.now() - t0) / 1000;
  const lp = tf.tidy(() => tf.logSoftmax(logits.slice([0, 127, 0], [1, 1, -1]).reshape([-1])));
  writeFileSync(path.join(dir, "lens-logprobs.f32"), Buffer.from((await lp.data()).buffer as ArrayBuffer));
  tf.dispose([logits, lp]);
  const namesFilter = (n: string) => n.endsWith("hook_resid_post");
  t0 = performance.now();
  const [out, cache] = await model.runWithCache(tokens, { namesFilter });
  const cacheS = (performance.now() - t0) / 1000;
  let cacheBytes = 0;
  for (const t of cache.values()) cacheBytes += t.size * 4;
  const est = estimateRunWithCacheBytes(model, [1, 128], { namesFilter });
  const cachedHooks = cache.size;
  tf.dispose([out]);
  cache.dispose();
  const leaked = tf.memory().numTensors - start;
  tokens.dispose();
  const info = backendInfo();
  console.log(JSON.stringify({
    backend: info.name, reason: [`chosen by ${info.chosenBy}`, ...info.skipped.filter((x) => / needs /.test(x.reason)).map((x) => `${x.name} skipped: ${x.reason}`)].join("; "), matmul: info.matmul?.via ?? "", weightBytes: model.weightBytes,
    loadS, loadCpuS, firstS, forwardS, cacheS, cacheBytes, estCacheBytes: est.cacheBytes, cachedHooks, leaked,
    rssBeforeMiB: before / MiB, rssAfterLoadMiB: afterLoad / MiB, loadPeakMiB: loadPeak / MiB, peakMiB: process.resourceUsage().maxRSS / 1024,
  }));
  model.dispose();
  tf.engine().reset();
  process.exit(0);
}

function runJson(cmd: string, args: string[]): Record<string, any> {
  const r = spawnSync(cmd, args, { env, encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "inherit"] });
  const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  if (r.status !== 0 || !line) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stdout.slice(-2000)}`);
  return JSON.parse(line);
}

const f = (x: number, d = 2) => x.toFixed(d);

async function benchShape(s: LargeShape): Promise<string[]> {
  const dir = path.join(".tmp", "bench-large", s.id);
  const loadBefore = load();
  try {
    let t0 = performance.now();
    const fileBytes = await writeLargeCheckpoint(dir, s);
    console.error(`${s.id}: wrote ${f(fileBytes / 1e9)} GB (${s.dtype}) in ${f((performance.now() - t0) / 1000, 0)} s`);
    t0 = performance.now();
    const lens = runJson(process.execPath, ["--expose-gc", "--import", "tsx", __filename, "--child", dir, s.id]);
    console.error(JSON.stringify(lens));
    const np = runJson("/usr/bin/python3", ["bench/numpy_large.py", dir, dir, "2"]);
    console.error(JSON.stringify(np));
    const w = lens.weightBytes / MiB;
    const gflops = forwardFlops(1, 128, { nLayers: s.nLayers, dModel: s.dModel, nHeads: s.nHeads, dMlp: s.dMlp, dVocab: s.dVocab, nCtx: s.nCtx }) / 1e9;
    return [
      `| ${s.id} (${s.dtype}, ${f(fileBytes / 1e9)} GB file) | ${lens.backend} | ${f(lens.weightBytes / 1e9)} GB | ${f(lens.loadS, 1)} (CPU ${f(lens.loadCpuS, 1)}) | ` +
        `${f(lens.forwardS)} (first ${f(lens.firstS)}) | ${f(np.forward_s)} | ${f(lens.forwardS / np.forward_s)} | ${f(gflops / lens.forwardS, 1)} | ` +
        `${f(lens.cacheS)} (${lens.cachedHooks} hooks, ${f(lens.cacheBytes / MiB, 1)} MiB; estimate ${f(lens.estCacheBytes / MiB, 1)}) | ` +
        `${Math.round(lens.loadPeakMiB)} (${f(lens.loadPeakMiB / w)}×) | ${Math.round(lens.peakMiB)} (${f(lens.peakMiB / w)}×) | ${Math.round(np.peakRssMiB)} | ` +
        `${np.maxAbsLogprobDiff === null ? "–" : Number(np.maxAbsLogprobDiff).toExponential(1)} | ${lens.leaked} | ${loadBefore} → ${load()} |`,
      `  - ${s.id}: ${lens.reason}`,
    ];
  } finally {
    if (process.env.BENCH_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
  }
}


async function main(): Promise<void> {
  if (process.argv[2] === "--child") return child(process.argv[3], process.argv[4]);
  const ids = (process.env.BENCH_LARGE_SHAPES ?? "gpt2-xl,pythia-2.8b").split(",");
  const rows: string[] = [];
  const notes: string[] = [];
  for (const id of ids) {
    const s = LARGE_SHAPES[id];
    if (!s) throw new Error(`BENCH_LARGE_SHAPES: unknown shape "${id}" (known: ${Object.keys(LARGE_SHAPES).join(", ")})`);
    const [row, note] = await benchShape(s);
    rows.push(row);
    notes.push(note);
  }
  const cpu = spawnSync("sh", ["-c", "lscpu | grep 'Model name' | head -1 | cut -d: -f2"], { encoding: "utf8" }).stdout.trim();
  const section = [
    `## Large shapes (bench/large.ts, ${new Date().toISOString().slice(0, 10)})`,
    "",
    `Random checkpoints of the real shapes, defaults (backend chosen by size, default weight processing), 1×128 tokens, BLAS threads ${threads} on both sides; ${cpu}. ` +
      "Times in seconds (forward: the second call; the first also builds the derived weights); RSS in MiB, × = over the float32 weights; load average (1, 5, 15 min) before → after.",
    "",
    "| model | backend | float32 weights | load + processing s (CPU s) | lens forward s | numpy forward s | × numpy | GFLOP/s | runWithCache s (resid_post) | peak RSS after load | peak RSS overall | numpy peak RSS | max \\|Δ log-prob\\| | leaked | load avg |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
    "Why that backend:",
    ...notes,
  ].join("\n");
  console.log(section);
  if (ids.every((id) => !id.startsWith("smoke-"))) writeResultsSection("large-shapes", section);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
