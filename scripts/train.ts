/**
 * Trains a bundled toy model from scratch and writes it to data/models/<name>/ (Hugging Face layout + model card).
 * Usage: npm run train -- <toy-attn-2l|toy-ioi|toy-ioi-circuit> [--out DIR] [--max-steps N] [--fresh] [--card-only]
 * Checkpoints go to .tmp/train/<basename of DIR>/ every evaluation; a rerun resumes from there unless --fresh.
 * `--card-only` rewrites README.md of an already trained model from its training.json (no training).
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { ensureBackend } from "../src/lens/backend";
import { corpusBatch } from "../src/lens/data/corpora";
import { tinyTokenizerConfig, tinyTokenizerJson } from "../src/lens/data/tinyTokenizer";
import { HookedTransformer } from "../src/lens/hookedTransformer";
import { writeSafetensors } from "../src/lens/loading/safetensors";
import { LensTokenizer } from "../src/lens/tokenizer";
import { modelFromParams } from "../src/lens/training/evaluation";
import { modelCard, type CardFacts } from "../src/lens/training/modelCard";
import { disposeParams, hfGpt2Config, initParams, paramCount, toHfGpt2 } from "../src/lens/training/params";
import { RECIPES, type Recipe } from "../src/lens/training/recipes";
import { ioiPatchingSummary } from "../src/lens/training/ioiAnalysis";
import { ioiCircuitMarkdown, ioiCircuitReport } from "../src/lens/training/ioiCircuitCard";
import { trainLanguageModel } from "../src/lens/training/trainer";

/** Seeds of the final measurements (never used during training, which evaluates with seed 0). */
export const FINAL_SEEDS = [101, 102, 103];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const name = args.find((a) => !a.startsWith("--"));
  const recipe = name === undefined ? undefined : RECIPES[name];
  if (recipe === undefined) throw new Error(`usage: npm run train -- <${Object.keys(RECIPES).join("|")}> [--out DIR] [--max-steps N] [--fresh]`);
  const flag = (f: string) => {
    const i = args.indexOf(f);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const out = flag("--out") ?? path.join("data", "models", recipe.name);
  if (args.includes("--card-only")) {
    await ensureBackend();
    process.exitCode = (await writeCard(out, recipe, JSON.parse(readFileSync(path.join(out, "training.json"), "utf8")) as RunFacts)) ? 0 : 1;
    return;
  }
  const maxSteps = Number(flag("--max-steps") ?? recipe.maxSteps);
  const ckpt = path.join(".tmp", "train", path.basename(out));
  if (args.includes("--fresh")) rmSync(ckpt, { recursive: true, force: true });
  const backend = await ensureBackend();
  const tokenizer = LensTokenizer.fromJson(tinyTokenizerJson(recipe.vocab), tinyTokenizerConfig());
  const params = initParams(recipe.cfg, recipe.seed);
  const nParams = paramCount(params);
  console.log(`${recipe.name}: ${nParams} parameters, backend ${backend.name} (${backend.matmul?.detail ?? ""})`);
  const passes = (m?: Record<string, number>) => m !== undefined && (recipe.stopWhen?.(m) ?? recipe.criteria.every((c) => c.ok(m)));
  const run = (steps: number) => trainLanguageModel({
    cfg: recipe.cfg, params, steps, lr: recipe.lr, warmupSteps: recipe.warmupSteps, weightDecay: recipe.weightDecay,
    gradClip: recipe.gradClip, batch: (i) => corpusBatch(recipe.corpus, recipe.seed, i, recipe.batchSize, recipe.seqLen),
    lossFn: recipe.lossFn, evalEvery: recipe.evalEvery, checkpointDir: ckpt, checkpointEvery: recipe.evalEvery, logEvery: 50,
    evaluate: async () => {
      const model = modelFromParams(recipe.cfg, params, tokenizer);
      try {
        return await recipe.evaluate(model, 0);
      } finally {
        model.dispose();
      }
    },
    onProgress: (p) => {
      const ev = p.eval ? "  eval " + Object.entries(p.eval).map(([k, v]) => `${k}=${v.toFixed(3)}`).join(" ") : "";
      console.log(`step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} |g| ${p.gradNorm.toFixed(2)} ${p.seconds.toFixed(0)}s${ev}`);
    },
    stopWhen: (p) => passes(p.eval),
  });
  const stages = flag("--max-steps") !== undefined ? [maxSteps] : recipe.stages ?? [recipe.maxSteps];
  let result = await run(stages[0]!);
  let seconds = result.seconds;
  const resumedFrom = result.resumedFrom;
  for (const total of stages.slice(1)) {
    if (passes(result.lastEval) || result.steps < stages[stages.indexOf(total) - 1]!) break; // criteria met
    result = await run(total);
    seconds += result.seconds;
  }
  result = { ...result, seconds, resumedFrom };
  console.log(`trained ${result.steps} steps in ${result.seconds.toFixed(0)} s (this run; resumed from step ${result.resumedFrom})`);
  mkdirSync(out, { recursive: true });
  const facts: RunFacts = {
    steps: result.steps, seconds: result.seconds, resumedFrom: result.resumedFrom, history: result.history, params: nParams,
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, tfjs ${tf.version.tfjs} ${backend.name} (${backend.matmul?.detail ?? ""})`,
  };
  await writeFile(path.join(out, "training.json"), JSON.stringify(facts) + "\n");
  await writeSafetensors(path.join(out, "model.safetensors"), await toHfGpt2(params, recipe.cfg), { format: "pt" });
  await writeFile(path.join(out, "config.json"), JSON.stringify(hfGpt2Config(recipe.cfg), null, 2) + "\n");
  await writeFile(path.join(out, "tokenizer.json"), JSON.stringify(tinyTokenizerJson(recipe.vocab), null, 1) + "\n");
  await writeFile(path.join(out, "tokenizer_config.json"), JSON.stringify(tinyTokenizerConfig(), null, 2) + "\n");
  disposeParams(params);
  process.exitCode = (await writeCard(out, recipe, facts)) ? 0 : 1;
}

/** What a training run measured (saved as training.json next to the weights). */
type RunFacts = Pick<CardFacts, "steps" | "seconds" | "resumedFrom" | "history" | "machine" | "params">;

/** Measures the saved model on fresh seeds through the public loading path and writes README.md; true when all criteria hold. */
async function writeCard(out: string, recipe: Recipe, run: RunFacts): Promise<boolean> {
  const model = await HookedTransformer.fromPretrained(path.resolve(out));
  const finals: Array<Record<string, number>> = [];
  for (const seed of FINAL_SEEDS) finals.push(await recipe.evaluate(model, seed));
  let extra = recipe.name === "toy-ioi" ? await ioiPatchingSummary(model) : undefined;
  if (recipe.name === "toy-ioi-circuit") {
    const reports = [];
    for (const seed of FINAL_SEEDS) reports.push(await ioiCircuitReport(model, seed));
    extra = ioiCircuitMarkdown(reports);
  }
  model.dispose();
  await writeFile(path.join(out, "README.md"), modelCard({ ...run, recipe, finals, finalSeeds: FINAL_SEEDS, extra }));
  for (const [i, m] of finals.entries()) console.log(`seed ${FINAL_SEEDS[i]}: ${Object.entries(m).map(([k, v]) => `${k}=${v.toFixed(3)}`).join(" ")}`);
  const ok = finals.every((m) => recipe.criteria.every((c) => c.ok(m)));
  console.log(ok ? `all criteria met; wrote ${out}` : `criteria NOT met on every final seed; wrote ${out} anyway`);
  return ok;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
