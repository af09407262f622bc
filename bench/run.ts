/**
 * `npm run bench`: lens against a float32 NumPy implementation on a random GPT-2-small-shaped checkpoint.
 * Runs each backend configuration in its own process, then bench/numpy_forward.py and bench/numpy_sae.py with
 * /usr/bin/python3, prints a markdown table and writes it to bench/RESULTS.md. BLAS threads are pinned to the same
 * count on both sides: BENCH_THREADS (default 1). Then bench/sweep.ts (the 12×12 head sweep, one patched run per forward
 * against batched, its own section of bench/RESULTS.md; BENCH_SWEEP=0 skips it) and bench/large.ts (gpt2-xl and Pythia-2.8B shapes, several minutes and
 * ~10 GB of RAM each; BENCH_LARGE=0 skips it), which keeps its own section of bench/RESULTS.md. Stock and threaded wasm run 4×128 only unless BENCH_FULL=1; LENS_WASM_THREADS is pinned to BENCH_THREADS except in the threaded row (BENCH_WASM_THREADS, default 2). BENCH_ONLY="wasm+BLAS,cpu+BLAS" picks configurations (ids below).
 */
import { spawnSync } from "node:child_process";
import { execSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import { forwardFlops, writeGpt2Small } from "./checkpoint";

const threads = process.env.BENCH_THREADS ?? "1";
// wasm's own thread pool is pinned too (LENS_WASM_THREADS; 1 = stock module), except in the "wasm threaded" row.
const wasmThreads = process.env.BENCH_WASM_THREADS ?? "2";
const env = { ...process.env, OPENBLAS_NUM_THREADS: threads, LENS_BLAS_THREADS: threads, LENS_WASM_THREADS: threads };
// The pure-JS cpu backend's elementwise kernels take ~70 s for a 4×128 forward even with BLAS matmuls (see the
// profile in bench/README.md), so cpu runs only the 1×16 shape.
const CONFIGS: Array<{ id: string; backend: string; blas: boolean; tiny?: boolean; quick?: boolean; noCache?: boolean; env?: Record<string, string> }> = [
  { id: "wasm+BLAS", backend: "wasm", blas: true },
  { id: "wasm (stock)", backend: "wasm", blas: false, quick: process.env.BENCH_FULL !== "1" },
  // The threaded-SIMD module (accel/wasmThreads.ts) with tfjs's own kernels: its ratio to "wasm (stock)" is the
  // wasm-only fallback's speed-up (BENCH_WASM_THREADS, default 2).
  { id: "wasm threaded (stock kernels)", backend: "wasm", blas: false, quick: process.env.BENCH_FULL !== "1", env: { LENS_WASM_THREADS: wasmThreads } },
  { id: "cpu+BLAS", backend: "cpu", blas: true, tiny: true },
  { id: "cpu (stock)", backend: "cpu", blas: false, tiny: true, noCache: true },
];
const only = process.env.BENCH_ONLY?.split(",");

function runJson(cmd: string, args: string[], extraEnv: Record<string, string> = {}): Record<string, any> {
  const r = spawnSync(cmd, args, { env: { ...env, ...extraEnv }, encoding: "utf8", maxBuffer: 1 << 26 });
  const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  if (r.status !== 0 || !line) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(line);
}

const f = (x: number | undefined, d = 2) => (x === undefined ? "–" : x.toFixed(d));

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), "lens-bench-"));
  const loadBefore = loadavg().map((x) => x.toFixed(1)).join(", ");
  try {
    console.error(`writing the GPT-2-small-shaped checkpoint to ${dir} …`);
    await writeGpt2Small(path.join(dir, "model"));
    const lens: Record<string, any> = {};
    for (const c of CONFIGS) {
      if (only && !only.includes(c.id)) continue;
      console.error(`lens ${c.id} …`);
      const args = ["--import", "tsx", "bench/lensBench.ts", c.backend, path.join(dir, "model"), dir, ...(c.tiny ? ["--tiny"] : []), ...(c.quick ? ["--quick"] : []), ...(c.noCache ? ["--no-cache"] : [])];
      try {
        lens[c.id] = runJson(process.execPath, args, { ...(c.blas ? {} : { LENS_BLAS: "0" }), ...c.env });
        console.error(JSON.stringify(lens[c.id]));
      } catch (e) {
        console.error(`lens ${c.id} failed: ${(e as Error).message}`);
      }
    }
    console.error("numpy …");
    const np = runJson("/usr/bin/python3", ["bench/numpy_forward.py", path.join(dir, "model"), dir, "2"]);
    console.error(JSON.stringify(np));
    const npSae = runJson("/usr/bin/python3", ["bench/numpy_sae.py", "2"]);
    console.error(JSON.stringify(npSae));
    const cpu = execSync("lscpu | grep 'Model name' | head -1 | cut -d: -f2").toString().trim();
    const cores = execSync("nproc").toString().trim();
    const lines = [
      `Machine: ${cpu}, ${cores} cores (shared with other jobs: figures are noisy; load average ${loadBefore} at the start, ${loadavg().map((x) => x.toFixed(1)).join(", ")} at the end); BLAS threads ${threads} on both sides; numpy ${np.numpy}.`,
      `Model: random GPT-2-small shape (12 layers, d_model 768, 12 heads, d_mlp 3072, vocab 50257). Times are the best of 2 runs after a warm-up (stock kernels: 1 run after a warm-up), seconds.`,
      "",
      "| config | matmul | shape | forward s | × numpy | runWithCache s (hooks) | × numpy fwd | tokens/s | GFLOP/s | leaked tensors | peak RSS MiB |",
      "|---|---|---|---|---|---|---|---|---|---|---|",
    ];
    for (const r of np.rows) {
      const [b, p] = r.shape.split("x").map(Number);
      lines.push(`| numpy | OpenBLAS | ${b}×${p} | ${f(r.forward_s)} | 1.00 | – | – | ${f((b * p) / r.forward_s, 0)} | ${f(forwardFlops(b, p) / r.forward_s / 1e9, 1)} | – | ${np.peakRssMiB} |`);
    }
    for (const [id, res] of Object.entries(lens)) {
      for (const r of res.rows) {
        const ref = np.rows.find((x: any) => x.shape.replace("x", "×") === r.shape);
        const ratio = (t: number | undefined) => (t === undefined || !ref ? "–" : f(t / ref.forward_s));
        const how = `${res.matmul}${res.wasm ? `; ${res.wasm}` : ""}`.replace(/\|/g, "/");
        lines.push(`| lens ${id} | ${how} | ${r.shape} | ${f(r.forward_s)} | ${ratio(r.forward_s)} | ${f(r.cache_s)} (${r.cachedHooks}) | ${ratio(r.cache_s)} | ${f(r.tokensPerS, 0)} | ${f(r.gflops, 1)} | ${r.leaked} | ${res.peakRssMiB} |`);
      }
    }
    const stock = lens["wasm (stock)"]?.rows[0]?.forward_s;
    const threaded = lens["wasm threaded (stock kernels)"]?.rows[0]?.forward_s;
    if (stock && threaded) lines.push("", `Threaded wasm (${wasmThreads} threads) against stock single-threaded wasm, 4×128 forward, tfjs's own kernels: ${f(stock / threaded)}× faster (load average before the run: ${loadBefore}).`);
    lines.push("", "SAE training step (d_in 768, d_sae 6144, batch 4096, MSE + L1, Adam):", "", "| config | step s | × numpy | GFLOP/s | leaked tensors |", "|---|---|---|---|---|");
    lines.push(`| numpy (hand-written backward) | ${f(npSae.step_s)} | 1.00 | ${f((6 * 2 * 4096 * 768 * 6144) / npSae.step_s / 1e9, 1)} | – |`);
    for (const [id, res] of Object.entries(lens)) {
      if (res.sae) lines.push(`| lens ${id} (optimizer.minimize) | ${f(res.sae.step_s)} | ${f(res.sae.step_s / npSae.step_s)} | ${f(res.sae.gflops, 1)} | ${res.sae.leaked} |`);
    }
    const diffs = Object.entries(np.maxAbsLogitDiff).map(([k, v]) => `${k}: ${(v as number).toExponential(2)}`).join(", ");
    lines.push("", `Max |Δ| of the last-position logits (4×128, sequence 0) against numpy: ${diffs || "not compared"}.`);
    const table = lines.join("\n");
    console.log(table);
    // Sections other scripts own (between <!-- name --> and <!-- /name --> markers, e.g. bench/large.ts's) are kept.
    const old = existsSync("bench/RESULTS.md") ? readFileSync("bench/RESULTS.md", "utf8") : "";
    const kept = [...old.matchAll(/<!-- ([\w-]+) -->[\s\S]*?<!-- \/\1 -->/g)].map((m) => m[0]).join("\n\n");
    writeFileSync("bench/RESULTS.md", `# Benchmark results (latest \`npm run bench\`)\n\n${table}\n${kept ? `\n${kept}\n` : ""}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function all(): Promise<void> {
  await main();
  if (process.env.BENCH_SWEEP !== "0") {
    const r = spawnSync(process.execPath, ["--import", "tsx", "bench/sweep.ts", "--write"], { env, stdio: "inherit" });
    if (r.status !== 0) throw new Error(`bench/sweep.ts failed (${r.status})`);
  }
  if (process.env.BENCH_LARGE === "0") return;
  const r = spawnSync(process.execPath, ["--import", "tsx", "bench/large.ts"], { env, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`bench/large.ts failed (${r.status})`);
}

all().catch((e) => {
  console.error(e);
  process.exit(1);
});
