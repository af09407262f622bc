/**
 * The head classes of an IOI model by the measures of Wang et al. 2022 / ARENA 1.4.1, on fresh prompts with unseen name
 * pairs: classification rules (`classifyIoiHeads`), and the measurements behind the `toy-ioi-circuit` model card
 * (`ioiCircuitReport`, `ioiCircuitMarkdown`).
 */
import * as tf from "@tensorflow/tfjs";
import { HELD_OUT_PAIR_NAMES } from "../data/vocab";
import { ioiDataset, type IoiDataset } from "../datasets/ioi";
import type { HookedTransformer } from "../hookedTransformer";
import { logitDiff } from "../patching/metrics";
import { getPathPatchHeadToHeads, type HeadRef } from "../patching/pathPatching";
import { ablatedHeadDla, circuitMeanAblationHooks, copyingScores, hookedLogitDiff, ioiHeadScores, type CircuitHead, type Grid, type IoiHeadScores } from "./ioiCircuit";

/** The thresholds of the classification (mean attention weights, fractions of the logit difference). */
export const IOI_CLASS_RULES = {
  /** Name movers: at END attend to IO ≥ `ioOverS1` × S1 and ≥ `minAttn`, and DLA ≥ `minDlaShare` × the logit difference. */
  nameMover: { ioOverS1: 2, minAttn: 0.2, minDlaShare: 0.1 },
  /** Negative name movers: the same attention, DLA ≤ −`minDlaShare` × the logit difference. */
  negativeNameMover: { ioOverS1: 2, minAttn: 0.2, minDlaShare: 0.05 },
  /** S-inhibition: at END attend to S2 ≥ `minAttn` (and more than to IO), not a name mover. */
  sInhibition: { minAttn: 0.2 },
  /** Duplicate-token (S2 → S1) and induction (S2 → S1+1) heads: mean attention ≥ `minAttn`. */
  duplicate: { minAttn: 0.2 },
  induction: { minAttn: 0.2 },
  /** Previous-token heads: from S1+1 to S1 (the token an induction head reads at S2) ≥ `minAttn`, below the last layer. */
  previousToken: { minAttn: 0.3 },
  /**
   * Candidate name movers, used only when no head meets the name-mover rule: at END attend to IO ≥ `minAttn` and more
   * than to S1, and write IO: direct attribution to logit(IO) alone ≥ `minIoDlaShare` × the logit difference.
   */
  nameMoverCandidate: { minAttn: 0.2, minIoDlaShare: 0.1 },
} as const;

/** Heads of each class. */
export interface IoiHeadClasses {
  readonly nameMovers: HeadRef[];
  readonly negativeNameMovers: HeadRef[];
  readonly sInhibition: HeadRef[];
  readonly duplicateToken: HeadRef[];
  readonly induction: HeadRef[];
  readonly previousToken: HeadRef[];
}

const heads = (g: Grid, ok: (l: number, h: number) => boolean): HeadRef[] => g.flatMap((r, l) => r.map((_, h) => [l, h] as HeadRef)).filter(([l, h]) => ok(l, h));

/** Classifies heads by `IOI_CLASS_RULES` (on scores of one dataset). */
export function classifyIoiHeads(s: IoiHeadScores): IoiHeadClasses {
  const R = IOI_CLASS_RULES;
  const ld = Math.abs(s.logitDiff);
  const attendsIo = (l: number, h: number, r: { ioOverS1: number; minAttn: number }) => s.endIo[l]![h]! >= r.minAttn && s.endIo[l]![h]! >= r.ioOverS1 * s.endS1[l]![h]!;
  const nameMovers = heads(s.dla, (l, h) => attendsIo(l, h, R.nameMover) && s.dla[l]![h]! >= R.nameMover.minDlaShare * ld);
  const isNm = (l: number, h: number) => nameMovers.some(([a, b]) => a === l && b === h);
  return {
    nameMovers,
    negativeNameMovers: heads(s.dla, (l, h) => attendsIo(l, h, R.negativeNameMover) && s.dla[l]![h]! <= -R.negativeNameMover.minDlaShare * ld),
    sInhibition: heads(s.endS2, (l, h) => !isNm(l, h) && s.endS2[l]![h]! >= R.sInhibition.minAttn && s.endS2[l]![h]! > s.endIo[l]![h]!),
    duplicateToken: heads(s.s2S1, (l, h) => s.s2S1[l]![h]! >= R.duplicate.minAttn),
    induction: heads(s.s2S1p1, (l, h) => l > 0 && s.s2S1p1[l]![h]! >= R.induction.minAttn),
    previousToken: heads(s.s1p1S1, (l, h) => l < s.s1p1S1.length - 1 && s.s1p1S1[l]![h]! >= R.previousToken.minAttn),
  };
}

