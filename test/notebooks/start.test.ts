/**
 * `npm start`'s search order (scripts/startPlan.ts) with real processes: fake `python3`, pip and `jupyter` executables
 * (fakeJupyter.ts) on a temporary PATH record their calls and succeed or fail on demand, one test per branch:
 * 1 LENS_JUPYTER, 2 JupyterLab on PATH, 3 the project-local one, 4 installing it (venv, pip --target, and each way that
 * fails), 5 the classic Notebook, 6 the failure message. Nothing outside mkdtemp folders is written; no server starts.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { JUPYTERLAB_VERSION } from "../../scripts/jupyterEnv";
import { type PlanOptions, type StartPlan, describeFailure, planStart } from "../../scripts/startPlan";
import { type Fakes, makeFakes } from "./fakeJupyter";

const ROOT = resolve(__dirname, "../..");
const ROOT_FLAG = process.getuid?.() === 0 ? ["--allow-root"] : [];

/** Runs planStart in a fresh fake world set up by `setup`, then checks it with `check`. */
function scenario(name: string, setup: (f: Fakes) => Partial<PlanOptions> & { vars?: Record<string, string> }, check: (plan: StartPlan, f: Fakes, logged: string[]) => void) {
  test(`npm start: ${name}`, () => {
    const f = makeFakes();
    try {
      const { vars, ...opts } = setup(f);
      const logged: string[] = [];
      const plan = planStart({ envRoot: f.envRoot, env: { ...f.env, ...vars }, log: (s) => logged.push(s), ...opts });
      check(plan, f, logged);
    } finally {
      f.cleanup();
    }
  });
}

const ok = (plan: StartPlan) => {
  assert.ok(plan.ok, plan.ok ? "" : describeFailure(plan));
  return plan;
};
const failed = (plan: StartPlan) => {
  assert.ok(!plan.ok, `expected a failure, got ${JSON.stringify(plan)}`);
  return plan;
};
const pythonCalls = (f: Fakes) => f.calls().filter((c) => c.startsWith("python3") || c.startsWith("venv-python"));

scenario("1. LENS_JUPYTER wins over a JupyterLab on PATH and launches the course with the project's kernelspec", (f) => {
  f.jupyter();
  f.python();
  return { vars: { LENS_JUPYTER: join(f.bin, "jupyter"), FAKE_APPS: "lab notebook" }, extra: ["--port=0"] };
}, (plan, f) => {
  const p = ok(plan);
  assert.equal(p.jupyter, join(f.bin, "jupyter"));
  assert.deepEqual(p.args, ["lab", `--notebook-dir=${join(ROOT, "notebooks")}`, ...ROOT_FLAG, "--port=0"]);
  assert.equal(p.env.JUPYTER_PATH, join(ROOT, "jupyter"));
  assert.deepEqual(pythonCalls(f), [], "nothing is installed");
});

scenario("1. LENS_JUPYTER with only the classic Notebook opens that", (f) => {
  f.jupyter();
  return { vars: { LENS_JUPYTER: join(f.bin, "jupyter"), FAKE_APPS: "notebook" } };
}, (plan) => assert.equal(ok(plan).app, "notebook"));

scenario("1. a broken LENS_JUPYTER is reported, not replaced by another Jupyter", (f) => {
  f.jupyter();
  f.python();
  return { vars: { LENS_JUPYTER: join(f.dir, "nowhere", "jupyter"), FAKE_APPS: "lab" } };
}, (plan, f) => {
  const p = failed(plan);
  assert.match(describeFailure(p), /1\. LENS_JUPYTER: LENS_JUPYTER=.*nowhere.* runs neither/);
  assert.match(describeFailure(p), /set LENS_JUPYTER to a working `jupyter` command, or unset it/);
  assert.deepEqual(f.calls(), [], "neither the jupyter on PATH nor python3 was tried");
});

scenario("2. a JupyterLab on PATH is used as it is", (f) => {
  f.jupyter();
  f.python();
  return { vars: { FAKE_APPS: "lab notebook" } };
}, (plan, f) => {
  const p = ok(plan);
  assert.equal(p.jupyter, "jupyter");
  assert.equal(p.app, "lab");
  assert.deepEqual(f.calls(), ["path-jupyter lab --version"]);
});

