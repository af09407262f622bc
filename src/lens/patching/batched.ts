/**
 * Batched patching sweeps (a speed-up TransformerLens does not have): instead of one forward per sweep index, `k`
 * indices of the same layer run in ONE forward. The corrupted residual entering that layer is tiled `k` times along the
 * batch axis (cell-major: rows `[c·batch, (c+1)·batch)` belong to cell `c`), the hook patches each cell's slice with
 * its own index from the clean cache, and the metric is called on each cell's slice of the logits, so it sees exactly
 * the `[batch, pos, dVocab]` logits of a one-at-a-time run. `k` is bounded by a memory budget.
 */
import * as tf from "@tensorflow/tfjs";
import type { ActivationCache } from "../activationCache";
import { WASM_HEAP_BYTES } from "../backend";
import type { TransformerConfig } from "../config";
import { getActName } from "../hookNames";
import type { HookedTransformer } from "../hookedTransformer";
import type { PatchRunOptions, PatchSetter } from "./generic";
import { metricTensor, type PatchMetric } from "./metric";

/** Options of the sweeps that batch several patched runs into one forward. */
export interface SweepBatchOptions {
  /**
   * At most this many sweep indices (cells) per forward. `1` runs one forward per cell (TransformerLens's behaviour).
   * Default: as many as `batchBudgetBytes` allows (indices of one layer share a forward).
   */
  readonly maxBatchCells?: number;
  /**
   * Bytes of activations one batched forward may hold (estimated from the config and the input's shape, see
   * `patchedRunBytes`); default `defaultBatchBudgetBytes()`: 1 GiB, and on wasm at most half of the heap that tensors
   * leave free. A cell that alone exceeds it still runs, one per forward.
   */
  readonly batchBudgetBytes?: number;
}

/** The default activation budget of one batched forward, before the wasm cap: 1 GiB. */
export const DEFAULT_BATCH_BUDGET_BYTES = 2 ** 30;

/**
 * The budget a sweep uses when none is given: 1 GiB, capped on wasm at half of the 4 GiB heap that live tensors leave
 * free (a full wasm heap aborts the process instead of throwing). @example defaultBatchBudgetBytes(); // 1073741824
 */
export function defaultBatchBudgetBytes(): number {
  if (tf.getBackend() !== "wasm") return DEFAULT_BATCH_BUDGET_BYTES;
  return Math.min(DEFAULT_BATCH_BUDGET_BYTES, Math.max(0, (WASM_HEAP_BYTES - tf.memory().numBytes) / 2));
}

type Cfg = Pick<TransformerConfig, "nLayers" | "dModel" | "nHeads" | "dHead" | "dMlp" | "dVocabOut" | "attnOnly" | "useAttnResult">;

/**
 * Upper estimate of the bytes one hooked run holds at its peak for `[batch, pos]` tokens restarted `blocks` blocks
 * before the end. A forward with hooks keeps every block's intermediates until it ends (its blocks are not tidied one
 * by one), so this counts each block's residual-width tensors, q/k/v/z, scores and pattern, MLP pre/post, and the
 * logits with one same-size temporary for the metric.
 * @example patchedRunBytes(model.cfg, 8, 15, 12); // ≈ 140 MB for GPT-2 small
 */
export function patchedRunBytes(cfg: Cfg, batch: number, pos: number, blocks: number): number {
  const tokens = batch * pos;
  const resid = 8 * tokens * cfg.dModel; // ln1/ln2 in and out, attn_out, mlp_out, resid_mid, resid_post
  const qkvz = 4 * tokens * cfg.nHeads * cfg.dHead;
  const scores = 3 * batch * cfg.nHeads * pos * pos;
  const result = cfg.useAttnResult ? tokens * cfg.nHeads * cfg.dModel : 0;
  const mlp = cfg.attnOnly ? 0 : 3 * tokens * cfg.dMlp;
  return 4 * (blocks * (resid + qkvz + scores + result + mlp) + 2 * tokens * cfg.dVocabOut);
}

/** Validates the batching options (an Error naming the option and what to pass). */
export function checkBatchOptions(fn: string, opts: SweepBatchOptions): void {
  const { maxBatchCells: k, batchBudgetBytes: b } = opts;
  if (k !== undefined && !(Number.isInteger(k) && k >= 1)) throw new Error(`${fn}: opts.maxBatchCells must be a whole number ≥ 1 (1 = one forward per cell), got ${k}`);
  if (b !== undefined && !(typeof b === "number" && b > 0)) throw new Error(`${fn}: opts.batchBudgetBytes must be a positive number of bytes, got ${b}`);
}

/**
 * How many cells of a sweep restarted at `layer` share one forward: `maxBatchCells` if given, capped by the budget.
 * @example sweepBatchCells(model.cfg, 8, 15, 0, {}); // 7 for GPT-2 small (1 GiB / ≈ 140 MB)
 */
