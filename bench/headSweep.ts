/**
 * Times a full 12×12 head sweep (`getActPatchAttnHeadOutAllPos`, 144 patched runs) on a random GPT-2-small-shaped
 * model (12 layers, dModel 768, vocab 50257) with IOI-sized inputs: 8 prompts × 15 tokens, as in ARENA 1.4.1.
 * The checkpoint is generated in a temp dir and removed afterwards.
 *   npx tsx bench/headSweep.ts            (LENS_BACKEND=wasm|cpu|tensorflow picks the backend; BENCH_BATCH, BENCH_POS)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { backendInfo, HookedTransformer } from "../src/lens/index";
import { getActPatchAttnHeadOutAllPos, logitDiff, normalizedMetric } from "../src/lens/patching/index";
import { makeRng } from "../src/lens/datasets/index";
import { writeGpt2Small } from "./checkpoint";

async function main(): Promise<void> {
  const batch = Number(process.env.BENCH_BATCH ?? 8);
  const pos = Number(process.env.BENCH_POS ?? 15);
  const dir = mkdtempSync(path.join(tmpdir(), "lens-headsweep-"));
  try {
    let t = Date.now();
    await writeGpt2Small(dir);
    const model = await HookedTransformer.fromPretrained(dir);
    console.log(`checkpoint written and loaded in ${((Date.now() - t) / 1000).toFixed(1)} s; backend ${backendInfo()?.name}`);
    const rng = makeRng(0);
    const clean = Array.from({ length: batch }, () => Array.from({ length: pos }, () => rng.int(0, 50257)));
    const corrupted = clean.map((r) => r.map((x, p) => (p === pos - 5 ? rng.int(0, 50257) : x)));
    const answers = clean.map(() => [rng.int(0, 50257), rng.int(0, 50257)]);
    const base = (l: tf.Tensor) => logitDiff(l, answers);
    const read = async (l: tf.Tensor) => {
      const v = base(l);
      const x = (await v.data())[0]!;
      v.dispose();
      return x;
    };
    t = Date.now();
    const [cleanLogits, cleanCache] = await model.runWithCache(clean, { namesFilter: (n) => n.endsWith("hook_z") || n.endsWith("hook_resid_pre") });
    const cleanValue = await read(cleanLogits);
    const forwardMs = Date.now() - t;
    const corruptLogits = await model.forward(corrupted);
    const corruptValue = await read(corruptLogits);
    tf.dispose([cleanLogits, corruptLogits]);
    const metric = normalizedMetric(base, { clean: cleanValue, corrupted: corruptValue });
    const before = tf.memory().numTensors;
    t = Date.now();
    const grid = await getActPatchAttnHeadOutAllPos(model, corrupted, cleanCache, metric);
    const sweepS = (Date.now() - t) / 1000;
    grid.dispose();
    const leaked = tf.memory().numTensors - before;
    cleanCache.dispose();
    console.log(
      `head sweep 12×12 (getActPatchAttnHeadOutAllPos), batch ${batch} × ${pos} tokens, vocab 50257: ${sweepS.toFixed(1)} s ` +
        `(${((sweepS * 1000) / 144).toFixed(0)} ms per patched run; one full clean forward with cache: ${forwardMs} ms; ` +
        `tensors leaked by the sweep: ${leaked})`,
    );
    model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