scenario("4. no Jupyter: installs the pinned JupyterLab into .venv/ once, showing what it does; 3. the next start reuses it", (f) => {
  f.python();
  return { vars: { FAKE_NET: "up" } };
}, (plan, f, logged) => {
  const venv = join(f.envRoot, ".venv");
  const p = ok(plan);
  assert.equal(p.jupyter, join(venv, "bin", "jupyter"));
  assert.equal(p.app, "lab");
  assert.deepEqual(pythonCalls(f), ["python3 --version", `python3 -m venv ${venv}`, `venv-python -m pip install --disable-pip-version-check jupyterlab==${JUPYTERLAB_VERSION}`]);
  assert.ok(logged.some((l) => l.startsWith(`Installing JupyterLab ${JUPYTERLAB_VERSION} into this project`)), logged.join("\n"));
  assert.ok(logged.includes(`$ ${join(venv, "bin", "python")} -m pip install jupyterlab==${JUPYTERLAB_VERSION}`), logged.join("\n"));
  assert.equal(JSON.parse(readFileSync(join(venv, "lens-jupyterlab.json"), "utf8")).status, "complete");
  const again = ok(planStart({ envRoot: f.envRoot, env: f.env }));
  assert.equal(again.jupyter, p.jupyter);
  assert.equal(pythonCalls(f).length, 3, "the second start installs nothing");
  assert.ok(again.steps.some((s) => s.step === 2 && /not on PATH/.test(s.outcome)));
});

