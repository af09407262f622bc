/**
 * Fake `python3`, `pip` (as `python3 -m pip` and a venv's `python -m pip`) and `jupyter` executables for the tests of
 * `npm start` and `npm run kernel:install`: small sh scripts in a mkdtemp folder that append each call to a log and
 * succeed or fail as the FAKE_* variables of the environment say. No fake starts a server: a launch is logged and exits.
 *
 *   FAKE_PY_VERSION  what `python3 --version` prints (default 3.11.7)
 *   FAKE_VENV        ok | fail (fail prints Ubuntu's "ensurepip is not available" and leaves a half-made folder, as venv does)
 *   FAKE_PIP         ok | missing (no pip module) | fail (pip install fails, as when the index cannot be reached)
 *   FAKE_NET         up | down: the index probe (`python -c ...`) succeeds or prints "Connection refused"
 *   FAKE_APPS        the apps that the `jupyter` on PATH has ("lab notebook", "notebook", ...)
 *   FAKE_DATA_DIR    what every fake `jupyter --data-dir` prints
 * A pip --target install makes a `jupyter` that fails unless PYTHONPATH holds its folder, like a real one.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const HEAD = `#!/bin/sh\nPATH="$FAKE_REAL_PATH"\n`;
const PROBE = `if [ "$1" = -c ]; then [ "$FAKE_NET" = up ] && exit 0; echo "[Errno 111] Connection refused"; exit 1; fi\n`;
const PIP_FAIL = `[ "$FAKE_PIP" = fail ] && { echo "ERROR: Could not find a version that satisfies the requirement jupyterlab" >&2; exit 1; }\n`;

/** A fake jupyter named `name` in the log; `apps` is a shell word list; `needsPythonPath` checks PYTHONPATH as pip --target requires. */
function jupyterScript(name: string, apps: string, needsPythonPath: boolean): string {
  return `${HEAD}here=$(cd "$(dirname "$0")/.." && pwd)
echo "${name} $*" >> "$FAKE_LOG"
${needsPythonPath ? `case ":$PYTHONPATH:" in *":$here:"*) ;; *) echo "ModuleNotFoundError: No module named 'jupyter_core'" >&2; exit 1;; esac\n` : ""}[ "$1" = --data-dir ] && { echo "$FAKE_DATA_DIR"; exit 0; }
for app in ${apps}; do
  if [ "$1" = "$app" ]; then
    [ "$2" = --version ] && { echo 4.6.4; exit 0; }
    echo "LAUNCH ${name} $* | JUPYTER_PATH=$JUPYTER_PATH | PYTHONPATH=$PYTHONPATH | JUPYTERLAB_DIR=$JUPYTERLAB_DIR" >> "$FAKE_LOG"
    exit 0
  fi
done
echo "Jupyter command \\\`jupyter-$1\\\` not found." >&2
exit 1
`;
}

const PYTHON = `${HEAD}echo "python3 $*" >> "$FAKE_LOG"
[ "$1" = --version ] && { echo "Python \${FAKE_PY_VERSION:-3.11.7}"; exit 0; }
${PROBE}if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin"
  if [ "$FAKE_VENV" = fail ]; then
    echo "The virtual environment was not created successfully because ensurepip is not available.  On Debian/Ubuntu systems, you need to install the python3-venv package"
    exit 1
  fi
  cp "$FAKE_DIR/venv-python" "$3/bin/python"; exit 0
fi
if [ "$1 $2" = "-m pip" ]; then
  [ "$FAKE_PIP" = missing ] && { echo "python3: No module named pip" >&2; exit 1; }
  [ "$3" = --version ] && { echo "pip 24.0"; exit 0; }
  ${PIP_FAIL}  while [ $# -gt 0 ]; do [ "$1" = --target ] && target="$2"; shift; done
  mkdir -p "$target/bin"; cp "$FAKE_DIR/target-jupyter" "$target/bin/jupyter"; exit 0
fi
exit 2
`;

const VENV_PYTHON = `${HEAD}echo "venv-python $*" >> "$FAKE_LOG"
${PROBE}if [ "$1 $2 $3" = "-m pip install" ]; then
  ${PIP_FAIL}  echo "Downloading jupyterlab-4.6.4-py3-none-any.whl"
  cp "$FAKE_DIR/venv-jupyter" "$(dirname "$0")/jupyter"; exit 0
fi
exit 2
`;

/** A fake world: `bin` (put it on PATH), the call log, a scratch project folder `envRoot`, and the base environment. */
export interface Fakes {
  dir: string;
  bin: string;
  envRoot: string;
  env: NodeJS.ProcessEnv;
  /** Adds `python3` to bin. */
  python(): void;
  /** Adds a `jupyter` to bin (its apps come from FAKE_APPS). */
  jupyter(): void;
  /** The logged calls, one per line. */
  calls(): string[];
  cleanup(): void;
}

export function makeFakes(): Fakes {
  const dir = mkdtempSync(join(tmpdir(), "lens-fakes-"));
  const bin = join(dir, "bin");
  const envRoot = join(dir, "project");
  mkdirSync(bin);
  mkdirSync(envRoot);
  const write = (path: string, text: string) => {
    writeFileSync(path, text);
    chmodSync(path, 0o755);
  };
  write(join(dir, "venv-python"), VENV_PYTHON);
  write(join(dir, "venv-jupyter"), jupyterScript("venv-jupyter", "lab", false));
  write(join(dir, "target-jupyter"), jupyterScript("target-jupyter", "lab", true));
  const log = join(dir, "calls.log");
  writeFileSync(log, "");
  const env: NodeJS.ProcessEnv = {
    PATH: bin,
    HOME: join(dir, "home"),
    FAKE_DIR: dir,
    FAKE_LOG: log,
    FAKE_REAL_PATH: process.env.PATH,
    FAKE_DATA_DIR: join(dir, "jupyter-data"),
  };
  return {
    dir,
    bin,
    envRoot,
    env,
    python: () => write(join(bin, "python3"), PYTHON),
    jupyter: () => write(join(bin, "jupyter"), jupyterScript("path-jupyter", "$FAKE_APPS", false)),
    calls: () => readFileSync(log, "utf8").split("\n").filter(Boolean),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The argv that runs one of the project's TypeScript scripts with tsx, as `npm run` does. */
export const tsxArgv = (script: string, ...args: string[]) => [process.execPath, "--import", "tsx", script, ...args];

/**
 * Runs `argv` with `env` in `cwd` (the project root for tsxArgv: `--import tsx` resolves from there) under a hard time limit: past `timeoutMs` its whole process group (pip, python, a
 * kernel) is killed and `timedOut` is set, so a test can neither hang nor leave processes behind.
 */
export function runProcess(argv: string[], env: NodeJS.ProcessEnv, cwd: string, timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((done, fail) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      fail(e);
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr, timedOut });
    });
  });
}
