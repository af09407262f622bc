/**
 * The generic patching engine with a left-padded base input: every run of a sweep (each restarted at its layer from
 * the cached residual) uses the attention mask, so the padded prompt's entries equal the sweep of that prompt alone,
 * shifted by its padding, and patching a pad position changes nothing. On both fixture families (GPT-2's learned
 * positions, NeoX's rotary positions).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { HookedTransformer, setBackend } from "../../../src/lens/index";
import * as P from "../../../src/lens/patching/index";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";
import { FAMILIES, loadReference } from "../../fixtures";
import { expectNoLeak, memorySnapshot, TEST_BACKENDS } from "../../backends";

const PAD = 2;
const CLEAN = [[5, 17, 99, 3, 250, 41, 7], [0, 0, 12, 300, 8, 77, 401]];
const CORRUPT = [[5, 17, 99, 200, 250, 41, 7], [0, 0, 12, 300, 8, 150, 401]]; // row 1 is left-padded by 2
const MASK = [[1, 1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1, 1]];
const ANSWERS = [[10, 20], [30, 40]];

/** The logit difference of row `b` only (a scalar tensor). */
const rowMetric = (b: number, answers: number[][]) => (logits: tf.Tensor) =>
  tf.tidy(() => P.logitDiff(logits, answers, { perPrompt: true }).slice([b], [1]).sum());

for (const backend of TEST_BACKENDS) for (const family of FAMILIES) describe(`patching a left-padded batch (${family} on ${backend})`, () => {
  test("resid_pre sweep with attentionMask: the padded row equals its own sweep shifted by the padding", async () => {
    await setBackend(backend);
    const model = await HookedTransformer.fromPretrained((await loadReference(family)).folder);
    const [l1, cleanCache] = await model.runWithCache(CLEAN, { attentionMask: MASK });
    l1.dispose();
    const before = await memorySnapshot();
    const padded = await P.getActPatchResidPre(model, CORRUPT, cleanCache, rowMetric(1, ANSWERS), { attentionMask: MASK });
    const g = (await padded.array()) as number[][];
    padded.dispose();
    await expectNoLeak(before, "padded sweep");
    // The same prompt alone, unpadded.
    const [l2, aloneCache] = await model.runWithCache([CLEAN[1]!.slice(PAD)]);
    l2.dispose();
    const alone = await P.getActPatchResidPre(model, [CORRUPT[1]!.slice(PAD)], aloneCache, rowMetric(0, [ANSWERS[1]!]));
    const corruptedAlone = await model.forward([CORRUPT[1]!.slice(PAD)]);
    const base = (await rowMetric(0, [ANSWERS[1]!])(corruptedAlone).data())[0]!;
    const a = (await alone.array()) as number[][];
    const nLayers = model.cfg.nLayers;
    await expectAllClose(g.flatMap((row) => row.slice(PAD)), a.flat(), TOLERANCES.float32Invariant, "padded row's sweep at real positions");
    await expectAllClose(g.flatMap((row) => row.slice(0, PAD)), new Array(nLayers * PAD).fill(base), TOLERANCES.float32Invariant, "patching a pad changes nothing");
    // Without the mask the runs restarted at a layer would attend to the pads: the result differs.
    const unmasked = await P.getActPatchResidPre(model, CORRUPT, cleanCache, rowMetric(1, ANSWERS));
    const u = (await unmasked.array()) as number[][];
    assert.ok(Math.max(...u.flatMap((row, l) => row.map((v, p) => Math.abs(v - g[l]![p]!)))) > 1e-3, "the mask matters for this input");
    tf.dispose([alone, corruptedAlone, unmasked]);
    cleanCache.dispose();
    aloneCache.dispose();
    model.dispose();
  });
});
