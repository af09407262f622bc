/**
 * The GPU benchmark: lens on webgpu (Dawn → Vulkan → the GPU driver) against the CPU path (wasm + OpenBLAS, in a child
 * process of this script) in the same run, on random models of GPT-2 small's, gpt2-xl's and Pythia-2.8B's shapes.
 *
 *   npm run bench:gpu [-- --quick] [-- --write]
 *
 * - GPT-2 small is written as a Hugging Face checkpoint (bench/checkpoint.ts) and loaded with fromPretrained; gpt2-xl
 *   (6.2 GB) and Pythia-2.8B (11 GB in fp32) are pseudo-random TL state dicts made on the device (see buildModel):
 *   writing and loading them from disk alone would take longer than this benchmark's 8-minute budget
 *   (bench/loadMemory.ts measures loading).
 * - Measures: forward and runWithCache (all hooks) of 4×128 and 1×1024 tokens (and runWithCache of 1×128), a 12×12
 *   head-patching sweep (getActPatchAttnHeadOutAllPos, 8 prompts × 15 tokens, GPT-2 small), an SAE training step
 *   (d_sae = 8·d_model, batch 4096; bench/sae.ts). Times are the best of BENCH_REPS (default 2) after a warm-up; each
 *   timed call ends with a one-element read, which waits for the GPU to finish.
 * - Prints tokens/s, GFLOP/s and the fraction of the device's fp32 peak: BENCH_GPU_PEAK_TFLOPS, else a small table
 *   by adapter name (PEAKS below), else "n/a".
 * - `--quick`: tiny shapes (4 layers, d_model 64), 2×16 and 1×64 tokens, a 4×4 sweep; runs on a software adapter
 *   (sets LENS_WEBGPU_ADAPTER=any) in a few minutes — it proves the script works, its figures mean nothing.
 * - `--write`: also writes the table to bench/RESULTS-gpu.md.
 * Requirements on an NVIDIA machine: see bench/README.md ("GPU benchmark").
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { checkBindings, weightBindings } from "../src/lens/accel/bindingLimits";
import { webgpuAdapter, webgpuLimits } from "../src/lens/accel/dawnWebgpu";
import { expectedParamShapes } from "../src/lens/architectures/convert";
import { architectureFor } from "../src/lens/architectures/index";
import { backendInfo, setBackend } from "../src/lens/backend";
import { resolveConfig } from "../src/lens/config";
import { HookedTransformer } from "../src/lens/hookedTransformer";
import { getActPatchAttnHeadOutAllPos, logitDiff, normalizedMetric } from "../src/lens/patching/index";
import { benchTokens, forwardFlops, headSweepFlops, SHAPE, saeFlops, writeGpt2, type ModelShape } from "./checkpoint";
import { saeStep } from "./sae";

interface Spec {
  readonly name: string;
  readonly family: "gpt2" | "gpt_neox";
  readonly shape: ModelShape;
  /** Written as a checkpoint and loaded with fromPretrained (else a random state dict on the device). */
  readonly fromDisk?: boolean;
}
interface Row {
  model: string;
  op: string;
  tokens: string;
  backend: string;
  seconds?: number;
  flops: number;
  nTokens: number;
  note?: string;
}

const quick = process.argv.includes("--quick");
const TINY: ModelShape = { nLayers: 4, dModel: 64, nHeads: 4, dMlp: 256, dVocab: 512, nCtx: 128 };
const SPECS: readonly Spec[] = quick
  ? [{ name: "gpt2-tiny", family: "gpt2", shape: TINY, fromDisk: true }, { name: "neox-tiny", family: "gpt_neox", shape: TINY }]
  : [
      { name: "gpt2-small", family: "gpt2", shape: SHAPE, fromDisk: true },
      // Hugging Face configs: gpt2-xl (n_embd 1600, n_layer 48, n_head 25); EleutherAI/pythia-2.8b (hidden 2560, 32 layers, 32 heads, rotary_pct 0.25)
      { name: "gpt2-xl", family: "gpt2", shape: { nLayers: 48, dModel: 1600, nHeads: 25, dMlp: 6400, dVocab: 50257, nCtx: 1024 } },
      { name: "pythia-2.8b", family: "gpt_neox", shape: { nLayers: 32, dModel: 2560, nHeads: 32, dMlp: 10240, dVocab: 50304, nCtx: 2048 } },
    ];
