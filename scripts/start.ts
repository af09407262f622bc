/**
 * `npm start`: opens the course (notebooks/) in JupyterLab — or the classic Notebook when Lab is missing — with the
 * project's TypeScript kernel `lens` (jupyter/kernels/lens: tslab started in the project root, so notebooks import
 * `./src/lens/index`). Nothing is written to global Jupyter folders: JUPYTER_PATH points at ./jupyter.
 * When Jupyter is missing it prints the exact install steps and exits 1.
 *
 * Usage: npm start [-- [--dry-run] [extra Jupyter options]]
 *   --dry-run  print the command and environment instead of launching.
 * $LENS_JUPYTER overrides the jupyter command (default: `jupyter` on PATH, else /usr/bin/jupyter).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..");

/** What `npm start` would run: the jupyter command, the app ("lab" or "notebook"), or why neither is available. */
export type StartPlan = { ok: true; jupyter: string; app: "lab" | "notebook"; args: string[]; env: Record<string, string> } | { ok: false; message: string };

function runs(cmd: string, args: string[], env: NodeJS.ProcessEnv): boolean {
  const r = spawnSync(cmd, args, { encoding: "utf8", env, timeout: 60000 });
  return r.status === 0;
}

/** The install steps printed when Jupyter is missing. */
export const INSTALL_STEPS = [
  "Jupyter was not found. Install one of:",
  "  JupyterLab (recommended):   pip install jupyterlab          (or: pipx install jupyterlab)",
  "  classic Notebook (Debian):  sudo apt-get install -y jupyter-notebook",
  "then run npm start again. To run or test the notebooks without a browser:",
  "  sudo apt-get install -y jupyter-nbconvert python3-nbformat && npm run test:notebooks",
  "(set LENS_JUPYTER=/path/to/jupyter if it is installed somewhere unusual)",
].join("\n");

/** Decides how to open the course: JupyterLab if `jupyter lab` runs, else the classic Notebook, else the install steps. */
export function startPlan(extra: string[] = [], env: NodeJS.ProcessEnv = process.env): StartPlan {
  if (!existsSync(join(ROOT, "node_modules", ".bin", "tslab"))) return { ok: false, message: "the tslab kernel is not installed: run npm install first" };
  const candidates = env.LENS_JUPYTER ? [env.LENS_JUPYTER] : ["jupyter", "/usr/bin/jupyter"];
  const jupyterPath = [join(ROOT, "jupyter"), env.JUPYTER_PATH].filter(Boolean).join(delimiter);
  const childEnv = { ...env, JUPYTER_PATH: jupyterPath } as NodeJS.ProcessEnv;
  const rootFlag = typeof process.getuid === "function" && process.getuid() === 0 ? ["--allow-root"] : [];
  for (const jupyter of candidates) {
    for (const app of ["lab", "notebook"] as const) {
      if (runs(jupyter, [app, "--version"], childEnv)) {
        const args = [app, `--notebook-dir=${join(ROOT, "notebooks")}`, ...rootFlag, ...extra];
        return { ok: true, jupyter, app, args, env: { JUPYTER_PATH: jupyterPath } };
      }
    }
  }
  return { ok: false, message: INSTALL_STEPS };
}

function main(argv: string[]): number {
  const dryRun = argv.includes("--dry-run");
  const plan = startPlan(argv.filter((a) => a !== "--dry-run"));
  if (!plan.ok) {
    console.error(plan.message);
    return 1;
  }
  const what = plan.app === "lab" ? "JupyterLab" : "the classic Jupyter Notebook (JupyterLab not found: pip install jupyterlab)";
  console.log(`Opening the course in ${what} with the "TypeScript (lens)" kernel.`);
  console.log(`JUPYTER_PATH=${plan.env.JUPYTER_PATH} ${plan.jupyter} ${plan.args.join(" ")}`);
  if (dryRun) return 0;
  const r = spawnSync(plan.jupyter, plan.args, { stdio: "inherit", env: { ...process.env, ...plan.env } });
  return r.status ?? 1;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
