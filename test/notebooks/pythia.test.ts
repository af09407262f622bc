/**
 * The course on a rotary model of real size: all four notebooks run on a random checkpoint of Pythia-70M's shape
 * (GPT-NeoX, 6 layers, d_model 512, 8 heads, vocabulary 50304; see pythiaShape.ts — it carries the bundled GPT-2
 * tokenizer, as Pythia's cannot be fetched offline) through LENS_MODEL (checkpointRuns.ts). This checks that the
 * notebooks take their prompts, special tokens, token ranges and layers from the model instead of assuming GPT-2 or the
 * toys, and skip what a rotary model does not have (W_pos). (Notebook 02 needs path patching to work on GPT-NeoX's
 * parallel residual: the code-health issue's fix.) Takes ~7 minutes on 2 cores, so it runs only when
 * LENS_PYTHIA_NOTEBOOKS=1 (.ci/run sets it in a pass of its own); LENS_PYTHIA_NOTEBOOKS=01,03 runs only those.
 */
import { join } from "node:path";
import { describeCourseOnCheckpoint } from "./checkpointRuns";
import { writePythia70mShape } from "./pythiaShape";

describeCourseOnCheckpoint({
  shape: "Pythia-70M",
  title: "a random checkpoint of Pythia-70M's shape (rotary, vocabulary 50304)",
  envVar: "LENS_PYTHIA_NOTEBOOKS",
  duration: "~7 minutes",
  cellTimeout: 900,
  write: (dir) => writePythia70mShape(join(dir, "pythia-70m-shape")),
});
