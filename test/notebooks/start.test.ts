/**
 * `npm start` (scripts/start.ts) picks JupyterLab, falls back to the classic Notebook, and prints install steps when
 * neither runs — checked with fake `jupyter` commands, so no Jupyter is needed. Also: the committed kernelspec starts
 * tslab from the project root (so notebooks can import ./src/lens/index) and the plan puts ./jupyter on JUPYTER_PATH.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { INSTALL_STEPS, startPlan } from "../../scripts/start";

const ROOT = resolve(__dirname, "../..");

/** A fake jupyter that succeeds only for `<app> --version` with the given apps. */
function fakeJupyter(dir: string, apps: string[]): string {
  const p = join(dir, `jupyter-${apps.join("-") || "none"}`);
  writeFileSync(p, `#!/bin/sh\ncase "$1" in ${apps.map((a) => `${a})`).join(" exit 0;; ") || "__none__)"} exit 0;; esac\nexit 1\n`);
  chmodSync(p, 0o755);
  return p;
}

test("npm start: JupyterLab first, classic Notebook as fallback, install steps when neither", () => {
  const dir = mkdtempSync(join(tmpdir(), "lens-start-"));
  try {
    const both = startPlan([], { ...process.env, LENS_JUPYTER: fakeJupyter(dir, ["lab", "notebook"]) });
    assert.ok(both.ok && both.app === "lab", JSON.stringify(both));
    assert.ok(both.ok && both.args.includes(`--notebook-dir=${join(ROOT, "notebooks")}`));
    assert.ok(both.ok && both.env.JUPYTER_PATH.split(":")[0] === join(ROOT, "jupyter"));
    const classic = startPlan(["--port=9999"], { ...process.env, LENS_JUPYTER: fakeJupyter(dir, ["notebook"]) });
    assert.ok(classic.ok && classic.app === "notebook" && classic.args.at(-1) === "--port=9999", JSON.stringify(classic));
    const none = startPlan([], { ...process.env, LENS_JUPYTER: fakeJupyter(dir, []) });
    assert.deepStrictEqual(none, { ok: false, message: INSTALL_STEPS });
    assert.match(INSTALL_STEPS, /pip install jupyterlab/);
    assert.match(INSTALL_STEPS, /apt-get install -y jupyter-notebook/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("kernelspec jupyter/kernels/lens starts tslab in the project root", () => {
  const spec = JSON.parse(readFileSync(join(ROOT, "jupyter", "kernels", "lens", "kernel.json"), "utf8")) as { argv: string[]; language: string };
  assert.equal(spec.language, "typescript");
  assert.deepStrictEqual(spec.argv.slice(0, 2), ["/bin/sh", "-c"]);
  assert.match(spec.argv[2]!, /cd "\$0" && exec \.\/node_modules\/\.bin\/tslab kernel --config-path "\$1"/);
  assert.deepStrictEqual(spec.argv.slice(3), ["{resource_dir}/../../..", "{connection_file}"]);
  assert.equal(resolve(join(ROOT, "jupyter", "kernels", "lens"), "../../.."), ROOT, "{resource_dir}/../../.. is the project root");
});
