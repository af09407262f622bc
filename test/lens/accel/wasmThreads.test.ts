/**
 * Threaded wasm (accel/wasmThreads.ts): the thread-count rules, and — in child processes, since the wasm module is
 * chosen once per process — the tiny GPT-2 fixture's logits on threaded vs stock wasm, backendInfo's report, and that
 * a process using threaded wasm exits by itself (pthread workers would otherwise keep it alive).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { physicalCores, wasmThreadsRequest } from "../../../src/lens/accel/wasmThreads";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";

test("thread count: LENS_WASM_THREADS n ≥ 2 → min(n, 8, logical cores); 0/1 → stock; auto → min(8, free cores) when ≥ 2 are free", () => {
  assert.deepEqual(wasmThreadsRequest({ LENS_WASM_THREADS: "4" }, 16, 8), { threads: 4, reason: "LENS_WASM_THREADS=4" });
  assert.equal(wasmThreadsRequest({ LENS_WASM_THREADS: "12" }, 16, 8).threads, 8, "the build pre-creates 8 workers");
  assert.equal(wasmThreadsRequest({ LENS_WASM_THREADS: "4" }, 2, 2).threads, 2, "never more than the logical cores");
  assert.match(wasmThreadsRequest({ LENS_WASM_THREADS: "4" }, 2, 2).reason, /capped/);
  assert.equal(wasmThreadsRequest({ LENS_WASM_THREADS: "1" }, 16, 8).threads, 1);
  assert.equal(wasmThreadsRequest({ LENS_WASM_THREADS: "0" }, 16, 8).threads, 1);
  assert.equal(wasmThreadsRequest({}, 20, 20, 0.5).threads, 8, "auto on an idle 20-core DGX Spark");
  assert.equal(wasmThreadsRequest({}, 20, 20, 15.2).threads, 4, "auto: 20 cores, load 15.2 → 4 free");
  assert.equal(wasmThreadsRequest({ LENS_WASM_THREADS: "auto" }, 2, 2, 0).threads, 2, "auto on an idle 2-vCPU VM without SMT");
  assert.equal(wasmThreadsRequest({}, 2, 2, 0.3).threads, 1, "auto: 2 cores with load 0.3 → 1 free → stock");
  assert.match(wasmThreadsRequest({}, 2, 2, 3.5).reason, /load 3\.5 → 0 free; threads need 2 free cores/);
  assert.equal(wasmThreadsRequest({}, 2, 1, 0).threads, 1, "auto on 1 physical core with 2-way SMT: stock");
  assert.equal(wasmThreadsRequest({ LENS_WASM_THREADS: "2" }, 2, 2, 9).threads, 2, "an explicit count ignores the load");
  assert.throws(() => wasmThreadsRequest({ LENS_WASM_THREADS: "two" }), /LENS_WASM_THREADS=two: expected a whole number/);
  assert.throws(() => wasmThreadsRequest({ LENS_WASM_THREADS: "-1" }), /LENS_WASM_THREADS=-1/);
  const p = physicalCores(availableParallelism());
  assert.ok(Number.isInteger(p) && p >= 1 && p <= availableParallelism(), `physical cores ${p}`);
});

interface Child {
  status: number | null;
  signal: string | null;
  ms: number;
  stderr: string;
  out?: { wasm: { threads: number; module: string; detail: string }; matmul: string; logits: number[] };
}

/**
 * Fixture logits in a child process with the given LENS_WASM_THREADS (BLAS off unless `blas`: the wasm kernels do the
 * matmuls).
 * The child ends without process.exit: it must exit by itself, which spawnSync's timeout would catch otherwise.
 */
function child(threads: string, blas = false): Child {
  const code =
    `require("./test/lens/accel/fixtureLogits.ts").fixtureLogits("wasm").then((v) => { const b = require("./src/lens/backend.ts").backendInfo(); ` +
    `console.log(JSON.stringify({ wasm: b.wasm, matmul: b.matmul.detail, logits: Array.from(v) })); })`;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", code], {
    env: { ...process.env, LENS_BLAS: blas ? "" : "0", LENS_WASM_THREADS: threads, LENS_BACKEND: "" },
    encoding: "utf8",
    timeout: 120_000,
    killSignal: "SIGKILL",
  });
  const line = r.stdout?.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  return { status: r.status, signal: r.signal, ms: Date.now() - t0, stderr: r.stderr ?? "", out: line ? JSON.parse(line) : undefined };
}

const skip = availableParallelism() < 2 ? "needs 2 or more cores (threads are capped at the logical core count)" : false;

test("threaded wasm: same logits as stock wasm, threads reported in backendInfo, and the process exits by itself", { skip }, async () => {
  const threaded = child("2");
  assert.equal(threaded.signal, null, `the threaded child did not exit by itself within 120 s (killed by ${threaded.signal})`);
  assert.equal(threaded.status, 0, threaded.stderr.slice(-2000));
  assert.ok(threaded.out, "the child printed its result");
  assert.deepEqual({ threads: threaded.out.wasm.threads, module: threaded.out.wasm.module }, { threads: 2, module: "threaded-simd" }, threaded.out.wasm.detail);
  assert.match(threaded.out.wasm.detail, /threaded-SIMD wasm, 2 threads \(LENS_WASM_THREADS=2\)/);
  assert.match(threaded.out.matmul, /LENS_BLAS=0/, "the wasm kernels (not OpenBLAS) did the matmuls");

  const stock = child("1");
  assert.equal(stock.status, 0, stock.stderr.slice(-2000));
  assert.ok(stock.out);
  assert.deepEqual({ threads: stock.out.wasm.threads, module: stock.out.wasm.module }, { threads: 1, module: "stock" });
  assert.match(stock.out.wasm.detail, /stock single-threaded wasm \(LENS_WASM_THREADS=1\)/);

  assert.equal(threaded.out.logits.length, 5 * 512);
  // Same kernels, split across threads by rows: per-element sums keep their order, so the results agree to float32
  // rounding (the tolerance row says so).
  await expectAllClose(threaded.out.logits, stock.out.logits, TOLERANCES.threadedWasm, "fixture logits, threaded vs stock wasm");
});

test("threaded wasm with OpenBLAS matmuls: sgemm on the shared (threaded) heap gives the stock logits", { skip }, async (t) => {
  const threaded = child("2", true);
  assert.equal(threaded.signal, null, "the child exits by itself");
  assert.equal(threaded.status, 0, threaded.stderr.slice(-2000));
  assert.ok(threaded.out);
  if (!/OpenBLAS/.test(threaded.out.matmul)) return t.skip(`OpenBLAS not in use: ${threaded.out.matmul}`);
  assert.equal(threaded.out.wasm.module, "threaded-simd");
  const stock = child("1");
  assert.equal(stock.status, 0, stock.stderr.slice(-2000));
  // Different summation order (sgemm vs XNNPACK): the float32 invariant tolerance, as blas.test.ts uses.
  await expectAllClose(threaded.out.logits, stock.out!.logits, TOLERANCES.float32Invariant, "fixture logits, threaded wasm + BLAS vs stock wasm");
});
