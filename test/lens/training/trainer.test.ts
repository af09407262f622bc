import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { setBackend } from "../../../src/lens/backend";
import { resolveConfig, type TransformerConfig } from "../../../src/lens/config";
import { corpusBatch, tinyLanguage } from "../../../src/lens/data/corpora";
import { vocabulary } from "../../../src/lens/data/vocab";
import { lmCrossEntropy, runModel } from "../../../src/lens/forward";
import { HookRegistry } from "../../../src/lens/hookPoint";
import { AdamW, warmupCosine } from "../../../src/lens/training/adamw";
import { registerTrainingKernels } from "../../../src/lens/training/kernels";
import { disposeParams, initParams, trainableWeights, type ParamSet } from "../../../src/lens/training/params";
import { nextTokenLoss, trainLanguageModel } from "../../../src/lens/training/trainer";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";

function tinyCfg(attnOnly: boolean, dVocab = 13): TransformerConfig {
  return resolveConfig({
    modelName: "tiny", architecture: "gpt2", nLayers: 2, dModel: 8, nHeads: 2, dMlp: 16, nCtx: 8, dVocab, actFn: "gelu_new", eps: 1e-5,
    normalizationType: "LN", positionalEmbeddingType: "standard", rotaryBase: 10000, parallelAttnMlp: false, defaultPrependBos: true, attnOnly,
  });
}

const TOKENS = [[0, 3, 5, 3, 7, 2, 5, 1], [0, 9, 9, 4, 12, 6, 3, 8]];

/** Loss through the library forward, with the parameters replaced by `values` (plain tensors, no tape). */
function lossAt(cfg: TransformerConfig, params: ParamSet): number {
  return tf.tidy(() => {
    const tokens = tf.tensor2d(TOKENS, undefined, "int32");
    return nextTokenLoss(runModel(trainableWeights(params), cfg, new HookRegistry(() => []), { tokens }), tokens).dataSync()[0]!;
  });
}

for (const backend of ["cpu", "wasm"] as const) {
  test(`gradients through runModel match finite differences (${backend}; embedding, QKV, MLP, LayerNorm, positions)`, async () => {
    await setBackend(backend);
    registerTrainingKernels();
    for (const attnOnly of [false, true]) {
      const cfg = tinyCfg(attnOnly);
      const params = initParams(cfg, 3);
      // larger weights than the 0.02 init, so every path contributes a visible gradient
      for (const v of params.values()) if (v.rank >= 2) tf.tidy(() => v.assign(v.mul(20)));
      const before = tf.memory().numTensors;
      const keys = ["embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_Q", "blocks.1.attn.W_K", "blocks.0.attn.W_V", "blocks.1.attn.b_Q", "blocks.0.ln1.w", "ln_final.b", "unembed.W_U"];
      if (!attnOnly) keys.push("blocks.0.mlp.W_in", "blocks.1.mlp.b_out", "blocks.1.ln2.w");
      const vars = keys.map((k) => params.get(k)!);
      const { grads, value } = tf.variableGrads(() => {
        const tokens = tf.tensor2d(TOKENS, undefined, "int32");
        return nextTokenLoss(runModel(trainableWeights(params), cfg, new HookRegistry(() => []), { tokens }), tokens);
      }, vars);
      value.dispose();
      const h = 1e-2;
      for (const [i, k] of keys.entries()) {
        const v = vars[i]!;
        const g = (await grads[v.name]!.data()) as Float32Array;
        const base = (await v.data()) as Float32Array;
        const idx = [0, Math.floor(v.size / 2), v.size - 1];
        const fd: number[] = [];
        for (const j of idx) {
          const at = (delta: number) => {
            const x = base.slice();
            x[j]! += delta;
            tf.tidy(() => v.assign(tf.tensor(x, v.shape)));
            return lossAt(cfg, params);
          };
          fd.push((at(h) - at(-h)) / (2 * h));
          tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
        }
        await expectAllClose(idx.map((j) => g[j]!), fd, TOLERANCES.finiteDifference, `${backend} attnOnly=${attnOnly} d loss/d ${k}`);
        assert.ok(idx.some((j) => Math.abs(g[j]!) > 1e-4) || k.includes("b_Q"), `${k}: gradient is not all ~0`);
      }
      tf.dispose(Object.values(grads));
      assert.equal(tf.memory().numTensors, before, "no tensors leak");
      disposeParams(params);
    }
  });
}

