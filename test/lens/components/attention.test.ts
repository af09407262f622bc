/**
 * components/attention.ts's headResults (TransformerLens's hook_result, z_h·W_O[h] per head) against the sum written
 * out in float64 JS, for a batch-and-position-shaped z; and its sum over heads against one z·W_O product.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../../../src/lens/index";
import { headResults } from "../../../src/lens/components/attention";
import { mulberry32 } from "../../../src/lens/sae/source";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";

test("headResults: [batch, pos, head, dHead] · [head, dHead, dModel] → [batch, pos, head, dModel], each head by hand", async () => {
  await setBackend("cpu");
  const [B, P, H, d, D] = [2, 3, 4, 5, 6];
  const rng = mulberry32(7);
  const z = Array.from({ length: B * P * H * d }, () => rng() - 0.5);
  const W = Array.from({ length: H * d * D }, () => rng() - 0.5);
  const expected: number[] = [];
  for (let bp = 0; bp < B * P; bp++)
    for (let h = 0; h < H; h++)
      for (let m = 0; m < D; m++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += z[(bp * H + h) * d + k]! * W[(h * d + k) * D + m]!;
        expected.push(s);
      }
  const before = tf.memory().numTensors;
  const [out, summed, flat] = tf.tidy(() => {
    const zt = tf.tensor4d(z, [B, P, H, d]);
    const Wt = tf.tensor3d(W, [H, d, D]);
    const r = headResults(zt, Wt);
    return [r, r.sum(2), zt.reshape([B * P, H * d]).matMul(Wt.reshape([H * d, D])).reshape([B, P, D])];
  });
  assert.deepStrictEqual(out.shape, [B, P, H, D]);
  await expectAllClose(out, expected, TOLERANCES.float32Invariant, "hook_result");
  await expectAllClose(summed, flat, TOLERANCES.float32Invariant, "Σ_h hook_result = z·W_O");
  tf.dispose([out, summed, flat]);
  assert.equal(tf.memory().numTensors, before);
});