export function sweepBatchCells(cfg: Cfg, batch: number, pos: number, layer: number, opts: SweepBatchOptions): number {
  const budget = opts.batchBudgetBytes ?? defaultBatchBudgetBytes();
  const byBudget = Math.max(1, Math.floor(budget / patchedRunBytes(cfg, batch, pos, cfg.nLayers - layer)));
  return Math.min(opts.maxBatchCells ?? Infinity, byBudget);
}

/** `mask` (`[batch, pos]`, tensor or rows) repeated `k` times along the batch axis, cell-major. Caller owns a tensor result. */
function tileMask(mask: NonNullable<PatchRunOptions["attentionMask"]>, k: number): tf.Tensor | number[][] {
  if (mask instanceof tf.Tensor) return tf.tidy(() => tf.tile(mask.cast("int32"), [k, 1]));
  return Array.from({ length: k }, () => mask.map((r) => [...r])).flat();
}

/** What `runBatchedSweep` needs from genericActivationPatch (already validated there). */
export interface BatchedSweep {
  readonly activationName: string;
  readonly setter: PatchSetter;
  /** Sweep indices `[layer, ...rest]`. */
  readonly indices: readonly (readonly number[])[];
  /** The corrupted residual entering each layer `0..maxLayer` (`[batch, pos, dModel]`). */
  readonly prefixes: readonly tf.Tensor[];
  readonly tick: () => void;
}

/**
 * Runs every index of `sweep`, `k` cells of one layer per forward (see the module doc), and returns the metric of
 * each index as a scalar tensor, in index order (the caller owns them). Nothing is read back.
 */
export async function runBatchedSweep(
  model: HookedTransformer,
  cleanCache: ActivationCache,
  metric: PatchMetric,
  sweep: BatchedSweep,
  opts: PatchRunOptions & SweepBatchOptions,
): Promise<tf.Tensor[]> {
  const [batch, pos] = sweep.prefixes[0]!.shape as [number, number];
  const byLayer = new Map<number, number[]>(); // layer → positions in `indices`
  sweep.indices.forEach((r, i) => {
    const cells = byLayer.get(r[0]!);
    if (cells) cells.push(i);
    else byLayer.set(r[0]!, [i]);
  });
  const values: (tf.Tensor | undefined)[] = new Array(sweep.indices.length).fill(undefined);
  const masks = new Map<number, tf.Tensor | number[][]>(); // tiled attention masks by k
  try {
    for (const [layer, cells] of byLayer) {
      const k = sweepBatchCells(model.cfg, batch, pos, layer, opts);
      const name = getActName(sweep.activationName, layer);
      const clean = cleanCache.get(name);
      for (let start = 0; start < cells.length; start += k) {
        const chunk = cells.slice(start, start + k);
        const n = chunk.length;
        const rests = chunk.map((i) => sweep.indices[i]!.slice(1));
        const hook = (act: tf.Tensor) => {
          const per = [act.shape[0]! / n, ...act.shape.slice(1)];
          if (!tf.util.arraysEqual(per, clean.shape)) {
            throw new Error(`${name}: the corrupted activation is [${per}] per cell but the clean one is [${clean.shape}]; clean and corrupted inputs need the same batch size and length`);
          }
          const slices = n === 1 ? [act] : tf.split(act, n, 0);
          const patched = slices.map((s, c) => sweep.setter(s, rests[c]!, clean));
          return n === 1 ? patched[0]! : tf.concat(patched, 0);
        };
        let mask: PatchRunOptions["attentionMask"] = opts.attentionMask;
        if (mask !== undefined && n > 1) {
          const tiled = masks.get(n) ?? tileMask(mask, n);
          masks.set(n, tiled);
          mask = tiled;
        }
        const prefix = sweep.prefixes[layer]!;
        const input = n === 1 ? prefix : tf.tidy(() => tf.tile(prefix, [n, 1, 1]));
        let logits: tf.Tensor;
        try {
          logits = await model.runWithHooks(input, { startAtLayer: layer, fwdHooks: [[name, hook]], attentionMask: mask });
        } finally {
          if (input !== prefix) input.dispose();
        }
        try {
          for (let c = 0; c < n; c++) {
            const slice = n === 1 ? logits : logits.slice([c * batch, 0, 0], [batch, -1, -1]);
            try {
              values[chunk[c]!] = await metricTensor(metric, slice);
            } finally {
              if (slice !== logits) slice.dispose();
            }
            sweep.tick();
          }
        } finally {
          logits.dispose();
        }
      }
    }
  } catch (e) {
    tf.dispose(values.filter((v): v is tf.Tensor => v !== undefined));
    throw e;
  } finally {
    for (const m of masks.values()) if (m instanceof tf.Tensor) m.dispose();
  }
  return values as tf.Tensor[];
}
