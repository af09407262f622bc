/**
 * components/layerNorm.ts against LayerNorm written out in float64 JS (centre, sqrt(mean square + eps), divide, then
 * w and b), with and without weights (LN / LNPre), and the two hooks it fires in order.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../../../src/lens/index";
import { layerNorm } from "../../../src/lens/components/layerNorm";
import { HookRegistry } from "../../../src/lens/hookPoint";
import { mulberry32 } from "../../../src/lens/sae/source";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";

function byHand(x: number[][], w: number[] | undefined, b: number[] | undefined, eps: number): number[][] {
  return x.map((row) => {
    const mean = row.reduce((s, v) => s + v, 0) / row.length;
    const c = row.map((v) => v - mean);
    const scale = Math.sqrt(c.reduce((s, v) => s + v * v, 0) / row.length + eps);
    return c.map((v, i) => (v / scale) * (w ? w[i]! : 1) + (b ? b[i]! : 0));
  });
}

test("layerNorm equals the float64 formula, with weights (LN) and without (LNPre)", async () => {
  await setBackend("cpu");
  const rng = mulberry32(3);
  const x = Array.from({ length: 5 }, () => Array.from({ length: 8 }, () => rng() * 4 - 2));
  const w = Array.from({ length: 8 }, () => rng() + 0.5);
  const b = Array.from({ length: 8 }, () => rng() - 0.5);
  const before = tf.memory().numTensors;
  const withWeights = tf.tidy(() => layerNorm(tf.tensor2d(x), tf.tensor1d(w), tf.tensor1d(b), 1e-5));
  const pre = tf.tidy(() => layerNorm(tf.tensor2d(x), undefined, undefined, 1e-5));
  await expectAllClose(withWeights, byHand(x, w, b, 1e-5).flat(), TOLERANCES.float32Invariant, "LN");
  await expectAllClose(pre, byHand(x, undefined, undefined, 1e-5).flat(), TOLERANCES.float32Invariant, "LNPre");
  tf.dispose([withWeights, pre]);
  assert.equal(tf.memory().numTensors, before);
});

test("layerNorm fires {prefix}.hook_scale ([..., 1]) then {prefix}.hook_normalized, and a hook's return replaces the value", async () => {
  await setBackend("cpu");
  const names = ["blocks.0.ln1.hook_scale", "blocks.0.ln1.hook_normalized"];
  const hooks = new HookRegistry(() => names);
  const seen: [string, number[]][] = [];
  hooks.add((n) => n.endsWith("hook_scale"), (act, h) => void seen.push([h.name, act.shape]), { level: 0 });
  hooks.add((n) => n.endsWith("hook_normalized"), (act, h) => {
    seen.push([h.name, act.shape]);
    return tf.zerosLike(act);
  }, { level: 0 });
  const out = tf.tidy(() => layerNorm(tf.tensor2d([[1, 2, 3], [4, 0, 1]]), tf.ones([3]), tf.tensor1d([1, 2, 3]), 1e-5, hooks, "blocks.0.ln1"));
  assert.deepStrictEqual(seen, [[names[0], [2, 1]], [names[1], [2, 3]]]);
  assert.deepStrictEqual(await out.data(), new Float32Array([1, 2, 3, 1, 2, 3]), "zeroed normalized · w + b = b");
  out.dispose();
});
