/**
 * No hidden round trips: forward, runWithHooks, runWithCache and a patching sweep read nothing back from the backend
 * except what the caller asks for. Counts every value read through the engine (`data()`, `array()`, `dataSync()`… all
 * go through `engine.read`/`readSync`; on webgpu each is a GPU→CPU transfer) during one call, on every backend under
 * test (test/backends.ts). Kernels of the cpu backend that look at their own inputs are not counted: they are not reads.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import type { ActivationCache, HookedTransformer } from "../../src/lens/index";
import * as P from "../../src/lens/patching/index";
import { modelWithCache } from "../fixtures";
import { TEST_BACKENDS } from "../backends";
import { TOLERANCES } from "../tolerances";

interface Readable {
  read(dataId: object): Promise<unknown>;
  readSync(dataId: object): unknown;
}

/** Runs `fn` and returns what it returned plus the dataIds the backend was asked to read (async and sync). */
async function countReads<T>(fn: () => Promise<T>): Promise<{ result: T; reads: object[] }> {
  const b = tf.engine() as unknown as Readable;
  const [read, readSync] = [b.read, b.readSync];
  const reads: object[] = [];
  b.read = function (id) {
    reads.push(id);
    return read.call(this, id);
  };
  b.readSync = function (id) {
    reads.push(id);
    return readSync.call(this, id);
  };
  try {
    return { result: await fn(), reads };
  } finally {
    b.read = read;
    b.readSync = readSync;
  }
}

const CLEAN = [[5, 17, 99, 3, 250, 41, 7], [12, 300, 8, 77, 401, 2, 64]];
const CORRUPT = [[5, 17, 99, 200, 250, 41, 7], [12, 300, 8, 150, 401, 2, 64]];
const ANSWERS = [[10, 20], [30, 40]];

for (const backend of TEST_BACKENDS) {
  describe(`readbacks per call on ${backend}`, () => {
    let model: HookedTransformer;
    let cleanCache: ActivationCache;
    before(async () => {
      ({ model, cache: cleanCache } = await modelWithCache(backend, CLEAN));
    });
    after(() => {
      cleanCache.dispose();
      model.dispose();
    });

    test("forward, runWithHooks and runWithCache on token lists read nothing", async () => {
      const f = await countReads(() => model.forward(CLEAN, { returnType: "both" }));
      assert.equal(f.reads.length, 0, "forward");
      tf.dispose([f.result.logits, f.result.loss]);
      const h = await countReads(() => model.runWithHooks(CLEAN, { fwdHooks: [["blocks.1.hook_resid_pre", (a) => a.mul(0.5)]] }));
      assert.equal(h.reads.length, 0, "runWithHooks");
      h.result.dispose();
      const c = await countReads(() => model.runWithCache(CLEAN));
      assert.equal(c.reads.length, 0, "runWithCache");
      c.result[0].dispose();
      c.result[1].dispose();
      // the counter sees a read the caller asks for
      const r = await countReads(async () => {
        const l = await model.forward(CLEAN);
        await l.data();
        l.dispose();
      });
      assert.equal(r.reads.length, 1, "one requested read is counted");
    });

    test("an int32 token tensor is read once, itself (range check of the ids), and nothing else is", async () => {
      const ids = tf.tensor2d(CLEAN, undefined, "int32");
      const f = await countReads(() => model.forward(ids));
      assert.deepEqual(f.reads, [ids.dataId], "only the ids are read");
      f.result.dispose();
      ids.dispose();
    });

    test("a patching sweep (resid_pre, raw and normalised metrics) reads nothing; the caller reads the grid", async () => {
      const metric = (l: tf.Tensor) => P.logitDiff(l, ANSWERS);
      const raw = await countReads(() => P.getActPatchResidPre(model, CORRUPT, cleanCache, metric, { silent: true }));
      assert.equal(raw.reads.length, 0, "sweep with a tensor metric");
      const norm = P.normalizedMetric(metric, { clean: 2, corrupted: -1 });
      const n = await countReads(() => P.getActPatchResidPre(model, CORRUPT, cleanCache, norm, { silent: true }));
      assert.equal(n.reads.length, 0, "sweep with normalizedMetric");
      // same values: normalised = (raw − corrupted) / (clean − corrupted)
      const [a, b] = [await raw.result.data(), await n.result.data()];
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs((a[i]! + 1) / 3 - b[i]!) < TOLERANCES.scalarReduced.atol, `entry ${i}`);
      tf.dispose([raw.result, n.result]);
    });
  });
}
