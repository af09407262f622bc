/**
 * TransformerLens's `utils.get_dataset`, camelCased and streaming: `getDataset(name, { split, column })` finds a Hugging
 * Face dataset by TransformerLens's short name (`pile` → NeelNanda/pile-10k, `openwebtext` → stas/openwebtext-10k, …;
 * TL's `dataset_aliases` in transformer_lens/utilities/hf_utils.py) or any `org/name`, brings the split's parquet files
 * into the shared Hugging Face cache (or reads them from there offline), and returns a `HubDataset` whose rows stream
 * from the files one row group at a time. TL returns the whole split in memory; here nothing is read until iterated.
 */
import { closestNames } from "../util/closest";
import { datasetFiles, type DatasetFilesOptions } from "../loading/hub/datasets";
import { openParquet, readParquetRows } from "./parquet";

/**
 * Short names → repos. TransformerLens's own aliases (get_dataset's `dataset_aliases`), the repos' own short names
 * (`pile-10k`, `openwebtext-10k`, …), and SAELens's usual training sets.
 */
export const DATASET_ALIASES: Readonly<Record<string, string>> = {
  // transformer_lens/utilities/hf_utils.py get_dataset
  openwebtext: "stas/openwebtext-10k",
  owt: "stas/openwebtext-10k",
  pile: "NeelNanda/pile-10k",
  c4: "NeelNanda/c4-10k",
  code: "NeelNanda/code-10k",
  python: "NeelNanda/code-10k",
  c4_code: "NeelNanda/c4-code-20k",
  "c4-code": "NeelNanda/c4-code-20k",
  wiki: "NeelNanda/wiki-10k",
  // the same repos by their own names
  "openwebtext-10k": "stas/openwebtext-10k",
  "pile-10k": "NeelNanda/pile-10k",
  "c4-10k": "NeelNanda/c4-10k",
  "code-10k": "NeelNanda/code-10k",
  "c4-code-20k": "NeelNanda/c4-code-20k",
  "wiki-10k": "NeelNanda/wiki-10k",
  // SAELens's pretraining text (gpt2-small SAEs, its tutorials)
  "pile-uncopyrighted": "monology/pile-uncopyrighted",
};

const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** A short name (case-insensitive) or an `org/name` → the dataset repo id; anything else throws with close matches. */
export function resolveDatasetName(name: string): string {
  const alias = DATASET_ALIASES[name.toLowerCase()];
  if (alias) return alias;
  if (REPO_ID.test(name)) return name;
  const near = closestNames(name.toLowerCase(), Object.keys(DATASET_ALIASES), 3);
  throw new Error(
    `unknown dataset "${name}"` + (near.length ? `; did you mean ${near.map((n) => `"${n}"`).join(", ")}?` : "") +
      ` Pass a short name (${Object.keys(DATASET_ALIASES).slice(0, 9).join(", ")}, pile-10k, openwebtext-10k, …) or a Hugging Face dataset repo id "org/name"`,
  );
}

/** Options of `getDataset`: the split's files, and the text column. */
export interface GetDatasetOptions extends DatasetFilesOptions {
  /** The column `texts()` reads (default "text", as TransformerLens's datasets have it). */
  readonly column?: string;
}

/** Which rows `rows()` and `texts()` yield. */
export interface RowRange {
  /** Rows to skip from the start of the split (default 0; skipped row groups are not read). */
  readonly offset?: number;
  /** At most this many rows (default all). */
  readonly limit?: number;
}

/** A dataset split on disk, read lazily: iterate it (rows as objects), or `texts()` for its text column. */
export class HubDataset implements AsyncIterable<Record<string, unknown>> {
  constructor(
    readonly repoId: string,
    readonly split: string,
    readonly column: string,
    /** Local parquet files of the split, in order. */
    readonly files: readonly string[],
    /** Rows per file (from the parquet footers). */
    readonly rowsPerFile: readonly number[],
    /** Column names of the first file. */
    readonly columns: readonly string[],
    /** The revision the files came from ("main" or "refs/convert/parquet") and its commit. */
    readonly revision: string,
    readonly commit: string,
    /** True when the files were already in the cache (nothing downloaded). */
    readonly fromCache: boolean,
    /** The rows of the split this dataset covers (default all; see `subset`). */
    readonly range: RowRange = {},
  ) {}

  /** Rows in the split (in `range`). */
  get numRows(): number {
    const all = this.rowsPerFile.reduce((a, b) => a + b, 0);
    const from = Math.min(all, this.range.offset ?? 0);
    return Math.min(all - from, this.range.limit ?? Infinity);
  }

