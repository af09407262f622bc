/**
 * Notebook 04 on real text from the stand-in Hub: a random GPT-2-architecture checkpoint with GPT-2's real tokenizer
 * and vocabulary (50257; 4 layers, d_model 64, so the run takes minutes, not the 2 of GPT-2 small), through LENS_MODEL;
 * the stand-in Hub (test/lens/loading/fakeHubServer.ts, its own process, since the notebook runs through spawnSync)
 * serves `NeelNanda/pile-10k` as parquet written by hyparquet-writer; HF_ENDPOINT points at it and HF_HUB_CACHE at an
 * empty cache. The notebook must download the dataset (requests in the server's log, Python's layout in the cache),
 * say that it trains on it, train, evaluate and build dashboards on it, and finish with no failing cell and nothing on
 * stderr. Runs when LENS_REAL_TEXT_NOTEBOOK=1 (about 100 s on a shared 2-core machine); skipped otherwise,
 * or without tslab / nbclient.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { courseNotebooks, notebookSkipReason, runNotebook } from "../../scripts/notebooks";
import { GPT2_TOKENIZER_DIR } from "../fixtures";
import { writeGpt2 } from "../../bench/checkpoint";
import { tempDir } from "../lens/loading/checkpoints";
import { sampleDocuments, textParquet } from "../lens/datasets/parquetFixtures";

const ROOT = resolve(__dirname, "../..");
const on = process.env.LENS_REAL_TEXT_NOTEBOOK === "1";
const skip = notebookSkipReason() ?? (on ? false : "set LENS_REAL_TEXT_NOTEBOOK=1 to run notebook 04 on stand-in Hub text (several minutes)");
if (skip) console.log(`notebook 04 on real text skipped: ${skip}`);

/** A random GPT-2 (HF layout, bench/checkpoint.ts's writer) with the real vocabulary and tokenizer: 4 layers, d_model 64, 4 heads, n_ctx 64. */
async function writeGpt2Shaped(dir: string): Promise<string> {
  await writeGpt2(dir, { nLayers: 4, dModel: 64, nHeads: 4, dMlp: 256, dVocab: 50257, nCtx: 64 });
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) await copyFile(join(GPT2_TOKENIZER_DIR, f), join(dir, f));
  return dir;
}

/** Starts the stand-in Hub process; resolves with its URL, the request log (filled as it runs) and a stop function. */
async function startHub(specFile: string): Promise<{ url: string; log: { method: string; url: string }[]; stop: () => Promise<void> }> {
  const child = spawn(join(ROOT, "node_modules", ".bin", "tsx"), [join(ROOT, "test", "lens", "loading", "fakeHubServer.ts"), specFile], { stdio: ["pipe", "pipe", "inherit"] });
  const log: { method: string; url: string }[] = [];
  let buf = "";
  const url = await new Promise<string>((ok, fail) => {
    child.on("exit", (code) => fail(new Error(`the stand-in Hub exited (${code})`)));
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith("url ")) ok(line.slice(4));
        else if (line.startsWith("{")) log.push(JSON.parse(line));
      }
    });
  });
  const stop = () => new Promise<void>((ok) => { child.removeAllListeners("exit"); child.on("exit", () => ok()); child.stdin!.end(); });
  return { url, log, stop };
}

test("notebook 04 on a GPT-2-shaped model trains its SAE on dataset text downloaded from the stand-in Hub", { skip, timeout: 3600000 }, async () => {
  const dir = await tempDir("nb04-real-text");
  try {
    const model = await writeGpt2Shaped(join(dir, "gpt2-shaped"));
    const docs = sampleDocuments(800, 11);
    const parquet = join(dir, "train.parquet");
    await writeFile(parquet, textParquet(docs, { rowGroupSize: 200 }));
    const spec = join(dir, "hub.json");
    await writeFile(spec, JSON.stringify({ datasets: [{ repoId: "NeelNanda/pile-10k", branch: "main", files: { "data/train-00000-of-00001.parquet": parquet } }] }));
    const cache = join(dir, "cache", "hub");
    await mkdir(cache, { recursive: true });
    const hub = await startHub(spec);
    const out = join(dir, "04-executed.ipynb");
    let res;
    try {
      const nb = courseNotebooks().find((p) => p.split("/").pop()!.startsWith("04_"))!;
      res = runNotebook(nb, { env: { LENS_MODEL: model, HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache, HF_HOME: join(dir, "home") }, offline: false, outPath: out, cellTimeout: 900 });
    } finally {
      await hub.stop();
    }
    console.log(`04 on real text: ${res.ok ? "ok" : "FAILED"} in ${res.seconds} s`);
    assert.ok(res.ok, `notebook 04 failed on stand-in Hub text:\n\n${res.problems.join("\n\n")}`);
    assert.ok(hub.log.some((r) => r.url === "/api/datasets/NeelNanda/pile-10k/revision/main"), "the file list was asked for");
    assert.ok(hub.log.some((r) => r.method === "GET" && r.url.startsWith("/cdn/")), "the parquet file was downloaded");
    assert.ok(existsSync(join(cache, "datasets--NeelNanda--pile-10k", "refs", "main")), "cached in Python's layout");
    const executed = JSON.parse(await readFile(out, "utf8")) as { cells: { outputs?: { text?: string | string[] }[] }[] };
    const text = executed.cells.flatMap((c) => c.outputs ?? []).map((o) => (Array.isArray(o.text) ? o.text.join("") : o.text ?? "")).join("");
    assert.match(text, /text: HubDataset\(NeelNanda\/pile-10k, split "train", 800 rows .*downloaded into the Hugging Face cache/);
    assert.match(text, /blocks\.3\.hook_resid_pre: 400 documents of NeelNanda\/pile-10k packed into sequences of 32 tokens/);
    assert.match(text, /next-token CE: clean \d/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
