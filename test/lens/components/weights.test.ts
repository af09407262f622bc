/**
 * components/weights.ts's ModelWeights: a derived tensor is built once and kept (the same tensor on the next call),
 * rebuilt after someone disposes it, rebuilt on every call with cacheDerived: false, and freed by dispose() with
 * the parameters; an absent key throws naming it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../../../src/lens/index";
import { ModelWeights } from "../../../src/lens/components/weights";

test("ModelWeights.derived caches once, rebuilds a disposed one, and dispose() frees parameters and derived tensors", async () => {
  await setBackend("cpu");
  const before = tf.memory().numTensors;
  const w = new ModelWeights(new Map([["blocks.0.attn.W_O", tf.ones([2, 3, 4])]]));
  let builds = 0;
  const make = () => (builds++, w.get("blocks.0.attn.W_O").reshape([6, 4]).mul(2));
  const a = tf.tidy(() => w.derived("W_O_flat", make));
  const b = w.derived("W_O_flat", make);
  assert.equal(a, b, "the same tensor");
  assert.equal(builds, 1);
  a.dispose();
  const c = w.derived("W_O_flat", make);
  assert.equal(builds, 2, "rebuilt after it was disposed");
  assert.deepStrictEqual(c.shape, [6, 4]);
  assert.equal(w.bias("blocks.0.attn.W_O").rank, 1, "bias(): a rank-1 copy");
  assert.throws(() => w.get("blocks.0.attn.W_Q"), /model has no parameter "blocks\.0\.attn\.W_Q"/);
  w.dispose();
  assert.equal(tf.memory().numTensors, before, "parameters and derived tensors freed");
});

test("with cacheDerived: false (training) every call builds afresh, in the caller's scope", async () => {
  await setBackend("cpu");
  const w = new ModelWeights(new Map([["x", tf.ones([2])]]), false);
  let builds = 0;
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    w.derived("y", () => (builds++, w.get("x").add(1)));
    w.derived("y", () => (builds++, w.get("x").add(1)));
  });
  assert.equal(builds, 2);
  assert.equal(tf.memory().numTensors, before, "nothing kept");
  w.dispose();
});
