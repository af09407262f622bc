/**
 * How `npm start` finds the Jupyter that opens the course, in this order:
 *   1. $LENS_JUPYTER (its JupyterLab, else its classic Notebook);
 *   2. JupyterLab on PATH (`jupyter lab`);
 *   3. the project-local JupyterLab (.venv/ or .jupyter-env/, see jupyterEnv.ts);
 *   4. installing that one (skipped with --no-install);
 *   5. the classic Notebook on PATH (`jupyter notebook`);
 *   6. none: a failure that lists each step's outcome and what to run.
 * Every check runs the real command (`<jupyter> lab --version`), so a broken install counts as missing. The launch
 * uses the project's kernelspec (./jupyter on JUPYTER_PATH), the notebooks folder, and --allow-root when run as root.
 */
import { existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { JUPYTERLAB_VERSION, type LocalLab, findLocalLab, labRuns, localJupyterPath, provisionLab, run } from "./jupyterEnv";

const ROOT = resolve(__dirname, "..");

/** One step of the search and what it found. */
export interface StepReport {
  step: number;
  what: string;
  outcome: string;
}

/** What `npm start` runs (`jupyter` with `args` and the extra `env`), or the steps that failed and what to run. */
export type StartPlan =
  | { ok: true; jupyter: string; app: "lab" | "notebook"; args: string[]; env: Record<string, string>; steps: StepReport[] }
  | { ok: false; steps: StepReport[]; fix: string[] };

export interface PlanOptions {
  /** The project (kernelspec, notebooks, node_modules); default: this checkout. */
  root?: string;
  /** Where .venv/ or .jupyter-env/ live; default $LENS_ENV_ROOT, else `root`. */
  envRoot?: string;
  /** Skip step 4 (`npm start -- --no-install`). */
  noInstall?: boolean;
  /** Options passed on to Jupyter. */
  extra?: string[];
  env?: NodeJS.ProcessEnv;
  /** Progress lines of step 4 (pip's own output goes straight to the terminal). */
  log?: (line: string) => void;
}

/** The ways out printed when every step failed, after the failed step's own fix. */
export const ALTERNATIVES = [
  "or install JupyterLab yourself (`pipx install jupyterlab`, or `pip install jupyterlab` inside a venv) and run `npm start` again; set LENS_JUPYTER=/path/to/jupyter when it is not on PATH",
  "or use the classic Notebook: `sudo apt install jupyter-notebook` (Debian/Ubuntu), then `npm start -- --no-install`",
];

/** Decides how to open the course; may install JupyterLab into the project (step 4). */
export function planStart(o: PlanOptions = {}): StartPlan {
  const root = o.root ?? ROOT;
  const env = o.env ?? process.env;
  const envRoot = o.envRoot ?? env.LENS_ENV_ROOT ?? root;
  const log = o.log ?? (() => {});
  const steps: StepReport[] = [];
  const report = (step: number, what: string, outcome: string) => steps.push({ step, what, outcome });
  if (!existsSync(join(root, "node_modules", ".bin", "tslab")))
    return { ok: false, steps: [{ step: 0, what: "the tslab kernel", outcome: "not installed" }], fix: ["run `npm install` first"] };
  const jupyterPath = (lab?: LocalLab) => [join(root, "jupyter"), ...(lab ? localJupyterPath(lab) : []), env.JUPYTER_PATH].filter(Boolean).join(delimiter);
  const childEnv: NodeJS.ProcessEnv = { ...env, JUPYTER_PATH: jupyterPath() };
  const rootFlag = typeof process.getuid === "function" && process.getuid() === 0 ? ["--allow-root"] : [];
  const launch = (jupyter: string, app: "lab" | "notebook", lab?: LocalLab): StartPlan => ({
    ok: true,
    jupyter,
    app,
    args: [app, `--notebook-dir=${join(root, "notebooks")}`, ...rootFlag, ...(o.extra ?? [])],
    env: { ...(lab?.env ?? {}), JUPYTER_PATH: jupyterPath(lab) },
    steps,
  });

  // 1. An explicit choice is used or reported, never silently replaced by another Jupyter.
  const chosen = env.LENS_JUPYTER;
  if (chosen) {
    for (const app of ["lab", "notebook"] as const) if (run(chosen, [app, "--version"], childEnv, { timeoutMs: 120_000 }).ok) return launch(chosen, app);
    report(1, "LENS_JUPYTER", `LENS_JUPYTER=${chosen} runs neither \`lab --version\` nor \`notebook --version\``);
    return { ok: false, steps, fix: ["set LENS_JUPYTER to a working `jupyter` command, or unset it, then run `npm start` again"] };
  }
  report(1, "LENS_JUPYTER", "not set");

  // 2. JupyterLab on PATH.
  const onPath = labRuns("jupyter", childEnv);
  if (onPath.ok) return launch("jupyter", "lab");
  const noJupyter = onPath.missing ? "`jupyter` is not on PATH" : "";
  report(2, "JupyterLab on PATH", noJupyter || "`jupyter` is on PATH but `jupyter lab --version` fails");

  // 3. The project-local JupyterLab from an earlier start.
  const local = findLocalLab(envRoot, childEnv);
  if (local.lab) return launch(local.lab.jupyter, "lab", local.lab);
  report(3, "project-local JupyterLab (.venv/, .jupyter-env/)", local.notes.join("; ") || "not installed yet");

  // 4. Install it.
  let fix: string[] = [];
  if (o.noInstall) {
    report(4, `install JupyterLab ${JUPYTERLAB_VERSION} into the project`, "skipped (--no-install)");
    fix = ["run `npm start` without --no-install to install JupyterLab into the project"];
  } else {
    const made = provisionLab(envRoot, childEnv, log);
    if (made.ok) return launch(made.lab.jupyter, "lab", made.lab);
    report(4, `install JupyterLab ${JUPYTERLAB_VERSION} into the project`, `FAILED: ${made.failed}`);
    fix = made.fix;
  }

  // 5. The classic Notebook.
  const classic = noJupyter ? onPath : run("jupyter", ["notebook", "--version"], childEnv, { timeoutMs: 120_000 });
  if (!noJupyter && classic.ok) return launch("jupyter", "notebook");
  report(5, "classic Notebook on PATH", noJupyter || "`jupyter notebook --version` fails");

  // 6. Nothing: say what failed and what to run.
  return { ok: false, steps, fix: [...fix, ...ALTERNATIVES] };
}

/** The text printed when no Jupyter could be found or installed. */
export function describeFailure(plan: { steps: StepReport[]; fix: string[] }): string {
  return [
    "npm start could not open the course. What each step found:",
    ...plan.steps.map((s) => `  ${s.step}. ${s.what}: ${s.outcome}`),
    "What to run:",
    ...plan.fix.map((f) => `  - ${f}`),
  ].join("\n");
}

/** The step-4 failure when the course opens anyway (in the classic Notebook), else undefined. */
export function installWarning(steps: StepReport[]): string | undefined {
  const s = steps.find((x) => x.step === 4 && x.outcome.startsWith("FAILED"));
  return s && `JupyterLab could not be installed (${s.outcome.slice("FAILED: ".length)}); opening the classic Notebook instead.`;
}
