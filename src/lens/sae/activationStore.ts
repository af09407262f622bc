/**
 * ActivationStore: streams activations of one hook over texts or token arrays (SAELens `ActivationsStore`). Documents
 * are packed into `contextSize` sequences (BOS at position 0 and between documents when `prependBos`), run with
 * `stopAtLayer` = hook layer + 1, BOS / excluded-token positions dropped, and served through a seeded mixing buffer
 * (new chunk + leftovers shuffled, half served, half kept). Only the buffer is held; the dataset cycles when exhausted.
 * Documents come as in-memory `texts` / `tokens` lists or as a `dataset` stream (a HubDataset from `getDataset`).
 */
import * as tf from "@tensorflow/tfjs";
import type { HookedTransformer } from "../hookedTransformer";
import { layerOf } from "../hookPoint";
import { mulberry32, type ActivationSource } from "./source";
import { documentTokens, packSequences, type DocumentSource } from "../datasets/documents";

/**
 * The activation at `hookName` for int32 tokens `[batch, pos]` (run as given, no BOS added), running the model only
 * up to that hook's block (`blocks.L.…` → stopAtLayer L + 1). The caller owns the result.
 */
export async function hookActivation(model: HookedTransformer, input: tf.Tensor2D, hookName: string): Promise<tf.Tensor> {
  const layer = layerOf(hookName);
  const [out, cache] = await model.runWithCache(input, { namesFilter: [hookName], prependBos: false, ...(layer !== undefined ? { stopAtLayer: layer + 1 } : {}) });
  const act = cache.get(hookName).clone();
  tf.dispose(out as tf.Tensor);
  cache.dispose();
  return act;
}

/** Options of `ActivationStore`. */
export interface ActivationStoreOptions {
  readonly hookName: string;
  readonly contextSize?: number;
  /** Documents as text (tokenized with the model's tokenizer) … */
  readonly texts?: readonly string[];
  /** … or as token ids … */
  readonly tokens?: readonly (readonly number[])[];
  /**
   * … or streamed: a `HubDataset` (`getDataset("pile-10k")`), or any (async) iterable of texts or token arrays.
   * Packed as SAELens does (`packSequences`); a re-iterable source (a HubDataset) restarts when exhausted, as
   * SAELens's store does (`datasetEpochs` counts the restarts).
   */
  readonly dataset?: DocumentSource;
  /** Sequences per model call (default 8). */
  readonly storeBatchSizePrompts?: number;
  /** Rows the mixing buffer refills to (default 4 × 4096). */
  readonly bufferSize?: number;
  /** BOS at the start of each sequence and between documents (default the model's defaultPrependBos). */
  readonly prependBos?: boolean;
  /** Token ids whose positions are dropped (default: [BOS] when prepending BOS). */
  readonly excludeTokenIds?: readonly number[];
  readonly seed?: number;
}

/** Streams `[batch, d]` activation batches from a model hook; implements `ActivationSource` for `trainSae`. */
export class ActivationStore implements ActivationSource {
  readonly dIn: number;
  readonly hookName: string;
  readonly contextSize: number;
  private docIndex = 0;
  private pending: number[] = [];
  private buffer: tf.Tensor2D | undefined;
  private readonly rand: () => number;
  private readonly bos: number | undefined;
  private readonly exclude: Set<number>;
  private packer: AsyncGenerator<number[]> | undefined;
  /** How many times a streamed `dataset` ran out and was started again. */
  datasetEpochs = 0;

  constructor(private readonly model: HookedTransformer, private readonly opts: ActivationStoreOptions) {
    const nDocs = opts.texts?.length ?? opts.tokens?.length ?? (opts.dataset !== undefined ? Infinity : 0);
    if (nDocs === 0) throw new Error("ActivationStore: pass a non-empty `texts` or `tokens` list, or a `dataset` stream");
    if (!model.hookNames().includes(opts.hookName)) throw new Error(`ActivationStore: the model has no hook "${opts.hookName}" (see model.hookNames())`);
    this.hookName = opts.hookName;
    this.contextSize = opts.contextSize ?? 128;
    this.dIn = /(hook_pre|hook_post)$/.test(opts.hookName) && opts.hookName.includes("mlp") ? model.cfg.dMlp : model.cfg.dModel;
    const prepend = opts.prependBos ?? model.cfg.defaultPrependBos;
    this.bos = prepend ? (model.tokenizer?.bosTokenId ?? 0) : undefined;
    this.exclude = new Set(opts.excludeTokenIds ?? (this.bos !== undefined ? [this.bos] : []));
    this.rand = mulberry32((opts.seed ?? 0) + 101);
  }

