/**
 * Shared set-up for the course notebooks: which model a notebook loads, and why.
 * Order: $LENS_MODEL (any name `fromPretrained` accepts) → the bundled model when the test harness asks for it
 * ($LENS_COURSE_MODELS=bundled, set by `npm run test:notebooks`) → the real model the text is about when its weights are
 * in the Hugging Face cache → the notebook's bundled model, which needs no download.
 */
import { cachedSnapshot } from "../src/lens/index";

/** The model a notebook should load and the reason, printed in its first cell. */
export interface ModelChoice {
  name: string;
  why: string;
}

/**
 * Picks a notebook's model.
 * @param bundled the bundled model (data/models) the notebook runs on offline, e.g. "toy-ioi"
 * @param real the model the text is about (default "gpt2"), used when it is already cached
 * @param env the environment to read (default process.env)
 */
export function chooseModel(bundled: string, real = "gpt2", env: NodeJS.ProcessEnv = process.env): ModelChoice {
  const asked = env.LENS_MODEL;
  if (asked) return { name: asked, why: `LENS_MODEL=${asked} is set` };
  if (env.LENS_COURSE_MODELS === "bundled") return { name: bundled, why: "LENS_COURSE_MODELS=bundled (the notebook test harness) asks for the bundled model" };
  if (cachedSnapshot(real, "main", env)) return { name: real, why: `${real} is in the Hugging Face cache` };
  return { name: bundled, why: `${real} is not cached (run: npm run download -- ${real}), so the bundled ${bundled} is used` };
}
