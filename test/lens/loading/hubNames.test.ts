/**
 * Model names → repo ids (TransformerLens's official names and aliases, docs/sources.md §4),
 * Pythia checkpoints → revisions (PYTHIA_CHECKPOINTS: 0, 1, 2, 4, …, 512, then 1000 … 143000 by 1000), and the
 * progress line's arithmetic.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkpointRevision, looksLikePath, PYTHIA_CHECKPOINTS, resolveModelName } from "../../../src/lens/loading/hub/names";
import { formatBytes, renderProgress } from "../../../src/lens/loading/hub/progress";

const repoOf = (name: string) => {
  const r = resolveModelName(name);
  return r.kind === "repo" ? r.repoId : `unknown: ${r.message}`;
};

test("official names and aliases map to their Hub repos (case-insensitive)", () => {
  const cases: Record<string, string> = {
    gpt2: "openai-community/gpt2", "gpt2-small": "openai-community/gpt2", "GPT2-Small": "openai-community/gpt2",
    "gpt2-medium": "openai-community/gpt2-medium", "gpt2-large": "openai-community/gpt2-large", "gpt2-xl": "openai-community/gpt2-xl",
    "pythia-70m": "EleutherAI/pythia-70m", pythia: "EleutherAI/pythia-70m", "pythia-19m": "EleutherAI/pythia-70m",
    "pythia-125m": "EleutherAI/pythia-160m", "pythia-1.3b": "EleutherAI/pythia-1.4b", "pythia-2.8b": "EleutherAI/pythia-2.8b",
    "pythia-410m-deduped": "EleutherAI/pythia-410m-deduped", "pythia-350m-deduped": "EleutherAI/pythia-410m-deduped",
    "EleutherAI/pythia-1b": "EleutherAI/pythia-1b", "someone/my-gpt2": "someone/my-gpt2",
  };
  for (const [name, repo] of Object.entries(cases)) assert.equal(repoOf(name), repo, name);
});

test("unknown names suggest close matches; paths are not names", () => {
  assert.match(repoOf("pythia-70"), /unknown model name "pythia-70"; did you mean "pythia-70m"/);
  assert.match(repoOf("gpt-2"), /did you mean "gpt2"/);
  for (const p of ["./models/gpt2", "/abs/dir", "a/b/c", "~/m"]) assert.equal(looksLikePath(p), true, p);
  assert.equal(looksLikePath("openai-community/gpt2"), false);
});

test("Pythia checkpoints: 154 steps; checkpointValue and checkpointIndex give step{N}; bad ones are Errors", () => {
  assert.equal(PYTHIA_CHECKPOINTS.length, 154);
  assert.deepEqual(PYTHIA_CHECKPOINTS.slice(0, 12), [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000]);
  assert.equal(PYTHIA_CHECKPOINTS.at(-1), 143000);
  const repo = "EleutherAI/pythia-160m";
  assert.equal(checkpointRevision(repo, { checkpointValue: 1000 }), "step1000");
  assert.equal(checkpointRevision(repo, { checkpointValue: 0 }), "step0");
  assert.equal(checkpointRevision(repo, { checkpointIndex: 11 }), "step1000");
  assert.equal(checkpointRevision(repo, { checkpointIndex: -1 }), "step143000");
  assert.equal(checkpointRevision(repo, { revision: "abc" }), "abc");
  assert.equal(checkpointRevision(repo, {}), undefined);
  assert.throws(() => checkpointRevision(repo, { checkpointIndex: 154 }), /out of range: Pythia has 154 checkpoints/);
  assert.throws(() => checkpointRevision(repo, { checkpointValue: 3 }), /nearest saved steps: 2, 4/);
  assert.throws(() => checkpointRevision(repo, { checkpointValue: 1000, revision: "main" }), /either revision or checkpointValue/);
  assert.throws(() => checkpointRevision("openai-community/gpt2", { checkpointValue: 1000 }), /has no training checkpoints/);
});

test("progress line: percent, bytes, rate and ETA", () => {
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(497_759_232), "497.8 MB");
  // 100 MB of 400 MB in 10 s: 25%, 10 MB/s, 30 s left.
  assert.equal(renderProgress("x", 100e6, 400e6, 10), "x  25% |█████               | 100.0 MB/400.0 MB  10.0 MB/s  ETA 0:30");
});