  private nextDoc(): number[] {
    const { texts, tokens } = this.opts;
    const n = texts?.length ?? tokens!.length;
    const i = this.docIndex++ % n;
    if (texts) {
      const tok = this.model.tokenizer;
      if (!tok) throw new Error("ActivationStore: `texts` needs a model with a tokenizer; pass `tokens` instead");
      return tok.encode(texts[i]!);
    }
    return [...tokens![i]!];
  }

  /** The next packed sequence of `contextSize` tokens. */
  private nextSequence(): number[] {
    const body = this.contextSize - (this.bos !== undefined ? 1 : 0);
    let guard = 0;
    while (this.pending.length < body) {
      const doc = this.nextDoc();
      if (doc.length === 0 && ++guard > 1000) throw new Error("ActivationStore: every document is empty");
      if (this.pending.length > 0 && this.bos !== undefined) this.pending.push(this.bos);
      this.pending.push(...doc);
    }
    const seq = this.pending.splice(0, body);
    return this.bos !== undefined ? [this.bos, ...seq] : seq;
  }

  /** The next packed sequence of a streamed `dataset`, restarting it once when it runs out. */
  private async nextStreamed(): Promise<number[]> {
    for (let attempt = 0; attempt < 2; attempt++) {
      this.packer ??= packSequences(documentTokens(this.opts.dataset!, this.model.tokenizer), this.contextSize, this.bos);
      const r = await this.packer.next();
      if (!r.done) return r.value;
      this.packer = undefined;
      if (attempt === 0) this.datasetEpochs++;
    }
    throw new Error(
      `ActivationStore: the dataset yields no sequence of ${this.contextSize} tokens (it ran out ${this.datasetEpochs} time(s)): give it more text, ` +
        "or pass a source that can start again (the HubDataset itself rather than a one-shot iterator such as ds.texts())",
    );
  }

  /** Activations `[rows, d]` of one model call, excluded positions dropped. */
  async nextChunk(): Promise<tf.Tensor2D> {
    const seqs: number[][] = [];
    for (let i = 0; i < (this.opts.storeBatchSizePrompts ?? 8); i++) seqs.push(this.opts.texts || this.opts.tokens ? this.nextSequence() : await this.nextStreamed());
    const keep: number[] = [];
    seqs.flat().forEach((t, i) => { if (!this.exclude.has(t)) keep.push(i); });
    const input = tf.tensor2d(seqs.flat(), [seqs.length, this.contextSize], "int32");
    try {
      const act = await hookActivation(this.model, input, this.hookName);
      const rows = tf.tidy(() => tf.gather(act.reshape([-1, act.shape[act.rank - 1]!]), tf.tensor1d(keep, "int32")) as tf.Tensor2D);
      act.dispose();
      return rows;
    } finally {
      input.dispose();
    }
  }

  /** A batch `[batchSize, d]` from the mixing buffer (refilled and shuffled when it holds fewer than half). */
  async nextBatch(batchSize: number): Promise<tf.Tensor2D> {
    const target = Math.max(this.opts.bufferSize ?? 4 * 4096, 2 * batchSize);
    if (!this.buffer || this.buffer.shape[0] < target / 2) {
      const parts: tf.Tensor2D[] = this.buffer ? [this.buffer] : [];
      let rows = this.buffer?.shape[0] ?? 0;
      while (rows < target) {
        const c = await this.nextChunk();
        rows += c.shape[0];
        parts.push(c);
      }
      const perm = Int32Array.from({ length: rows }, (_, i) => i);
      for (let i = rows - 1; i > 0; i--) {
        const j = Math.floor(this.rand() * (i + 1));
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      const next = tf.tidy(() => tf.gather(tf.concat(parts, 0), tf.tensor1d(perm, "int32")) as tf.Tensor2D);
      tf.dispose(parts);
      this.buffer = next;
    }
    const buf = this.buffer;
    const [batch, rest] = tf.tidy(() => [buf.slice([0, 0], [batchSize, -1]), buf.slice([batchSize, 0], [-1, -1])] as tf.Tensor2D[]);
    buf.dispose();
    this.buffer = rest!;
    return batch!;
  }

  /** Frees the buffer. */
  dispose(): void {
    this.buffer?.dispose();
    this.buffer = undefined;
  }
}
