/**
 * The notebook test harness: executes notebooks/*.ipynb with the project's tslab kernel (jupyter/kernels/lens) through
 * nbclient — the engine of `jupyter nbconvert --execute` — offline (HF_HUB_OFFLINE=1) on the bundled model, and fails
 * with the failing cell's source and its stderr (tslab reports errors only there). Unexpected stderr also fails a
 * notebook: an exception thrown by a timer after its cell finished surfaces on a later cell that still reports "ok".
 *
 * Usage: npm run test:notebooks [-- [--inplace] [NOTEBOOK.ipynb ...]]   (LENS_NOTEBOOK_CELL_TIMEOUT=s: per-cell limit, default 300)
 *   --inplace  write the executed notebook (outputs, execution counts) back over the source when it passes, with the
 *              11 MB plotly.js loader output replaced by a note (npm run export injects plotly.js itself).
 * Each notebook runs on its own bundled model here (LENS_COURSE_MODELS=bundled, see notebooks/course.ts); set LENS_MODEL
 * to run the course on another model.
 * Needs Debian's nbconvert (apt-get install -y jupyter-nbconvert python3-nbformat) or $LENS_PYTHON with nbclient.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, delimiter, join, resolve } from "node:path";
import { runScript } from "./cli";

const ROOT = resolve(__dirname, "..");
const RUNNER = join(ROOT, "scripts", "notebooks", "execute.py");

/**
 * stderr lines that do not fail a notebook, each with the reason it is harmless. Matched against single lines.
 * Keep this list short: anything else on stderr is a failure.
 */
export const ALLOWED_STDERR: { pattern: RegExp; reason: string }[] = [];

/** The Python that runs nbclient: $LENS_PYTHON, else Debian's /usr/bin/python3 (the pyenv python3 has no Jupyter). */
export function notebookPython(): string {
  return process.env.LENS_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
}

/** Why notebooks cannot run here (nbclient/nbformat or tslab missing), or undefined when they can. */
export function notebookSkipReason(): string | undefined {
  if (!existsSync(join(ROOT, "node_modules", ".bin", "tslab"))) return "tslab is not installed (run npm install)";
  const r = spawnSync(notebookPython(), ["-c", "import nbclient, nbformat"], { encoding: "utf8" });
  if (r.status !== 0) return `jupyter nbconvert/nbclient not found for ${notebookPython()} (apt-get install -y jupyter-nbconvert python3-nbformat)`;
  return undefined;
}

/** The notebooks of the course, sorted by name. */
export function courseNotebooks(): string[] {
  const dir = join(ROOT, "notebooks");
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".ipynb")).sort().map((f) => join(dir, f)) : [];
}

/** One executed code cell as the runner reports it. */
export interface CellReport {
  index: number;
  source: string;
  status: string;
  seconds: number;
  stderr: string;
}

/** The outcome of {@link runNotebook}. */
export interface NotebookResult {
  notebook: string;
  ok: boolean;
  seconds: number;
  cells: CellReport[];
  /** Human-readable problems: the failing cell (source + stderr), unexpected stderr lines. Empty when ok. */
  problems: string[];
  /** stderr lines that were allowed, with the reason. */
  allowed: string[];
}

/** Options for {@link runNotebook}. */
export interface RunNotebookOptions {
  /** Write the executed notebook back over the source when it passes (default false), without the plotly.js loader payload. */
  inplace?: boolean;
  /** Seconds allowed per cell (default 300). */
  cellTimeout?: number;
  /** Write the executed notebook (loader payload stripped) to this path when it passes. */
  outPath?: string;
  /** Run each notebook on its bundled model, LENS_COURSE_MODELS=bundled (default true; the course runner passes false). */
  bundled?: boolean;
  /** Set HF_HUB_OFFLINE=1 (default true; the course runner passes false so a chosen model may download). */
  offline?: boolean;
  /** Extra environment (e.g. LENS_MODEL). */
  env?: Record<string, string>;
}

function judgeStderr(cell: CellReport, problems: string[], allowed: string[]): void {
  const bad: string[] = [];
  for (const line of cell.stderr.split("\n").filter((l) => l.trim() !== "")) {
    const rule = ALLOWED_STDERR.find((a) => a.pattern.test(line));
    if (rule) allowed.push(`${line}  [allowed: ${rule.reason}]`);
    else bad.push(line);
  }
  if (bad.length > 0 && cell.status === "ok") {
    problems.push(`cell ${cell.index} printed unexpected stderr:\n--- source ---\n${cell.source}\n--- stderr ---\n${bad.join("\n")}`);
  }
}

/**
 * tslab's compiler watches the imported src files; when one of them changes while a notebook runs (you, or another
 * process, saved it), the next cell fails with this message. It says nothing about the notebook, so the run is retried.
 */
export const SOURCE_CHANGED = "Unexpected pending rebuildTimer";