/**
 * The name movers, or when none meets the rule, the candidates of `IOI_CLASS_RULES.nameMoverCandidate` (sorted by their
 * direct attribution to logit(IO), largest first). `candidates` says which of the two it is.
 */
export function nameMoversOrCandidates(s: IoiHeadScores, classes: IoiHeadClasses): { heads: HeadRef[]; candidates: boolean } {
  if (classes.nameMovers.length) return { heads: classes.nameMovers, candidates: false };
  const R = IOI_CLASS_RULES.nameMoverCandidate;
  const c = heads(s.dlaIo, (l, h) => s.endIo[l]![h]! >= R.minAttn && s.endIo[l]![h]! > s.endS1[l]![h]! && s.dlaIo[l]![h]! >= R.minIoDlaShare * Math.abs(s.logitDiff));
  return { heads: c.sort((a, b) => s.dlaIo[b[0]]![b[1]]! - s.dlaIo[a[0]]![a[1]]!), candidates: true };
}

/**
 * Training-time summary of the name movers on 60 fresh prompts: among heads with DLA ≥ 10% of the logit difference and
 * END → IO ≥ 0.2, the largest END → IO / END → S1 ratio, and the share of the logit difference those heads carry.
 */
export async function nameMoverSelectivity(model: HookedTransformer, seed: number): Promise<{ nameMoverIoOverS1: number; nameMoverDlaShare: number }> {
  const s = await ioiHeadScores(model, ioiDataset(model, { n: 60, seed: seed + 500, names: HELD_OUT_PAIR_NAMES }));
  const R = IOI_CLASS_RULES.nameMover;
  const cands = heads(s.dla, (l, h) => s.dla[l]![h]! >= R.minDlaShare * Math.abs(s.logitDiff) && s.endIo[l]![h]! >= R.minAttn);
  const ratio = Math.max(0, ...cands.map(([l, h]) => s.endIo[l]![h]! / Math.max(1e-6, s.endS1[l]![h]!)));
  const share = cands.filter(([l, h]) => s.endIo[l]![h]! >= R.ioOverS1 * s.endS1[l]![h]!).reduce((a, [l, h]) => a + s.dla[l]![h]!, 0) / s.logitDiff;
  return { nameMoverIoOverS1: ratio, nameMoverDlaShare: share };
}

/** Everything the model card reports for one seed. */
export interface IoiCircuitReport {
  readonly seed: number;
  readonly n: number;
  readonly logitDiff: number;
  readonly abcLogitDiff: number;
  readonly scores: IoiHeadScores;
  readonly classes: IoiHeadClasses;
  /** The name movers, or the candidate name movers when none meets the rule (`nameMoversOrCandidates`). */
  readonly movers: { heads: HeadRef[]; candidates: boolean };
  readonly copying: { positive: Grid; negative: Grid };
  /** Path patching (ABC → IOI) from every head of the layers below into the (candidate) name movers' queries, per layer. */
  readonly intoNameMoverQueries: Array<{ layer: number; grid: Grid }>;
  /** Path patching from every head below into the S-inhibition heads' values, per receiver layer, and the senders ≤ −0.1. */
  readonly intoSInhibitionValues: Array<{ layer: number; grid: Grid }>;
  readonly valueSenders: HeadRef[];
  /** Mean ablation (ABC means) of everything outside the circuit: logit differences and faithfulness F(C)/F(M). */
  readonly circuitLogitDiff: number;
  readonly faithfulness: number;
  /** (Candidate) name movers mean-ablated: the logit difference and every head's DLA afterwards. */
  readonly nameMoversAblated: { logitDiff: number; dla: Grid };
}

