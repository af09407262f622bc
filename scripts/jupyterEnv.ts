/**
 * The project-local JupyterLab that `npm start` installs when it finds no Jupyter: a pinned JupyterLab in `.venv/`
 * (`python3 -m venv` + pip), or, where venv is unavailable (Ubuntu without python3-venv), in `.jupyter-env/` through
 * `pip install --target` and PYTHONPATH at launch. pip never installs into the system Python, so PEP 668's
 * "externally-managed-environment" never applies. A folder is ours when it holds MARKER; only ours is ever removed
 * (a failed or interrupted install is removed whole, so nothing half-installed is left or reused).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";

/** The JupyterLab that `npm start` installs (JupyterLab 4; raise it here, then delete .venv/ to reinstall). */
export const JUPYTERLAB_VERSION = "4.6.4";
const REQUIREMENT = `jupyterlab==${JUPYTERLAB_VERSION}`;
/** JupyterLab 4.6's oldest supported Python (its Requires-Python: >=3.10). */
const MIN_PYTHON: [number, number] = [3, 10];
const MARKER = "lens-jupyterlab.json";
const WIN = process.platform === "win32";

/** The outcome of one child process: ok (exit 0), missing (command not found), its exit status and captured output. */
export interface Ran {
  ok: boolean;
  missing: boolean;
  status: number | null;
  out: string;
}

/** Runs `cmd args` (looked up on env.PATH), capturing its output unless `inherit` (then the user sees it live). */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, opts: { inherit?: boolean; timeoutMs?: number } = {}): Ran {
  const r = spawnSync(cmd, args, { env, encoding: "utf8", stdio: opts.inherit ? "inherit" : "pipe", timeout: opts.timeoutMs, windowsHide: true });
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim() || (r.error ? r.error.message : "");
  return { ok: r.status === 0 && !r.error, missing, status: r.status, out };
}

/** `jupyter lab --version` runs: the check behind every "JupyterLab found". */
export function labRuns(jupyter: string, env: NodeJS.ProcessEnv): Ran {
  return run(jupyter, ["lab", "--version"], env, { timeoutMs: 120_000 });
}

/** A project-local environment: where it lives, its `jupyter` command and the variables its launch needs. */
export interface LocalLab {
  kind: "venv" | "target";
  dir: string;
  jupyter: string;
  env: Record<string, string>;
}

const prepend = (dir: string, rest: string | undefined) => [dir, rest].filter(Boolean).join(delimiter);

/** The two project-local environments under `envRoot`: `.venv/` (a venv) and `.jupyter-env/` (pip --target). */
export function localLabs(envRoot: string, env: NodeJS.ProcessEnv): LocalLab[] {
  const venv = join(envRoot, ".venv");
  const target = join(envRoot, ".jupyter-env");
  const exe = (name: string) => (WIN ? `${name}.exe` : name);
  const targetBin = WIN && existsSync(join(target, "Scripts")) ? join(target, "Scripts") : join(target, "bin");
  return [
    { kind: "venv", dir: venv, jupyter: join(venv, WIN ? "Scripts" : "bin", exe("jupyter")), env: {} },
    {
      kind: "target",
      dir: target,
      jupyter: join(targetBin, exe("jupyter")),
      env: {
        PYTHONPATH: prepend(target, env.PYTHONPATH),
        JUPYTERLAB_DIR: join(target, "share", "jupyter", "lab"),
        JUPYTER_CONFIG_PATH: prepend(join(target, "etc", "jupyter"), env.JUPYTER_CONFIG_PATH),
      },
    },
  ];
}

/** Extra JUPYTER_PATH entries a local environment needs (pip --target puts Jupyter's data files in the folder). */
export function localJupyterPath(lab: LocalLab): string[] {
  return lab.kind === "target" ? [join(lab.dir, "share", "jupyter")] : [];
}

type Owner = "absent" | "foreign" | "installing" | "complete";

/** Whether `dir` is missing, someone else's, or ours (mid-install or complete). */
export function owner(dir: string): Owner {
  if (!existsSync(dir)) return "absent";
  try {
    const m = JSON.parse(readFileSync(join(dir, MARKER), "utf8")) as { status?: string };
    return m.status === "complete" ? "complete" : "installing";
  } catch {
    return "foreign";
  }
}

