/**
 * `npm start` run as the command it is (scripts/start.ts in its own process): what it prints, its exit code and the
 * Jupyter command it launches (a fake that logs and exits), the repo kernelspec it points Jupyter at, and one real run
 * of the failure path as it happens on a machine without PyPI: a real Python makes a real venv, pip cannot reach the
 * index, and `npm start` says so and exits 1. Every run has a hard time limit and writes only into mkdtemp folders.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, mkdirSync } from "node:fs";
import { connect, createServer } from "node:net";
import { devNull, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { JUPYTERLAB_VERSION } from "../../scripts/jupyterEnv";
import { makeFakes, runProcess, tsxArgv } from "./fakeJupyter";

const ROOT = resolve(__dirname, "../..");
const START = join(ROOT, "scripts", "start.ts");

test("kernelspec jupyter/kernels/lens starts tslab in the project root", () => {
  const spec = JSON.parse(readFileSync(join(ROOT, "jupyter", "kernels", "lens", "kernel.json"), "utf8")) as { argv: string[]; language: string; display_name: string };
  assert.equal(spec.language, "typescript");
  assert.equal(spec.display_name, "TypeScript (lens)");
  assert.deepStrictEqual(spec.argv.slice(0, 2), ["/bin/sh", "-c"]);
  assert.match(spec.argv[2]!, /cd "\$0" && exec \.\/node_modules\/\.bin\/tslab kernel --config-path "\$1"/);
  assert.deepStrictEqual(spec.argv.slice(3), ["{resource_dir}/../../..", "{connection_file}"]);
  assert.equal(resolve(join(ROOT, "jupyter", "kernels", "lens"), "../../.."), ROOT, "{resource_dir}/../../.. is the project root");
});

test("npm start launches the JupyterLab it finds with JUPYTER_PATH, the notebooks folder and extra options; exit 0", async () => {
  const f = makeFakes();
  try {
    f.jupyter();
    const env = { ...f.env, FAKE_APPS: "lab notebook", LENS_ENV_ROOT: f.envRoot };
    const r = await runProcess(tsxArgv(START, "--port=0"), env, ROOT, 60_000);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Opening the course in JupyterLab with the "TypeScript \(lens\)" kernel\./);
    const launch = f.calls().filter((c) => c.startsWith("LAUNCH"));
    const rootFlag = process.getuid?.() === 0 ? " --allow-root" : "";
    assert.deepEqual(launch, [`LAUNCH path-jupyter lab --notebook-dir=${join(ROOT, "notebooks")}${rootFlag} --port=0 | JUPYTER_PATH=${join(ROOT, "jupyter")} | PYTHONPATH= | JUPYTERLAB_DIR=`]);
    const dry = await runProcess(tsxArgv(START, "--dry-run"), env, ROOT, 60_000);
    assert.equal(dry.status, 0, dry.stderr);
    assert.ok(dry.stdout.includes(`JUPYTER_PATH=${join(ROOT, "jupyter")} jupyter lab --notebook-dir=`), dry.stdout);
    assert.equal(f.calls().filter((c) => c.startsWith("LAUNCH")).length, 1, "--dry-run launches nothing");
  } finally {
    f.cleanup();
  }
});

test("npm start: a failed install before a classic Notebook warns and opens the Notebook; --no-install with nothing exits 1", async () => {
  const f = makeFakes();
  try {
    f.jupyter();
    f.python();
    const env = { ...f.env, FAKE_APPS: "notebook", FAKE_PIP: "fail", FAKE_NET: "down", LENS_ENV_ROOT: f.envRoot };
    const r = await runProcess(tsxArgv(START), env, ROOT, 60_000);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /JupyterLab could not be installed \(pip could not download JupyterLab into \.venv\/: .*Connection refused\)\); opening the classic Notebook instead\./);
    assert.match(r.stdout, /Opening the course in the classic Jupyter Notebook/);
    assert.equal(f.calls().filter((c) => c.startsWith("LAUNCH path-jupyter notebook")).length, 1);
    const none = await runProcess(tsxArgv(START, "--no-install"), { ...env, FAKE_APPS: "" }, ROOT, 60_000);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /^npm start could not open the course\. What each step found:\n {2}1\. LENS_JUPYTER: not set\n/);
    assert.match(none.stderr, /What to run:\n {2}- run `npm start` without --no-install/);
  } finally {
    f.cleanup();
  }
});

/** Whether pypi.org accepts a TCP connection within 5 s. */
function pypiReachable(): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ host: "pypi.org", port: 443, timeout: 5000 });
    const end = (ok: boolean) => {
      s.destroy();
      done(ok);
    };
    s.on("connect", () => end(true)).on("timeout", () => end(false)).on("error", () => end(false));
  });
}

