/**
 * The course notebooks run: every notebooks/*.ipynb is executed with the project's tslab kernel (through nbclient,
 * the engine of `jupyter nbconvert --execute`) offline, each on its bundled model (LENS_COURSE_MODELS=bundled), and must finish with no failing
 * cell and nothing unexpected on stderr (scripts/notebooks.ts, ALLOWED_STDERR). A harness self-test checks that a
 * type error and a late stderr line from a timer are both reported with the cell's source. Static checks (no kernel):
 * committed notebooks are executed (outputs and execution counts present) and use the `lens` kernelspec, and src/lens
 * has no folder imports (tslab compiles them but `require` cannot load a folder at run time).
 * The kernel tests are skipped with a message only when tslab or Jupyter's nbclient/nbformat is missing.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { courseNotebooks, notebookSkipReason, runNotebook } from "../../scripts/notebooks";

const ROOT = resolve(__dirname, "../..");
const skip = notebookSkipReason() ?? false;
if (skip) console.log(`notebook execution tests skipped: ${skip}`);

type Cell = { cell_type: string; source: string | string[]; execution_count?: number | null; outputs?: unknown[]; metadata?: Record<string, unknown> };
const readNb = (p: string) => JSON.parse(readFileSync(p, "utf8")) as { cells: Cell[]; metadata: { kernelspec?: { name?: string } } };

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

test("src/lens has no folder imports (tslab cannot require a folder)", () => {
  const bad: string[] = [];
  for (const file of tsFiles(join(ROOT, "src", "lens"))) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]*)"/g)) {
      const target = resolve(dirname(file), m[1]!);
      if (existsSync(target) && statSync(target).isDirectory()) bad.push(`${file.slice(ROOT.length + 1)}: "${m[1]}" → write "${m[1]}/index"`);
    }
  }
  assert.deepStrictEqual(bad, [], `folder imports break notebooks:\n${bad.join("\n")}`);
});

test("committed notebooks use the lens kernel and are executed", () => {
  const notebooks = courseNotebooks();
  assert.ok(notebooks.length >= 1, "notebooks/ has the course");
  for (const nb of notebooks) {
    const { cells, metadata } = readNb(nb);
    assert.equal(metadata.kernelspec?.name, "lens", `${nb}: kernelspec must be "lens" (jupyter/kernels/lens)`);
    const code = cells.filter((c) => c.cell_type === "code");
    const notRun = code.map((c, i) => (c.execution_count == null ? i : -1)).filter((i) => i >= 0);
    assert.deepStrictEqual(notRun, [], `${nb}: code cells without execution count; run npm run test:notebooks -- --inplace ${nb}`);
    assert.ok(code.filter((c) => (c.outputs ?? []).length > 0).length >= code.length / 2, `${nb}: most code cells should have outputs`);
  }
});

/** Writes a notebook of code cells for the lens kernel to `path` and returns the path. */
function writeCodeNotebook(path: string, sources: string[]): string {
  const nb = {
    nbformat: 4, nbformat_minor: 5,
    metadata: { kernelspec: { name: "lens", display_name: "TypeScript (lens)", language: "typescript" } },
    cells: sources.map((source, i) => ({ id: `c${i}`, cell_type: "code", execution_count: null, metadata: {}, source, outputs: [] })),
  };
  writeFileSync(path, JSON.stringify(nb));
  return path;
}

test("harness reports a failing cell and late stderr with the cell's source", { skip, timeout: 120000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "lens-nbtest-"));
  try {
    const sources = ['setTimeout(() => console.error("late timer message"), 300);\nconst x: number = 1;', "await new Promise((r) => setTimeout(r, 800));", "const y: string = x;", "console.log(3);"];
    const res = runNotebook(writeCodeNotebook(join(dir, "broken.ipynb"), sources));
    assert.equal(res.ok, false);
    assert.equal(res.cells.length, 3, "execution stops at the failing cell");
    assert.equal(res.problems.length, 2, `${JSON.stringify(res.cells, null, 1)}\n${res.problems.join("\n\n")}`);
    assert.match(res.problems[0]!, /unexpected stderr[\s\S]*await new Promise[\s\S]*late timer message/);
    assert.match(res.problems[1]!, /cell 2 failed \(error\)[\s\S]*const y: string = x;[\s\S]*Type 'number' is not assignable to type 'string'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("harness: a cell computing synchronously for seconds passes; a kernel that exits is reported with the cell's source", { skip, timeout: 120000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "lens-nbtest-"));
  try {
    // nbclient judges liveness by the kernel's heartbeat: a long synchronous cell must not count as dead, an exit must.
    const sources = ["const t0 = Date.now();\nwhile (Date.now() - t0 < 3500) {}\nconsole.log('busy done');", "process.exit(3);", "console.log('never');"];
    const res = runNotebook(writeCodeNotebook(join(dir, "busy.ipynb"), sources));
    assert.deepStrictEqual(res.cells.map((c) => c.status), ["ok", "kernel died: Kernel died"], JSON.stringify(res.cells, null, 1));
    assert.match(res.problems.join("\n"), /cell 1 failed \(kernel died[\s\S]*process\.exit\(3\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const nb of courseNotebooks()) {
  test(`notebook runs: ${nb.slice(ROOT.length + 1)}`, { skip, timeout: 600000 }, () => {
    const res = runNotebook(nb);
    assert.ok(res.ok, `${nb} failed:\n\n${res.problems.join("\n\n")}`);
  });
}
