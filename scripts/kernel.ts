/**
 * `npm run kernel:install` / `npm run kernel:uninstall`: registers the project's `lens` kernel ("TypeScript (lens)",
 * tslab) in your Jupyter data folder, so VS Code's Jupyter extension and a JupyterLab started anywhere list it. The
 * installed kernelspec runs this checkout's scripts/tslab-kernel.cjs with this Node, both by absolute path written at
 * install time, so it works from any working directory (and from editors whose PATH has no node); run kernel:install
 * again after moving the project or changing Node. The repo copy (jupyter/kernels/lens, used by `npm start` through
 * JUPYTER_PATH) is left as it is.
 *
 * The data folder: $JUPYTER_DATA_DIR, else what `jupyter --data-dir` says (as `jupyter kernelspec install --user`
 * would), else Jupyter's default for the platform: ~/.local/share/jupyter ($XDG_DATA_HOME/jupyter) on Linux,
 * ~/Library/Jupyter on macOS, %APPDATA%\jupyter on Windows.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { runScript } from "./cli";
import { localLabs, owner, run } from "./jupyterEnv";

const ROOT = resolve(__dirname, "..");
export const KERNEL_NAME = "lens";

/** Jupyter's per-user data folder when no `jupyter` can be asked (jupyter_core's defaults). */
export function defaultDataDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string {
  const home = env.HOME || env.USERPROFILE || homedir();
  if (platform === "darwin") return join(home, "Library", "Jupyter");
  if (platform === "win32") return join(env.APPDATA || join(home, "AppData", "Roaming"), "jupyter");
  return join(env.XDG_DATA_HOME || join(home, ".local", "share"), "jupyter");
}

/** The user's Jupyter data folder and how it was found. */
export function userDataDir(env: NodeJS.ProcessEnv, root = ROOT): { dir: string; from: string } {
  if (env.JUPYTER_DATA_DIR) return { dir: resolve(env.JUPYTER_DATA_DIR), from: "JUPYTER_DATA_DIR" };
  const envRoot = env.LENS_ENV_ROOT ?? root;
  const local = localLabs(envRoot, env).filter((l) => owner(l.dir) === "complete");
  const candidates = [env.LENS_JUPYTER, "jupyter", ...local.map((l) => l.jupyter)].filter((c): c is string => !!c);
  for (const jupyter of candidates) {
    const lab = local.find((l) => l.jupyter === jupyter);
    const r = run(jupyter, ["--data-dir"], { ...env, ...(lab?.env ?? {}) }, { timeoutMs: 60_000 });
    const dir = r.ok ? r.out.split("\n")[0]!.trim() : "";
    if (dir) return { dir, from: `${jupyter} --data-dir` };
  }
  return { dir: defaultDataDir(env), from: "Jupyter's default for this platform" };
}

/** The installed kernelspec: the repo's display name and language, argv with absolute paths, and our mark. */
export function installedSpec(root = ROOT, node = process.execPath): Record<string, unknown> {
  const repo = JSON.parse(readFileSync(join(root, "jupyter", "kernels", KERNEL_NAME, "kernel.json"), "utf8")) as Record<string, unknown>;
  return {
    ...repo,
    argv: [node, join(root, "scripts", "tslab-kernel.cjs"), "kernel", "--config-path", "{connection_file}"],
    metadata: { ...((repo.metadata as object | undefined) ?? {}), lens: { project: root, installedBy: "npm run kernel:install" } },
  };
}

/** Whether `dir` holds a kernelspec that kernel:install wrote (only those are replaced or removed). */
function ours(dir: string): boolean {
  try {
    const spec = JSON.parse(readFileSync(join(dir, "kernel.json"), "utf8")) as { metadata?: { lens?: unknown } };
    return spec.metadata?.lens !== undefined;
  } catch {
    return false;
  }
}

function refuse(dest: string): never {
  throw new Error(`${dest} holds a kernel named "${KERNEL_NAME}" that npm run kernel:install did not write; remove it yourself (jupyter kernelspec uninstall ${KERNEL_NAME}) and run this again`);
}

/** Writes the kernelspec into `<data dir>/kernels/lens` (replacing our earlier copy; never another one) and returns it. */
export function installKernel(env: NodeJS.ProcessEnv = process.env, root = ROOT, node = process.execPath): { dest: string; from: string } {
  if (!existsSync(join(root, "node_modules", "tslab", "dist", "main.js"))) throw new Error("tslab is not installed: run npm install first");
  const { dir, from } = userDataDir(env, root);
  const kernels = join(dir, "kernels");
  const dest = join(kernels, KERNEL_NAME);
  if (existsSync(dest) && !ours(dest)) refuse(dest);
  mkdirSync(kernels, { recursive: true });
  const tmp = mkdtempSync(join(kernels, `.${KERNEL_NAME}-`));
  try {
    const src = join(root, "jupyter", "kernels", KERNEL_NAME);
    for (const f of readdirSync(src)) if (f !== "kernel.json") copyFileSync(join(src, f), join(tmp, f));
    writeFileSync(join(tmp, "kernel.json"), JSON.stringify(installedSpec(root, node), null, 2) + "\n");
    rmSync(dest, { recursive: true, force: true });
    renameSync(tmp, dest);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { dest, from };
}

/** Removes our kernelspec; returns where it was, or undefined when none is installed. */
export function uninstallKernel(env: NodeJS.ProcessEnv = process.env, root = ROOT): string | undefined {
  const dest = join(userDataDir(env, root).dir, "kernels", KERNEL_NAME);
  if (!existsSync(dest)) return undefined;
  if (!ours(dest)) refuse(dest);
  rmSync(dest, { recursive: true, force: true });
  return dest;
}

function main(argv: string[]): number {
  if (argv[0] === "install") {
    const { dest, from } = installKernel();
    console.log(`Installed the "TypeScript (lens)" kernel in ${dest} (data folder from ${from}).`);
    console.log("VS Code: open a notebook, Select Kernel > Jupyter Kernel... > TypeScript (lens). Remove it with npm run kernel:uninstall.");
    return 0;
  }
  if (argv[0] === "uninstall") {
    const dest = uninstallKernel();
    console.log(dest ? `Removed the "TypeScript (lens)" kernel from ${dest}.` : `No "${KERNEL_NAME}" kernel is installed in your Jupyter data folder; nothing to remove.`);
    return 0;
  }
  throw new Error("usage: tsx scripts/kernel.ts install|uninstall (npm run kernel:install, npm run kernel:uninstall)");
}

runScript(module, main);
