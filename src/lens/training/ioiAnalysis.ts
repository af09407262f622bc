/**
 * Activation patching on an IOI model (denoising: run the ABC-corrupted prompts, patch in clean activations; metric
 * = logit difference normalised to 1 for clean and 0 for corrupted), summarised for the toy-ioi model card.
 */
import * as tf from "@tensorflow/tfjs";
import { HELD_OUT_PAIR_NAMES } from "../data/vocab";
import { ioiDataset } from "../datasets/ioi";
import type { HookedTransformer } from "../hookedTransformer";
import { logitDiff, normalizedMetric } from "../patching/metrics";
import { getActPatchAttnHeadOutAllPos, getActPatchAttnOut, getActPatchMlpOut, getActPatchResidPre } from "../patching/patchers";

/** Patching results; grids are `[layer][pos]` or `[layer][head]`. */
export interface IoiPatching {
  readonly positions: { readonly A: number; readonly B: number; readonly S2: number; readonly END: number };
  /** Token strings of the first clean prompt. */
  readonly tokens: string[];
  readonly cleanLogitDiff: number;
  readonly corruptedLogitDiff: number;
  readonly residPre: number[][];
  readonly attnOut: number[][];
  readonly mlpOut: number[][];
  readonly headOut: number[][];
}

/**
 * Runs the patching sweeps on `n` IOI prompts. The corrupted prompt is the clean one with S2 replaced by the IO
 * name ("When Mary and John went …, Mary gave … to" → John): only one token differs and the answer flips, so the
 * sweeps show where that token's information travels (as in ARENA 1.4.1 / the EAD demo).
 */
export async function ioiPatching(model: HookedTransformer, opts: { n?: number; seed?: number } = {}): Promise<IoiPatching> {
  const ds = ioiDataset(model, { n: opts.n ?? 40, seed: opts.seed ?? 201, templates: "mixed", names: HELD_OUT_PAIR_NAMES });
  const posOf = (xs: number[], what: string) => {
    if (xs.some((x) => x !== xs[0])) throw new Error(`ioiPatching: ${what} is not at the same position in every prompt`);
    return xs[0]!;
  };
  const S2 = posOf(ds.s2Pos, "S2"), END = posOf(ds.endPos, "END");
  const [A, B] = ds.order[0] === "ABBA" ? [ds.ioPos[0]!, ds.s1Pos[0]!] : [ds.s1Pos[0]!, ds.ioPos[0]!];
  const corruptedTokens = ds.tokens.map((row, i) => row.map((t, j) => (j === S2 ? ds.ioTokens[i]! : t)));
  const base = (l: tf.Tensor) => logitDiff(l, ds.answerTokens);
  const value = async (tokens: number[][]) => {
    const logits = await model.forward(tokens);
    const d = base(logits);
    const v = (await d.data())[0]!;
    tf.dispose([logits, d]);
    return v;
  };
  const clean = await value(ds.tokens), corrupted = await value(corruptedTokens);
  const metric = normalizedMetric(base, { clean, corrupted });
  const [logits, cache] = await model.runWithCache(ds.tokens);
  logits.dispose();
  const grid = async (f: typeof getActPatchResidPre) => {
    const t = await f(model, corruptedTokens, cache, metric, { silent: true });
    const a = (await t.array()) as number[][];
    t.dispose();
    return a;
  };
  try {
    return {
      positions: { A, B, S2, END }, tokens: ds.tokens[0]!.map((id) => model.tokenizer!.idToString(id)),
      cleanLogitDiff: clean, corruptedLogitDiff: corrupted,
      residPre: await grid(getActPatchResidPre), attnOut: await grid(getActPatchAttnOut), mlpOut: await grid(getActPatchMlpOut),
      headOut: await grid(getActPatchAttnHeadOutAllPos),
    };
  } finally {
    cache.dispose();
  }
}

const f2 = (v: number) => (Math.abs(v) < 0.005 ? "0" : v.toFixed(2));

/** Markdown summary of `ioiPatching` for the model card: tables plus a reading derived from the numbers. */
export async function ioiPatchingSummary(model: HookedTransformer): Promise<string> {
  const p = await ioiPatching(model);
  const { A, B, S2, END } = p.positions;
  const role = (i: number) => (i === A ? " (A)" : i === B ? " (B)" : i === S2 ? " (S2)" : i === END ? " (END)" : "");
  const header = `| ${p.tokens.map((t, i) => `${i} ${t.replace("|", "\\|")}${role(i)}`).join(" | ")} |`;
  const table = (title: string, g: number[][]) => [
    `| ${title} ${header}`,
    `|---|${p.tokens.map(() => "---").join("|")}|`,
    ...g.map((row, l) => `| layer ${l} | ${row.map(f2).join(" | ")} |`),
  ];
  const where = p.residPre.map((row, l) => {
    const i = row.reduce((best, v, j) => (v > row[best]! ? j : best), 0);
    return `layer ${l}: ${i} ${p.tokens[i]}${role(i)} ${f2(row[i]!)}`;
  });
  const heads = p.headOut.flatMap((row, l) => row.map((v, h) => ({ l, h, v }))).sort((a, b) => Math.abs(b.v) - Math.abs(a.v)).slice(0, 5);
  return [
    "## Activation patching (denoising, `src/lens/training/ioiAnalysis.ts`)",
    `40 prompts from \`ioiDataset(model, {n: 40, seed: 201, names: HELD_OUT_PAIR_NAMES})\` (unseen name pairs). Corrupted ` +
      `prompt: S2 replaced by the IO name (one token differs; the answer flips). Metric: logit difference (IO − S) normalised ` +
      `to 1 on clean (${f2(p.cleanLogitDiff)}) and 0 on corrupted (${f2(p.corruptedLogitDiff)}) prompts; each cell patches ` +
      `the clean activation at one layer (and position) into the corrupted run. Token labels are those of the first prompt.`,
    "",
    ...table("resid_pre", p.residPre),
    "",
    ...table("attn_out", p.attnOut),
    "",
    ...table("mlp_out", p.mlpOut),
    "",
    `| head output (z, all positions) | ${p.headOut[0]!.map((_, h) => `head ${h}`).join(" | ")} |`,
    `|---|${p.headOut[0]!.map(() => "---").join("|")}|`,
    ...p.headOut.map((row, l) => `| layer ${l} | ${row.map(f2).join(" | ")} |`),
    "",
    `Where the information is (the position whose resid_pre restores most, per layer): ${where.join("; ")}.`,
    `Largest head-output effects (all positions): ${heads.map((x) => `${x.l}.${x.h} ${f2(x.v)}`).join(", ")}.`,
  ].join("\n");
}
