/**
 * The course on a rotary model of real size: all four notebooks run, cell by cell with the project's kernel, on a
 * random checkpoint of Pythia-70M's shape (GPT-NeoX, 6 layers, d_model 512, 8 heads, vocabulary 50304; see
 * pythiaShape.ts — it carries the bundled GPT-2 tokenizer, as Pythia's cannot be fetched offline) through LENS_MODEL,
 * and each must finish with no failing cell and nothing unexpected on stderr. This checks that the notebooks take their
 * prompts, special tokens, token ranges and layers from the model instead of assuming GPT-2 or the toys, and skip
 * what a rotary model does not have (W_pos). One subtest per notebook, so a failure names its notebook and the others
 * still run. (Notebook 02 needs path patching to work on GPT-NeoX's parallel residual: the code-health issue's fix.)
 * Takes ~7 minutes on 2 cores, so it runs only when LENS_PYTHIA_NOTEBOOKS=1 (.ci/run sets it in a pass of its own);
 * skipped otherwise, or when tslab or nbclient is missing. LENS_PYTHIA_NOTEBOOKS=01,03 runs only the notebooks whose names start with those.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { courseNotebooks, notebookSkipReason, runNotebook } from "../../scripts/notebooks";
import { writePythia70mShape } from "./pythiaShape";

const wanted = process.env.LENS_PYTHIA_NOTEBOOKS;
const skip = notebookSkipReason() ?? (wanted ? false : "set LENS_PYTHIA_NOTEBOOKS=1 to run the four notebooks on a Pythia-70M-shaped checkpoint (~7 minutes)");
if (skip) console.log(`Pythia-shaped notebook runs skipped: ${skip}`);
const only = wanted && wanted !== "1" ? wanted.split(",").map((s) => s.trim()) : undefined;
const notebooks = courseNotebooks().filter((nb) => !only || only.some((p) => basename(nb).startsWith(p)));

describe("course notebooks on a random checkpoint of Pythia-70M's shape (rotary, vocabulary 50304)", { skip }, () => {
  let dir = "";
  let model = "";
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "lens-pythia-"));
    const t0 = Date.now();
    model = await writePythia70mShape(join(dir, "pythia-70m-shape"));
    console.log(`wrote the checkpoint in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the course has its four notebooks", { skip: only !== undefined }, () => {
    assert.deepEqual(notebooks.map((nb) => basename(nb).slice(0, 3)), ["01_", "02_", "03_", "04_"]);
  });

  for (const nb of notebooks) {
    test(`${basename(nb)} runs on it`, { timeout: 3600000 }, () => {
      const res = runNotebook(nb, { env: { LENS_MODEL: model }, cellTimeout: 900 });
      const slowest = [...res.cells].sort((a, b) => b.seconds - a.seconds)[0];
      console.log(`${basename(nb)}: ${res.ok ? "ok" : "FAILED"} in ${res.seconds} s (${res.cells.length} cells run; slowest cell ${slowest?.index}: ${slowest?.seconds} s)`);
      assert.ok(res.ok, `${nb} failed on the Pythia-70M-shaped checkpoint:\n\n${res.problems.join("\n\n")}`);
    });
  }
});
