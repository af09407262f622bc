/**
 * Runs the course on a random checkpoint of a real model's shape through LENS_MODEL: all four notebooks, cell by cell
 * with the project's kernel, each of which must finish with no failing cell and nothing unexpected on stderr. One
 * subtest per notebook, so a failure names its notebook and the others still run. These runs take minutes, so they run
 * only when their environment variable is set (`=1` all four, `=01,03` the notebooks whose names start with those);
 * skipped otherwise, or when tslab or nbclient is missing. Used by pythia.test.ts and gpt2Shape.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { courseNotebooks, notebookSkipReason, runNotebook } from "../../scripts/notebooks";

export interface CheckpointRun {
  /** the shape's name in messages and folder names, e.g. "Pythia-70M" */
  readonly shape: string;
  /** what the describe block says the checkpoint is */
  readonly title: string;
  /** the environment variable that turns the runs on */
  readonly envVar: string;
  /** the measured run time of all four, for the skip message, e.g. "~7 minutes" */
  readonly duration: string;
  /** the per-cell limit in seconds */
  readonly cellTimeout: number;
  /** writes the checkpoint (Hugging Face layout, with a tokenizer) under `dir`; returns the folder to pass as LENS_MODEL */
  readonly write: (dir: string) => Promise<string>;
}

export function describeCourseOnCheckpoint(run: CheckpointRun): void {
  const wanted = process.env[run.envVar];
  const skip = notebookSkipReason() ?? (wanted ? false : `set ${run.envVar}=1 to run the four notebooks on a ${run.shape}-shaped checkpoint (${run.duration})`);
  if (skip) console.log(`${run.shape}-shaped notebook runs skipped: ${skip}`);
  const only = wanted && wanted !== "1" ? wanted.split(",").map((s) => s.trim()) : undefined;
  const notebooks = courseNotebooks().filter((nb) => !only || only.some((p) => basename(nb).startsWith(p)));

  describe(`course notebooks on ${run.title}`, { skip }, () => {
    let dir = "";
    let model = "";
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "lens-shape-"));
      const t0 = Date.now();
      model = await run.write(dir);
      console.log(`wrote the ${run.shape}-shaped checkpoint in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test("the course has its four notebooks", { skip: only !== undefined }, () => {
      assert.deepEqual(notebooks.map((nb) => basename(nb).slice(0, 3)), ["01_", "02_", "03_", "04_"]);
    });

    for (const nb of notebooks) {
      test(`${basename(nb)} runs on it`, { timeout: 7200000 }, () => {
        const res = runNotebook(nb, { env: { LENS_MODEL: model }, cellTimeout: run.cellTimeout });
        const slowest = [...res.cells].sort((a, b) => b.seconds - a.seconds)[0];
        console.log(`${basename(nb)}: ${res.ok ? "ok" : "FAILED"} in ${res.seconds} s (${res.cells.length} cells run; slowest cell ${slowest?.index}: ${slowest?.seconds} s)`);
        assert.ok(res.ok, `${nb} failed on the ${run.shape}-shaped checkpoint:\n\n${res.problems.join("\n\n")}`);
      });
    }
  });
}
