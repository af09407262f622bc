/**
 * `npm run kernel:install` / `kernel:uninstall` (scripts/kernel.ts): the kernelspec lands in the user's Jupyter data
 * folder (JUPYTER_DATA_DIR, else `jupyter --data-dir`, else the platform default) with absolute paths, only our own
 * copy is ever replaced or removed, and — where a Python with jupyter_client exists — Jupyter finds the installed
 * kernel and starts tslab in the project root from another working directory. All data folders are mkdtemp folders;
 * HOME points into one too, so the real ~/.local is never touched.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { defaultDataDir, installKernel, uninstallKernel } from "../../scripts/kernel";
import { notebookPython } from "../../scripts/notebooks";
import { makeFakes, runProcess, tsxArgv } from "./fakeJupyter";

const ROOT = resolve(__dirname, "../..");
const KERNEL = join(ROOT, "scripts", "kernel.ts");
type Spec = { argv: string[]; display_name: string; language: string; metadata: { lens: { project: string } } };
const readSpec = (dataDir: string) => JSON.parse(readFileSync(join(dataDir, "kernels", "lens", "kernel.json"), "utf8")) as Spec;

test("kernel data folder defaults follow jupyter_core: Linux (XDG), macOS, Windows", () => {
  assert.equal(defaultDataDir({ HOME: "/h" }, "linux"), join("/h", ".local", "share", "jupyter"));
  assert.equal(defaultDataDir({ HOME: "/h", XDG_DATA_HOME: "/x" }, "linux"), join("/x", "jupyter"));
  assert.equal(defaultDataDir({ HOME: "/h" }, "darwin"), join("/h", "Library", "Jupyter"));
  assert.equal(defaultDataDir({ HOME: "/h", APPDATA: "/a" }, "win32"), join("/a", "jupyter"));
});

test("npm run kernel:install / kernel:uninstall into JUPYTER_DATA_DIR (as processes): absolute argv, removed again", async () => {
  const f = makeFakes();
  try {
    const data = join(f.dir, "data");
    const env = { ...f.env, JUPYTER_DATA_DIR: data };
    const inst = await runProcess(tsxArgv(KERNEL, "install"), env, ROOT, 60_000);
    assert.equal(inst.status, 0, inst.stderr);
    assert.match(inst.stdout, /Installed the "TypeScript \(lens\)" kernel in .*data.kernels.lens \(data folder from JUPYTER_DATA_DIR\)/);
    const spec = readSpec(data);
    assert.equal(spec.display_name, "TypeScript (lens)");
    assert.equal(spec.language, "typescript");
    assert.deepEqual(spec.argv, [process.execPath, join(ROOT, "scripts", "tslab-kernel.cjs"), "kernel", "--config-path", "{connection_file}"]);
    assert.ok(existsSync(spec.argv[1]!), "the launcher exists");
    assert.equal(spec.metadata.lens.project, ROOT);
    const again = await runProcess(tsxArgv(KERNEL, "install"), env, ROOT, 60_000);
    assert.equal(again.status, 0, "installing twice replaces our own copy");
    const un = await runProcess(tsxArgv(KERNEL, "uninstall"), env, ROOT, 60_000);
    assert.equal(un.status, 0, un.stderr);
    assert.ok(!existsSync(join(data, "kernels", "lens")));
    const un2 = await runProcess(tsxArgv(KERNEL, "uninstall"), env, ROOT, 60_000);
    assert.equal(un2.status, 0);
    assert.match(un2.stdout, /nothing to remove/);
    assert.deepEqual(f.calls(), [], "JUPYTER_DATA_DIR is used without asking any jupyter");
  } finally {
    f.cleanup();
  }
});

test("kernel:install asks `jupyter --data-dir` when JUPYTER_DATA_DIR is unset, else uses the default under HOME", () => {
  const f = makeFakes();
  try {
    f.jupyter();
    const viaJupyter = installKernel({ ...f.env, LENS_ENV_ROOT: f.envRoot }, ROOT);
    assert.equal(viaJupyter.dest, join(f.env.FAKE_DATA_DIR!, "kernels", "lens"));
    assert.equal(viaJupyter.from, "jupyter --data-dir");
    assert.equal(readSpec(f.env.FAKE_DATA_DIR!).argv[1], join(ROOT, "scripts", "tslab-kernel.cjs"));
    rmSync(join(f.bin, "jupyter"));
    const noJupyter = installKernel({ ...f.env, LENS_ENV_ROOT: f.envRoot }, ROOT);
    assert.equal(noJupyter.dest, join(defaultDataDir(f.env), "kernels", "lens"));
    assert.ok(noJupyter.dest.startsWith(f.env.HOME!), noJupyter.dest);
    assert.equal(uninstallKernel({ ...f.env, LENS_ENV_ROOT: f.envRoot }, ROOT), noJupyter.dest);
  } finally {
    f.cleanup();
  }
});

test("kernel:install and kernel:uninstall leave a `lens` kernelspec they did not write alone", () => {
  const data = mkdtempSync(join(tmpdir(), "lens-kernel-"));
  try {
    const dest = join(data, "kernels", "lens");
    mkdirSync(dest, { recursive: true });
    const foreign = JSON.stringify({ argv: ["somebody-else"], display_name: "Other", language: "x" });
    writeFileSync(join(dest, "kernel.json"), foreign);
    const env = { JUPYTER_DATA_DIR: data, PATH: "" };
    assert.throws(() => installKernel(env, ROOT), /holds a kernel named "lens" that npm run kernel:install did not write; remove it yourself/);
    assert.throws(() => uninstallKernel(env, ROOT), /did not write/);
    assert.equal(readFileSync(join(dest, "kernel.json"), "utf8"), foreign);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});

test("the installed kernel is listed by Jupyter and runs tslab in the project root from another folder", async (t) => {
  const python = notebookPython();
  if (spawnSync(python, ["-c", "import jupyter_client"]).status !== 0) return t.skip(`no jupyter_client for ${python}`);
  const dir = mkdtempSync(join(tmpdir(), "lens-kernel-run-"));
  try {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: join(dir, "home"), JUPYTER_DATA_DIR: join(dir, "data"), JUPYTER_RUNTIME_DIR: join(dir, "runtime") };
    installKernel(env, ROOT);
    const script = [
      "import json, jupyter_client",
      "from jupyter_client.kernelspec import KernelSpecManager",
      "print(json.dumps(sorted(KernelSpecManager().find_kernel_specs())))",
      "km, kc = jupyter_client.manager.start_new_kernel(kernel_name='lens', startup_timeout=120)",
      "out = []",
      "try:",
      "    reply = kc.execute_interactive('console.log(process.cwd())', output_hook=out.append, timeout=120)",
      "    print(json.dumps([reply['content']['status'], ''.join(m['content'].get('text', '') for m in out if m['msg_type'] == 'stream')]))",
      "finally:",
      "    kc.stop_channels(); km.shutdown_kernel(now=True)",
    ].join("\n");
    const r = await runProcess([python, "-c", script], env, dir, 240_000);
    assert.ok(!r.timedOut, `the kernel did not answer within 240 s: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    const [specs, result] = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as unknown);
    assert.ok((specs as string[]).includes("lens"), JSON.stringify(specs));
    assert.deepEqual(result, ["ok", `${ROOT}\n`], "tslab runs in the project root although Jupyter started it elsewhere");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
