/**
 * Parquet rows, streamed one row group at a time through hyparquet (a maintained pure-JavaScript reader) with
 * hyparquet-compressors (snappy, gzip, zstd, brotli, lz4). The file is read through an open file handle by byte
 * range: only the footer and the column chunks of the current row group are ever in memory, never the whole file.
 */
import { promises as fsp } from "node:fs";
import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData } from "hyparquet";
import { compressors } from "hyparquet-compressors";

/** A parquet file opened for range reads. Close it when done. */
export interface ParquetFile {
  readonly path: string;
  readonly metadata: FileMetaData;
  /** Rows per row group, in file order. */
  readonly rowGroups: number[];
  readonly numRows: number;
  /** Top-level column names. */
  readonly columns: string[];
  close(): Promise<void>;
}

interface Opened extends ParquetFile {
  readonly buffer: AsyncBuffer;
}

/** Opens `file` and reads its footer (schema, row groups). Throws naming the file when it is not parquet. */
export async function openParquet(file: string): Promise<ParquetFile> {
  const fh = await fsp.open(file, "r");
  try {
    const { size } = await fh.stat();
    const buffer: AsyncBuffer = {
      byteLength: size,
      async slice(start: number, end = size): Promise<ArrayBuffer> {
        const out = new Uint8Array(Math.max(0, end - start));
        let done = 0;
        while (done < out.length) {
          const { bytesRead } = await fh.read(out, done, out.length - done, start + done);
          if (bytesRead === 0) throw new Error(`${file}: unexpected end of file at byte ${start + done} of ${size}`);
          done += bytesRead;
        }
        return out.buffer;
      },
    };
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(buffer);
    } catch (e) {
      throw new Error(`${file} is not a readable parquet file (${(e as Error).message}); delete it from the cache and download it again`);
    }
    const rowGroups = metadata.row_groups.map((g) => Number(g.num_rows));
    const columns = topLevelColumns(metadata);
    const opened: Opened = { path: file, metadata, rowGroups, numRows: Number(metadata.num_rows), columns, buffer, close: () => fh.close() };
    return opened;
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** The names of the schema's top-level fields (the root's children; nested groups skipped through num_children). */
function topLevelColumns(metadata: FileMetaData): string[] {
  const schema = metadata.schema;
  const skip = (j: number): number => {
    let k = j + 1;
    for (let c = 0; c < (schema[j]!.num_children ?? 0); c++) k = skip(k);
    return k;
  };
  const out: string[] = [];
  for (let j = 1; j < schema.length; j = skip(j)) out.push(schema[j]!.name);
  return out;
}

/** Options of `readParquetRows`. */
export interface ParquetRowsOptions {
  /** Columns to read (default all); reading one column skips the bytes of the others. */
  readonly columns?: readonly string[];
  /** First row to yield (default 0); row groups before it are not read. */
  readonly offset?: number;
}

/**
 * Yields the rows of an open parquet file as objects, decoding one row group at a time (hyparquet reads only that
 * group's column chunks).
 */
export async function* readParquetRows(file: ParquetFile, opts: ParquetRowsOptions = {}): AsyncGenerator<Record<string, unknown>> {
  const f = file as Opened;
  const columns = opts.columns ? [...opts.columns] : undefined;
  for (const c of columns ?? []) {
    if (!f.columns.includes(c)) throw new Error(`${f.path} has no column "${c}"; its columns are ${f.columns.map((x) => `"${x}"`).join(", ")}`);
  }
  let start = 0;
  const offset = opts.offset ?? 0;
  for (const n of f.rowGroups) {
    const end = start + n;
    if (end > offset && n > 0) {
      const rows = await parquetReadObjects({ file: f.buffer, metadata: f.metadata, columns, rowStart: Math.max(start, offset), rowEnd: end, compressors });
      for (const row of rows) yield row;
    }
    start = end;
  }
}
