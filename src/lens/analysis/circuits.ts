/**
 * Weight-based circuit analysis (ARENA 1.2 §4, TransformerLens `all_composition_scores`): full OV and QK circuits kept
 * factored, copying accuracy of a [dVocab, dVocab] circuit computed a batch of rows at a time, the eigenvalue copying
 * score, Q/K/V composition scores of every pair of heads, and their random baseline.
 */
import * as tf from "@tensorflow/tfjs";
import { FactoredMatrix } from "../factoredMatrix";
import type { HookedTransformer } from "../hookedTransformer";
import { makeRng } from "../datasets/prng";
import { matMulBroadcast } from "../util/matMul";
import type { HeadRef } from "../patching/pathPatching";

function headList(heads: HeadRef | readonly HeadRef[]): HeadRef[] {
  return typeof heads[0] === "number" ? [heads as HeadRef] : [...(heads as readonly HeadRef[])];
}

/** [D, n·d] / [n·d, D] concatenations of the given heads' (left, right) weights. */
function concatHeads(model: HookedTransformer, heads: HeadRef[], left: string, right: string): [tf.Tensor, tf.Tensor] {
  const { nLayers, nHeads } = model.cfg;
  for (const [l, h] of heads) if (!(l >= 0 && l < nLayers && h >= 0 && h < nHeads)) throw new Error(`head [${l}, ${h}] does not exist (nLayers ${nLayers}, nHeads ${nHeads})`);
  return tf.tidy(() => {
    const get = (name: string, l: number, h: number) => model.param(`blocks.${l}.attn.${name}`).slice([h], [1]).squeeze([0]);
    return [tf.concat(heads.map(([l, h]) => get(left, l, h)), 1), tf.concat(heads.map(([l, h]) => get(right, l, h)), 0)];
  });
}

/**
 * The full OV circuit W_E·W_V·W_O·W_U `[dVocab, dVocab]` of one head — or, for a list of heads, of their sum (the
 * "effective" circuit, rank n·dHead) — kept factored as (W_E·W_V, W_O·W_U). Caller disposes it.
 * @example
 * const ov = fullOVCircuit(model, [1, 4]);
 * const acc = await topKAccuracy(ov, { k: 1 }); // ARENA: 30.79% for attn-only-2L head 1.4
 * ov.dispose();
 */
export function fullOVCircuit(model: HookedTransformer, heads: HeadRef | readonly HeadRef[]): FactoredMatrix {
  const [W_V, W_O] = concatHeads(model, headList(heads), "W_V", "W_O");
  const [a, b] = tf.tidy(() => [model.W_E.matMul(W_V), W_O.matMul(model.W_U)]);
  tf.dispose([W_V, W_O]);
  return new FactoredMatrix(a, b);
}

/**
 * The full QK circuit of one head, kept factored: positional W_pos·W_Q·W_Kᵀ·W_posᵀ `[nCtx, nCtx]` (default; needs
 * learned positions) or token W_E·W_Q·W_Kᵀ·W_Eᵀ `[dVocab, dVocab]`. Rows are queries, columns keys. Biases excluded.
 * @example
 * const qk = fullQKCircuit(model, [0, 7], { kind: "pos" }); // ARENA: the previous-token head's positional circuit
 */
export function fullQKCircuit(model: HookedTransformer, head: HeadRef, opts: { kind?: "pos" | "token" } = {}): FactoredMatrix {
  const [l, h] = head;
  if (!(l >= 0 && l < model.cfg.nLayers && h >= 0 && h < model.cfg.nHeads)) throw new Error(`head [${l}, ${h}] does not exist`);
  const [a, b] = tf.tidy(() => {
    const emb = (opts.kind ?? "pos") === "pos" ? model.W_pos : model.W_E;
    const W_Q = model.param(`blocks.${l}.attn.W_Q`).slice([h], [1]).squeeze([0]); // [D, d]
    const W_K = model.param(`blocks.${l}.attn.W_K`).slice([h], [1]).squeeze([0]);
    return [emb.matMul(W_Q), W_K.transpose().matMul(emb.transpose())];
  });
  return new FactoredMatrix(a, b);
}

/**
 * Fraction of rows of a square `[n, n]` factored matrix whose diagonal entry is among the row's top k (k = 1: the
 * argmax is the diagonal; ties are broken like argmax, towards the earlier column). Rows are materialised `batchSize` at
 * a time, never the whole matrix. `rows` restricts the count to those row indices (e.g. a random sample of GPT-2's
 * 50257 tokens: all rows of one GPT-2 OV circuit cost ~320 GFLOP).
 * @example
 * const top5 = await topKAccuracy(fullOVCircuit(model, [[1, 4], [1, 10]]), { k: 5, batchSize: 1000 });
 */