const mark = (dir: string, status: string, python: string) =>
  writeFileSync(join(dir, MARKER), JSON.stringify({ status, jupyterlab: JUPYTERLAB_VERSION, python, by: "npm start (scripts/jupyterEnv.ts)" }, null, 2) + "\n");

/** Step 3: a working project-local JupyterLab, with a note on each folder that was not usable. */
export function findLocalLab(envRoot: string, env: NodeJS.ProcessEnv): { lab?: LocalLab; notes: string[] } {
  const notes: string[] = [];
  for (const lab of localLabs(envRoot, env)) {
    const who = owner(lab.dir);
    const name = lab.dir.slice(envRoot.length + 1) + "/";
    if (who === "absent") continue;
    if (who === "installing") {
      notes.push(`${name} holds an interrupted install (it is redone)`);
      continue;
    }
    if (existsSync(lab.jupyter) && labRuns(lab.jupyter, { ...env, ...lab.env }).ok) return { lab, notes };
    notes.push(who === "complete" ? `${name} no longer runs \`jupyter lab\` (it is reinstalled)` : `${name} exists but has no JupyterLab (not made by npm start: left alone)`);
  }
  return { notes };
}

/** A failed step: what went wrong and what to run. */
export interface Failure {
  ok: false;
  failed: string;
  fix: string[];
}

/** How to get a Python 3 with venv on this platform. */
export function pythonHint(platform: NodeJS.Platform = process.platform): string {
  if (platform === "darwin") return "install Python 3: `brew install python` (or the installer from python.org)";
  if (platform === "win32") return "install Python 3: `winget install Python.Python.3.12` (or the installer from python.org)";
  return "install Python 3 with venv: `sudo apt install python3 python3-venv` (Debian/Ubuntu; `sudo dnf install python3` on Fedora)";
}

/** The Python that provisioning uses: $LENS_PYTHON, else `python3`, else `python` (Windows), with its version. */
function findPython(env: NodeJS.ProcessEnv): { python: string; version: string } | undefined {
  const candidates = env.LENS_PYTHON ? [env.LENS_PYTHON] : ["python3", "python"];
  for (const python of candidates) {
    const r = run(python, ["--version"], env, { timeoutMs: 30_000 });
    const v = /Python (\d+)\.(\d+)\S*/.exec(r.out);
    if (r.ok && v) return { python, version: v[0].slice(7) };
  }
  return undefined;
}

/** Python probe for pip failures: can the package index be reached at all? Prints the reason when it cannot. */
const INDEX_PROBE = [
  "import sys, urllib.request",
  "try:",
  "    urllib.request.urlopen(sys.argv[1], timeout=5).close()",
  "except Exception as e:",
  "    print(getattr(e, 'reason', e)); sys.exit(1)",
].join("\n");

function pipFailure(python: string, env: NodeJS.ProcessEnv, r: Ran, where: string): Failure {
  const index = (env.PIP_INDEX_URL ?? "").split(/\s+/)[0] || "https://pypi.org/simple/";
  const probe = run(python, ["-c", INDEX_PROBE, index], env, { timeoutMs: 15_000 });
  if (!probe.ok) {
    const why = probe.out || "no answer within 15 s";
    return {
      ok: false,
      failed: `pip could not download JupyterLab into ${where}: the package index ${index} cannot be reached from here (${why})`,
      fix: ["connect to the internet (or point pip at a proxy or mirror: HTTPS_PROXY=..., PIP_INDEX_URL=...), then run `npm start` again"],
    };
  }
  return { ok: false, failed: `pip install ${REQUIREMENT} into ${where} failed (exit ${r.status}; pip's message is above)`, fix: ["fix what pip reports above, then run `npm start` again"] };
}

/**
 * Installs into `lab.dir` with `python -m pip` (output inherited, so pip's progress bar shows), then checks that
 * `jupyter lab` runs; on failure removes the folder and asks `base` (the Python outside it) whether the index is reachable.
 */
