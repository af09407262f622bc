/**
 * The torch.save (zip + pickle) reader, against files written by real torch (Debian's python3-torch 1.13, by
 * scripts/reference/make_pytorch_bin.py): dtypes, strided and offset views, shared storages, nn.Parameter — values
 * compared with torch's own contiguous float32 values (views.expected.json, written by the same script) — and a
 * pickle that calls a Python function, which must be refused.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { copyFile, rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { readPytorchBin } from "../../../src/lens/loading/pytorchBin";
import { readSafetensors } from "../../../src/lens/loading/safetensors";
import { FIXTURES } from "../../fixtures";
import { tempDir } from "./checkpoints";

const DIR = path.join(FIXTURES, "pytorch-bin");
const expected = JSON.parse(readFileSync(path.join(DIR, "views.expected.json"), "utf8")) as Record<string, { shape: number[]; values: number[]; dtype: string }> & {
  _meta: { strides: Record<string, number[]>; offsets: Record<string, number> };
};
let tmp: string;
before(async () => (tmp = await tempDir("pytorchBin")));
after(() => rm(tmp, { recursive: true, force: true }));

test("every tensor equals torch's own values (F32, F16, BF16, F64, int64, views, shared storage, Parameter)", async () => {
  const got = await readPytorchBin(path.join(DIR, "views.bin"));
  const names = Object.keys(expected).filter((k) => k !== "_meta");
  assert.deepEqual([...got.keys()].sort(), names.sort());
  // The fixture really exercises the cases: a strided view, an offset view, two views of one storage.
  assert.deepEqual(expected._meta.strides.transposed, [1, 6]);
  assert.equal(expected._meta.offsets.sliced, 8);
  assert.equal(expected._meta.offsets.shared_b, 5);
  for (const name of names) {
    const t = got.get(name)!;
    assert.deepEqual(t.shape, expected[name].shape, name);
    // Exact: float32 holds every F16/BF16/F32 value exactly; F64 values were rounded to float32 by torch the same way.
    assert.deepEqual(Array.from(t.data), expected[name].values.map((v) => Math.fround(v)), name);
  }
  assert.equal(got.get("f16")!.dtype, "F16");
  assert.equal(got.get("bf16")!.dtype, "BF16");
});

test("`only` reads a subset", async () => {
  const got = await readPytorchBin(path.join(DIR, "views.bin"), (n) => n.startsWith("shared"));
  assert.deepEqual([...got.keys()].sort(), ["shared_a", "shared_b"]);
});

test("a pickle that calls print is refused, naming it", async () => {
  await assert.rejects(readPytorchBin(path.join(DIR, "evil.bin")), /refers to (__builtin__|builtins)\.print, which is not allowed.*nothing in the file is executed/);
});

test("the tiny GPT-NeoX state dict saved by torch equals the safetensors shards it came from", async () => {
  const bin = await readPytorchBin(path.join(DIR, "tiny-neox.bin"));
  const st = new Map([
    ...(await readSafetensors(path.join(FIXTURES, "tiny-neox", "model-00001-of-00002.safetensors"))),
    ...(await readSafetensors(path.join(FIXTURES, "tiny-neox", "model-00002-of-00002.safetensors"))),
  ]);
  assert.deepEqual([...bin.keys()].sort(), [...st.keys()].sort());
  for (const [k, v] of st) {
    assert.deepEqual(bin.get(k)!.shape, v.shape, k);
    assert.deepEqual(bin.get(k)!.dtype, v.dtype, k);
    assert.ok(bin.get(k)!.data.every((x, i) => Object.is(x, v.data[i])), `${k} values differ`);
  }
});

test("not a zip, truncated, and missing storage: Errors that name the file and the problem", async () => {
  const notZip = path.join(tmp, "legacy.bin");
  await writeFile(notZip, Buffer.from("\x80\x02legacy pickle, not zip"));
  await assert.rejects(readPytorchBin(notZip), /legacy\.bin is not a zip archive/);
  const cut = path.join(tmp, "cut.bin");
  const bytes = readFileSync(path.join(DIR, "views.bin"));
  await writeFile(cut, bytes.subarray(0, bytes.length - 40));
  await assert.rejects(readPytorchBin(cut), /cut\.bin/);
  await copyFile(path.join(DIR, "views.bin"), path.join(tmp, "ok.bin"));
  assert.equal((await readPytorchBin(path.join(tmp, "ok.bin"))).size, 11);
});