const key = ([l, h]: HeadRef) => `${l}.${h}`;

/** Path-patching metric at or below which a sender counts as feeding the S-inhibition heads' values (−1 = the whole effect). */
export const VALUE_SENDER_MAX = -0.1;

/**
 * The circuit of `classes`: name movers (or `movers`, e.g. the candidates), negative name movers and S-inhibition heads at
 * END, duplicate and induction heads at S2, and previous-token heads at S1+1 when there are induction heads to read them;
 * `valueSenders` (heads found feeding the S-inhibition heads' values) at S2, where those heads read.
 */
export function circuitOf(classes: IoiHeadClasses, ds: IoiDataset, movers: readonly HeadRef[] = classes.nameMovers, valueSenders: readonly HeadRef[] = []): CircuitHead[] {
  const at = (hs: readonly HeadRef[], positions: number[]) => hs.map((head) => ({ head, positions }));
  const out = [...at(movers, ds.endPos), ...at(classes.negativeNameMovers, ds.endPos), ...at(classes.sInhibition, ds.endPos),
    ...at(classes.duplicateToken, ds.s2Pos), ...at(classes.induction, ds.s2Pos), ...at(valueSenders, ds.s2Pos),
    ...at(classes.induction.length ? classes.previousToken : [], ds.s1Pos.map((p) => p + 1))];
  const seen = new Set<string>();
  return out.filter((c) => (seen.has(`${key(c.head)}@${c.positions[0]}`) ? false : (seen.add(`${key(c.head)}@${c.positions[0]}`), true)));
}

/** All measurements on `n` fresh prompts of `seed` (unseen name pairs). */
export async function ioiCircuitReport(model: HookedTransformer, seed: number, n = 60): Promise<IoiCircuitReport> {
  const ds = ioiDataset(model, { n, seed, names: HELD_OUT_PAIR_NAMES });
  const [cleanLogits, clean] = await model.runWithCache(ds.tokens);
  const [abcLogits, abc] = await model.runWithCache(ds.abc.tokens);
  try {
    const scores = await ioiHeadScores(model, ds, clean);
    const classes = classifyIoiHeads(scores);
    const movers = nameMoversOrCandidates(scores, classes);
    const d = logitDiff(abcLogits, ds.answerTokens);
    const abcLogitDiff = (await d.data())[0]!;
    d.dispose();
    const metric = async (logits: tf.Tensor) => {
      const t = logitDiff(logits, ds.answerTokens);
      const v = (await t.data())[0]!;
      t.dispose();
      return (v - scores.logitDiff) / (scores.logitDiff - abcLogitDiff);
    };
    /** Path patching from every head into `receivers`' input `input`, one grid per receiver layer (layer 0 has no senders). */
    const pathPatchInto = async (receivers: readonly HeadRef[], input: "q" | "v") => {
      const out: Array<{ layer: number; grid: Grid }> = [];
      for (const layer of [...new Set(receivers.map(([l]) => l))].sort((a, b) => a - b)) {
        if (layer === 0) continue;
        const t = await getPathPatchHeadToHeads(model, metric, { origTokens: ds.tokens, origCache: clean, newCache: abc, receivers: receivers.filter(([l]) => l === layer), receiverInput: input, silent: true });
        out.push({ layer, grid: (await t.array()) as Grid });
        t.dispose();
      }
      return out;
    };
    const intoNameMoverQueries = await pathPatchInto(movers.heads, "q");
    const intoSInhibitionValues = await pathPatchInto(classes.sInhibition, "v");
    const valueSenders = heads(scores.dla, (l, h) => intoSInhibitionValues.some((r) => l < r.grid.length && r.grid[l]![h]! <= VALUE_SENDER_MAX));
    const names = HELD_OUT_PAIR_NAMES.map((nm) => model.tokenizer!.encode(` ${nm}`)[0]!);
    const circuit = circuitOf(classes, ds, movers.heads, valueSenders);
    const circuitLogitDiff = await hookedLogitDiff(model, ds, circuitMeanAblationHooks(model, circuit, abc));
    return {
      seed, n, logitDiff: scores.logitDiff, abcLogitDiff, scores, classes, movers, copying: await copyingScores(model, names),
      intoNameMoverQueries, intoSInhibitionValues, valueSenders, circuitLogitDiff, faithfulness: circuitLogitDiff / scores.logitDiff,
      nameMoversAblated: await ablatedHeadDla(model, ds, movers.heads, abc),
    };
  } finally {
    tf.dispose([cleanLogits, abcLogits]);
    clean.dispose();
    abc.dispose();
  }
}

