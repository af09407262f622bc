/**
 * The course on a rotary model of real size: notebooks 01, 03 and 04 run, cell by cell with the project's kernel, on
 * a random checkpoint of Pythia-70M's shape (GPT-NeoX, 6 layers, d_model 512, 8 heads, vocabulary 50304; see
 * pythiaShape.ts — it carries the bundled GPT-2 tokenizer, as Pythia's cannot be fetched offline) through LENS_MODEL,
 * and must finish with no failing cell and nothing unexpected on stderr. This checks that the notebooks take their
 * prompts, special tokens, token ranges and layers from the model instead of assuming GPT-2 or the toys, and skip
 * what a rotary model does not have (W_pos). Notebook 02 is left out until its path patching works on GPT-NeoX
 * (blocks.3.attn.hook_q did not fire: the path-patching fix of the code-health issue).
 * Takes several minutes on 2 cores, so it runs when LENS_PYTHIA_NOTEBOOKS=1 (CI sets it); skipped otherwise, or when
 * tslab or nbclient is missing.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { courseNotebooks, notebookSkipReason, runNotebook } from "../../scripts/notebooks";
import { writePythia70mShape } from "./pythiaShape";

const skip = notebookSkipReason() ?? (process.env.LENS_PYTHIA_NOTEBOOKS === "1" ? false : "set LENS_PYTHIA_NOTEBOOKS=1 to run notebooks 01, 03, 04 on a Pythia-70M-shaped checkpoint (several minutes)");
if (skip) console.log(`Pythia-shaped notebook runs skipped: ${skip}`);
const NOTEBOOKS = ["01_", "03_", "04_"];

test("notebooks 01, 03 and 04 run on a random checkpoint of Pythia-70M's shape (rotary, vocabulary 50304)", { skip, timeout: 3600000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "lens-pythia-"));
  try {
    const t0 = Date.now();
    const model = await writePythia70mShape(join(dir, "pythia-70m-shape"));
    console.log(`wrote the checkpoint in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const notebooks = courseNotebooks().filter((nb) => NOTEBOOKS.some((p) => nb.split("/").pop()!.startsWith(p)));
    assert.equal(notebooks.length, NOTEBOOKS.length, "notebooks 01, 03 and 04 exist");
    for (const nb of notebooks) {
      const res = runNotebook(nb, { env: { LENS_MODEL: model }, cellTimeout: 900 });
      const slowest = [...res.cells].sort((a, b) => b.seconds - a.seconds)[0];
      console.log(`${nb.split("/").pop()}: ${res.ok ? "ok" : "FAILED"} in ${res.seconds} s (slowest cell ${slowest?.index}: ${slowest?.seconds} s)`);
      assert.ok(res.ok, `${nb} failed on the Pythia-70M-shaped checkpoint:\n\n${res.problems.join("\n\n")}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
