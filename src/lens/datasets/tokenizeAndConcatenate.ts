/**
 * TransformerLens's `utils.tokenize_and_concatenate`, camelCased (transformer_lens/utilities/tokenize_utils.py, the
 * per-document version TL uses since its issue #1133): documents are taken in batches of `batchSize` (TL runs the
 * function through `datasets.map(batched=True)`, whose batches are 1000 rows); in each batch every document is
 * tokenized on its own with no special tokens, the documents are joined with one EOS token between them (none after
 * the last), and the result is cut into rows of `maxLength − 1` tokens (`maxLength` without BOS), the incomplete
 * remainder of the batch dropped; a batch with fewer tokens than one row gives one row padded with the pad token (EOS
 * when the tokenizer has none). With `addBosToken` every row then starts with BOS, so rows are `maxLength` long.
 * Older TL versions joined the text with the EOS *string* and tokenized 20 character chunks, which could split a word;
 * that variant is not reproduced.
 */
import type { LensTokenizer } from "../tokenizer";
import { HubDataset } from "./hubDatasets";

/** Options of `tokenizeAndConcatenate` (TL's `max_length`, `add_bos_token`, `column_name`). */
export interface TokenizeAndConcatenateOptions {
  /** Tokens per row, BOS included (default 1024). */
  readonly maxLength?: number;
  /** Put BOS at the start of every row (default true). */
  readonly addBosToken?: boolean;
  /** The text column when rows are objects (default: the HubDataset's column, else "text"). */
  readonly column?: string;
  /** Documents per batch (default 1000, the batch size of `datasets.map(batched=True)` that TL uses). */
  readonly batchSize?: number;
  /** Stop after this many rows (default: all the documents give). */
  readonly maxRows?: number;
}

/** Documents: texts, or rows with a text column (a `HubDataset`, parquet rows, plain objects); sync or async. */
export type TextRows = Iterable<string | Readonly<Record<string, unknown>>> | AsyncIterable<string | Readonly<Record<string, unknown>>>;

function textOf(row: string | Readonly<Record<string, unknown>>, column: string, index: number): string {
  if (typeof row === "string") return row;
  const v = row[column];
  if (typeof v !== "string") {
    throw new Error(`tokenizeAndConcatenate: row ${index} has ${v === undefined ? `no column "${column}"` : `a non-text "${column}" (${v === null ? "null" : typeof v})`}; pass { column: "<text column>" } (columns: ${Object.keys(row).join(", ")})`);
  }
  return v;
}

/**
 * Streams TL's `tokenize_and_concatenate` rows (see the module comment). Each row is yielded as soon as its tokens are
 * there (the documents are read and tokenized lazily, and at most one batch's tokens are held), so `maxRows` rows of
 * a large dataset cost only the documents they contain.
 */
export async function* tokenizeAndConcatenateStream(rows: TextRows, tokenizer: LensTokenizer, opts: TokenizeAndConcatenateOptions = {}): AsyncGenerator<number[]> {
  const maxLength = opts.maxLength ?? 1024;
  const addBos = opts.addBosToken ?? true;
  const batchSize = opts.batchSize ?? 1000;
  if (!Number.isInteger(maxLength) || maxLength < (addBos ? 2 : 1)) throw new Error(`tokenizeAndConcatenate: maxLength ${maxLength} is too small; pass an integer ≥ ${addBos ? 2 : 1} (tokens per row${addBos ? ", BOS included" : ""})`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`tokenizeAndConcatenate: batchSize ${batchSize} must be a positive integer (documents per batch; TL's is 1000)`);
  const column = opts.column ?? (rows instanceof HubDataset ? rows.column : "text");
  const seqLen = maxLength - (addBos ? 1 : 0);
  const bos = addBos ? tokenizer.bosTokenId : undefined;
  let left = opts.maxRows ?? Infinity;
  // The batch's token stream is cut as it grows (same rows as cutting it at the end; the first rows come before the
  // whole batch is tokenized): `tokens[start…]` is what is not yet in a row.
  let tokens: number[] = [];
  let start = 0;
  let docsInBatch = 0;
  let rowsInBatch = 0;
  let index = 0;
  const row = (r: number[]) => (bos === undefined ? r : [bos, ...r]);
  if (left <= 0) return;
  for await (const item of rows as AsyncIterable<string | Readonly<Record<string, unknown>>>) {
    const text = textOf(item, column, index++);
    if (docsInBatch > 0) tokens.push(tokenizer.eosTokenId);
    for (const t of tokenizer.encode(text)) tokens.push(t);
    docsInBatch++;
    while (tokens.length - start >= seqLen) {
      yield row(tokens.slice(start, start + seqLen));
      start += seqLen;
      rowsInBatch++;
      if (--left <= 0) return;
    }
    if (start > 65536) {
      tokens = tokens.slice(start);
      start = 0;
    }
    if (docsInBatch === batchSize) {
      // end of a batch: the remainder is dropped, or (no full row at all) padded into one row
      if (rowsInBatch === 0) {
        yield row([...tokens.slice(start), ...new Array<number>(seqLen - (tokens.length - start)).fill(tokenizer.padTokenId)]);
        if (--left <= 0) return;
      }
      tokens = [];
      start = 0;
      docsInBatch = 0;
      rowsInBatch = 0;
    }
  }
  if (docsInBatch > 0 && rowsInBatch === 0) yield row([...tokens.slice(start), ...new Array<number>(seqLen - (tokens.length - start)).fill(tokenizer.padTokenId)]);
}

/**
 * TransformerLens's `tokenize_and_concatenate(dataset, tokenizer, max_length, column_name, add_bos_token)`: the rows
 * in memory, `[nRows][maxLength]` token ids. `tokenizeAndConcatenateStream` yields the same rows lazily.
 * @example
 * const ds = await getDataset("pile-10k");
 * const rows = await tokenizeAndConcatenate(ds, model.tokenizer!, { maxLength: 128, maxRows: 256 });
 * const tokens = tf.tensor2d(rows, [rows.length, 128], "int32");
 */
export async function tokenizeAndConcatenate(rows: TextRows, tokenizer: LensTokenizer, opts: TokenizeAndConcatenateOptions = {}): Promise<number[][]> {
  const out: number[][] = [];
  for await (const r of tokenizeAndConcatenateStream(rows, tokenizer, opts)) out.push(r);
  return out;
}