const TOKENS: ReadonlyArray<[number, number]> = quick ? [[2, 16], [1, 64]] : [[4, 128], [1, 1024]];
const SWEEP = quick ? { batch: 2, pos: 8 } : { batch: 8, pos: 15 };
const reps = Number(process.env.BENCH_REPS ?? 2);
const deadline = Date.now() + (quick ? 30 : 7.5) * 60_000;

/** fp32 peaks (TFLOP/s) by adapter name: NVIDIA's datasheets (H100/H200 SXM 67, H100 PCIe 51, A100 19.5, L40S 91.6). */
const PEAKS: ReadonlyArray<[RegExp, number]> = [[/H200/i, 67], [/H100.*PCIe/i, 51], [/H100/i, 67], [/A100/i, 19.5], [/L40S/i, 91.6]];

function hfConfig(spec: Spec): Record<string, unknown> {
  const s = spec.shape;
  return spec.family === "gpt2"
    ? { model_type: "gpt2", n_layer: s.nLayers, n_embd: s.dModel, n_head: s.nHeads, n_inner: s.dMlp, n_positions: s.nCtx, vocab_size: s.dVocab, activation_function: "gelu_new" }
    : { model_type: "gpt_neox", num_hidden_layers: s.nLayers, hidden_size: s.dModel, num_attention_heads: s.nHeads, intermediate_size: s.dMlp,
        max_position_embeddings: s.nCtx, vocab_size: s.dVocab, rotary_pct: 0.25, hidden_act: "gelu", use_parallel_residual: true };
}

/** A model of `spec`'s shape with random weights (uniform ±0.05; LayerNorm weights 1 ± 0.05). */
async function buildModel(spec: Spec, dir: string): Promise<HookedTransformer> {
  if (spec.fromDisk) {
    await writeGpt2(dir, spec.shape);
    return HookedTransformer.fromPretrainedNoProcessing(dir);
  }
  const hf = hfConfig(spec);
  const cfg = resolveConfig(architectureFor(hf, spec.name).toConfig(hf, spec.name));
  checkBindings(weightBindings(cfg), spec.name); // as fromPretrained does: refuse weights the device cannot bind
  const sd = new Map<string, tf.Tensor>();
  let seed = 1;
  // 0.05·sin(a·i + b) per tensor: computed on the device from a ramp (tfjs's randomUniform draws every number in JS,
  // which for Pythia-2.8B's 2.8 G parameters would take minutes of the budget). Values only need to be non-degenerate.
  for (const [k, shape] of expectedParamShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1), a = 12.9898 + seed, b = seed++ * 0.7;
    sd.set(k, tf.tidy(() => {
      const r = tf.sin(tf.range(0, n, 1, "float32").mul(a).add(b)).mul(0.05).reshape(shape);
      return /\.w$/.test(k) ? r.add(1) : r;
    }));
  }
  return new HookedTransformer(cfg, sd);
}

/** Waits for everything queued before `t` by reading one element of it. */
async function sync(t: tf.Tensor): Promise<void> {
  const one = tf.tidy(() => t.reshape([-1]).slice([0], [1]));
  await one.data();
  one.dispose();
}

async function best(fn: () => Promise<void>): Promise<number> {
  await fn(); // warm-up: shader compilation, derived weights, buffer pools
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ts.push((performance.now() - t0) / 1000);
  }
  return Math.min(...ts);
}

