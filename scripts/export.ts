/**
 * Exports notebooks to self-contained, offline HTML with the committed nbconvert template
 * (jupyter/nbconvert/templates/lens: plotly.js inlined once, no CDN scripts).
 *
 * Usage: npm run export [-- [--execute] [--out DIR] [NOTEBOOK.ipynb ...]]
 *   default: every notebooks/*.ipynb → out/<name>.html, exported with the outputs stored in the notebook;
 *   --execute runs each notebook first (needs its kernel, e.g. the project's tslab kernelspec under jupyter/kernels).
 * Needs Debian's nbconvert (apt-get install -y jupyter-nbconvert python3-nbformat) or $LENS_JUPYTER.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { basename, delimiter, join, resolve } from "node:path";
import { runScript } from "./cli";

const ROOT = resolve(__dirname, "..");
const TEMPLATE_PLOTLY = join(ROOT, "jupyter", "nbconvert", "templates", "lens", "plotly.js");

/** The jupyter command: $LENS_JUPYTER, else /usr/bin/jupyter (Debian), else `jupyter` on PATH. */
export function jupyterCommand(): string {
  return process.env.LENS_JUPYTER ?? (existsSync("/usr/bin/jupyter") ? "/usr/bin/jupyter" : "jupyter");
}

/** True when `jupyter nbconvert` runs here. */
export function hasNbconvert(): boolean {
  const r = spawnSync(jupyterCommand(), ["nbconvert", "--version"], { encoding: "utf8" });
  return r.status === 0;
}

/** Options for {@link exportNotebook}. */
export interface ExportOptions {
  /** Execute the notebook before converting (default false: use the stored outputs). */
  execute?: boolean;
  /** Seconds allowed per cell when executing (default 600). */
  cellTimeout?: number;
}

/** Converts one notebook to outDir/<name>.html and returns that path. Throws with nbconvert's output on failure. */
export function exportNotebook(notebook: string, outDir: string, opts: ExportOptions = {}): string {
  if (!existsSync(TEMPLATE_PLOTLY)) {
    throw new Error(`${TEMPLATE_PLOTLY} does not resolve: it links to node_modules/plotly.js-dist/plotly.js; run npm install`);
  }
  mkdirSync(outDir, { recursive: true });
  const args = ["nbconvert", "--to", "html", "--template", "lens", "--output-dir", resolve(outDir)];
  if (opts.execute) args.push("--execute", `--ExecutePreprocessor.timeout=${opts.cellTimeout ?? 600}`);
  args.push(resolve(notebook));
  const jupyterPath = [join(ROOT, "jupyter"), process.env.JUPYTER_PATH].filter(Boolean).join(delimiter);
  const r = spawnSync(jupyterCommand(), args, { encoding: "utf8", env: { ...process.env, JUPYTER_PATH: jupyterPath }, maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`could not run ${jupyterCommand()} (${r.error.message}); install nbconvert: apt-get install -y jupyter-nbconvert python3-nbformat`);
  if (r.status !== 0) throw new Error(`nbconvert failed on ${notebook} (exit ${r.status}):\n${r.stderr}${r.stdout}`);
  return join(outDir, basename(notebook).replace(/\.ipynb$/, "") + ".html");
}

function main(argv: string[]): void {
  let outDir = join(ROOT, "out");
  let execute = false;
  const notebooks: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out") outDir = argv[++i];
    else if (argv[i] === "--execute") execute = true;
    else if (argv[i].startsWith("--")) throw new Error(`unknown option ${argv[i]}; use --execute, --out DIR, or notebook paths`);
    else notebooks.push(argv[i]);
  }
  if (notebooks.length === 0) {
    const dir = join(ROOT, "notebooks");
    const found = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".ipynb")).sort() : [];
    notebooks.push(...found.map((f) => join(dir, f)));
    if (notebooks.length === 0) {
      console.log(`no notebooks in ${dir}; nothing to export`);
      return;
    }
  }
  for (const nb of notebooks) {
    const t0 = Date.now();
    const out = exportNotebook(nb, outDir, { execute });
    console.log(`${nb} → ${out} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
}

runScript(module, main);
