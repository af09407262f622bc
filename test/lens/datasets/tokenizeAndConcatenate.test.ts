/**
 * tokenizeAndConcatenate against golden rows made by TransformerLens's semantics re-implemented in Python over a
 * from-scratch GPT-2 BPE (test/fixtures/tokenize-and-concatenate.json; generator and provenance in its header and in
 * scripts/reference/tokenize_and_concatenate.py), with the real GPT-2 tokenizer bundled in data/tokenizers/gpt2. Also:
 * the same rows from a HubDataset streamed out of parquet files (written by hyparquet-writer), from async rows,
 * `maxRows`, and the errors.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { HubDataset, LensTokenizer, openParquet, tokenizeAndConcatenate, tokenizeAndConcatenateStream } from "../../../src/lens/index";
import { GPT2_TOKENIZER_DIR } from "../../fixtures";
import { tempDir } from "../loading/checkpoints";
import { textParquet } from "./parquetFixtures";

interface GoldenCase { name: string; maxLength: number; addBosToken: boolean; batchSize: number; docs: string[]; rows: number[][] }
const golden = JSON.parse(readFileSync(path.resolve(__dirname, "../../fixtures/tokenize-and-concatenate.json"), "utf8")) as { eos: number; bos: number; pad: number; cases: GoldenCase[] };
let tok: LensTokenizer;
let dir: string;

before(async () => {
  tok = await LensTokenizer.fromFolder(GPT2_TOKENIZER_DIR);
  dir = await tempDir("tokcat");
});
after(() => rm(dir, { recursive: true, force: true }));

test("the golden table's special ids are the bundled GPT-2 tokenizer's", () => {
  assert.deepEqual([tok.eosTokenId, tok.bosTokenId, tok.padTokenId], [golden.eos, golden.bos, golden.pad]);
  assert.equal(golden.cases.length, 6);
});

for (const c of golden.cases) {
  test(`matches the Python reference: ${c.name} (maxLength ${c.maxLength}, BOS ${c.addBosToken}, batches of ${c.batchSize})`, async () => {
    const rows = await tokenizeAndConcatenate(c.docs, tok, { maxLength: c.maxLength, addBosToken: c.addBosToken, batchSize: c.batchSize });
    assert.deepEqual(rows, c.rows);
  });
}

test("the same rows from a HubDataset (parquet, several row groups and files, its own column) and from async object rows; maxRows stops early", async () => {
  const c = golden.cases[2]!; // batches of 3
  const half = Math.ceil(c.docs.length / 2);
  const files = [path.join(dir, "a.parquet"), path.join(dir, "b.parquet")];
  await writeFile(files[0]!, textParquet(c.docs.slice(0, half), { rowGroupSize: 2, column: "content" }));
  await writeFile(files[1]!, textParquet(c.docs.slice(half), { rowGroupSize: 4, codec: "GZIP", column: "content" }));
  const counts: number[] = [];
  for (const f of files) { const p = await openParquet(f); counts.push(p.numRows); await p.close(); }
  const ds = new HubDataset("local/test", "train", "content", files, counts, ["content", "meta"], "main", "0".repeat(40), true);
  const opts = { maxLength: c.maxLength, addBosToken: c.addBosToken, batchSize: c.batchSize };
  assert.deepEqual(await tokenizeAndConcatenate(ds, tok, opts), c.rows, "the HubDataset's column is used");
  async function* objects() { for (const d of c.docs) yield { content: d, other: 1 }; }
  assert.deepEqual(await tokenizeAndConcatenate(objects(), tok, { ...opts, column: "content" }), c.rows);
  assert.deepEqual(await tokenizeAndConcatenate(c.docs, tok, { ...opts, maxRows: 5 }), c.rows.slice(0, 5));
  const stream = tokenizeAndConcatenateStream(c.docs, tok, opts);
  assert.deepEqual((await stream.next()).value, c.rows[0], "the stream yields the first row before reading the rest");
  await stream.return(undefined);
});

test("defaults are TransformerLens's: maxLength 1024, BOS first, column \"text\"", async () => {
  const long = Array.from({ length: 400 }, (_, i) => `Sentence number ${i} of a long text, repeated to fill rows.`);
  const rows = await tokenizeAndConcatenate(long.map((text) => ({ text })), tok);
  assert.ok(rows.length >= 2);
  for (const r of rows) {
    assert.equal(r.length, 1024);
    assert.equal(r[0], tok.bosTokenId);
  }
  // rows are consecutive slices of the EOS-joined documents
  const joined = long.flatMap((d, i) => (i < long.length - 1 ? [...tok.encode(d), tok.eosTokenId] : tok.encode(d)));
  assert.deepEqual(rows.flatMap((r) => r.slice(1)), joined.slice(0, rows.length * 1023));
});

test("errors name the problem and the fix", async () => {
  await assert.rejects(tokenizeAndConcatenate(["a"], tok, { maxLength: 1 }), /maxLength 1 is too small; pass an integer ≥ 2/);
  await assert.rejects(tokenizeAndConcatenate([{ body: "a" }], tok), /row 0 has no column "text"; pass \{ column: "<text column>" \} \(columns: body\)/);
  await assert.rejects(tokenizeAndConcatenate([{ text: 3 }], tok), /a non-text "text" \(number\)/);
  await assert.rejects(tokenizeAndConcatenate(["a"], tok, { batchSize: 0 }), /batchSize 0 must be a positive integer/);
});
