/**
 * The loader's layer-by-layer weight processing (hostProcessing.ts, plain loops) against the tfjs implementation of
 * the same TransformerLens steps (weightProcessing.ts, tf ops, itself tested against TL's math in
 * fromPretrained.test.ts): same keys, same shapes, same values within float32 rounding, for GPT-2 (sequential) and
 * GPT-NeoX (parallel, rotary) fixtures and for subsets of the steps; no tensor leaked, on every test backend.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../../../src/lens/backend";
import type { StateDict } from "../../../src/lens/components/weights";
import { loadPretrained } from "../../../src/lens/loading/fromPretrained";
import { processWeightsLayerwise } from "../../../src/lens/loading/hostProcessing";
import { processWeights, type ProcessingOptions } from "../../../src/lens/loading/weightProcessing";
import { memorySnapshot, expectNoLeak, TEST_BACKENDS } from "../../backends";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";
import { GPT2_FIXTURE, NEOX_FIXTURE } from "./checkpoints";

const OFF = { foldLn: false, centerWritingWeights: false, centerUnembed: false, foldValueBiases: false, progress: false } as const;
const CASES: Array<[string, ProcessingOptions]> = [
  ["all steps (defaults)", {}],
  ["foldLn only", { foldLn: true, centerWritingWeights: false, centerUnembed: false, foldValueBiases: false }],
  ["centring only", { foldLn: false, centerWritingWeights: true, centerUnembed: true, foldValueBiases: false }],
  ["foldValueBiases only", { foldLn: false, centerWritingWeights: false, centerUnembed: false, foldValueBiases: true }],
];

const dispose = (sd: StateDict) => tf.dispose([...sd.values()]);

for (const backend of TEST_BACKENDS) {
  for (const [family, folder] of [["GPT-2", GPT2_FIXTURE], ["GPT-NeoX", NEOX_FIXTURE]] as const) {
    test(`[${backend}] ${family}: layer-by-layer processing equals the tfjs steps`, async () => {
      await setBackend(backend);
      for (const [label, opts] of CASES) {
        const a = await loadPretrained(folder, OFF);
        const b = await loadPretrained(folder, OFF);
        const before = await memorySnapshot();
        const cfgA = processWeights(a.stateDict, a.cfg, opts);
        const cfgB = await processWeightsLayerwise(b.stateDict, b.cfg, opts);
        assert.deepEqual(cfgB, cfgA, `${label}: config`);
        assert.deepEqual([...b.stateDict.keys()].sort(), [...a.stateDict.keys()].sort(), `${label}: keys`);
        for (const [k, t] of a.stateDict) await expectAllClose(b.stateDict.get(k) as tf.Tensor, t, TOLERANCES.float32Invariant, `${label}: ${k}`);
        dispose(a.stateDict);
        dispose(b.stateDict);
        // Both loads' tensors are gone again: processing itself kept nothing.
        const after = await memorySnapshot();
        assert.ok(after.numTensors <= before.numTensors, `${label}: ${after.numTensors - before.numTensors} tensors left`);
      }
      const before = await memorySnapshot();
      const m = await loadPretrained(folder, { progress: false });
      dispose(m.stateDict);
      await expectNoLeak(before, `${family} load`);
    });
  }
}

// Processing overwrites each tensor's values in place (on cpu, data() is the tensor's own array). Two entries that
// share their data (here W_K a reshape of W_Q) must each be processed from the original values: the tfjs steps, which
// are functional, are the reference.
for (const backend of TEST_BACKENDS) {
  test(`[${backend}] entries that share their data are each processed from the original values`, async () => {
    await setBackend(backend);
    const [a, b] = [await loadPretrained(GPT2_FIXTURE, OFF), await loadPretrained(GPT2_FIXTURE, OFF)];
    for (const { stateDict: sd } of [a, b]) {
      const q = sd.get("blocks.0.attn.W_Q")!;
      sd.get("blocks.0.attn.W_K")!.dispose();
      sd.set("blocks.0.attn.W_K", q.reshape(q.shape));
    }
    processWeights(a.stateDict, a.cfg, {});
    await processWeightsLayerwise(b.stateDict, b.cfg, {});
    for (const k of ["blocks.0.attn.W_Q", "blocks.0.attn.W_K"]) {
      await expectAllClose(b.stateDict.get(k) as tf.Tensor, a.stateDict.get(k) as tf.Tensor, TOLERANCES.float32Invariant, k);
    }
    dispose(a.stateDict);
    dispose(b.stateDict);
  });
}
