/**
 * The SAE registry is the whole story: an architecture defined here, outside src/, with a config field of its own
 * (`gain`, saved as cfg.json's `relu_gain`), its own validation and dead-latent use, is registered once and then
 * constructs, trains (with the dead mask passed every step), saves, loads and folds through the generic code.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { getSaeArchitecture, registerSaeArchitecture, SparseAutoencoder, trainSae, type SaeArchitecture } from "../../../src/lens/sae/index";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";

let deadMaskSeen = 0;
let steps = 0;
const gainOf = (cfg: { readonly [k: string]: unknown }) => cfg.gain as number;
const rowNorms = (w: tf.Tensor) => w.square().sum(1).sqrt();

/** f = gain·ReLU(x̃ W_enc + b_enc), a standard SAE with a fixed output gain. */
const scaledRelu: SaeArchitecture = {
  name: "scaled_relu",
  usesDeadMask: true,
  parseConfig: (raw) => ({ gain: raw.relu_gain }),
  configToJson: (cfg) => ({ relu_gain: cfg.gain }),
  validate: (cfg) => {
    if (!(typeof cfg.gain === "number" && cfg.gain > 0)) throw new Error(`scaled_relu needs gain > 0, got ${JSON.stringify(cfg.gain)}`);
  },
  init: (cfg, W_enc, W_dec) => ({ W_enc, W_dec, b_enc: tf.zeros([cfg.dSae]), b_dec: tf.zeros([cfg.dIn]) }),
  preActivations: (p, xt) => xt.matMul(p.W_enc as tf.Tensor2D).add(p.b_enc!) as tf.Tensor2D,
  activate: (_p, pre, _xt, cfg) => tf.relu(pre).mul(gainOf(cfg)) as tf.Tensor2D,
  encode(p, xt, cfg) {
    return this.activate(p, this.preActivations(p, xt, cfg), xt, cfg);
  },
  decode: (p, f) => f.matMul(p.W_dec as tf.Tensor2D).add(p.b_dec!) as tf.Tensor2D,
  trainForward(p, _x, xt, cfg, ctx) {
    steps++;
    if (ctx.deadMask !== undefined && ctx.nDead !== undefined) deadMaskSeen++;
    const f = this.encode(p, xt, cfg);
    const l1 = f.mul(rowNorms(p.W_dec!)).sum(1).mean().mul(ctx.sparsityCoefficient) as tf.Scalar;
    return { f, xHat: this.decode(p, f, cfg), aux: { l1_loss: l1 } };
  },
  fold: (p, n) => ({ W_enc: p.W_enc!.mul(n), b_enc: p.b_enc!.mul(n), W_dec: p.W_dec!.div(n.expandDims(1)) }),
  savedShapes: (cfg) => ({ W_enc: [cfg.dIn, cfg.dSae], W_dec: [cfg.dSae, cfg.dIn], b_enc: [cfg.dSae], b_dec: [cfg.dIn] }),
  toSaved: (p) => ({ ...p }),
  fromSaved: (s) => Object.fromEntries(["W_enc", "W_dec", "b_enc", "b_dec"].map((k) => [k, s[k]!.clone()])),
};

test("an architecture registered from outside src/ constructs, trains, saves, loads and folds (round trip)", async () => {
  assert.throws(() => registerSaeArchitecture({ name: "half" } as SaeArchitecture), /missing: init, preActivations/);
  registerSaeArchitecture(scaledRelu);
  assert.equal(getSaeArchitecture("scaled_relu"), scaledRelu);
  assert.throws(() => new SparseAutoencoder({ dIn: 8, dSae: 16, architecture: "scaled_relu", gain: -1 }), /scaled_relu needs gain > 0, got -1/);
  const before = tf.memory().numTensors;
  const dir = await mkdtemp(path.join(tmpdir(), "lens-sae-registry-"));
  try {
    const sae = new SparseAutoencoder({ dIn: 8, dSae: 16, architecture: "scaled_relu", gain: 2, hookName: "blocks.0.hook_resid_pre", seed: 3 });
    // Sparse data: each row is one of 8 directions times a uniform magnitude.
    const data = tf.tidy(() => {
      const dirs = tf.randomNormal([8, 8], 0, 1, "float32", 5);
      const pick = tf.oneHot(tf.randomUniform([512], 0, 8, "int32", 6), 8).cast("float32");
      return pick.mul(tf.randomUniform([512, 1], 0.5, 1.5, "float32", 7)).matMul(dirs) as tf.Tensor2D;
    });
    const report = await trainSae(sae, data, { steps: 200, batchSize: 64, lr: 1e-2, l1Coefficient: 1e-3, logEvery: 50, seed: 1 });
    assert.equal(steps, 200, "the trainer ran the registered trainForward");
    assert.equal(deadMaskSeen, 199, "usesDeadMask: the dead mask came with every step after the first (which has no history)");
    assert.ok(report.final.explainedVariance > 0.8, `explained variance ${report.final.explainedVariance}`);
    assert.ok(report.final.loss < report.history[0]!.loss, "the loss fell");
    await sae.save(dir);
    const cfgJson = JSON.parse(await readFile(path.join(dir, "cfg.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual([cfgJson.architecture, cfgJson.relu_gain], ["scaled_relu", 2], "configToJson wrote the field");
    const again = await SparseAutoencoder.load(dir);
    assert.equal(again.cfg.gain, 2, "parseConfig read it back");
    for (const k of ["W_enc", "W_dec", "b_enc", "b_dec"]) await expectAllClose(again.params[k]!, sae.params[k]!, TOLERANCES.exact, k);
    // encode by hand: 2·ReLU((x − b_dec)·W_enc + b_enc)
    const x = data.slice([0, 0], [5, 8]);
    const byHand = tf.tidy(() => tf.relu(x.sub(sae.b_dec).matMul(sae.W_enc).add(sae.b_enc)).mul(2));
    const enc = await again.encode(x);
    await expectAllClose(enc, byHand, TOLERANCES.float32Invariant, "loaded encode");
    const rec = await again.forward(x);
    again.foldWDecNorm();
    const folded = await again.forward(x);
    await expectAllClose(folded, rec, TOLERANCES.float32Invariant, "fold keeps reconstructions");
    tf.dispose([data, x, byHand, enc, rec, folded]);
    sae.dispose();
    again.dispose();
    assert.equal(tf.memory().numTensors, before);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