export async function topKAccuracy(fm: FactoredMatrix, opts: { k?: number; batchSize?: number; rows?: number[] } = {}): Promise<number> {
  if (fm.batchShape.length !== 0 || fm.ldim !== fm.rdim) throw new Error(`topKAccuracy needs one square matrix, got shape [${fm.shape}]`);
  const n = fm.ldim;
  const k = opts.k ?? 1;
  const bs = opts.batchSize ?? 1000;
  const rows = opts.rows ?? [...Array(n).keys()];
  const bad = rows.find((r) => !Number.isInteger(r) || r < 0 || r >= n);
  if (bad !== undefined) throw new Error(`topKAccuracy: row ${bad} is not an index of the ${n} rows; pass rows in [0, ${n})`);
  if (rows.length === 0) throw new Error("topKAccuracy: rows is empty; pass at least one row index");
  let hits = 0;
  for (let start = 0; start < rows.length; start += bs) {
    const ids = rows.slice(start, start + bs);
    const ranks = tf.tidy(() => {
      const idx = tf.tensor1d(ids, "int32");
      const block = tf.gather(fm.A, idx).matMul(fm.B); // [rows, n]
      // k = 1: argMax returns the first maximal column, the same tie rule, in one pass
      if (k === 1) return block.argMax(1).notEqual(idx).cast("int32");
      // rank = #entries above the diagonal one + #equal entries in earlier columns. Written with step() on differences:
      // tfjs-wasm's comparison ops (and int32 arithmetic) against a broadcast operand are ~20× slower (5 s for 1000 × 50257).
      const d = block.sub(tf.gather(block.reshape([ids.length * n]), tf.range(0, ids.length * n, n, "int32").add(idx)).reshape([ids.length, 1]));
      const above = d.step();
      const equal = tf.onesLike(d).sub(above).sub(d.neg().step());
      const earlier = idx.cast("float32").expandDims(1).sub(tf.range(0, n, 1, "float32").expandDims(0)).step(); // column < row's index (float: int32 broadcasts are slow too)
      return above.add(equal.mul(earlier)).sum(1);
    });
    const r = await ranks.data();
    ranks.dispose();
    for (const v of r) if (v < k) hits++;
  }
  return hits / rows.length;
}

/**
 * The eigenvalue copying score Σ Re(λ) / Σ |λ| of each square matrix in `fm` (`[...batch]`): near 1 when the circuit
 * copies (positive real eigenvalues), near −1 when it suppresses. Caller owns the result.
 * @example
 * const ov = model.OV; // [layer, head, dModel, dModel]
 * const scores = await eigenvalueCopyingScore(ov); // [layer, head]
 */
export async function eigenvalueCopyingScore(fm: FactoredMatrix): Promise<tf.Tensor> {
  const { re, im } = await fm.eigenvalues();
  const out = tf.tidy(() => re.sum(-1).div(re.square().add(im.square()).sqrt().sum(-1)));
  tf.dispose([re, im]);
  return out;
}

/**
 * ‖L·R‖_F / (‖L‖_F·‖R‖_F) over the last two dims (TransformerLens `composition_scores`), for tensors or factored
 * matrices (batch dims broadcast). Caller owns the result.
 * @example
 * const s = await compositionScore(tf.randomNormal([3, 4]), tf.randomNormal([4, 5]));
 */
export async function compositionScore(left: tf.Tensor | FactoredMatrix, right: tf.Tensor | FactoredMatrix): Promise<tf.Tensor> {
  if (left instanceof tf.Tensor && right instanceof tf.Tensor) {
    return tf.tidy(() => {
      const fro = (t: tf.Tensor) => t.square().sum([-2, -1]).sqrt();
      return fro(matMulBroadcast(left, right)).div(fro(left).mul(fro(right)));
    });
  }
  const asFm = (x: tf.Tensor | FactoredMatrix) => (x instanceof FactoredMatrix ? x : new FactoredMatrix(x.clone(), tf.eye(x.shape[x.rank - 1] as number)));
  const [l, r] = [asFm(left), asFm(right)];
  const prod = l.matmul(r);
  try {
    const [np, nl, nr] = await Promise.all([prod.norm(), l.norm(), r.norm()]);
    const out = tf.tidy(() => np.div(nl.mul(nr)));
    tf.dispose([np, nl, nr]);
    return out;
  } finally {
    prod.dispose();
    if (l !== left) l.dispose();
    if (r !== right) r.dispose();
  }
}

/**
 * Composition scores of every head pair `[nLayers, nHeads, nLayers, nHeads]` (TransformerLens
 * `all_composition_scores`): entry [l1, h1, l2, h2] scores how much head l1.h1's OV output feeds head l2.h2's queries
 * ("Q": OV·QK), keys ("K": OV·QKᵀ) or values ("V": OV·OV); 0 unless l1 < l2. Norms use Gram matrices of the factors,
 * so the [dModel, dModel] products are never built. Caller owns the result.
 * @example
 * const k = await allCompositionScores(model, "K"); // k[0, 7, 1, 4] is high in ARENA's 2-layer model
 */