scenario("4. without venv (Ubuntu without python3-venv): pip --target into .jupyter-env/, launched with PYTHONPATH", (f) => {
  f.python();
  return { vars: { FAKE_VENV: "fail" } };
}, (plan, f, logged) => {
  const target = join(f.envRoot, ".jupyter-env");
  const p = ok(plan);
  assert.equal(p.jupyter, join(target, "bin", "jupyter"));
  assert.equal(p.env.PYTHONPATH, target);
  assert.equal(p.env.JUPYTERLAB_DIR, join(target, "share", "jupyter", "lab"));
  assert.equal(p.env.JUPYTER_PATH, [join(ROOT, "jupyter"), join(target, "share", "jupyter")].join(":"));
  assert.ok(!existsSync(join(f.envRoot, ".venv")), "the half-made venv is removed");
  assert.ok(pythonCalls(f).includes(`python3 -m pip install --disable-pip-version-check --target ${target} jupyterlab==${JUPYTERLAB_VERSION}`), pythonCalls(f).join("\n"));
  assert.ok(logged.some((l) => /-m venv` failed: .*python3-venv package; using pip --target \.jupyter-env\/ instead/.test(l)), logged.join("\n"));
  assert.ok(ok(planStart({ envRoot: f.envRoot, env: f.env })).jupyter === p.jupyter, "3. reused on the next start (its jupyter runs only with PYTHONPATH)");
});

scenario("4 → 6. no venv and no pip: says to install python3-venv, exits with the steps", (f) => {
  f.python();
  return { vars: { FAKE_VENV: "fail", FAKE_PIP: "missing" } };
}, (plan, f) => {
  const text = describeFailure(failed(plan));
  assert.match(text, /4\. install JupyterLab .*: FAILED: python3 has neither a working venv nor pip/);
  assert.match(text, /- `sudo apt install python3-venv`/);
  assert.ok(!existsSync(join(f.envRoot, ".venv")) && !existsSync(join(f.envRoot, ".jupyter-env")), "nothing is left behind");
});

scenario("4 → 6. pip fails and the index is unreachable: names the network and removes the half-installed .venv/", (f) => {
  f.python();
  return { vars: { FAKE_PIP: "fail", FAKE_NET: "down" } };
}, (plan, f) => {
  const text = describeFailure(failed(plan));
  assert.match(text, /FAILED: pip could not download JupyterLab into \.venv\/: the package index https:\/\/pypi\.org\/simple\/ cannot be reached from here \(\[Errno 111\] Connection refused\)/);
  assert.match(text, /- connect to the internet/);
  assert.match(text, /5\. classic Notebook on PATH: `jupyter` is not on PATH/);
  assert.ok(!existsSync(join(f.envRoot, ".venv")));
});

scenario("4 → 6. pip fails although the index answers: points at pip's own message", (f) => {
  f.python();
  return { vars: { FAKE_PIP: "fail", FAKE_NET: "up", PIP_INDEX_URL: "https://mirror.example/simple" } };
}, (plan) => assert.match(describeFailure(failed(plan)), /pip install jupyterlab==.* into \.venv\/ failed \(exit 1; pip's message is above\)/));

scenario("4 → 6. no Python at all", () => ({}), (plan) => {
  const text = describeFailure(failed(plan));
  assert.match(text, /FAILED: no Python found \(tried python3, python\)/);
  assert.match(text, /install Python 3/);
});

scenario("4 → 6. a Python older than JupyterLab supports", (f) => {
  f.python();
  return { vars: { FAKE_PY_VERSION: "3.8.10" } };
}, (plan, f) => {
  assert.match(describeFailure(failed(plan)), /python3 is Python 3\.8\.10; JupyterLab .* needs Python 3\.10 or newer/);
  assert.deepEqual(pythonCalls(f), ["python3 --version"]);
});

scenario("5. --no-install skips step 4 and opens the classic Notebook", (f) => {
  f.jupyter();
  f.python();
  return { vars: { FAKE_APPS: "notebook" }, noInstall: true };
}, (plan, f) => {
  const p = ok(plan);
  assert.equal(p.app, "notebook");
  assert.deepEqual(pythonCalls(f), []);
  assert.ok(p.steps.some((s) => s.step === 4 && s.outcome === "skipped (--no-install)"));
});

scenario("4 before 5: with only the classic Notebook installed, JupyterLab is installed and preferred", (f) => {
  f.jupyter();
  f.python();
  return { vars: { FAKE_APPS: "notebook" } };
}, (plan, f) => assert.equal(ok(plan).jupyter, join(f.envRoot, ".venv", "bin", "jupyter")));

scenario("5. the install fails but a classic Notebook exists: opens it (main prints the step-4 failure)", (f) => {
  f.jupyter();
  f.python();
  return { vars: { FAKE_APPS: "notebook", FAKE_PIP: "fail", FAKE_NET: "down" } };
}, (plan) => {
  const p = ok(plan);
  assert.equal(p.app, "notebook");
  assert.ok(p.steps.some((s) => s.step === 4 && s.outcome.startsWith("FAILED: pip could not download")));
});

scenario("6. --no-install and nothing installed: every step's outcome and what to run", (f) => {
  f.jupyter();
  return { vars: { FAKE_APPS: "" }, noInstall: true };
}, (plan) => {
  const text = describeFailure(failed(plan));
  for (const line of [/1\. LENS_JUPYTER: not set/, /2\. JupyterLab on PATH: `jupyter` is on PATH but `jupyter lab --version` fails/, /3\. project-local JupyterLab .*: not installed yet/, /4\. .*skipped \(--no-install\)/, /5\. classic Notebook on PATH: `jupyter notebook --version` fails/, /- run `npm start` without --no-install/, /pipx install jupyterlab/, /sudo apt install jupyter-notebook/])
    assert.match(text, line);
});

scenario("3. an interrupted install is redone; a .venv/ that npm start did not make is left alone", (f) => {
  f.python();
  const venv = join(f.envRoot, ".venv");
  mkdirSync(venv);
  writeFileSync(join(venv, "mine.txt"), "user's own venv");
  return {};
}, (plan, f) => {
  const p = ok(plan);
  assert.equal(p.jupyter, join(f.envRoot, ".jupyter-env", "bin", "jupyter"));
  assert.equal(readFileSync(join(f.envRoot, ".venv", "mine.txt"), "utf8"), "user's own venv");
  assert.ok(p.steps.some((s) => s.step === 3 && /\.venv\/ exists but has no JupyterLab \(not made by npm start: left alone\)/.test(s.outcome)), JSON.stringify(p.steps));
  // An install interrupted half-way (marker says "installing") is not reused but redone.
  const target = join(f.envRoot, ".jupyter-env");
  writeFileSync(join(target, "lens-jupyterlab.json"), JSON.stringify({ status: "installing" }));
  const again = ok(planStart({ envRoot: f.envRoot, env: f.env }));
  assert.ok(again.steps.some((s) => s.step === 3 && /\.jupyter-env\/ holds an interrupted install/.test(s.outcome)), JSON.stringify(again.steps));
  assert.equal(JSON.parse(readFileSync(join(target, "lens-jupyterlab.json"), "utf8")).status, "complete");
});