/**
 * Executes one notebook with the project's kernel and judges its stderr; never throws for a failing notebook.
 * A run that failed only because a src file changed under tslab ({@link SOURCE_CHANGED}) is retried, at most twice.
 */
export function runNotebook(notebook: string, opts: RunNotebookOptions = {}): NotebookResult {
  let res = runOnce(notebook, opts);
  for (let retry = 1; retry <= 2 && !res.ok && res.cells.some((c) => c.status !== "ok" && c.stderr.includes(SOURCE_CHANGED)); retry++) {
    res = runOnce(notebook, opts);
    res.allowed.push(`(run ${retry + 1}: the previous run failed with "${SOURCE_CHANGED}": a src file changed during the run)`);
  }
  return res;
}

function runOnce(notebook: string, opts: RunNotebookOptions): NotebookResult {
  const dir = mkdtempSync(join(tmpdir(), "lens-nb-"));
  try {
    const out = join(dir, basename(notebook));
    const env = {
      ...process.env,
      JUPYTER_PATH: [join(ROOT, "jupyter"), process.env.JUPYTER_PATH].filter(Boolean).join(delimiter),
      ...(opts.offline === false ? {} : { HF_HUB_OFFLINE: "1" }),
      ...(opts.bundled === false ? {} : { LENS_COURSE_MODELS: "bundled" }),
      ...opts.env,
    };
    const args = [RUNNER, resolve(notebook), out, String(opts.cellTimeout ?? 300), ...(opts.inplace || opts.outPath ? ["--strip-plotly-loader"] : [])];
    const r = spawnSync(notebookPython(), args, { env, encoding: "utf8", maxBuffer: 256 << 20 });
    const last = (r.stdout ?? "").trim().split("\n").pop() ?? "";
    let report: { ok: boolean; seconds: number; cells: CellReport[] };
    try {
      report = JSON.parse(last);
    } catch {
      const why = r.error ? r.error.message : `exit ${r.status}`;
      return { notebook, ok: false, seconds: 0, cells: [], allowed: [], problems: [`the runner failed (${why}):\n${r.stderr}${r.stdout}`] };
    }
    const problems: string[] = [];
    const allowed: string[] = [];
    for (const cell of report.cells) {
      judgeStderr(cell, problems, allowed);
      if (cell.status !== "ok") {
        problems.push(`cell ${cell.index} failed (${cell.status}) after ${cell.seconds} s:\n--- source ---\n${cell.source}\n--- stderr ---\n${cell.stderr || "(empty)"}`);
      }
    }
    const ok = report.ok && problems.length === 0;
    if (ok && opts.inplace) copyFileSync(out, notebook);
    if (ok && opts.outPath) copyFileSync(out, opts.outPath);
    return { notebook, ok, seconds: report.seconds, cells: report.cells, problems, allowed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(argv: string[]): number {
  const inplace = argv.includes("--inplace");
  const unknown = argv.filter((a) => a.startsWith("--") && a !== "--inplace");
  if (unknown.length > 0) throw new Error(`unknown option ${unknown[0]}; use --inplace or notebook paths`);
  const given = argv.filter((a) => !a.startsWith("--"));
  const notebooks = given.length > 0 ? given : courseNotebooks();
  const skip = notebookSkipReason();
  if (skip) {
    console.error(`cannot run notebooks: ${skip}`);
    return 1;
  }
  if (notebooks.length === 0) {
    console.log("no notebooks in notebooks/");
    return 0;
  }
  // LENS_NOTEBOOK_CELL_TIMEOUT: seconds per cell (CI's webgpu pass on lavapipe, a CPU-emulated GPU, needs more than 300).
  const cellTimeout = process.env.LENS_NOTEBOOK_CELL_TIMEOUT ? Number(process.env.LENS_NOTEBOOK_CELL_TIMEOUT) : undefined;
  if (cellTimeout !== undefined && !(cellTimeout > 0)) throw new Error(`LENS_NOTEBOOK_CELL_TIMEOUT=${process.env.LENS_NOTEBOOK_CELL_TIMEOUT}: give seconds, e.g. 900`);
  let failed = 0;
  for (const nb of notebooks) {
    const res = runNotebook(nb, { inplace, cellTimeout });
    const slowest = [...res.cells].sort((a, b) => b.seconds - a.seconds)[0];
    console.log(`${res.ok ? "ok  " : "FAIL"} ${nb} (${res.seconds} s, ${res.cells.length} code cells${slowest ? `, slowest cell ${slowest.index}: ${slowest.seconds} s` : ""})${res.ok && inplace ? " → written in place" : ""}`);
    for (const a of res.allowed) console.log(`  allowed stderr: ${a}`);
    for (const p of res.problems) console.log(p.replace(/^/gm, "  "));
    if (!res.ok) failed++;
  }
  return failed === 0 ? 0 : 1;
}

runScript(module, main);
