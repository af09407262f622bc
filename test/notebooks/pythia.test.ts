/**
 * The course on a rotary model of real size: all four notebooks run on a random checkpoint of Pythia-70M's shape
 * (GPT-NeoX, 6 layers, d_model 512, 8 heads, vocabulary 50304; see pythiaShape.ts — Pythia's tokenizer cannot be
 * fetched offline, so it carries GPT-2's BPE re-laid with Pythia's special ids: `<|endoftext|>` 0, `<|padding|>` 1)
 * through LENS_MODEL (checkpointRuns.ts). This checks that the notebooks take their prompts, special tokens, token
 * ranges and layers from the model instead of assuming GPT-2 or the toys, and skip what a rotary model does not have
 * (W_pos). (Notebook 02 needs path patching to work on GPT-NeoX's
 * parallel residual: the code-health issue's fix.) Takes ~8 minutes on 2 cores, so it runs only when
 * LENS_PYTHIA_NOTEBOOKS=1 (.ci/run sets it in a pass of its own); LENS_PYTHIA_NOTEBOOKS=01,03 runs only those.
 */
import { join } from "node:path";
import { describeCourseOnCheckpoint } from "./checkpointRuns";
import { writePythia70mShape } from "./pythiaShape";

describeCourseOnCheckpoint({
  shape: "Pythia-70M",
  title: "a random checkpoint of Pythia-70M's shape (rotary, vocabulary 50304)",
  envVar: "LENS_PYTHIA_NOTEBOOKS",
  duration: "~8 minutes",
  cellTimeout: 900,
  write: (dir) => writePythia70mShape(join(dir, "pythia-70m-shape")),
});
