// The bundled toy-ioi model (data/models/toy-ioi, trained by `npm run train -- toy-ioi`) must solve IOI on prompts
// from ioiDataset whose name pairs never occur together in training, on seeds training never saw.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HookedTransformer } from "../../src/lens/hookedTransformer";
import { measureIoi } from "../../src/lens/training/evaluation";
import { ioiPatching } from "../../src/lens/training/ioiAnalysis";

for (const seed of [11, 12]) {
  test(`toy-ioi: IOI on unseen name pairs, ABBA and BABA (seed ${seed})`, async () => {
    const model = await HookedTransformer.fromPretrained("toy-ioi");
    assert.equal(model.cfg.attnOnly, false);
    for (const templates of ["ABBA", "BABA"] as const) {
      const r = await measureIoi(model, { n: 100, seed, templates });
      const msg = `${templates}: ${JSON.stringify(r)}`;
      assert.ok(r.meanLogitDiff >= 2, `mean logit difference ≥ 2: ${msg}`);
      assert.ok(r.accuracy >= 0.95, `accuracy ≥ 95%: ${msg}`);
      assert.ok(Math.abs(r.abcMeanLogitDiff) <= 0.5, `ABC prompts give ~0 logit difference: ${msg}`);
    }
    model.dispose();
  });
}

test("toy-ioi: activation patching localises the information flow S2 → END (corruption: S2 replaced by IO)", async () => {
  const model = await HookedTransformer.fromPretrained("toy-ioi");
  const p = await ioiPatching(model, { n: 16, seed: 13 });
  const { S2, END } = p.positions;
  const L = model.cfg.nLayers;
  assert.ok(p.cleanLogitDiff > 2 && p.corruptedLogitDiff < -2, `the answer flips: ${p.cleanLogitDiff} vs ${p.corruptedLogitDiff}`);
  // Invariant: only S2 differs, so restoring resid_pre of layer 0 at S2 restores the clean run, anywhere else nothing.
  // 1e-3: a normalised logit difference (÷ clean − corrupted ≈ 4+), so 1e-3 is ~4e-3 logits after a whole float32 forward.
  p.residPre[0]!.forEach((v, i) => assert.ok(Math.abs(v - (i === S2 ? 1 : 0)) < 1e-3, `layer-0 resid_pre at ${i}: ${v}`));
  // Positions before S2 can never carry it (causal attention).
  for (const row of p.residPre) for (let i = 0; i < S2; i++) assert.ok(Math.abs(row[i]!) < 1e-3, `resid_pre before S2: ${row}`);
  // Found by the sweep: layer-0 attention moves it off S2 (to S2 + 2), and attention in the later layers moves it to END.
  assert.ok(Math.abs(p.residPre[1]![S2]!) < 0.1 && p.residPre[1]![S2 + 2]! > 0.8, `layer-1 resid_pre: ${p.residPre[1]}`);
  assert.ok(Math.abs(p.attnOut[0]![END]!) < 0.1, `layer-0 attention at END: ${p.attnOut[0]}`);
  const late = p.attnOut.slice(1).reduce((s, row) => s + row[END]!, 0);
  assert.ok(late > 0.6, `attention in layers 1..${L - 1} writes it into END: ${late}`);
  model.dispose();
});
