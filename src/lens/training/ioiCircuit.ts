/**
 * The IOI circuit measures of Wang et al. 2022 and ARENA 1.4.1, for the `toy-ioi-circuit` model card and tests (the
 * notebook has the learner build them): per-head attention scores between the IOI positions, direct logit attribution,
 * OV copying scores, mean ablation of everything outside a circuit (faithfulness) and ablation of chosen heads.
 */
import * as tf from "@tensorflow/tfjs";
import type { ActivationCache } from "../activationCache";
import { directLogitAttribution } from "../analysis/logitLens";
import type { IoiDataset } from "../datasets/ioi";
import type { HookedTransformer } from "../hookedTransformer";
import type { FwdHooks, HookFn } from "../hookPoint";
import { logitDiff } from "../patching/metrics";
import type { HeadRef } from "../patching/pathPatching";

/** `[layer][head]` grids. */
export type Grid = number[][];

/** Mean attention weights between IOI positions and the direct logit attribution (IO − S at END), per head. */
export interface IoiHeadScores {
  /** Attention from END to IO, S1 and S2. */
  readonly endIo: Grid;
  readonly endS1: Grid;
  readonly endS2: Grid;
  /** Attention from S2 to S1 (duplicate token) and to S1+1 (induction). */
  readonly s2S1: Grid;
  readonly s2S1p1: Grid;
  /** Attention from S1+1 to S1 (previous token, at the position an induction head reads at S2). */
  readonly s1p1S1: Grid;
  /** Direct logit attribution to logit(IO) − logit(S) at END, and to logit(IO) alone. */
  readonly dla: Grid;
  readonly dlaIo: Grid;
  /** Mean logit difference of the run. */
  readonly logitDiff: number;
}

const toGrid = (xs: ArrayLike<number>, nHeads: number): Grid =>
  Array.from({ length: xs.length / nHeads }, (_, l) => Array.from(Array.prototype.slice.call(xs, l * nHeads, (l + 1) * nHeads) as number[]));

/** Mean over prompts of pattern[b, head, q(b), k(b)] for every layer and head. */
async function attentionBetween(cache: ActivationCache, nLayers: number, q: number[], k: number[]): Promise<Grid> {
  const t = tf.tidy(() => {
    const [batch, , seq] = cache.get("pattern", 0).shape as [number, number, number, number];
    const qMask = tf.oneHot(tf.tensor1d(q, "int32"), seq).reshape([batch, 1, seq, 1]);
    const kMask = tf.oneHot(tf.tensor1d(k, "int32"), seq).reshape([batch, 1, 1, seq]);
    const mask = qMask.mul(kMask);
    return tf.stack(Array.from({ length: nLayers }, (_, l) => cache.get("pattern", l).mul(mask).sum([2, 3]).mean(0)));
  });
  const out = (await t.array()) as Grid;
  t.dispose();
  return out;
}

/** Head scores on `ds` (a cache of `ds.tokens` is made and freed unless one is given). */
export async function ioiHeadScores(model: HookedTransformer, ds: IoiDataset, cache?: ActivationCache): Promise<IoiHeadScores> {
  const own = cache === undefined;
  let c = cache;
  if (c === undefined) {
    const [logits, made] = await model.runWithCache(ds.tokens, { namesFilter: (n: string) => n.endsWith("hook_pattern") || n.endsWith("hook_z") || n.endsWith("hook_scale") || n.endsWith("hook_resid_post") || n.endsWith("hook_embed") || n.endsWith("hook_pos_embed") });
    logits.dispose();
    c = made;
  }
  try {
    const L = model.cfg.nLayers, H = model.cfg.nHeads;
    const s1p1 = ds.s1Pos.map((p) => p + 1);
    const dla = await directLogitAttribution(c, ds.answerTokens, { by: "head" });
    const dlaIo = await directLogitAttribution(c, ds.ioTokens, { by: "head" });
    tf.dispose([dla.perPrompt, dlaIo.perPrompt]);
    const logits = await model.forward(ds.tokens);
    const d = logitDiff(logits, ds.answerTokens);
    const mean = (await d.data())[0]!;
    tf.dispose([logits, d]);
    return {
      endIo: await attentionBetween(c, L, ds.endPos, ds.ioPos),
      endS1: await attentionBetween(c, L, ds.endPos, ds.s1Pos),
      endS2: await attentionBetween(c, L, ds.endPos, ds.s2Pos),
      s2S1: await attentionBetween(c, L, ds.s2Pos, ds.s1Pos),
      s2S1p1: await attentionBetween(c, L, ds.s2Pos, s1p1),
      s1p1S1: await attentionBetween(c, L, s1p1, ds.s1Pos),
      dla: toGrid(dla.mean, H), dlaIo: toGrid(dlaIo.mean, H), logitDiff: mean,
    };
  } finally {
    if (own) c.dispose();
  }
}

