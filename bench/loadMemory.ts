/**
 * Peak memory and time of `HookedTransformer.fromPretrained` on a random GPT-2-small-sized checkpoint (124 M params,
 * F32 safetensors, written to a temp dir by bench/checkpoint.ts with writeSafetensors). Each backend loads in a fresh
 * child process; the child reports its RSS before loading, its peak RSS (getrusage maxrss), its RSS after a GC once
 * loaded, and the wall time, with weight processing on (fromPretrained) and off (fromPretrainedNoProcessing).
 * Usage: `npx tsx bench/loadMemory.ts` (LOAD_BACKENDS=cpu,wasm to choose).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { writeGpt2Small } from "./checkpoint";

const MB = 1024 * 1024;

async function child(folder: string, processing: boolean): Promise<void> {
  const { ensureBackend } = await import("../src/lens/index");
  const { loadPretrained } = await import("../src/lens/loading/fromPretrained");
  const tf = await import("@tensorflow/tfjs");
  await ensureBackend();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const off = { foldLn: false, centerWritingWeights: false, centerUnembed: false, foldValueBiases: false };
  const { stateDict } = await loadPretrained(folder, { progress: false, ...(processing ? {} : off) });
  const seconds = (performance.now() - t0) / 1000;
  const peak = process.resourceUsage().maxRSS * 1024;
  gc?.();
  const after = process.memoryUsage().rss;
  const params = [...stateDict.values()].reduce((a, t) => a + t.size, 0);
  console.log(JSON.stringify({
    backend: tf.getBackend(), seconds: Number(seconds.toFixed(2)),
    rssBeforeMB: Math.round(before / MB), peakRssMB: Math.round(peak / MB), rssAfterMB: Math.round(after / MB), stateDictParams: params,
    tfMB: Math.round(tf.memory().numBytes / MB),
  }));
  tf.dispose([...stateDict.values()]);
}

async function main(): Promise<void> {
  if (process.argv[2] === "--child") return child(process.argv[3], process.argv[4] === "processing");
  const dir = mkdtempSync(path.join(tmpdir(), "lens-loadmem-"));
  try {
    const t0 = performance.now();
    await writeGpt2Small(dir);
    console.log(`wrote a 124M-param GPT-2-small-shaped F32 checkpoint in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const checkpointParams = 124_439_808;
    const f32MB = (checkpointParams * 4) / MB;
    console.log(`checkpoint float32 size: ${f32MB.toFixed(0)} MiB (${checkpointParams} params)`);
    for (const backend of (process.env.LOAD_BACKENDS ?? "cpu,wasm").split(","))
    for (const processing of ["processing", "no processing"]) {
      const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", __filename, "--child", dir, processing], {
        env: { ...process.env, LENS_BACKEND: backend }, encoding: "utf8", maxBuffer: 1 << 24,
      });
      const r = JSON.parse(out.trim().split("\n").filter((l) => l.startsWith("{")).pop() as string);
      const grew = r.peakRssMB - r.rssBeforeMB;
      console.log(
        `${backend}, ${processing === "processing" ? "fromPretrained (weight processing on)" : "fromPretrainedNoProcessing"}: load ${r.seconds} s; RSS before ${r.rssBeforeMB} MiB, peak ${r.peakRssMB} MiB (+${grew} MiB = ${(grew / f32MB).toFixed(2)}× the ` +
          `F32 checkpoint), after load ${r.rssAfterMB} MiB (+${r.rssAfterMB - r.rssBeforeMB} MiB; state dict ${r.stateDictParams} params = ` +
          `${((r.stateDictParams * 4) / MB).toFixed(0)} MiB incl. the untied W_U copy; tfjs holds ${r.tfMB} MiB); peak / final = ${(grew / (r.rssAfterMB - r.rssBeforeMB)).toFixed(2)}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
