/**
 * The public entries: the main entry keeps what the notebooks import (checked against the notebooks' own import
 * cells) and leaves the toy-training internals to lens/training and the SAE encoder building blocks to their files.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as lens from "../../../src/lens/index";
import * as training from "../../../src/lens/training/index";

const INTERNALS = ["measureIoi", "measureInduction", "ioiPatching", "registerTrainingKernels", "trainLanguageModel", "nextTokenLoss", "AdamW", "warmupCosine", "initParams", "trainableWeights", "toHfGpt2", "hfGpt2Config"];

test("toy-training internals are exported by lens/training, not by the main entry", () => {
  for (const name of INTERNALS) {
    assert.ok(!(name in lens), `${name} is not at the top level`);
    assert.equal(typeof (training as Record<string, unknown>)[name], "function", `${name} is in lens/training`);
  }
});

test("the SAE encoder building blocks do not leak to the top level", () => {
  for (const name of ["activate", "preActivations", "heaviside", "stopGradient"]) assert.ok(!(name in lens), name);
  for (const name of ["jumpRelu", "topkRelu", "SparseAutoencoder", "registerSaeArchitecture"]) assert.ok(name in lens, name);
});

test("every value a notebook imports from the main entry is exported by it", () => {
  const dir = path.join(__dirname, "..", "..", "..", "notebooks");
  let checked = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ipynb"))) {
    const nb = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as { cells: { cell_type: string; source: string[] | string }[] };
    for (const cell of nb.cells.filter((c) => c.cell_type === "code")) {
      const src = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
      for (const m of src.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s+from\s+"\.\/src\/lens\/index"/g)) {
        if (m[1]) continue; // type-only imports are checked by tsc
        for (const spec of m[2]!.split(",").map((s) => s.trim()).filter((s) => s && !s.startsWith("type "))) {
          const name = spec.split(/\s+as\s+/)[0]!;
          assert.ok(name in lens, `${file} imports ${name} from the main entry`);
          checked++;
        }
      }
    }
  }
  assert.ok(checked > 20, `the notebooks' import cells were found (${checked} names)`);
});
