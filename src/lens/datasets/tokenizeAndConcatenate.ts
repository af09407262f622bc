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

/** The rows of one batch of documents (TL's `tokenize_function`). */
function packBatch(docs: readonly string[], tok: LensTokenizer, seqLen: number, bos: number | undefined): number[][] {
  if (docs.length === 0) return [];
  const tokens: number[] = [];
  docs.forEach((d, i) => {
    for (const t of tok.encode(d)) tokens.push(t);
    if (i < docs.length - 1) tokens.push(tok.eosTokenId);
  });
  const rows: number[][] = [];
  if (tokens.length < seqLen) {
    rows.push([...tokens, ...new Array<number>(seqLen - tokens.length).fill(tok.padTokenId)]);
  } else {
    for (let s = 0; s + seqLen <= tokens.length; s += seqLen) rows.push(tokens.slice(s, s + seqLen));
  }
  return bos === undefined ? rows : rows.map((r) => [bos, ...r]);
}

/**
 * Streams TL's `tokenize_and_concatenate` rows (see the module comment), one batch of documents at a time; only the
 * current batch is held, so a large dataset can be fed through it.
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
  let batch: string[] = [];
  let index = 0;
  const flush = function* (): Generator<number[]> {
    for (const r of packBatch(batch, tokenizer, seqLen, bos)) {
      if (left <= 0) return;
      left--;
      yield r;
    }
    batch = [];
  };
  for await (const row of rows as AsyncIterable<string | Readonly<Record<string, unknown>>>) {
    batch.push(textOf(row, column, index++));
    if (batch.length === batchSize) yield* flush();
    if (left <= 0) return;
  }
  yield* flush();
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