test("nextTokenLoss (gather-free) equals lmCrossEntropy (gather) on random logits", async () => {
  await setBackend("cpu");
  const logits = tf.randomNormal([2, 8, 13], 0, 3, "float32", 1);
  const tokens = tf.tensor2d(TOKENS, undefined, "int32");
  const a = nextTokenLoss(logits, tokens), b = lmCrossEntropy(logits, tokens, false);
  await expectAllClose(a, b, TOLERANCES.loss, "cross-entropy");
  tf.dispose([logits, tokens, a, b]);
});

test("AdamW: first steps match the update rule computed by hand; warmup + cosine schedule", async () => {
  await setBackend("cpu");
  const x = tf.variable(tf.tensor2d([[1, -2], [3, 0.5]]));
  const opt = new AdamW([x], { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 });
  // loss = sum(x²)/2 → g = x; step 1: m̂ = g, v̂ = g², update = sign(g); x ← x(1 − lr·wd) − lr·sign(g)
  const g = x.clone();
  const norm = opt.apply([g], 0.01, Infinity);
  await expectAllClose(norm, Math.sqrt(1 + 4 + 9 + 0.25), TOLERANCES.float32Invariant, "pre-clip norm");
  await expectAllClose(x, [1 * 0.999 - 0.01, -2 * 0.999 + 0.01, 3 * 0.999 - 0.01, 0.5 * 0.999 - 0.01], TOLERANCES.float32Invariant, "AdamW step");
  // clipping: the gradient is scaled to norm 1 before the moments (visible in m)
  const opt2 = new AdamW([x], { weightDecay: 0 });
  const g2 = tf.tensor2d([[3, 0], [0, 4]]);
  tf.dispose(opt2.apply([g2], 0.01, 1));
  await expectAllClose(opt2.m[0]!, [0.1 * 0.6, 0, 0, 0.1 * 0.8], TOLERANCES.float32Invariant, "clipped first moment");
  tf.dispose([x, g, g2, norm]);
  opt.dispose();
  opt2.dispose();
  assert.equal(warmupCosine(0, 100, 1, 10), 0.1);
  assert.equal(warmupCosine(9, 100, 1, 10), 1);
  // 1e-12: warmupCosine is float64 JS arithmetic (a cosine), compared with its exact value.
  assert.ok(Math.abs(warmupCosine(55, 100, 1, 10, 0.1) - 0.55) < 1e-12, "cosine midpoint is halfway to the floor");
  assert.ok(Math.abs(warmupCosine(100, 100, 1, 10, 0.1) - 0.1) < 1e-12);
});

test("training on the small language: the loss falls; resuming from a checkpoint gives the same parameters", async () => {
  await setBackend("wasm");
  const cfg = resolveConfig({ ...tinyCfg(false, vocabulary().length), dModel: 32, nHeads: 4, dMlp: 64, nCtx: 32 });
  const corpus = tinyLanguage();
  const batch = (i: number) => corpusBatch(corpus, 0, i, 8, 32);
  const before = tf.memory().numTensors;
  const a = initParams(cfg, 0);
  const r = await trainLanguageModel({ cfg, params: a, batch, steps: 40, lr: 1e-2, warmupSteps: 5, logEvery: 10 });
  const first = r.history[0]![1], last = r.finalLoss;
  assert.ok(first > 4.5, `initial loss ${first} is near ln(${cfg.dVocab}) = ${Math.log(cfg.dVocab).toFixed(2)}`);
  assert.ok(last < first - 1.0, `loss fell from ${first} to ${last}`);
  // 6 steps straight vs 3 + resume + 3
  const dir = mkdtempSync(path.join(os.tmpdir(), "lens-train-"));
  try {
    const b = initParams(cfg, 5), c = initParams(cfg, 5);
    const common = { cfg, batch, steps: 6, lr: 1e-2, warmupSteps: 2, logEvery: 3 };
    await trainLanguageModel({ ...common, params: b });
    await trainLanguageModel({ ...common, params: c, checkpointDir: dir, checkpointEvery: 3, stopWhen: (p) => p.step === 3 });
    const fresh = initParams(cfg, 7); // different start: everything must come from the checkpoint
    const resumed = await trainLanguageModel({ ...common, params: fresh, checkpointDir: dir });
    assert.equal(resumed.resumedFrom, 3);
    for (const [k, v] of b) await expectAllClose(fresh.get(k)!, v, TOLERANCES.resumedTraining, `resumed ${k}`);
    for (const p of [b, c, fresh]) disposeParams(p);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  disposeParams(a);
  assert.equal(tf.memory().numTensors, before, "training leaves no tensors behind");
});