/** Runs the measurements of one model on the current backend. `cpu`: the smaller CPU-path set (GPT-2 small only). */
async function benchModel(spec: Spec, backend: string, cpu: boolean, dir: string): Promise<Row[]> {
  const rows: Row[] = [];
  const s = spec.shape;
  const late = (op: string, tokens: string, flops: number, nTokens: number) => rows.push({ model: spec.name, op, tokens, backend, flops, nTokens, note: "skipped: time budget" });
  const model = await buildModel(spec, dir);
  try {
    const shapes: Array<[string, number, number]> = [];
    for (const [b, p] of cpu ? TOKENS.slice(0, 1) : TOKENS) shapes.push(["forward", b, p], ["runWithCache", b, p]);
    if (!cpu && !quick && !spec.fromDisk) shapes.push(["runWithCache", 1, 128]);
    for (const [op, b, p] of shapes) {
      const flops = forwardFlops(b, p, s);
      if (Date.now() > deadline) { late(op, `${b}×${p}`, flops, b * p); continue; }
      const tokens = tf.tensor2d(benchTokens(b, p, s.dVocab), [b, p], "int32");
      const seconds = await best(async () => {
        if (op === "forward") {
          const out = await model.forward(tokens);
          await sync(out);
          out.dispose();
        } else {
          const [out, cache] = await model.runWithCache(tokens);
          await sync(out);
          out.dispose();
          cache.dispose();
        }
      });
      tokens.dispose();
      rows.push({ model: spec.name, op, tokens: `${b}×${p}`, backend, seconds, flops, nTokens: b * p });
      console.error(`  ${backend} ${spec.name} ${op} ${b}×${p}: ${seconds.toFixed(3)} s`);
    }
    if (spec === SPECS[0]) {
      const { batch, pos } = SWEEP;
      const label = `${s.nLayers}×${s.nHeads} heads`;
      const flops = headSweepFlops(batch, pos, s);
      if (Date.now() > deadline) late("head sweep", `${batch}×${pos}, ${label}`, flops, 0);
      else {
        const clean = benchTokens(batch, pos, s.dVocab);
        const corrupted = clean.map((r) => r.map((x, p) => (p === pos - 5 ? (x + 101) % s.dVocab : x)));
        const answers = clean.map((_, i) => [(i * 37) % s.dVocab, (i * 53 + 7) % s.dVocab]);
        const [cl, cache] = await model.runWithCache(clean, { namesFilter: (n) => n.endsWith("hook_z") });
        cl.dispose();
        const metric = normalizedMetric((l: tf.Tensor) => logitDiff(l, answers), { clean: 1, corrupted: -1 });
        const seconds = await best(async () => {
          const grid = await getActPatchAttnHeadOutAllPos(model, corrupted, cache, metric, { silent: true });
          await grid.data(); // the caller's one read: the grid
          grid.dispose();
        });
        cache.dispose();
        rows.push({ model: spec.name, op: "head sweep", tokens: `${batch}×${pos}, ${label}`, backend, seconds, flops, nTokens: 0 });
        console.error(`  ${backend} ${spec.name} head sweep: ${seconds.toFixed(2)} s`);
      }
    }
  } finally {
    model.dispose();
  }
  if (!cpu || spec === SPECS[0]) {
    const [dIn, dSae, batch] = quick ? [s.dModel, 8 * s.dModel, 512] : [s.dModel, 8 * s.dModel, 4096];
    const flops = saeFlops(batch, dIn, dSae);
    if (Date.now() > deadline) late("SAE step", `${batch}×${dIn}→${dSae}`, flops, 0);
    else {
      const seconds = await saeStep(reps, dIn, dSae, batch);
      rows.push({ model: spec.name, op: "SAE step", tokens: `${batch}×${dIn}→${dSae}`, backend, seconds, flops, nTokens: 0 });
      console.error(`  ${backend} ${spec.name} SAE step: ${seconds.toFixed(3)} s`);
    }
  }
  return rows;
}

function table(rows: readonly Row[], peakTflops: number | undefined): string {
  const lines = ["| model | op | tokens | backend | s | tokens/s | GFLOP/s | % fp32 peak |", "|---|---|---|---|---|---|---|---|"];
  for (const r of rows) {
    if (r.seconds === undefined) {
      lines.push(`| ${r.model} | ${r.op} | ${r.tokens} | ${r.backend} | ${r.note} | | | |`);
      continue;
    }
    const gflops = r.flops / r.seconds / 1e9;
    const frac = r.backend === "webgpu" && peakTflops ? `${((gflops / 1000 / peakTflops) * 100).toFixed(1)}%` : "n/a";
    lines.push(`| ${r.model} | ${r.op} | ${r.tokens} | ${r.backend} | ${r.seconds.toFixed(3)} | ${r.nTokens ? Math.round(r.nTokens / r.seconds) : ""} | ${gflops.toFixed(1)} | ${frac} |`);
  }
  return lines.join("\n");
}