  /**
   * A view of some rows (relative to this one), itself re-iterable: for example a training part and a held-out part,
   * `ds.subset({ limit: 5000 })` and `ds.subset({ offset: 5000 })`. Nothing is read.
   */
  subset(range: RowRange): HubDataset {
    const offset = (this.range.offset ?? 0) + (range.offset ?? 0);
    const limit = Math.max(0, Math.min(this.numRows - (range.offset ?? 0), range.limit ?? Infinity));
    return new HubDataset(this.repoId, this.split, this.column, this.files, this.rowsPerFile, this.columns, this.revision, this.commit, this.fromCache, { offset, limit });
  }

  /** Rows as objects (all columns, or `columns`), streamed across the split's files one row group at a time. */
  async *rows(range: RowRange & { readonly columns?: readonly string[] } = {}): AsyncGenerator<Record<string, unknown>> {
    let skip = (this.range.offset ?? 0) + (range.offset ?? 0);
    let left = Math.min(range.limit ?? Infinity, this.numRows - (range.offset ?? 0));
    for (let i = 0; i < this.files.length && left > 0; i++) {
      const n = this.rowsPerFile[i]!;
      if (skip >= n) {
        skip -= n;
        continue;
      }
      const file = await openParquet(this.files[i]!);
      try {
        for await (const row of readParquetRows(file, { columns: range.columns, offset: skip })) {
          yield row;
          if (--left <= 0) break;
        }
      } finally {
        await file.close();
      }
      skip = 0;
    }
  }

  /** The text column's values (`column`, default the dataset's), streamed. */
  async *texts(range: RowRange & { readonly column?: string } = {}): AsyncGenerator<string> {
    const column = range.column ?? this.column;
    if (!this.columns.includes(column)) throw new Error(`dataset ${this.repoId} (${this.split}) has no column "${column}"; its columns are ${this.columns.map((c) => `"${c}"`).join(", ")}`);
    for await (const row of this.rows({ ...range, columns: [column] })) {
      const v = row[column];
      if (typeof v !== "string") throw new Error(`dataset ${this.repoId}: column "${column}" holds ${v === null ? "null" : typeof v}, not text; pass the name of a text column`);
      yield v;
    }
  }

  /** The first `n` rows (after `offset`) in memory. */
  async take(n: number, offset = 0): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for await (const r of this.rows({ offset, limit: n })) out.push(r);
    return out;
  }

  [Symbol.asyncIterator](): AsyncIterator<Record<string, unknown>> {
    return this.rows();
  }

  toString(): string {
    const part = this.range.offset || this.range.limit !== undefined ? ` (rows ${this.range.offset ?? 0}…${(this.range.offset ?? 0) + this.numRows - 1})` : "";
    return `HubDataset(${this.repoId}, split "${this.split}", ${this.numRows} rows${part} in ${this.files.length} parquet file(s), column "${this.column}", revision ${this.revision})`;
  }
}

/**
 * A Hugging Face dataset split by TransformerLens's short name or `org/name` (TL: `utils.get_dataset`), offline-first:
 * read from the shared cache when there, else downloaded (parquet from `main`, else the `refs/convert/parquet` branch).
 * @example
 * const ds = await getDataset("pile-10k");                       // NeelNanda/pile-10k, split "train"
 * for await (const text of ds.texts({ limit: 3 })) console.log(text.slice(0, 80));
 * const tokens = await tokenizeAndConcatenate(ds, model.tokenizer!, { maxLength: 128, maxRows: 100 });
 */
export async function getDataset(name: string, opts: GetDatasetOptions = {}): Promise<HubDataset> {
  const repoId = resolveDatasetName(name);
  const found = await datasetFiles(repoId, opts);
  const rowsPerFile: number[] = [];
  let columns: string[] = [];
  for (const [i, f] of found.files.entries()) {
    const p = await openParquet(f);
    rowsPerFile.push(p.numRows);
    if (i === 0) columns = p.columns;
    await p.close();
  }
  const column = opts.column ?? "text";
  if (!columns.includes(column)) {
    throw new Error(`dataset ${repoId} (split "${found.split}") has no column "${column}"; its columns are ${columns.map((c) => `"${c}"`).join(", ")}: pass { column: "<name>" }`);
  }
  return new HubDataset(repoId, found.split, column, found.files, rowsPerFile, columns, found.revision, found.commit, found.fromCache);
}