/** GPT-2's gelu_new (tanh approximation). */
function geluNew(x: tf.Tensor): tf.Tensor {
  return x.mul(0.5).mul(tf.tanh(x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1));
}

/** LayerNorm without weights (the model's LayerNorms are folded into the next matrices): centre, divide by the std. */
function normalize(x: tf.Tensor, eps: number): tf.Tensor {
  const c = x.sub(x.mean(-1, true));
  return c.div(c.square().mean(-1, true).add(eps).sqrt());
}

/**
 * ARENA 1.4.1's copying scores: for each head, the fraction of `nameTokens` whose own token is among the top `k`
 * logits when the name's embedding (after MLP0 when the model has MLPs, as ARENA does for GPT-2) goes through the
 * head's OV circuit, the final LayerNorm and the unembedding; `negative` does the same for −OV (negative copying).
 * Needs the default weight processing (folded LayerNorms).
 */
export async function copyingScores(model: HookedTransformer, nameTokens: readonly number[], k = 5): Promise<{ positive: Grid; negative: Grid }> {
  const { nLayers: L, nHeads: H, eps, attnOnly } = model.cfg;
  const n = nameTokens.length;
  // One head-layer at a time, each in its own tidy, and W_U used as one 2-D matrix (never tiled per head): a tiled
  // W_U is [H, dModel, dVocab] per layer (824 MB for Pythia-70M's shape), and keeping 2·L of them inside one tidy
  // overflowed the wasm backend's 4 GiB heap ("memory access out of bounds"). Peak memory is now one layer's logits.
  const ids = tf.tensor1d([...nameTokens], "int32");
  const resid = tf.tidy(() => {
    let r = tf.gather(model.W_E, ids); // [n, dModel]
    if (!attnOnly) {
      const mlp = model.blocks[0]!.mlp;
      r = r.add(geluNew(normalize(r, eps).matMul(mlp.W_in).add(mlp.b_in)).matMul(mlp.W_out).add(mlp.b_out));
    }
    return r;
  });
  // flat index of each (head, name) row's own token in the [H·n, dVocab] logits
  const ownIdx = tf.tensor1d(Array.from({ length: H * n }, (_, r) => r * model.cfg.dVocab + nameTokens[r % n]!), "int32");
  const rows: tf.Tensor[] = []; // [H] per (sign, layer): tiny, so they stay on the backend and are read once
  try {
    for (const sign of [1, -1]) {
      for (let l = 0; l < L; l++) {
        rows.push(tf.tidy(() => {
          const { W_V, W_O } = model.blocks[l]!.attn;
          const out = tf.matMul(tf.matMul(resid.expandDims(0).tile([H, 1, 1]), W_V), W_O).mul(sign); // [H, n, dModel]
          const logits = tf.matMul(normalize(out, eps).reshape([H * n, -1]), model.W_U); // [H·n, dVocab]
          const own = tf.gather(logits.reshape([-1]), ownIdx).reshape([H * n, 1]); // the name's own logit
          const above = logits.greater(own).cast("float32").sum(-1); // how many tokens beat it
          return above.less(k).cast("float32").reshape([H, n]).mean(-1); // [H]
        }));
      }
    }
    const t = tf.tidy(() => tf.stack(rows).reshape([2, L, H]));
    const [positive, negative] = (await t.array()) as [Grid, Grid];
    t.dispose();
    return { positive, negative };
  } finally {
    tf.dispose([ids, resid, ownIdx, ...rows]);
  }
}

