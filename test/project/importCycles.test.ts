/**
 * No runtime import cycles in the library or the course helpers. tslab loads the modules a notebook imports with its
 * own `require` (executor.js, `requireFromSideOutputs`), which caches a module only after it has finished running, so a
 * cycle (a.ts needs b.ts at run time, b.ts needs a.ts) recurses until "RangeError: Maximum call stack size exceeded"
 * and every notebook fails at its first cell, while Node's own loader and tsx (and so every other test) run fine.
 * The graph is what tslab sees: each file compiled to CommonJS as TypeScript emits it (imports used only as types are
 * dropped), and its relative `require(...)` calls.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import ts from "typescript";

const ROOT = resolve(__dirname, "../..");

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith(".ts") && !p.endsWith(".d.ts") ? [p] : [];
  });
}

/** The module a relative require names, as tslab resolves it (a .ts file, or a folder's index.ts); null outside. */
function resolveLocal(from: string, spec: string): string | null {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, join(base, "index.ts")]) {
    if (candidate.endsWith(".ts") && existsSync(candidate)) return candidate;
  }
  return null;
}

/** Every runtime import cycle among `files`, each as the list of files around it (first repeated at the end). */
function runtimeImportCycles(files: readonly string[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const js = ts.transpileModule(readFileSync(file, "utf8"), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: file,
    }).outputText;
    const deps = [...js.matchAll(/require\("(\.{1,2}\/[^"]*)"\)/g)].map((m) => resolveLocal(file, m[1]));
    graph.set(file, deps.filter((d): d is string => d !== null));
  }
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    path.push(file);
    for (const dep of graph.get(file) ?? []) {
      if (state.get(dep) === "open") cycles.push([...path.slice(path.indexOf(dep)), dep]);
      else if (!state.has(dep)) visit(dep);
    }
    path.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

test("src/lens and notebooks/*.ts have no runtime import cycle (tslab cannot load one)", () => {
  const files = [...tsFiles(join(ROOT, "src/lens")), ...tsFiles(join(ROOT, "notebooks"))];
  assert.ok(files.length > 50, `expected the library's sources, found ${files.length} files`);
  const cycles = runtimeImportCycles(files).map((c) => c.map((f) => relative(ROOT, f)).join(" -> "));
  assert.deepEqual(cycles, [], `runtime import cycles (move what both sides need into a module of its own, or make the import \`import type\`):\n${cycles.join("\n")}`);
});

test("the cycle finder sees a runtime cycle, and ignores one that only types close", () => {
  const dir = mkdtempSync(join(tmpdir(), "lens-cycles-"));
  try {
    writeFileSync(join(dir, "a.ts"), `import { b } from "./b";\nexport const a = () => b();\n`);
    writeFileSync(join(dir, "b.ts"), `import { a } from "./a";\nexport const b = () => a;\n`);
    writeFileSync(join(dir, "c.ts"), `import type { D } from "./d";\nexport type C = D;\nexport const c = 1;\n`);
    writeFileSync(join(dir, "d.ts"), `import { c } from "./c";\nexport type D = number;\nexport const d = c;\n`);
    writeFileSync(join(dir, "e.ts"), `import { type F } from "./f";\nexport const e: F = 1;\n`);
    writeFileSync(join(dir, "f.ts"), `import { e } from "./e";\nexport type F = number;\nexport const f = e;\n`);
    const cycles = runtimeImportCycles(["a.ts", "b.ts", "c.ts", "d.ts", "e.ts", "f.ts"].map((f) => join(dir, f)));
    assert.deepEqual(cycles.map((c) => c.map((f) => relative(dir, f))), [["a.ts", "b.ts", "a.ts"]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
