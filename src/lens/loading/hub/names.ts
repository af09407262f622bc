/**
 * Model names as TransformerLens spells them (official names and aliases) → Hugging Face repo ids, and Pythia
 * training checkpoints → revisions. Reference: TransformerLens `supported_models.py` (OFFICIAL_MODEL_NAMES,
 * MODEL_ALIASES) and `loading_from_pretrained.py` (PYTHIA_CHECKPOINTS); the table is written out here, not copied.
 */
import { closestNames } from "../../util/closest";

/** One model the name table knows. */
export interface KnownModel {
  /** The Hugging Face repo id downloads use. */
  readonly repoId: string;
  /** TransformerLens's official name (what `cfg.modelName` reports). */
  readonly officialName: string;
  /** Names that map to it (lower case; the official name and the repo id are always accepted too). */
  readonly aliases: readonly string[];
  /** Older repo ids whose cache folders (from Python) are reused, e.g. `gpt2` for `openai-community/gpt2`. */
  readonly legacyRepoIds: readonly string[];
}

function gpt2Entry(name: string, repo: string, aliases: string[]): KnownModel {
  return { repoId: repo, officialName: name, aliases, legacyRepoIds: [name] };
}

/** Pythia sizes with the older names TransformerLens accepts for them. */
const PYTHIA_SIZES: ReadonlyArray<[string, string[]]> = [
  ["14m", []], ["31m", []], ["70m", ["19m"]], ["160m", ["125m"]], ["410m", ["350m"]], ["1b", ["800m"]],
  ["1.4b", ["1.3b"]], ["2.8b", ["2.7b"]], ["6.9b", ["6.7b"]], ["12b", ["13b"]],
];

function pythiaEntries(): KnownModel[] {
  const out: KnownModel[] = [];
  for (const [size, old] of PYTHIA_SIZES) {
    for (const suffix of ["", "-deduped", "-v0", "-deduped-v0"]) {
      if ((size === "14m" || size === "31m") && suffix.endsWith("v0")) continue;
      const name = `pythia-${size}${suffix}`;
      const aliases = [name, ...old.map((o) => `pythia-${o}${suffix}`)];
      if (size === "70m") aliases.push(`pythia${suffix}`);
      out.push({ repoId: `EleutherAI/${name}`, officialName: `EleutherAI/${name}`, aliases, legacyRepoIds: [] });
    }
  }
  for (const seed of [1, 2, 3]) {
    const name = `pythia-160m-seed${seed}`;
    out.push({ repoId: `EleutherAI/${name}`, officialName: `EleutherAI/${name}`, aliases: [name], legacyRepoIds: [] });
  }
  return out;
}

/** Every model known by name. Any other `org/name` repo id of a supported family works too. */
export const KNOWN_MODELS: readonly KnownModel[] = [
  gpt2Entry("gpt2", "openai-community/gpt2", ["gpt2-small", "gpt2"]),
  gpt2Entry("gpt2-medium", "openai-community/gpt2-medium", ["gpt2-medium"]),
  gpt2Entry("gpt2-large", "openai-community/gpt2-large", ["gpt2-large"]),
  gpt2Entry("gpt2-xl", "openai-community/gpt2-xl", ["gpt2-xl"]),
  gpt2Entry("distilgpt2", "distilbert/distilgpt2", ["distilgpt2", "distill-gpt2", "distil-gpt2", "gpt2-xs"]),
  ...pythiaEntries(),
];

const BY_NAME = new Map<string, KnownModel>();
for (const m of KNOWN_MODELS) {
  for (const n of [...m.aliases, m.officialName, m.repoId, ...m.legacyRepoIds]) BY_NAME.set(n.toLowerCase(), m);
}

/** Pythia's saved training steps: 0, 1, 2, 4, …, 512, then every 1000 up to 143000. */
export const PYTHIA_CHECKPOINTS: readonly number[] = [
  0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, ...Array.from({ length: 143 }, (_, i) => (i + 1) * 1000),
];

