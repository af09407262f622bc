/**
 * The `lens` command line. `lens download <name>… [--revision R | --checkpoint-value N]` fills the Hugging Face cache
 * (shared with Python) ahead of time, e.g. before a class: `npx lens download gpt2-small pythia-1.4b`, or
 * `npm run download -- gpt2-small`. Names are TransformerLens names/aliases or org/name repo ids.
 */
import { hubOffline } from "../src/lens/loading/hub/cache";
import { hfHubCache } from "../src/lens/loading/modelFolder";
import { completeSnapshot, downloadSnapshot } from "../src/lens/loading/hub/resolve";
import { checkpointRevision, resolveModelName } from "../src/lens/loading/hub/names";

const USAGE = `usage: lens download <model>… [--revision <branch|tag|commit>] [--checkpoint-value <step>]
  <model>: gpt2-small, gpt2-medium, gpt2-large, gpt2-xl, pythia-70m … pythia-12b (-deduped), or org/name
  Files go to ${hfHubCache()} (set HF_HUB_CACHE or HF_HOME to choose); HF_TOKEN for gated repos; HF_ENDPOINT for a mirror.`;

async function download(args: string[]): Promise<void> {
  const names: string[] = [];
  let revision: string | undefined;
  let checkpointValue: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--revision") revision = args[++i];
    else if (a === "--checkpoint-value") checkpointValue = Number(args[++i]);
    else if (a.startsWith("-")) throw new Error(`unknown option ${a}\n${USAGE}`);
    else names.push(a);
  }
  if (names.length === 0) throw new Error(USAGE);
  if (hubOffline()) throw new Error("HF_HUB_OFFLINE is set, so nothing can be downloaded; unset it (on a machine with internet) and run again");
  for (const name of names) {
    const r = resolveModelName(name);
    if (r.kind === "unknown") throw new Error(r.message);
    const rev = checkpointRevision(r.repoId, { revision, checkpointValue }) ?? "main";
    const cached = await completeSnapshot(r.repoId, rev);
    const folder = cached.folder ?? (await downloadSnapshot(r.repoId, rev, true));
    console.log(`${name} (${r.repoId}@${rev}): ${cached.folder ? "already cached" : "downloaded"} in ${folder}`);
  }
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === "download") return download(rest);
  throw new Error(cmd === undefined || cmd === "help" || cmd === "--help" ? USAGE : `unknown command "${cmd}"\n${USAGE}`);
}

main(process.argv.slice(2)).catch((e: Error) => {
  console.error(`lens: ${e.message}`);
  process.exit(1);
});