const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "—");
const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
const hn = ([l, h]: HeadRef) => `L${l}H${h}`;

/** Markdown tables of `ioiCircuitReport`s (one per seed) for the model card. */
export function ioiCircuitMarkdown(reports: readonly IoiCircuitReport[]): string {
  const r0 = reports[0]!;
  const seeds = reports.map((r) => `seed ${r.seed}`).join(" | ");
  const sep = `|---|${reports.map(() => "---").join("|")}|`;
  const row = (label: string, f: (r: IoiCircuitReport) => string) => `| ${label} | ${reports.map(f).join(" | ")} |`;
  const classRow = (label: string, k: keyof IoiHeadClasses) => row(label, (r) => r.classes[k].map(hn).join(", ") || "none");
  const cls = r0.classes;
  const all = [...new Set([...r0.movers.heads, ...cls.nameMovers, ...cls.negativeNameMovers, ...cls.sInhibition, ...cls.duplicateToken, ...cls.induction, ...cls.previousToken].map(hn))];
  const ofHead = (name: string) => [...(Object.entries(cls) as Array<[string, HeadRef[]]>), ...(r0.movers.candidates ? [["candidate name mover", r0.movers.heads] as [string, HeadRef[]]] : [])].filter(([, hs]) => hs.some((x) => hn(x) === name)).map(([k]) => k).join(", ");
  const headRows = all.map((name) => {
    const [l, h] = name.slice(1).split("H").map(Number) as [number, number];
    const cells = reports.map((r) => `${f2(r.scores.endIo[l]![h]!)} / ${f2(r.scores.endS1[l]![h]!)} / ${f2(r.scores.endS2[l]![h]!)} / ${f2(r.scores.s2S1[l]![h]!)} / ${f2(r.scores.s2S1p1[l]![h]!)} / ${f2(r.scores.s1p1S1[l]![h]!)} / ${f2(r.scores.dla[l]![h]!)} / ${f2(r.scores.dlaIo[l]![h]!)} / ${pct(r.copying.positive[l]![h]!)} / ${pct(r.copying.negative[l]![h]!)}`);
    return `| ${name} (${ofHead(name)}) | ${cells.join(" | ")} |`;
  });
  const intoQ = (r: IoiCircuitReport) => r.intoNameMoverQueries.map((q) => {
    const top = q.grid.flatMap((g, l) => g.map((v, h) => ({ l, h, v }))).sort((a, b) => a.v - b.v).slice(0, 3);
    return `→ q of layer ${q.layer} ${r.movers.candidates ? "candidates" : "NMs"}: ${top.map((x) => `L${x.l}H${x.h} ${f2(x.v)}`).join(", ")}`;
  }).join("; ") || "—";
  const backup = (r: IoiCircuitReport) => {
    const nm = r.movers.heads;
    const before = nm.reduce((s, [l, h]) => s + r.scores.dla[l]![h]!, 0);
    const after = nm.reduce((s, [l, h]) => s + r.nameMoversAblated.dla[l]![h]!, 0);
    const others = r.scores.dla.flatMap((g, l) => g.map((v, h) => ({ l, h, d: r.nameMoversAblated.dla[l]![h]! - v }))).filter((x) => !nm.some(([a, b]) => a === x.l && b === x.h)).sort((a, b) => b.d - a.d);
    return `${f2(r.logitDiff)} → ${f2(r.nameMoversAblated.logitDiff)} (naive ${f2(r.logitDiff - before + after)}); largest DLA gains ${others.slice(0, 2).map((x) => `L${x.l}H${x.h} +${f2(x.d)}`).join(", ")}`;
  };
  return [
    "## The IOI circuit (fresh seeds, unseen name pairs; `src/lens/training/ioiCircuitCard.ts`)",
    `${r0.n} prompts per seed from \`ioiDataset(model, {n: ${r0.n}, seed, names: HELD_OUT_PAIR_NAMES})\` (ABBA and BABA alternating; no two of these ` +
      "names ever meet in an IOI sentence of the training data). Attention scores are mean attention weights; DLA is the direct logit " +
      "attribution to logit(IO) − logit(S) at END; copying scores are ARENA's (top 5 of the vocabulary, over the 40 names). Classes by " +
      "`IOI_CLASS_RULES`: name movers attend END → IO ≥ 0.2 and ≥ 2× END → S1 with DLA ≥ 10% of the logit difference; negative name " +
      "movers the same attention with DLA ≤ −5%; S-inhibition heads attend END → S2 ≥ 0.2 (more than to IO); duplicate-token heads " +
      "S2 → S1 ≥ 0.2; induction heads S2 → S1+1 ≥ 0.2; previous-token heads S1+1 → S1 ≥ 0.3 (below the last layer). When no head " +
      "meets the name-mover rule, the *candidate name movers* are the heads that attend END → IO ≥ 0.2 and more than END → S1 and whose " +
      "direct attribution to logit(IO) alone is ≥ 10% of the logit difference; path patching and the ablation below then use them. " +
      "Path patching uses the metric (patched − IOI) / (IOI − ABC): −1 is the whole effect.",
    "",
    `| class | ${seeds} |`, sep,
    classRow("name movers", "nameMovers"), classRow("negative name movers", "negativeNameMovers"), classRow("S-inhibition", "sInhibition"),
    classRow("duplicate token", "duplicateToken"), classRow("induction", "induction"), classRow("previous token", "previousToken"),
    row("candidate name movers (only when no name mover)", (r) => (r.movers.candidates ? r.movers.heads.map(hn).join(", ") || "none" : "—")),
    row("logit difference (IO − S)", (r) => f2(r.logitDiff)), row("ABC logit difference", (r) => f2(r.abcLogitDiff)),
    row("name movers' share of the logit difference (DLA)", (r) => pct(r.classes.nameMovers.reduce((s, [l, h]) => s + r.scores.dla[l]![h]!, 0) / r.logitDiff)),
    row("(candidate) name movers: END→IO / END→S1, DLA to logit(IO) as a share of the logit difference", (r) => r.movers.heads.map(([l, h]) => `${hn([l, h])} ${f2(r.scores.endIo[l]![h]!)}/${f2(r.scores.endS1[l]![h]!)}, ${pct(r.scores.dlaIo[l]![h]! / r.logitDiff)}`).join("; ") || "—"),
    row("path patching (ABC → IOI) into the (candidate) name movers' queries, strongest senders", intoQ),
    row("path patching into the S-inhibition heads' values: senders ≤ −0.1 (kept at S2 in the circuit)", (r) => r.valueSenders.map(([l, h]) => `${hn([l, h])} ${f2(Math.min(...r.intoSInhibitionValues.filter((q) => l < q.grid.length).map((q) => q.grid[l]![h]!)))}`).join(", ") || "none"),
    row("circuit only (rest mean-ablated with ABC means): logit difference, faithfulness", (r) => `${f2(r.circuitLogitDiff)}, ${pct(r.faithfulness)}`),
    row("(candidate) name movers mean-ablated: logit difference (naive), compensation", backup),
    "",
    `Per head (classes of seed ${r0.seed}): END→IO / END→S1 / END→S2 / S2→S1 / S2→S1+1 / S1+1→S1 / DLA / DLA to logit(IO) / copying / negative copying.`,
    "",
    `| head | ${seeds} |`, sep, ...headRows,
  ].join("\n");
}
