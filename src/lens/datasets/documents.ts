/**
 * Documents streamed into the SAE tools, packed as SAELens's ActivationsStore packs them
 * (`tokenization_and_batching.concat_and_batch_sequences` with `prepend_bos` and the default BOS separator): documents
 * are tokenized without special tokens and concatenated, BOS between consecutive documents, and cut into sequences of
 * `contextSize` tokens that start with BOS (when `bos` is given; else plain `contextSize`-token slices). The tail that
 * does not fill a sequence at the end of the stream is dropped. (`ActivationStore`'s in-memory `texts`/`tokens` lists
 * pack the same way for non-empty documents that do not start with BOS.)
 */
import type { LensTokenizer } from "../tokenizer";
import { HubDataset } from "./hubDatasets";

/**
 * Documents: a `HubDataset` (its text column), or any iterable of texts or token-id arrays (for example
 * `ds.texts({ limit: 1000 })`, or the rows of `tokenizeAndConcatenate`). Sync or async.
 */
export type DocumentSource = HubDataset | Iterable<string | readonly number[]> | AsyncIterable<string | readonly number[]>;

/** Token ids of each document (texts encoded with `tokenizer`, no BOS or EOS added; token arrays as they are). */
export async function* documentTokens(source: DocumentSource, tokenizer: LensTokenizer | undefined): AsyncGenerator<readonly number[]> {
  const items = source instanceof HubDataset ? source.texts() : source;
  let i = 0;
  for await (const doc of items as AsyncIterable<string | readonly number[]>) {
    if (typeof doc === "string") {
      if (!tokenizer) throw new Error("a dataset of texts needs a model with a tokenizer; pass token-id arrays instead");
      yield tokenizer.encode(doc);
    } else if (Array.isArray(doc) || ArrayBuffer.isView(doc)) {
      yield doc as readonly number[];
    } else {
      throw new Error(`document ${i} is ${doc === null ? "null" : typeof doc}, not a text or an array of token ids; for rows with a text column pass a HubDataset or ds.texts()`);
    }
    i++;
  }
}

/**
 * Packs token documents into sequences of `contextSize` (SAELens's `concat_and_batch_sequences` with
 * `begin_batch_token_id` = `sequence_separator_token_id` = `bos`): a new sequence starts with BOS, a document appended
 * to a partly filled sequence is preceded by BOS, and no BOS is added where the document's next token already is BOS;
 * empty documents are skipped. Without `bos`, documents are concatenated and cut into `contextSize`-token slices.
 */
export async function* packSequences(docs: AsyncIterable<readonly number[]>, contextSize: number, bos?: number): AsyncGenerator<number[]> {
  if (!Number.isInteger(contextSize) || contextSize < (bos === undefined ? 1 : 2)) throw new Error(`contextSize ${contextSize} must be an integer ≥ ${bos === undefined ? 1 : 2}`);
  let seq: number[] | undefined;
  for await (const doc of docs) {
    let off = 0;
    while (off < doc.length) {
      const prefix = bos !== undefined && doc[off] !== bos ? [bos] : [];
      if (seq === undefined) seq = prefix;
      else seq.push(...prefix);
      const need = contextSize - seq.length;
      for (let k = 0; k < need && off < doc.length; k++) seq.push(doc[off++]!);
      if (seq.length === contextSize) {
        yield seq;
        seq = undefined;
      }
    }
  }
}

/** The first `n` packed sequences of a document source, in memory (fewer when the source runs out). */
export async function packedSequences(source: DocumentSource, tokenizer: LensTokenizer | undefined, opts: { contextSize: number; bos?: number; n: number }): Promise<number[][]> {
  const out: number[][] = [];
  if (opts.n <= 0) return out;
  for await (const seq of packSequences(documentTokens(source, tokenizer), opts.contextSize, opts.bos)) {
    out.push(seq);
    if (out.length >= opts.n) break;
  }
  return out;
}
