// The IOI circuit measures (src/lens/training/ioiCircuit.ts) against plain-JS references and invariants, on the bundled
// toy-ioi (a GPT-2-layout model with MLPs, so the copying score's MLP0 path is covered too).
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { test } from "node:test";
import { HELD_OUT_PAIR_NAMES } from "../../../src/lens/data/vocab";
import { ioiDataset } from "../../../src/lens/datasets/ioi";
import { HookedTransformer } from "../../../src/lens/hookedTransformer";
import { headAblationHooks } from "../../../src/lens/patching/ablation";
import { circuitMeanAblationHooks, copyingScores, hookedLogitDiff, ioiHeadScores } from "../../../src/lens/training/ioiCircuit";
import { TOLERANCES } from "../../tolerances";

test("ioiHeadScores: attention grids are the mean of pattern[b, h, q(b), k(b)]; and it leaves no tensors behind", async () => {
  const model = await HookedTransformer.fromPretrained("toy-ioi");
  const ds = ioiDataset(model, { n: 6, seed: 3, names: HELD_OUT_PAIR_NAMES });
  const [logits, cache] = await model.runWithCache(ds.tokens);
  logits.dispose();
  await ioiHeadScores(model, ds, cache); // the first call builds the model's lazily derived weights
  const before = tf.memory().numTensors;
  const s = await ioiHeadScores(model, ds, cache);
  assert.equal(tf.memory().numTensors, before, "no tensors left behind");
  for (let l = 0; l < model.cfg.nLayers; l++) {
    const p = (await cache.get("pattern", l).array()) as number[][][][];
    for (let h = 0; h < model.cfg.nHeads; h++) {
      const ref = (q: number[], k: number[]) => p.reduce((acc, row, b) => acc + row[h]![q[b]!]![k[b]!]!, 0) / ds.tokens.length;
      assert.ok(Math.abs(s.endIo[l]![h]! - ref(ds.endPos, ds.ioPos)) < TOLERANCES.scalarUlps.atol);
      assert.ok(Math.abs(s.s2S1p1[l]![h]! - ref(ds.s2Pos, ds.s1Pos.map((x) => x + 1))) < TOLERANCES.scalarUlps.atol);
      // previous token: from S1+1 to S1 only (not the whole sub-diagonal)
      assert.ok(Math.abs(s.s1p1S1[l]![h]! - ref(ds.s1Pos.map((x) => x + 1), ds.s1Pos)) < TOLERANCES.scalarUlps.atol);
    }
  }
  assert.ok(s.logitDiff > 2, `toy-ioi solves IOI: ${s.logitDiff}`);
  cache.dispose();
  model.dispose();
});

test("copyingScores: matches a plain-JS top-5 count through MLP0, OV, the final LayerNorm and W_U", async () => {
  const model = await HookedTransformer.fromPretrained("toy-ioi");
  const names = HELD_OUT_PAIR_NAMES.slice(0, 12).map((n) => model.tokenizer!.encode(` ${n}`)[0]!);
  const got = await copyingScores(model, names, 5);
  const arr = async (t: tf.Tensor) => (await t.array()) as number[][];
  const [WE, WU] = [await arr(model.W_E), await arr(model.W_U)];
  const mlp = model.blocks[0]!.mlp;
  const [Win, Wout] = [await arr(mlp.W_in), await arr(mlp.W_out)];
  const [bin, bout] = [Array.from(await mlp.b_in.data()), Array.from(await mlp.b_out.data())];
  const eps = model.cfg.eps;
  const norm = (x: number[]) => { const m = x.reduce((a, b) => a + b, 0) / x.length; const c = x.map((v) => v - m); const sd = Math.sqrt(c.reduce((a, b) => a + b * b, 0) / x.length + eps); return c.map((v) => v / sd); };
  const mv = (x: number[], W: number[][]) => W[0]!.map((_, j) => x.reduce((a, xi, i) => a + xi * W[i]![j]!, 0));
  const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  const resid = names.map((id) => { const e = WE[id]!; const h = mv(norm(e), Win).map((v, j) => gelu(v + bin[j]!)); return mv(h, Wout).map((v, j) => e[j]! + v + bout[j]!); });
  for (const [l, h] of [[0, 0], [2, 1], [2, 3]] as const) {
    const WV = ((await model.blocks[l]!.attn.W_V.array()) as number[][][])[h]!, WO = ((await model.blocks[l]!.attn.W_O.array()) as number[][][])[h]!;
    for (const [sign, grid] of [[1, got.positive], [-1, got.negative]] as const) {
      const hits = resid.filter((r, i) => {
        const logits = mv(norm(mv(mv(r, WV), WO).map((v) => sign * v)), WU);
        const own = logits[names[i]!]!;
        return logits.filter((v) => v > own).length < 5;
      }).length;
      assert.ok(Math.abs(grid[l]![h]! - hits / names.length) < TOLERANCES.scalarUlps.atol, `L${l}H${h} sign ${sign}: ${grid[l]![h]} vs reference ${hits / names.length}`);
    }
  }
  model.dispose();
});

