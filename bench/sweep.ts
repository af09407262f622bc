/**
 * A 12×12 head sweep (`getActPatchAttnHeadOutAllPos`, 144 patched runs) on a random GPT-2-small-shaped model, one
 * patched run per forward (`maxBatchCells: 1`, TransformerLens's loop) against the batched sweep (several heads of a
 * layer per forward, default memory budget), in the same process on the default backend, alternating the two.
 * Prints both times, the ratio (target ≤ 0.5), the largest |Δ| between the two grids and leaked tensors.
 *   npx tsx bench/sweep.ts [--write]   BENCH_SWEEP_SHAPES="8x15,1x15" (prompts × tokens), BENCH_REPEAT=1 (runs of each,
 *                                      best kept), BENCH_BUDGET (batchBudgetBytes), LENS_BACKEND picks the backend.
 * `--write` replaces the head-sweep section of bench/RESULTS.md. The checkpoint is written to a temp dir and removed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { backendInfo, HookedTransformer } from "../src/lens/index";
import { makeRng } from "../src/lens/datasets/index";
import * as P from "../src/lens/patching/index";
import { headSweepFlops, writeGpt2Small } from "./checkpoint";
import { writeResultsSection } from "./results";

const load = () => loadavg().map((x) => x.toFixed(1)).join(", ");

interface Row { shape: string; seqS: number; batchedS: number; cells: number[]; maxDiff: number; span: number; leaked: number; load: string }

/** GFLOP/s of plain matmuls of a batched run's shapes (1440 rows: 8 prompts × 15 tokens × 12 cells), best of 5. */
async function matmulGflops(n: number): Promise<number> {
  const [a, b] = [tf.randomNormal([1440, 768]), tf.randomNormal([768, n])];
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    const c = tf.matMul(a, b);
    await c.data();
    best = Math.min(best, (performance.now() - t) / 1000);
    c.dispose();
  }
  tf.dispose([a, b]);
  return (2 * 1440 * 768 * n) / best / 1e9;
}

async function timeSweep(run: () => Promise<tf.Tensor>): Promise<{ s: number; grid: tf.Tensor }> {
  const t = performance.now();
  const grid = await run();
  await grid.data(); // the sweep reads nothing back; the caller's read ends the timing
  return { s: (performance.now() - t) / 1000, grid };
}

