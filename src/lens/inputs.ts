/** Turning what users pass to `forward` (text, id lists, tensors) into a validated int32 `[batch, pos]` tensor. */
import * as tf from "@tensorflow/tfjs";
import type { TransformerConfig } from "./config";

/** Text, a list of texts (padded), token ids (`number[]` or `number[][]`), or an int32 tensor `[pos]` / `[batch, pos]`. */
export type ModelInput = string | readonly string[] | readonly number[] | readonly (readonly number[])[] | tf.Tensor;

/** Tokens ready for the model; `owned` says whether the caller of `prepareTokens` must dispose them. */
export interface PreparedTokens {
  readonly tokens: tf.Tensor2D;
  readonly owned: boolean;
}

function checkLength(pos: number, cfg: TransformerConfig): void {
  if (pos > cfg.nCtx) {
    throw new Error(`input is ${pos} tokens long but the model's context is nCtx = ${cfg.nCtx}; shorten it, or tokenize with truncate: true`);
  }
  if (pos === 0) throw new Error("input has no tokens");
}

function rangeError(bad: number, cfg: TransformerConfig): Error {
  return new Error(`token id ${bad} is out of range: ids must be integers in [0, ${cfg.dVocab}) for this model (dVocab = ${cfg.dVocab})`);
}

/** Validates token ids (integers in [0, dVocab), length ≤ nCtx) and returns them as int32 `[batch, pos]`. */
export async function prepareTokens(
  input: ModelInput,
  cfg: TransformerConfig,
  tokenize: (texts: string | string[]) => tf.Tensor2D,
): Promise<PreparedTokens> {
  if (typeof input === "string" || (Array.isArray(input) && typeof input[0] === "string")) {
    const tokens = tokenize(input as string | string[]);
    try {
      checkLength(tokens.shape[1], cfg);
    } catch (e) {
      tokens.dispose();
      throw e;
    }
    return { tokens, owned: true };
  }
  if (input instanceof tf.Tensor) {
    if (input.dtype !== "int32") {
      throw new Error(`token tensor has dtype ${input.dtype}; pass int32 ids (a float [batch, pos, dModel] residual needs startAtLayer)`);
    }
    if (input.rank !== 1 && input.rank !== 2) throw new Error(`token tensor must be [pos] or [batch, pos], got shape [${input.shape}]`);
    checkLength(input.shape[input.rank - 1], cfg);
    // One read of the ids themselves (no min/max kernels): token tensors are made on the CPU (toTokens, tf.tensor2d),
    // so on webgpu this is not a GPU round trip.
    const ids = (await input.data()) as Int32Array;
    let lo = Infinity, hi = -Infinity;
    for (const v of ids) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo < 0) throw rangeError(lo, cfg);
    if (hi >= cfg.dVocab) throw rangeError(hi, cfg);
    return input.rank === 1 ? { tokens: input.expandDims(0) as tf.Tensor2D, owned: true } : { tokens: input as tf.Tensor2D, owned: false };
  }
  if (!Array.isArray(input)) throw new Error(`unsupported input ${typeof input}; pass text, token ids or an int32 tensor`);
  const rows = (typeof input[0] === "number" || input.length === 0 ? [input] : input) as readonly (readonly number[])[];
  const width = rows[0]?.length ?? 0;
  checkLength(width, cfg);
  const flat = new Int32Array(rows.length * width);
  rows.forEach((row, b) => {
    if (!Array.isArray(row) || row.length !== width) throw new Error(`token rows must all have length ${width}; row ${b} differs (pad them)`);
    row.forEach((id, p) => {
      if (!Number.isInteger(id) || id < 0 || id >= cfg.dVocab) throw rangeError(id, cfg);
      flat[b * width + p] = id;
    });
  });
  return { tokens: tf.tensor2d(flat, [rows.length, width], "int32"), owned: true };
}

/**
 * TransformerLens's attention mask for left-padded tokens: the leading run of `padId` is masked (0), except its last
 * token when that is a BOS sharing the pad id (`bosIsPad`). Returns int32 `[batch, pos]`, owned by the caller.
 */
export async function leftPaddingMask(tokens: tf.Tensor2D, padId: number, bosIsPad: boolean): Promise<tf.Tensor2D> {
  const [batch, pos] = tokens.shape;
  const ids = await tokens.data();
  const mask = new Int32Array(batch * pos).fill(1);
  for (let b = 0; b < batch; b++) {
    let run = 0;
    while (run < pos && ids[b * pos + run] === padId) run++;
    if (bosIsPad && run > 0) run--;
    mask.fill(0, b * pos, b * pos + run);
  }
  return tf.tensor2d(mask, [batch, pos], "int32");
}

/** Converts a user-supplied attention mask to an int32 tensor `[batch, pos]` matching the tokens' shape. */
export function maskTensor(mask: tf.Tensor | readonly (readonly number[])[], shape: readonly number[]): tf.Tensor2D {
  const t = mask instanceof tf.Tensor ? mask.cast("int32") : tf.tensor2d(mask.map((r) => [...r]), undefined, "int32");
  if (!tf.util.arraysEqual(t.shape, [...shape])) {
    t.dispose();
    throw new Error(`attentionMask has shape [${mask instanceof tf.Tensor ? mask.shape : t.shape}] but the tokens are [${shape}]; pass one 0/1 entry per token`);
  }
  return t as tf.Tensor2D;
}