test("copyingScores: peak memory is one layer's logits, not 2·nLayers tiled unembeddings (issue 16's wasm heap overflow on Pythia-70M's shape)", async () => {
  const model = await HookedTransformer.fromPretrained("toy-ioi");
  const names = HELD_OUT_PAIR_NAMES.slice(0, 12).map((n) => model.tokenizer!.encode(` ${n}`)[0]!);
  await copyingScores(model, names, 5); // builds the lazily derived weights
  const { nLayers, nHeads, dModel, dVocab } = model.cfg;
  const before = tf.memory();
  const prof = await tf.profile(() => copyingScores(model, names, 5));
  assert.equal(tf.memory().numTensors, before.numTensors, "no tensors left behind");
  const peak = prof.peakBytes - before.numBytes;
  // Invariant: one layer's [H·n, dVocab] logits and their comparison masks (a few copies) plus [H, n, dModel]
  // intermediates. The old code kept a [H, dModel, dVocab] tiled W_U for each of the 2·nLayers (sign, layer) pairs.
  const oneLayer = 4 * nHeads * names.length * (dVocab + dModel);
  const oldTiles = 2 * nLayers * 4 * nHeads * dModel * dVocab;
  assert.ok(peak <= 6 * oneLayer, `peak ${peak} B > 6 × one layer's ${oneLayer} B`);
  assert.ok(peak < oldTiles / 4, `peak ${peak} B is not far below the tiled version's ${oldTiles} B`);
  model.dispose();
});

test("circuitMeanAblationHooks: keeping every head everywhere is the clean run; keeping none is mean-ablating every head", async () => {
  const model = await HookedTransformer.fromPretrained("toy-ioi");
  const ds = ioiDataset(model, { n: 8, seed: 4, names: HELD_OUT_PAIR_NAMES });
  const [abcLogits, abc] = await model.runWithCache(ds.abc.tokens);
  abcLogits.dispose();
  const { nLayers, nHeads } = model.cfg;
  const seq = ds.tokens[0]!.length;
  const heads = Array.from({ length: nLayers * nHeads }, (_, i) => [Math.floor(i / nHeads), i % nHeads] as const);
  const everywhere = heads.flatMap((head) => Array.from({ length: seq }, (_, p) => ({ head, positions: ds.tokens.map(() => p) })));
  const clean = await hookedLogitDiff(model, ds, []);
  assert.ok(Math.abs((await hookedLogitDiff(model, ds, circuitMeanAblationHooks(model, everywhere, abc))) - clean) < TOLERANCES.scalarReduced.atol);
  const none = await hookedLogitDiff(model, ds, circuitMeanAblationHooks(model, [], abc));
  const allMean = await hookedLogitDiff(model, ds, headAblationHooks(heads, { mode: "mean", meanCache: abc }));
  assert.ok(Math.abs(none - allMean) < TOLERANCES.scalarReduced.atol, `${none} vs ${allMean}`);
  assert.ok(Math.abs(none) < Math.abs(clean) / 2, `with every head at its ABC mean the IOI signal is mostly gone: ${none} vs ${clean}`);
  abc.dispose();
  model.dispose();
});
