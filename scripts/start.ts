/**
 * `npm start`: opens the course (notebooks/) in JupyterLab with the project's TypeScript kernel `lens`
 * (jupyter/kernels/lens: tslab started in the project root, so notebooks import `./src/lens/index`; JUPYTER_PATH points
 * at ./jupyter, so no global Jupyter folder is touched). When no JupyterLab is found it installs a pinned one into the
 * project (.venv/, or .jupyter-env/ where venv is unavailable) once, and reuses it on later starts. The order of the
 * search is in startPlan.ts; when everything fails it prints each step's outcome and what to run, and exits 1.
 *
 * Usage: npm start [-- [--no-install] [--dry-run] [extra Jupyter options]]
 *   --no-install  never install JupyterLab (use one that is there, else the classic Notebook).
 *   --dry-run     find (and if needed install) Jupyter, print the command, do not launch it.
 * $LENS_JUPYTER chooses the jupyter command; $LENS_PYTHON the Python that installs JupyterLab; $LENS_ENV_ROOT the folder
 * that holds .venv/ (default: the project).
 */
import { spawnSync } from "node:child_process";
import { runScript } from "./cli";
import { describeFailure, installWarning, planStart } from "./startPlan";

function main(argv: string[]): number {
  const flags = new Set(["--dry-run", "--no-install"]);
  const plan = planStart({ extra: argv.filter((a) => !flags.has(a)), noInstall: argv.includes("--no-install"), log: (s) => console.log(s) });
  if (!plan.ok) {
    console.error(describeFailure(plan));
    return 1;
  }
  const warning = installWarning(plan.steps);
  if (warning) console.warn(warning);
  const what = plan.app === "lab" ? "JupyterLab" : "the classic Jupyter Notebook";
  console.log(`Opening the course in ${what} with the "TypeScript (lens)" kernel.`);
  const vars = Object.entries(plan.env).map(([k, v]) => `${k}=${v}`);
  console.log([...vars, plan.jupyter, ...plan.args].join(" "));
  if (argv.includes("--dry-run")) return 0;
  // Ctrl-C belongs to Jupyter (it asks before shutting down); this process waits for it instead of dying first.
  process.on("SIGINT", () => {});
  const r = spawnSync(plan.jupyter, plan.args, { stdio: "inherit", env: { ...process.env, ...plan.env } });
  if (r.error) console.error(`could not run ${plan.jupyter}: ${r.error.message}`);
  return r.status ?? 1;
}

runScript(module, main);
