/**
 * Weight accessors and circuits on both fixture models: TransformerLens shapes of every accessor, stacked weights equal
 * the per-block ones, OV / QK products equal W_V·W_O and W_Q·W_Kᵀ computed here by plain loops, and the factored SVD
 * of each head's OV circuit matches the singular values of the materialised product (found here independently, as
 * square roots of the eigenvalues of MᵀM by Jacobi rotations); no tensor is left behind.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { FactoredMatrix, HookedTransformer } from "../../src/lens/index";
import { expectAllClose } from "../helpers";
import { TOLERANCES } from "../tolerances";
import { FAMILIES, loadReference } from "../fixtures";

const INV = TOLERANCES.float32Invariant;
const EXACT = TOLERANCES.exact;

/** Eigenvalues of a symmetric n×n matrix (row-major) by cyclic Jacobi rotations, in float64, descending. */
function symmetricEigenvalues(m: ArrayLike<number>, n: number): number[] {
  const a = Float64Array.from(m);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i] ** 2;
      for (let j = i + 1; j < n; j++) off += a[i * n + j] ** 2;
    }
    if (off <= 1e-30 * diag) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const [akp, akq] = [a[k * n + p], a[k * n + q]];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const [apk, aqk] = [a[p * n + k], a[q * n + k]];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i]).sort((x, y) => y - x);
}

/** Singular values of the n×n matrix m (row-major), descending: √eig(MᵀM). */
function singularValues(m: ArrayLike<number>, n: number): number[] {
  const mtm = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += m[k * n + i] * m[k * n + j];
    mtm[i * n + j] = s;
  }
  return symmetricEigenvalues(mtm, n).map((e) => Math.sqrt(Math.max(e, 0)));
}

/** Head h of a [H, r, c] tensor's data as a row-major r×c array. */
const headOf = (data: Float32Array, h: number, r: number, c: number) => data.subarray(h * r * c, (h + 1) * r * c);

/** (X·Yᵀ or X·Y) for row-major X [m×k] and Y ([n×k] when yTransposed, else [k×n]), by plain loops in float64. */
function product(x: ArrayLike<number>, y: ArrayLike<number>, m: number, k: number, n: number, yTransposed: boolean): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let d = 0; d < k; d++) s += x[i * k + d] * (yTransposed ? y[j * k + d] : y[d * n + j]);
    out[i * n + j] = s;
  }
  return out;
}