/** A circuit head and the positions (one per prompt) where it is kept; everywhere else it is mean-ablated. */
export interface CircuitHead {
  readonly head: HeadRef;
  readonly positions: readonly number[];
}

/**
 * Hooks on `hook_z` that replace every head's output by its mean over `meanCache`'s batch (per position), except the
 * circuit heads at their positions (ARENA 1.4.1 "minimal circuit"; `meanCache` is a cache of the ABC prompts).
 */
export function circuitMeanAblationHooks(model: HookedTransformer, circuit: readonly CircuitHead[], meanCache: ActivationCache): FwdHooks {
  const { nLayers, nHeads } = model.cfg;
  return Array.from({ length: nLayers }, (_, l) => {
    const name = `blocks.${l}.attn.hook_z`;
    const fn: HookFn = (act) => {
      const [batch, seq] = act.shape as [number, number, number, number];
      const keep = tf.buffer([batch, seq, nHeads, 1], "bool");
      for (const c of circuit) {
        if (c.head[0] !== l) continue;
        if (c.positions.length !== batch) throw new Error(`circuit head ${c.head}: ${c.positions.length} positions for a batch of ${batch}`);
        c.positions.forEach((p, b) => keep.set(true, b, p, c.head[1], 0));
      }
      const mean = meanCache.get(name).mean(0, true);
      return tf.where(keep.toTensor(), act, tf.broadcastTo(mean, act.shape));
    };
    return [name, fn] as const;
  });
}

/** Mean logit difference (IO − S at END) of `ds` with `hooks`. */
export async function hookedLogitDiff(model: HookedTransformer, ds: IoiDataset, hooks: FwdHooks): Promise<number> {
  const logits = await model.runWithHooks(ds.tokens, { fwdHooks: hooks });
  const d = logitDiff(logits, ds.answerTokens);
  const v = (await d.data())[0]!;
  tf.dispose([logits, d]);
  return v;
}

/** Per-head DLA and the logit difference after replacing `ablate` heads' outputs by their ABC means (all positions). */
export async function ablatedHeadDla(model: HookedTransformer, ds: IoiDataset, ablate: readonly HeadRef[], meanCache: ActivationCache): Promise<{ logitDiff: number; dla: Grid }> {
  const hooks: FwdHooks = [...new Set(ablate.map(([l]) => l))].map((l) => {
    const name = `blocks.${l}.attn.hook_z`;
    const fn: HookFn = (act) => {
      const mask = tf.buffer([1, 1, model.cfg.nHeads, 1], "bool");
      for (const [al, ah] of ablate) if (al === l) mask.set(true, 0, 0, ah, 0);
      return tf.where(mask.toTensor(), tf.broadcastTo(meanCache.get(name).mean(0, true), act.shape), act);
    };
    return [name, fn] as const;
  });
  const cache = await model.withHooks(hooks, async () => {
    const [logits, c] = await model.runWithCache(ds.tokens);
    logits.dispose();
    return c;
  });
  try {
    const dla = await directLogitAttribution(cache, ds.answerTokens, { by: "head" });
    dla.perPrompt.dispose();
    return { logitDiff: await hookedLogitDiff(model, ds, hooks), dla: toGrid(dla.mean, model.cfg.nHeads) };
  } finally {
    cache.dispose();
  }
}