/** What a name resolves to. */
export type ResolvedName =
  | { readonly kind: "repo"; readonly repoId: string; readonly known?: KnownModel }
  | { readonly kind: "unknown"; readonly message: string };

const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** True for strings that look like a file-system path rather than a name (`./x`, `/x`, `~/x`, `C:\x`, `a/b/c`). */
export function looksLikePath(s: string): boolean {
  return /^(\.{1,2}[\\/]|[\\/]|~|[A-Za-z]:[\\/])/.test(s) || s.split(/[\\/]/).length > 2;
}

/** Resolves an official name, an alias (case-insensitive) or an `org/name` repo id. */
export function resolveModelName(name: string): ResolvedName {
  const known = BY_NAME.get(name.toLowerCase());
  if (known) return { kind: "repo", repoId: known.repoId, known };
  if (REPO_ID.test(name) && !looksLikePath(name)) return { kind: "repo", repoId: name };
  const candidates = [...new Set(KNOWN_MODELS.flatMap((m) => m.aliases))];
  const near = closestNames(name.toLowerCase(), candidates, 5);
  return {
    kind: "unknown",
    message:
      `unknown model name "${name}"` + (near.length ? `; did you mean ${near.map((n) => `"${n}"`).join(", ")}?` : "") +
      ` Pass a name TransformerLens knows (gpt2-small, gpt2-medium, gpt2-large, gpt2-xl, pythia-70m … pythia-12b, ` +
      `pythia-…-deduped), a Hugging Face repo id "org/name", or the path of a folder with config.json and weights`,
  };
}

/** True when `repoId` is an EleutherAI Pythia repo (the only ones with `step{N}` checkpoints). */
export function isPythia(repoId: string): boolean {
  return /^EleutherAI\/pythia-/i.test(repoId);
}

/**
 * The revision to load: `revision` as given, or `step{N}` for a Pythia checkpoint chosen by `checkpointValue` (a
 * training step) or `checkpointIndex` (a position in PYTHIA_CHECKPOINTS, negatives from the end).
 */
export function checkpointRevision(
  repoId: string,
  opts: { readonly revision?: string; readonly checkpointValue?: number; readonly checkpointIndex?: number },
): string | undefined {
  const { revision, checkpointValue, checkpointIndex } = opts;
  if (checkpointValue === undefined && checkpointIndex === undefined) return revision;
  if (revision !== undefined) throw new Error(`pass either revision or checkpointValue/checkpointIndex, not both (got revision "${revision}")`);
  if (checkpointValue !== undefined && checkpointIndex !== undefined) throw new Error("pass checkpointValue or checkpointIndex, not both");
  if (!isPythia(repoId)) {
    throw new Error(`${repoId} has no training checkpoints by step; checkpointValue/checkpointIndex work for EleutherAI/pythia-* (or pass revision: "<branch, tag or commit>")`);
  }
  if (checkpointIndex !== undefined) {
    const n = PYTHIA_CHECKPOINTS.length;
    const i = checkpointIndex < 0 ? n + checkpointIndex : checkpointIndex;
    if (!Number.isInteger(checkpointIndex) || i < 0 || i >= n) throw new Error(`checkpointIndex ${checkpointIndex} is out of range: Pythia has ${n} checkpoints (0 … ${n - 1}, or negative from the end)`);
    return `step${PYTHIA_CHECKPOINTS[i]}`;
  }
  const v = checkpointValue as number;
  if (!PYTHIA_CHECKPOINTS.includes(v)) {
    const near = [...PYTHIA_CHECKPOINTS].sort((a, b) => Math.abs(a - v) - Math.abs(b - v)).slice(0, 2).sort((a, b) => a - b);
    throw new Error(`checkpointValue ${v} is not a saved Pythia step; nearest saved steps: ${near.join(", ")} (0, 1, 2, 4, …, 512, then every 1000 up to 143000)`);
  }
  return `step${v}`;
}
