// Runs every test/**/*.test.ts with Node's test runner through tsx (Node 20 has no --test globs).
// Usage: npm test [-- <substring filter on file paths>]
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return findTests(p);
    return e.name.endsWith(".test.ts") ? [p] : [];
  });
}

const filters = process.argv.slice(2);
const files = findTests("test").filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error(`no test files match ${JSON.stringify(filters)} under test/`);
  process.exit(1);
}
const args = ["--import", "tsx", "--test", "--test-reporter=spec", "--test-concurrency=2", ...files];
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
process.exit(r.status ?? 1);