/** A local URL that refuses connections: a port the OS just handed out and that is closed again. */
function refusedUrl(): Promise<string> {
  return new Promise((done) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(`http://127.0.0.1:${port}/simple/`));
    });
  });
}

test("npm start without PyPI (a real Python, venv and pip): the install fails fast with a clear message, exit 1, nothing left", async (t) => {
  const which = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" });
  if (which.status !== 0) return t.skip("no python3 here");
  const dir = mkdtempSync(join(tmpdir(), "lens-offline-"));
  try {
    const bin = join(dir, "bin");
    const project = join(dir, "project");
    mkdirSync(bin);
    mkdirSync(project);
    symlinkSync(which.stdout.trim(), join(bin, "python3"));
    // Here PyPI is unreachable, which is the case under test; where it answers, a refused local index stands in for it.
    const index = (await pypiReachable()) ? await refusedUrl() : undefined;
    const env: NodeJS.ProcessEnv = {
      PATH: bin,
      HOME: join(dir, "home"),
      LENS_ENV_ROOT: project,
      PIP_CONFIG_FILE: devNull, // no machine-wide pip configuration (mirrors, find-links)
      PIP_RETRIES: "0",
      PIP_DEFAULT_TIMEOUT: "5",
      ...(index ? { PIP_INDEX_URL: index } : {}),
    };
    const started = Date.now();
    const r = await runProcess(tsxArgv(START, "--dry-run"), env, ROOT, 180_000);
    const seconds = (Date.now() - started) / 1000;
    assert.ok(!r.timedOut, `npm start did not finish within 180 s:\n${r.stdout}\n${r.stderr}`);
    assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
    const url = (index ?? "https://pypi.org/simple/").replace(/[./]/g, (c) => `\\${c}`);
    const step4 = `4\\. install JupyterLab ${JUPYTERLAB_VERSION.replace(/\./g, "\\.")} into the project: FAILED: `;
    assert.match(r.stderr, /2\. JupyterLab on PATH: `jupyter` is not on PATH/);
    // A Python with venv or pip gets as far as pip and the network; one with neither (Debian without python3-venv and
    // python3-pip, as on a bare CI image) stops before, with its own fix.
    const offline = new RegExp(`${step4}pip could not download JupyterLab into \\.(venv|jupyter-env)\\/: the package index ${url} cannot be reached from here \\(.+\\)[^]*- connect to the internet \\(or point pip at a proxy or mirror`);
    const bare = new RegExp(`${step4}python3 has neither a working venv nor pip[^]*- \`sudo apt install python3-venv\``);
    assert.ok(offline.test(r.stderr) || bare.test(r.stderr), r.stderr);
    assert.match(r.stdout, new RegExp(`Installing JupyterLab ${JUPYTERLAB_VERSION.replace(/\./g, "\\.")} into this project`));
    assert.deepEqual(readdirSync(project), [], `nothing is left in the project (took ${seconds.toFixed(1)} s)`);
    assert.ok(!existsSync(join(dir, "home", ".local")), "nothing written under ~/.local");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
