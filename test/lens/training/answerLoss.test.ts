// weightedAnswerLoss against a hand-written reference (log-softmax in plain JS) and against nextTokenLoss at weight 1.
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { test } from "node:test";
import { weightedAnswerLoss } from "../../../src/lens/training/answerLoss";
import { nextTokenLoss } from "../../../src/lens/training/trainer";
import { TOLERANCES } from "../../tolerances";

test("weightedAnswerLoss: weight 1 is nextTokenLoss; weight 5 matches a plain-JS reference; no tensors leak", async () => {
  const logits = tf.randomNormal([2, 6, 7], 0, 1, "float32", 3);
  const rows = [[0, 3, 4, 3, 5, 3], [0, 3, 6, 1, 3, 4]];
  const tokens = tf.tensor2d(rows, [2, 6], "int32");
  const before = tf.memory().numTensors;
  const one = weightedAnswerLoss(3, [4, 6], 1)(logits, tokens), base = nextTokenLoss(logits, tokens), five = weightedAnswerLoss(3, [4, 6], 5)(logits, tokens);
  const [v1, vb, v5] = [(await one.data())[0]!, (await base.data())[0]!, (await five.data())[0]!];
  tf.dispose([one, base, five]);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Math.abs(v1 - vb) < TOLERANCES.scalarUlps.atol, `${v1} vs ${vb}`);
  const l = (await logits.array()) as number[][][];
  let sum = 0, wsum = 0;
  for (let b = 0; b < 2; b++) {
    for (let p = 0; p < 5; p++) {
      const row = l[b]![p]!, max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      const w = rows[b]![p] === 3 && [4, 6].includes(rows[b]![p + 1]!) ? 5 : 1; // "3" followed by a target: (0,1→4), (1,1→6), (1,4→4)
      sum += w * (lse - row[rows[b]![p + 1]!]!);
      wsum += w;
    }
  }
  assert.ok(Math.abs(v5 - sum / wsum) < TOLERANCES.scalarReduced.atol, `${v5} vs reference ${sum / wsum}`);
  assert.throws(() => weightedAnswerLoss(3, [4], 0.5), /weight must be ≥ 1/);
  tf.dispose([logits, tokens]);
});
