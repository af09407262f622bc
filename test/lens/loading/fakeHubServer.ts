/**
 * The stand-in Hub (fakeHub.ts) in a process of its own, for tests whose client runs where the test's event loop cannot
 * answer (a notebook executed through spawnSync). Usage: `tsx test/lens/loading/fakeHubServer.ts SPEC.json`, where SPEC
 * is `{ "datasets": [{ "repoId", "branch", "files": { "<path in the repo>": "<local file>" } }], "models": [same] }`.
 * Prints `url http://127.0.0.1:PORT` once listening, then one JSON line per request; stops when stdin closes.
 */
import { readFileSync } from "node:fs";
import { FakeHub } from "./fakeHub";

interface RepoSpec {
  readonly repoId: string;
  readonly branch: string;
  readonly files: Record<string, string>;
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as { datasets?: RepoSpec[]; models?: RepoSpec[] };
  const hub = new FakeHub();
  const load = (files: Record<string, string>) => Object.fromEntries(Object.entries(files).map(([k, f]) => [k, readFileSync(f)]));
  for (const d of spec.datasets ?? []) hub.addDatasetRevision(d.repoId, d.branch, load(d.files));
  for (const m of spec.models ?? []) hub.addRevision(m.repoId, m.branch, load(m.files));
  const push = hub.log.push.bind(hub.log);
  hub.log.push = (...reqs) => {
    for (const r of reqs) process.stdout.write(`${JSON.stringify(r)}\n`);
    return push(...reqs);
  };
  process.stdout.write(`url ${await hub.start()}\n`);
  process.stdin.resume();
  process.stdin.on("end", () => void hub.stop().then(() => process.exit(0)));
}

void main();