function pipInstall(lab: LocalLab, python: string, base: string, pipArgs: string[], env: NodeJS.ProcessEnv, log: (s: string) => void): { ok: true; lab: LocalLab } | Failure {
  const name = lab.kind === "venv" ? ".venv/" : ".jupyter-env/";
  log(`$ ${python} -m pip install ${pipArgs.join(" ")}`);
  // PIP_USER=0: a `user = true` in pip.conf would clash with --target; the root warning is about the system Python,
  // which is never the one installed into.
  const r = run(python, ["-m", "pip", "install", "--disable-pip-version-check", ...pipArgs], { ...env, PIP_USER: "0", PIP_ROOT_USER_ACTION: "ignore" }, { inherit: true });
  if (!r.ok) {
    rmSync(lab.dir, { recursive: true, force: true });
    return pipFailure(base, env, r, name);
  }
  const check = labRuns(lab.jupyter, { ...env, ...lab.env });
  if (!check.ok) {
    rmSync(lab.dir, { recursive: true, force: true });
    return { ok: false, failed: `JupyterLab was installed into ${name} but \`jupyter lab --version\` fails: ${check.out.split("\n").at(-1)}`, fix: ["report this with the output above; meanwhile install JupyterLab yourself (`pipx install jupyterlab`) and run `npm start` again"] };
  }
  mark(lab.dir, "complete", python);
  log(`JupyterLab ${JUPYTERLAB_VERSION} is installed in ${name} (later starts reuse it; delete the folder to remove it).`);
  return { ok: true, lab };
}

/** Step 4: installs the pinned JupyterLab into `.venv/`, or into `.jupyter-env/` with pip --target when venv fails. */
export function provisionLab(envRoot: string, env: NodeJS.ProcessEnv, log: (s: string) => void): { ok: true; lab: LocalLab } | Failure {
  const found = findPython(env);
  if (!found) return { ok: false, failed: `no Python found (tried ${env.LENS_PYTHON ? `LENS_PYTHON=${env.LENS_PYTHON}` : "python3, python"})`, fix: [`${pythonHint()}, then run \`npm start\` again`] };
  const { python, version } = found;
  const [major, minor] = version.split(".").map(Number) as [number, number];
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1]))
    return { ok: false, failed: `${python} is Python ${version}; JupyterLab ${JUPYTERLAB_VERSION} needs Python ${MIN_PYTHON.join(".")} or newer`, fix: [`${pythonHint()} (or set LENS_PYTHON=/path/to/python3.12), then run \`npm start\` again`] };
  const [venv, target] = localLabs(envRoot, env) as [LocalLab, LocalLab];
  log(`Installing JupyterLab ${JUPYTERLAB_VERSION} into this project with ${python} (Python ${version}). This happens once: pip downloads JupyterLab and its dependencies (about 240 MB installed).`);
  let venvError: string;
  if (owner(venv.dir) === "foreign") venvError = ".venv/ exists and was not made by npm start (left alone)";
  else {
    rmSync(venv.dir, { recursive: true, force: true });
    log(`$ ${python} -m venv .venv`);
    const made = run(python, ["-m", "venv", venv.dir], env, { timeoutMs: 300_000 });
    if (made.ok) {
      mark(venv.dir, "installing", python);
      const venvPython = join(venv.dir, WIN ? "Scripts" : "bin", WIN ? "python.exe" : "python");
      return pipInstall(venv, venvPython, python, [REQUIREMENT], env, log);
    }
    rmSync(venv.dir, { recursive: true, force: true });
    venvError = `\`${python} -m venv\` failed: ${made.out.split("\n").filter(Boolean).slice(-2).join(" ") || `exit ${made.status}`}`;
  }
  log(`${venvError}; using pip --target .jupyter-env/ instead.`);
  if (owner(target.dir) === "foreign")
    return { ok: false, failed: `${venvError}, and .jupyter-env/ exists but was not made by npm start`, fix: ["move .venv/ or .jupyter-env/ away, then run `npm start` again"] };
  const pip = run(python, ["-m", "pip", "--version"], env, { timeoutMs: 60_000 });
  if (!pip.ok)
    return {
      ok: false,
      failed: `${python} has neither a working venv nor pip (${venvError}; \`${python} -m pip\`: ${pip.out.split("\n").at(-1) || "not found"})`,
      fix: [WIN || process.platform === "darwin" ? `${pythonHint()}, then run \`npm start\` again` : "`sudo apt install python3-venv` (Debian/Ubuntu: then `python3 -m venv` makes environments with pip), then run `npm start` again"],
    };
  rmSync(target.dir, { recursive: true, force: true });
  mkdirSync(target.dir, { recursive: true });
  mark(target.dir, "installing", python);
  return pipInstall(target, python, python, ["--target", target.dir, REQUIREMENT], env, log);
}