for (const family of FAMILIES) {
  describe(`weight accessors on ${family}`, () => {
    let model: HookedTransformer;
    before(async () => {
      model = await HookedTransformer.fromPretrained((await loadReference(family)).folder);
    });
    after(() => model.dispose());

    test("every accessor has TransformerLens's shape", () => {
      const { nLayers: L, nHeads: H, dModel: D, dHead: d, dMlp: M, dVocab: V, nCtx } = model.cfg;
      assert.deepEqual([L, H, D, d, M, V, nCtx], [3, 4, 64, 16, 256, 512, 64], "fixture config (reference.json tlConfig)");
      const stacked: [string, () => tf.Tensor, number[]][] = [
        ["W_Q", () => model.W_Q, [L, H, D, d]], ["W_K", () => model.W_K, [L, H, D, d]], ["W_V", () => model.W_V, [L, H, D, d]],
        ["W_O", () => model.W_O, [L, H, d, D]], ["b_Q", () => model.b_Q, [L, H, d]], ["b_K", () => model.b_K, [L, H, d]],
        ["b_V", () => model.b_V, [L, H, d]], ["b_O", () => model.b_O, [L, D]], ["W_in", () => model.W_in, [L, D, M]],
        ["W_out", () => model.W_out, [L, M, D]], ["b_in", () => model.b_in, [L, M]], ["b_out", () => model.b_out, [L, D]],
      ];
      const own: [string, () => tf.Tensor, number[]][] = [
        ["W_E", () => model.W_E, [V, D]], ["W_U", () => model.W_U, [D, V]], ["b_U", () => model.b_U, [V]],
        ["blocks[1].attn.W_Q", () => model.blocks[1].attn.W_Q, [H, D, d]], ["blocks[1].attn.W_K", () => model.blocks[1].attn.W_K, [H, D, d]],
        ["blocks[1].attn.W_V", () => model.blocks[1].attn.W_V, [H, D, d]], ["blocks[1].attn.W_O", () => model.blocks[1].attn.W_O, [H, d, D]],
        ["blocks[1].attn.b_Q", () => model.blocks[1].attn.b_Q, [H, d]], ["blocks[1].attn.b_O", () => model.blocks[1].attn.b_O, [D]],
        ["blocks[2].mlp.W_in", () => model.blocks[2].mlp.W_in, [D, M]], ["blocks[2].mlp.b_in", () => model.blocks[2].mlp.b_in, [M]],
        ["blocks[2].mlp.W_out", () => model.blocks[2].mlp.W_out, [M, D]], ["blocks[2].mlp.b_out", () => model.blocks[2].mlp.b_out, [D]],
      ];
      if (model.cfg.positionalEmbeddingType === "standard") own.push(["W_pos", () => model.W_pos, [nCtx, D]]);
      else assert.throws(() => model.W_pos, /pos_embed\.W_pos/, "rotary models have no W_pos");
      for (const [name, get, shape] of [...stacked, ...own]) assert.deepEqual(get().shape, shape, name);
      const circuits: [string, () => FactoredMatrix, number[]][] = [
        ["OV", () => model.OV, [L, H, D, D]], ["QK", () => model.QK, [L, H, D, D]],
        ["blocks[0].attn.OV", () => model.blocks[0].attn.OV, [H, D, D]], ["blocks[0].attn.QK", () => model.blocks[0].attn.QK, [H, D, D]],
      ];
      for (const [name, get, shape] of circuits) {
        const fm = get();
        assert.deepEqual(fm.shape, shape, name);
        assert.equal(fm.mdim, d, `${name}: hidden dim is dHead`);
        fm.dispose();
      }
    });

    test("stacked weights equal the per-block weights, layer by layer", async () => {
      const names = ["W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O"] as const;
      for (const name of names) {
        const stacked = model[name];
        const slices = tf.unstack(stacked);
        for (let l = 0; l < model.cfg.nLayers; l++) await expectAllClose(slices[l], model.blocks[l].attn[name], EXACT, `${name}[${l}]`);
        tf.dispose(slices);
      }
      for (const name of ["W_in", "W_out", "b_in", "b_out"] as const) {
        const stacked = model[name];
        const slices = tf.unstack(stacked);
        for (let l = 0; l < model.cfg.nLayers; l++) await expectAllClose(slices[l], model.blocks[l].mlp[name], EXACT, `${name}[${l}]`);
        tf.dispose([stacked, ...slices]);
      }
      for (const [key, t] of [["embed.W_E", model.W_E], ["unembed.W_U", model.W_U], ["blocks.2.attn.W_Q", model.blocks[2].attn.W_Q]] as const) {
        assert.equal(t, model.param(key), `${key} is the model's own tensor`);
      }
    });

    test("OV.AB = W_V·W_O and QK.AB = W_Q·W_Kᵀ (plain loops); model.OV / model.QK agree with the per-block circuits", async () => {
      const { dModel: D, dHead: d, nHeads: H } = model.cfg;
      for (const [l, h] of [[0, 0], [1, 2], [2, 3]]) {
        const attn = model.blocks[l].attn;
        const [wq, wk, wv, wo] = await Promise.all([attn.W_Q.data(), attn.W_K.data(), attn.W_V.data(), attn.W_O.data()]) as Float32Array[];
        const ov = attn.OV;
        const qk = attn.QK;
        const [ovAB, qkAB] = [ov.AB, qk.AB];
        const [ovData, qkData] = [(await ovAB.data()) as Float32Array, (await qkAB.data()) as Float32Array];
        const expectedOV = product(headOf(wv, h, D, d), headOf(wo, h, d, D), D, d, D, false);
        const expectedQK = product(headOf(wq, h, D, d), headOf(wk, h, D, d), D, d, D, true);
        await expectAllClose(headOf(ovData, h, D, D), expectedOV, INV, `OV L${l}H${h}`);
        await expectAllClose(headOf(qkData, h, D, D), expectedQK, INV, `QK L${l}H${h}`);
        tf.dispose([ovAB, qkAB]);
        ov.dispose();
        qk.dispose();
      }
      for (const circuit of ["OV", "QK"] as const) {
        const all = model[circuit];
        const allAB = all.AB;
        const perLayer = tf.unstack(allAB);
        for (let l = 0; l < model.cfg.nLayers; l++) {
          const fm = model.blocks[l].attn[circuit];
          const ab = fm.AB;
          assert.deepEqual(perLayer[l].shape, [H, D, D]);
          await expectAllClose(perLayer[l], ab, INV, `${circuit}[${l}]`);
          ab.dispose();
          fm.dispose();
        }
        tf.dispose([allAB, ...perLayer]);
        all.dispose();
      }
    });

    test("per-head OV singular values: dHead of them, equal to the materialised product's (whose rest are ~0)", async () => {
      const { dModel: D, dHead: d, nHeads: H, nLayers: L } = model.cfg;
      const all = model.OV;
      const allSvd = await all.svd();
      assert.deepEqual(allSvd.S.shape, [L, H, d]);
      const allS = (await allSvd.S.data()) as Float32Array;
      for (let l = 0; l < L; l++) {
        const ov = model.blocks[l].attn.OV;
        const { U, S, V } = await ov.svd();
        assert.deepEqual([U.shape, S.shape, V.shape], [[H, D, d], [H, d], [H, D, d]]);
        const sData = (await S.data()) as Float32Array;
        const ab = ov.AB;
        const abData = (await ab.data()) as Float32Array;
        for (let h = 0; h < H; h++) {
          const sv = singularValues(headOf(abData, h, D, D), D);
          const factored = Array.from(headOf(sData, h, 1, d));
          assert.ok(factored.every((s, i) => s > 0 && (i === 0 || s <= factored[i - 1])), `L${l}H${h}: S positive, descending`);
          await expectAllClose(factored, sv.slice(0, d), INV, `L${l}H${h}: factored S vs SVD of A·B`);
          // rank ≤ dHead: the remaining singular values of the float32 product are float32 noise
          await expectAllClose(sv.slice(d).map((s) => s / sv[0]), new Array(D - d).fill(0), INV, `L${l}H${h}: tail / σ₁`);
          await expectAllClose(allS.subarray((l * H + h) * d, (l * H + h + 1) * d), factored, INV, `model.OV S[${l},${h}]`);
        }
        tf.dispose([U, S, V, ab]);
        ov.dispose();
      }
      tf.dispose([allSvd.U, allSvd.S, allSvd.V]);
      all.dispose();
    });

    test("memory: weights are stable views owned by the model (no tensor per read); circuits are the caller's", async () => {
      const count = () => tf.memory().numTensors;
      const views: [string, () => tf.Tensor][] = [
        ["W_E", () => model.W_E], ["W_U", () => model.W_U], ["blocks[0].attn.W_O", () => model.blocks[0].attn.W_O],
        ...(["W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O", "W_in", "W_out", "b_in", "b_out"] as const).map((n) => [n, () => model[n]] as [string, () => tf.Tensor]),
      ];
      for (const [name, get] of views) {
        const first = get(); // a stacked view is built on its first read
        const before = count();
        for (let i = 0; i < 50; i++) assert.equal(get(), first, `${name}: the same tensor on every read`);
        assert.equal(count(), before, `${name}: 50 reads allocate nothing`);
      }
      // A view a caller disposed by mistake is rebuilt on the next read.
      model.W_Q.dispose();
      assert.equal(model.W_Q.isDisposed, false);
      const layers = tf.unstack(model.W_Q);
      await expectAllClose(layers[1]!, model.blocks[1].attn.W_Q, EXACT, "rebuilt W_Q");
      tf.dispose(layers);
      const sd = model.stateDict();
      assert.deepEqual([...sd.keys()], model.paramNames());
      assert.equal(sd.get("blocks.1.attn.W_Q"), model.blocks[1].attn.W_Q, "stateDict holds the model's tensors");
      const cases: [string, () => tf.Tensor | FactoredMatrix, number][] = [
        ["OV", () => model.OV, 2], ["QK", () => model.QK, 2],
        ["blocks[1].attn.OV", () => model.blocks[1].attn.OV, 2], ["blocks[1].attn.QK", () => model.blocks[1].attn.QK, 2],
      ];
      for (const [name, get, fresh] of cases) {
        const before = count();
        const x = get();
        assert.equal(count() - before, fresh, `${name}: new tensors`);
        if (fresh > 0) x.dispose();
        assert.equal(count(), before, `${name}: after dispose`);
      }
      const before = count();
      const ov = model.blocks[2].attn.OV;
      const { U, S, V } = await ov.svd();
      const ab = ov.AB;
      assert.equal(count() - before, 2 + 3 + 1, "OV factors, U/S/V, AB");
      tf.dispose([U, S, V, ab]);
      ov.dispose();
      assert.equal(count(), before);
    });
  });
}
