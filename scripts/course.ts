/**
 * `npm run course`: re-executes the course notebooks with the project's tslab kernel on the model each one chooses
 * (notebooks/course.ts: $LENS_MODEL, else GPT-2 when cached, else the bundled model) and exports them to offline HTML.
 * The committed notebooks are left as they are; the executed copies and the HTML go to out/.
 *
 * Usage: npm run course [-- [--out DIR] [NOTEBOOK.ipynb ...]]
 * Needs Debian's nbconvert (apt-get install -y jupyter-nbconvert python3-nbformat) or $LENS_PYTHON / $LENS_JUPYTER.
 */
import { mkdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { exportNotebook } from "./export";
import { courseNotebooks, notebookSkipReason, runNotebook } from "./notebooks";
import { runScript } from "./cli";

const ROOT = resolve(__dirname, "..");

function main(argv: string[]): number {
  let outDir = join(ROOT, "out");
  const given: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out") outDir = resolve(argv[++i] ?? "out");
    else if (argv[i]!.startsWith("--")) throw new Error(`unknown option ${argv[i]}; use --out DIR or notebook paths`);
    else given.push(argv[i]!);
  }
  const skip = notebookSkipReason();
  if (skip) throw new Error(`cannot run notebooks: ${skip}`);
  mkdirSync(outDir, { recursive: true });
  let failed = 0;
  for (const nb of given.length > 0 ? given : courseNotebooks()) {
    const executed = join(outDir, basename(nb));
    const res = runNotebook(nb, { outPath: executed, bundled: false, offline: false });
    if (!res.ok) {
      failed++;
      console.log(`FAIL ${nb} (${res.seconds} s)`);
      for (const p of res.problems) console.log(p.replace(/^/gm, "  "));
      continue;
    }
    const html = exportNotebook(executed, outDir);
    console.log(`ok   ${nb} (${res.seconds} s) → ${executed}, ${html}`);
  }
  return failed === 0 ? 0 : 1;
}

runScript(module, main);