export async function allCompositionScores(model: HookedTransformer, mode: "Q" | "K" | "V"): Promise<tf.Tensor> {
  const { nLayers: L, nHeads: H } = model.cfg;
  const gram = (x: tf.Tensor) => tf.matMul(x, x, true, false); // xᵀx over the dModel axis: [.., d, d]
  const rows: tf.Tensor[] = [];
  const [W_Q, W_K, W_V, W_O] = [model.W_Q, model.W_K, model.W_V, model.W_O]; // [L, H, D, d] / [L, H, d, D]; the model's views
  try {
    const [gV, gOt, gQ, gK] = tf.tidy(() => [gram(W_V), tf.matMul(W_O, W_O, false, true), gram(W_Q), gram(W_K)]);
    // right head factors: inner [L, H, D, d] multiplied by left W_O; Gram of the far factor [L, H, d, d]
    const inner = mode === "Q" ? W_Q : mode === "K" ? W_K : W_V;
    const far = mode === "Q" ? gK : mode === "K" ? gQ : gOt;
    const leftNorm2 = tf.tidy(() => gV.mul(gOt).sum([-2, -1])); // ‖W_V W_O‖² [L, H]
    const rightNorm2 = tf.tidy(() => (mode === "V" ? gV.mul(gOt) : gQ.mul(gK)).sum([-2, -1]));
    for (let l1 = 0; l1 < L; l1++) {
      rows.push(tf.tidy(() => {
        const out = tf.buffer([H, L, H], "float32").toTensor();
        if (l1 === L - 1) return out;
        const later = L - l1 - 1;
        const M = later * H; // right-hand heads: every head of every later layer
        const [D, d] = [W_O.shape[3] as number, W_O.shape[2] as number];
        // Only equal-batch rank-3 products: tfjs's stock BatchMatMul mis-broadcasts [H, 1] against [1, M] (util/matMul.ts).
        // P[h, j] = W_O[l1, h] · inner[j]: one [H·d, D]·[D, M·d] product, viewed as [H, d, M, d].
        const Olf = W_O.slice([l1], [1]).reshape([H * d, D]);
        const Inf = inner.slice([l1 + 1], [later]).reshape([M, D, d]).transpose([1, 0, 2]).reshape([D, M * d]);
        const P = Olf.matMul(Inf).reshape([H, d, M, d]);
        // ‖A_l·A_r·B_l·B_r‖² = Σ (gram(A_l)·P) ⊙ (P·gram(B_r)), with P = A_r·B_l
        const gP = gV.slice([l1], [1]).reshape([H, d, d]);
        const left = tf.matMul(gP, P.reshape([H, d, M * d])).reshape([H, d, M, d]);
        const gF = far.slice([l1 + 1], [later]).reshape([M, d, d]);
        const right = tf.matMul(P.transpose([2, 0, 1, 3]).reshape([M, H * d, d]), gF).reshape([M, H, d, d]).transpose([1, 2, 0, 3]);
        const prod2 = left.mul(right).sum([1, 3]); // [H, M]
        const denom = leftNorm2.slice([l1], [1]).reshape([H, 1]).mul(rightNorm2.slice([l1 + 1], [later]).reshape([1, M]));
        const scores = prod2.div(denom).sqrt().reshape([H, later, H]);
        return tf.concat([tf.zeros([H, l1 + 1, H]), scores], 1);
      }));
    }
    tf.dispose([gV, gOt, gQ, gK, leftNorm2, rightNorm2]);
    return tf.stack(rows);
  } finally {
    tf.dispose(rows);
  }
}

/**
 * The composition score of random heads (ARENA's baseline): products of uniform random [dModel, dHead]·[dHead, dModel]
 * factors (the score is scale-invariant, so Kaiming's bound does not matter). Returns the mean, std and samples.
 * @example
 * const { mean } = await compositionBaseline({ dModel: 768, dHead: 64, samples: 100, seed: 0 }); // ≈ 0.036
 */
export async function compositionBaseline(opts: { dModel: number; dHead: number; samples?: number; seed?: number }): Promise<{ mean: number; std: number; samples: number[] }> {
  const rng = makeRng(opts.seed ?? 0);
  const { dModel: D, dHead: d } = opts;
  const rand = (r: number, c: number) => tf.tensor2d(Float32Array.from({ length: r * c }, () => 2 * rng.next() - 1), [r, c]);
  const out: number[] = [];
  for (let i = 0; i < (opts.samples ?? 100); i++) {
    const s = tf.tidy(() => {
      // ‖A_l A_r B_l B_r‖ with Gram matrices: no [dModel, dModel] product is built
      const [Al, Ar, Bl, Br] = [rand(D, d), rand(d, D), rand(D, d), rand(d, D)];
      const gAl = Al.matMul(Al, true, false), gAr = Ar.matMul(Ar, false, true);
      const gBl = Bl.matMul(Bl, true, false), gBr = Br.matMul(Br, false, true);
      const M = Ar.matMul(Bl);
      const prod2 = gAl.matMul(M).mul(M.matMul(gBr)).sum();
      return prod2.div(gAl.mul(gAr).sum().mul(gBl.mul(gBr).sum())).sqrt();
    });
    out.push((await s.data())[0]!);
    s.dispose();
  }
  const mean = out.reduce((a, b) => a + b, 0) / out.length;
  const std = Math.sqrt(out.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(out.length - 1, 1));
  return { mean, std, samples: out };
}
