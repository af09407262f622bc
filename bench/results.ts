/** bench/RESULTS.md sections that a benchmark owns: `<!-- name -->` … `<!-- /name -->`, replaced in place or appended. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** Replaces (or appends) the section between `<!-- name -->` and `<!-- /name -->` of `file`. */
export function writeResultsSection(name: string, section: string, file = "bench/RESULTS.md"): void {
  const [start, end] = [`<!-- ${name} -->`, `<!-- /${name} -->`];
  const old = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmark results\n";
  const block = `${start}\n${section}\n${end}`;
  const i = old.indexOf(start);
  const j = old.indexOf(end);
  writeFileSync(file, i >= 0 && j > i ? old.slice(0, i) + block + old.slice(j + end.length) : `${old.trimEnd()}\n\n${block}\n`);
}