async function benchShape(model: HookedTransformer, batch: number, pos: number, repeat: number, budget: number | undefined): Promise<Row> {
  const loadBefore = load();
  const rng = makeRng(batch * 1000 + pos);
  const clean = Array.from({ length: batch }, () => Array.from({ length: pos }, () => rng.int(0, 50257)));
  const corrupted = clean.map((r) => r.map((x, p) => (p === pos - 5 ? rng.int(0, 50257) : x)));
  const answers = clean.map(() => [rng.int(0, 50257), rng.int(0, 50257)]);
  const base = (l: tf.Tensor) => P.logitDiff(l, answers);
  const read = async (l: tf.Tensor) => (await P.metricValue(base, l));
  const [cleanLogits, cleanCache] = await model.runWithCache(clean, { namesFilter: (n) => n.endsWith("hook_z") });
  const corruptLogits = await model.forward(corrupted);
  const baseline = { clean: await read(cleanLogits), corrupted: await read(corruptLogits) };
  const metric = P.normalizedMetric(base, baseline);
  tf.dispose([cleanLogits, corruptLogits]);
  const opts = { silent: true, batchBudgetBytes: budget };
  // Warm-up of both paths on the last layer (derived weights, wasm heap growth for the batched size).
  for (const maxBatchCells of [1, undefined]) {
    const w = await P.genericActivationPatch(model, corrupted, cleanCache, metric, {
      ...opts, maxBatchCells, activationName: "z", axes: ["layer", "head"], setter: P.layerHeadVectorSetter, indices: Array.from({ length: 12 }, (_, h) => [11, h]),
    });
    w.dispose();
  }
  const before = tf.memory().numTensors;
  let seqS = Infinity;
  let batchedS = Infinity;
  let maxDiff = 0;
  for (let r = 0; r < repeat; r++) {
    const seq = await timeSweep(() => P.getActPatchAttnHeadOutAllPos(model, corrupted, cleanCache, metric, { ...opts, maxBatchCells: 1 }));
    const bat = await timeSweep(() => P.getActPatchAttnHeadOutAllPos(model, corrupted, cleanCache, metric, opts));
    seqS = Math.min(seqS, seq.s);
    batchedS = Math.min(batchedS, bat.s);
    const [a, b] = [await seq.grid.data(), await bat.grid.data()];
    maxDiff = Math.max(maxDiff, ...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
    tf.dispose([seq.grid, bat.grid]);
    console.error(`  ${batch}×${pos} run ${r + 1}: one at a time ${seq.s.toFixed(2)} s, batched ${bat.s.toFixed(2)} s`);
  }
  const leaked = tf.memory().numTensors - before;
  cleanCache.dispose();
  const cells = Array.from({ length: 12 }, (_, l) => Math.min(12, P.sweepBatchCells(model.cfg, batch, pos, l, opts)));
  return { shape: `${batch}×${pos}`, seqS, batchedS, cells, maxDiff, span: baseline.clean - baseline.corrupted, leaked, load: `${loadBefore} → ${load()}` };
}

async function main(): Promise<void> {
  const shapes = (process.env.BENCH_SWEEP_SHAPES ?? "8x15,1x15").split(",").map((s) => s.split("x").map(Number) as [number, number]);
  const repeat = Number(process.env.BENCH_REPEAT ?? 1);
  const budget = process.env.BENCH_BUDGET ? Number(process.env.BENCH_BUDGET) : undefined;
  const dir = mkdtempSync(path.join(tmpdir(), "lens-sweep-"));
  try {
    await writeGpt2Small(dir);
    const model = await HookedTransformer.fromPretrained(dir, { progress: false });
    const rows: Row[] = [];
    for (const [b, p] of shapes) rows.push(await benchShape(model, b, p, repeat, budget));
    const [mlpIn, unembed] = [await matmulGflops(3072), await matmulGflops(50257)];
    const info = backendInfo();
    const lines = [
      `## Batched head sweep (bench/sweep.ts, ${new Date().toISOString().slice(0, 10)})`,
      "",
      `12×12 head sweep (\`getActPatchAttnHeadOutAllPos\`, 144 patched runs, normalised logit difference) on a random GPT-2-small-shaped model, backend ${info?.name}` +
        ` (${info?.chosenBy}, matmul: ${info?.matmul?.detail ?? "?"}); one patched run per forward (\`maxBatchCells: 1\`) against the batched sweep` +
        ` (batchBudgetBytes ${budget ?? `default, ${(P.defaultBatchBudgetBytes() / 2 ** 30).toFixed(2)} GiB`}), same process, best of ${repeat}. Load average (1, 5, 15 min) before → after each row.` +
        ` max |Δ| is between the two grids of the normalised metric ((patched − corrupted) / span, span = clean − corrupted logit difference).` +
        ` FLOPs count the matmuls of every patched run (blocks from its layer on, and the unembedding); for comparison, plain` +
        ` matmuls [1440, 768] × [768, 3072] and × [768, 50257] run at ${mlpIn.toFixed(0)} and ${unembed.toFixed(0)} GFLOP/s here.`,
      "",
      "| prompts × tokens | one at a time s (GFLOP/s) | batched s (GFLOP/s) | batched / one at a time | cells per forward, layers 0–11 | max \\|Δ\\| (span) | leaked | load avg |",
      "|---|---|---|---|---|---|---|---|",
      ...rows.map((r) => {
        const [b, p] = r.shape.split("×").map(Number) as [number, number];
        const gf = (t: number) => (headSweepFlops(b, p) / t / 1e9).toFixed(0);
        return `| ${r.shape} | ${r.seqS.toFixed(2)} (${gf(r.seqS)}) | ${r.batchedS.toFixed(2)} (${gf(r.batchedS)}) | **${(r.batchedS / r.seqS).toFixed(2)}** | ${r.cells.join(" ")} | ${r.maxDiff.toExponential(1)} (${r.span.toFixed(2)}) | ${r.leaked} | ${r.load} |`;
      }),
    ];
    lines.push(
      "",
      `Target batched / one at a time ≤ 0.5: ${rows.map((r) => `${r.shape} ${r.batchedS / r.seqS <= 0.5 ? "met" : "not met"}`).join(", ")}. Batching makes the` +
        " matmuls taller and cuts per-op overhead; it does not cut FLOPs, so a shape whose one-at-a-time runs are already near" +
        " the matmul ceiling gains little.",
    );
    const section = lines.join("\n");
    console.log(section);
    if (process.argv.includes("--write")) writeResultsSection("head-sweep", section);
    model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
