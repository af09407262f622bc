/**
 * The project stands alone: no tracked file names a build machine's folders (the shared folder beside our checkouts,
 * a build's temporary folder, a home directory), and nothing reaches into a folder beside the repository. A user's
 * clone has none of these, so a path into them is a broken reference or a read that fails there.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { test } from "node:test";

const ROOT = resolve(__dirname, "../..");

/** Tracked files (git ls-files), or every file outside node_modules/.git when this is not a git checkout. */
function projectFiles(): string[] {
  try {
    return execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 }).split("\0").filter(Boolean);
  } catch {
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => {
        if (f === "node_modules" || f === ".git") return [];
        const p = join(dir, f);
        return statSync(p).isDirectory() ? walk(p) : [relative(ROOT, p)];
      });
    return walk(ROOT);
  }
}

// Written in pieces so that this file does not match itself.
const SEP = "/";
const FORBIDDEN: { what: string; re: RegExp }[] = [
  { what: "the build machines' work folder", re: new RegExp(`(^|[^\\w.~-])${SEP}work${SEP}`) },
  { what: "a build's temporary folder", re: new RegExp(`(^|[^\\w.~-])${SEP}tmp${SEP}[\\w.-]`) },
  { what: "a home directory", re: new RegExp(`(^|[^\\w.~-])(${SEP}root${SEP}|${SEP}home${SEP}\\w|${SEP}Users${SEP}\\w)`) },
  { what: "a folder outside the repository", re: new RegExp(`\\.\\.${SEP}(\\.\\.${SEP})*shared\\b`) },
];

test("no tracked file names a build machine's folders or reads outside the repository", () => {
  const bad: string[] = [];
  for (const file of projectFiles()) {
    const path = join(ROOT, file);
    let text: string;
    try {
      if (statSync(path).size > 8 << 20) continue;
      text = readFileSync(path, "utf8");
    } catch {
      continue; // deleted in the working tree, or a broken link
    }
    if (text.includes("\0")) continue; // binary (safetensors, wasm)
    text.split("\n").forEach((line, i) => {
      for (const f of FORBIDDEN) if (f.re.test(line)) bad.push(`${file}:${i + 1}: ${f.what}: ${line.trim().slice(0, 120)}`);
    });
  }
  assert.deepEqual(bad, [], `replace these with a path inside the project or a public citation (docs/sources.md):\n${bad.join("\n")}`);
});