/** The CPU path (child process): GPT-2 small on wasm + OpenBLAS (cpu if wasm cannot start); prints its rows as JSON. */
async function cpuChild(dir: string): Promise<void> {
  const info = await setBackend("wasm").catch(() => setBackend("cpu"));
  const rows = await benchModel(SPECS[0]!, `${info.name} (${info.matmul?.via ?? "backend"})`, true, dir);
  console.log(JSON.stringify(rows));
}

async function main(): Promise<void> {
  const child = process.argv.indexOf("--cpu-child");
  if (child >= 0) return cpuChild(process.argv[child + 1]!);
  if (quick) process.env.LENS_WEBGPU_ADAPTER ??= "any";
  const t0 = Date.now();
  await setBackend("webgpu");
  const adapter = webgpuAdapter();
  const name = adapter ? `${adapter.vendor} ${adapter.architecture} ${adapter.description}`.trim() : "?";
  const peak = Number(process.env.BENCH_GPU_PEAK_TFLOPS) || PEAKS.find(([re]) => re.test(name))?.[1];
  const limits = webgpuLimits();
  console.error(`webgpu adapter: ${name}; maxStorageBufferBindingSize ${limits?.maxStorageBufferBindingSize}, maxBufferSize ${limits?.maxBufferSize}; fp32 peak ${peak ?? "unknown"} TFLOP/s`);
  const rows: Row[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), "lens-bench-gpu-"));
  try {
    for (const spec of SPECS) {
      try {
        rows.push(...(await benchModel(spec, "webgpu", false, path.join(dir, spec.name))));
      } catch (e) {
        console.error(e);
        rows.push({ model: spec.name, op: "all", tokens: "", backend: "webgpu", flops: 0, nTokens: 0, note: `failed: ${String((e as Error).message).split("\n")[0]}` });
      }
    }
    const gpuSeconds = (Date.now() - t0) / 1000;
    // The CPU path on the GPT-2-small checkpoint written above, in its own process (no GPU memory shared).
    const r = spawnSync(process.execPath, ["--import", "tsx", __filename, "--cpu-child", path.join(dir, SPECS[0]!.name), ...(quick ? ["--quick"] : [])], {
      encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, LENS_BACKEND: "" }, maxBuffer: 64 << 20,
    });
    if (r.status === 0) rows.push(...(JSON.parse(r.stdout.trim().split("\n").pop()!) as Row[]));
    else console.error(`the CPU-path child failed (exit ${r.status ?? r.signal})`);
    const fwd = (backend: (b: string) => boolean) => rows.find((x) => x.model === SPECS[0]!.name && x.op === "forward" && x.tokens === `${TOKENS[0]![0]}×${TOKENS[0]![1]}` && backend(x.backend))?.seconds;
    const [g, c] = [fwd((b) => b === "webgpu"), fwd((b) => b !== "webgpu")];
    const header = [
      `# GPU benchmark${quick ? " (--quick: tiny shapes, figures meaningless)" : ""}`, "",
      `${new Date().toISOString()}; webgpu adapter: ${name}; fp32 peak ${peak ? `${peak} TFLOP/s` : "unknown (set BENCH_GPU_PEAK_TFLOPS)"}; ` +
        `CPU path: ${rows.find((x) => x.backend !== "webgpu")?.backend ?? "did not run"}; webgpu part ${gpuSeconds.toFixed(0)} s, total ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
      g && c ? `\n${SPECS[0]!.name} forward ${TOKENS[0]!.join("×")}: webgpu is ${(c / g).toFixed(1)}× the CPU path.` : "", "",
    ].join("\n");
    const out = `${header}\n${table(rows, peak)}\n`;
    console.log(out);
    if (process.argv.includes("--write")) writeFileSync(path.join(__dirname, "RESULTS-gpu.md"), out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.error(`backend info: ${JSON.stringify(backendInfo().matmul)}`);
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
