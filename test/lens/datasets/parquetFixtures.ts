/**
 * Parquet files for the dataset tests, written by a different library than the reader under test: hyparquet-writer
 * (dev dependency) lays out the file; the pages are compressed by code the reader never uses — hyparquet-writer's own
 * snappy compressor, node:zlib's gzip, the `zstd` command-line tool (Debian package zstd) — while the reader
 * decompresses with hyparquet-compressors (hysnappy, its gunzip, fzstd).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import { parquetWriteBuffer } from "hyparquet-writer";

export type Codec = "SNAPPY" | "GZIP" | "ZSTD" | "UNCOMPRESSED";

/** Why zstd fixtures cannot be written here (no `zstd` tool), or undefined. */
export function zstdSkipReason(): string | undefined {
  const r = spawnSync("zstd", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? undefined : "the zstd command-line tool is missing (apt-get install -y zstd)";
}

const zstdCompress = (input: Uint8Array): Uint8Array => new Uint8Array(execFileSync("zstd", ["-q", "-c", "-3"], { input, maxBuffer: 1 << 28 }));

/** A parquet file with a string column `text` and an int32 column `meta` (= row index), in row groups of `rowGroupSize`. */
export function textParquet(texts: readonly string[], opts: { codec?: Codec; rowGroupSize?: number; column?: string } = {}): Buffer {
  const codec = opts.codec ?? "SNAPPY";
  const ab = parquetWriteBuffer({
    columnData: [
      { name: opts.column ?? "text", data: [...texts], type: "STRING" },
      { name: "meta", data: Int32Array.from(texts, (_, i) => i), type: "INT32" },
    ],
    codec,
    compressors: { GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b)), ZSTD: zstdCompress },
    rowGroupSize: opts.rowGroupSize ?? 1000,
  });
  return Buffer.from(ab);
}

/** Deterministic English-like documents of varied length (seeded), for datasets served by the stand-in Hub. */
export function sampleDocuments(n: number, seed = 1): string[] {
  const words = ["the", "model", "reads", "a", "long", "sentence", "about", "cats", "and", "dogs", "while", "it", "rains", "in", "Paris", "on", "Monday", "because", "data", "matters", "1999", "café", "naïve"];
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, (_, i) => {
    const len = 3 + Math.floor(rand() * 40);
    const ws = Array.from({ length: len }, () => words[Math.floor(rand() * words.length)]!);
    return `Document ${i}: ${ws.join(" ")}.${rand() < 0.3 ? "\n\nA second paragraph, with punctuation!" : ""}`;
  });
}
