/** The README.md model card of a bundled toy model, written by `scripts/train.ts` from what the run measured. */
import type { Recipe } from "./recipes";

/** What a training run measured, for the card. */
export interface CardFacts {
  readonly recipe: Recipe;
  readonly steps: number;
  readonly seconds: number;
  readonly resumedFrom: number;
  readonly history: ReadonlyArray<readonly [number, number]>;
  /** Final measurements, one per seed in `finalSeeds`. */
  readonly finals: ReadonlyArray<Record<string, number>>;
  readonly finalSeeds: readonly number[];
  readonly machine: string;
  readonly params: number;
  /** Extra markdown (e.g. activation-patching findings). */
  readonly extra?: string;
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(3));

/** Markdown model card. */
export function modelCard(f: CardFacts): string {
  const { recipe: r, recipe: { cfg } } = f;
  const keys = Object.keys(f.finals[0] ?? {});
  const table = [
    `| metric | ${f.finalSeeds.map((s) => `seed ${s}`).join(" | ")} |`,
    `|---|${f.finalSeeds.map(() => "---").join("|")}|`,
    ...keys.map((k) => `| ${k} | ${f.finals.map((m) => fmt(m[k]!)).join(" | ")} |`),
  ];
  const crit = r.criteria.map((c) => `- ${c.label}: ${f.finals.every((m) => c.ok(m)) ? "met on every seed" : "**NOT met on every seed**"}`);
  const curve = f.history.filter((_, i) => i % Math.max(1, Math.ceil(f.history.length / 12)) === 0 || i === f.history.length - 1);
  return [
    `# ${r.name}`,
    "",
    `${r.summary}. Trained by this project (\`npm run train -- ${r.name}\`, code in \`src/lens/training/\` and \`src/lens/data/\`); ` +
      `load it offline with \`HookedTransformer.fromPretrained("${r.name}")\`.`,
    "",
    "## Architecture",
    `GPT-2 layout (\`model_type: gpt2\`${cfg.attnOnly ? ", lens extension `attn_only: true`: no MLPs" : ""}), ${cfg.nLayers} layers, ` +
      `d_model ${cfg.dModel}, ${cfg.nHeads} heads of d_head ${cfg.dHead}${cfg.attnOnly ? "" : `, d_mlp ${cfg.dMlp} (${cfg.actFn})`}, ` +
      `LayerNorm, learned positions, n_ctx ${cfg.nCtx}, untied unembedding, vocabulary ${cfg.dVocab} (word-level tokenizer of the ` +
      `small language, \`src/lens/data/vocab.ts\`; id 0 \`<|endoftext|>\` = BOS/EOS/PAD, id 1 \`[UNK]\`). ${f.params} parameters.`,
    "",
    "## Data",
    r.corpusDescription + ". Each row starts with BOS; batches are a pure function of (seed, step), so runs and resumes are reproducible.",
    "",
    "## Training",
    (r.lossDescription ? `Loss: ${r.lossDescription}. ` : "") + `AdamW (β 0.9/0.99, weight decay ${r.weightDecay} on matrices), peak lr ${r.lr}, ${r.warmupSteps} warmup steps then cosine ` +
      (r.stages && r.stages.length > 1
        ? `to 10% over ${r.stages[0]} steps, then the schedule restarted (moments kept) as a cosine over ${r.stages.slice(1).join(", then ")} total steps, `
        : `to 10% over at most ${r.maxSteps} steps, `) + `gradient clipping at global norm ${r.gradClip}, batch ${r.batchSize} × ${r.seqLen} tokens, ` +
      `seed ${r.seed}. Training stops at the first evaluation (every ${r.evalEvery} steps, evaluation seed 0) that meets ` +
      `${r.stopRule ?? "the criteria"}: ` +
      `**${f.steps} steps** (${f.steps * r.batchSize * r.seqLen} tokens), ${f.seconds.toFixed(0)} s of wall-clock time (2 cores shared with other jobs)` +
      (f.resumedFrom ? ` after resuming at step ${f.resumedFrom}` : "") + ` on ${f.machine}.`,
    "",
    `Loss (mean over 50 steps): ${curve.map(([s, l]) => `${s}: ${l.toFixed(3)}`).join(", ")}.`,
    "",
    "## Results (fresh seeds, measured on the saved weights through `fromPretrained`)",
    ...table,
    "",
    ...crit,
    ...(f.extra ? ["", f.extra] : []),
    ...(r.notes ? ["", r.notes] : []),
    "",
  ].join("\n");
}
