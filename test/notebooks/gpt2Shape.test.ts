/**
 * The course on GPT-2 small's shape: all four notebooks run on a random checkpoint of GPT-2 small's shape (12 layers,
 * d_model 768, 12 heads, vocabulary 50257, n_ctx 1024: bench/checkpoint.ts, the benchmark's model) with the bundled
 * GPT-2 tokenizer, through LENS_MODEL (checkpointRuns.ts). This is the size a learner with a cached GPT-2 runs, so it
 * checks that the notebooks fit in memory and finish there (notebook 02 once outgrew the wasm heap at this size, in its
 * copying-score solution); random weights form no trained circuit, so it checks that they run, not what they find.
 * Takes ~26 minutes on 2 cores (01 93 s, 02 948 s, 03 386 s, 04 123 s measured), so it runs only when
 * LENS_GPT2_NOTEBOOKS=1 (.ci/run sets it in a pass of its own); LENS_GPT2_NOTEBOOKS=02 runs only notebook 02.
 */
import { join } from "node:path";
import { writeGpt2Small } from "../../bench/checkpoint";
import { copyGpt2Tokenizer } from "../lens/loading/checkpoints";
import { describeCourseOnCheckpoint } from "./checkpointRuns";

describeCourseOnCheckpoint({
  shape: "GPT-2 small",
  title: "a random checkpoint of GPT-2 small's shape (vocabulary 50257, the real GPT-2 tokenizer)",
  envVar: "LENS_GPT2_NOTEBOOKS",
  duration: "~26 minutes",
  cellTimeout: 1500,
  write: async (dir) => {
    const model = join(dir, "gpt2-small-shape");
    await writeGpt2Small(model);
    await copyGpt2Tokenizer(model);
    return model;
  },
});
