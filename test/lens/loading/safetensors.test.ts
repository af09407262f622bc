/**
 * readSafetensors / writeSafetensors: a bit-exact round trip, dtype decoding checked on files whose bytes are written
 * here by hand (known IEEE-754 / bfloat16 bit patterns), an error naming the file and the problem for every kind of
 * corrupt or truncated file, and atomic writes (nothing half-written is ever left on disk).
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { readSafetensors, writeSafetensors, type RawTensor } from "../../../src/lens/loading/safetensors";

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "lens-safetensors-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
/** A fresh file path in the temp folder. */
function fresh(name = "t"): string {
  return path.join(dir, `${name}-${counter++}.safetensors`);
}

/** Writes a safetensors file byte by byte: u64 LE header length, the header text, then `data`. */
async function handBuilt(header: unknown, data: Uint8Array = new Uint8Array(0), name?: string): Promise<string> {
  const text = typeof header === "string" ? header : JSON.stringify(header);
  const headerBytes = Buffer.from(text, "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  const file = fresh(name);
  await writeFile(file, Buffer.concat([len, headerBytes, data]));
  return file;
}

/** Little-endian bytes of 16-bit patterns. */
function u16le(values: number[]): Uint8Array {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16LE(v, i * 2));
  return b;
}

function get(m: Map<string, RawTensor>, name: string): RawTensor {
  const t = m.get(name);
  assert.ok(t, `tensor ${name} missing; have ${[...m.keys()].join(", ")}`);
  return t;
}

/** Asserts `p` rejects with an Error whose message contains the file path and matches every pattern. */
async function rejectsNaming(p: Promise<unknown>, file: string, patterns: RegExp[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof Error, "not an Error");
    assert.ok(e.message.includes(file), `message does not name the file ${file}: ${e.message}`);
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
}

describe("writeSafetensors → readSafetensors round trip", () => {
  test("values are bit-exact and shapes (0-d, empty, multi-d) survive", async () => {
    const special = new Float32Array([
      0, -0, 1, -2.5, Math.fround(Math.PI), 1.401298464324817e-45 /* smallest f32 subnormal */,
      1.1754942106924411e-38 /* largest f32 subnormal */, 3.4028234663852886e38 /* max f32 */, Infinity, -Infinity,
    ]);
    const tensors = {
      matrix: { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6].map((x) => x / 7)) },
      scalar: { shape: [], data: new Float32Array([42.5]) },
      empty: { shape: [0], data: new Float32Array(0) },
      emptyMiddle: { shape: [3, 0, 2], data: new Float32Array(0) },
      special: { shape: [special.length], data: special },
      withNaN: { shape: [2], data: new Float32Array([NaN, 7]) },
    };
    const file = fresh();
    await writeSafetensors(file, tensors, { format: "pt" });
    const back = await readSafetensors(file);
    assert.deepEqual([...back.keys()].sort(), Object.keys(tensors).sort(), "the metadata entry is not a tensor");
    for (const [name, t] of Object.entries(tensors)) {
      const r = get(back, name);
      assert.deepEqual(r.shape, t.shape, `${name}: shape`);
      assert.equal(r.dtype, "F32");
      if (name === "withNaN") {
        assert.ok(Number.isNaN(r.data[0]));
        assert.equal(r.data[1], 7);
        continue;
      }
      // Compare bit patterns, so -0 vs 0 and subnormals count.
      assert.deepEqual(new Uint32Array(Float32Array.from(r.data).buffer), new Uint32Array(Float32Array.from(t.data).buffer), `${name}: bits`);
    }
  });

  test("the file is standard safetensors: 8-byte aligned header, contiguous offsets, little-endian F32", async () => {
    const file = fresh();
    await writeSafetensors(file, { a: { shape: [3], data: new Float32Array([1, -2, 0.5]) }, b: { shape: [1, 1], data: new Float32Array([3]) } });
    const bytes = await readFile(file);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0, "data section starts on an 8-byte boundary");
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8"));
    assert.deepEqual(header.a, { dtype: "F32", shape: [3], data_offsets: [0, 12] });
    assert.deepEqual(header.b, { dtype: "F32", shape: [1, 1], data_offsets: [12, 16] });
    assert.equal(bytes.length, 8 + n + 16);
    const d = 8 + n;
    assert.deepEqual([0, 1, 2, 3].map((i) => bytes.readFloatLE(d + 4 * i)), [1, -2, 0.5, 3]);
  });

  test("`only` reads a subset", async () => {
    const file = fresh();
    await writeSafetensors(file, { keep: { shape: [1], data: new Float32Array([1]) }, skip: { shape: [1], data: new Float32Array([2]) } });
    const back = await readSafetensors(file, (name) => name === "keep");
    assert.deepEqual([...back.keys()], ["keep"]);
  });
});

describe("decoding hand-built files", () => {
  test("F16: normals, the extremes, subnormals, signed zero, infinities and NaN", async () => {
    // IEEE-754 binary16 bit patterns and their exact values.
    const cases: Array<[number, number]> = [
      [0x3c00, 1], [0xc000, -2], [0x3800, 0.5], [0x7bff, 65504], [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24],
      [0x0400, 2 ** -14], [0x3555, 0.333251953125], [0x0000, 0], [0x8000, -0], [0x7c00, Infinity], [0xfc00, -Infinity],
    ];
    const bits = [...cases.map((c) => c[0]), 0x7e00 /* NaN */, 0xfe01 /* NaN */];
    const file = await handBuilt({ h: { dtype: "F16", shape: [bits.length], data_offsets: [0, 2 * bits.length] } }, u16le(bits));
    const h = get(await readSafetensors(file), "h");
    assert.equal(h.dtype, "F16");
    assert.deepEqual(h.shape, [bits.length]);
    cases.forEach(([b, v], i) => assert.ok(Object.is(h.data[i], v), `0x${b.toString(16)} → ${h.data[i]}, expected ${v}`));
    assert.ok(Number.isNaN(h.data[cases.length]) && Number.isNaN(h.data[cases.length + 1]), "NaN patterns");
  });

  test("BF16: the top half of the float32 bit pattern", async () => {
    const cases: Array<[number, number]> = [
      [0x3f80, 1], [0xc000, -2], [0x3f00, 0.5], [0x4049, 3.140625], [0x7f7f, (2 - 2 ** -7) * 2 ** 127], [0x0001, 2 ** -133],
      [0x0080, 2 ** -126], [0x8000, -0], [0x7f80, Infinity], [0xff80, -Infinity],
    ];
    const bits = [...cases.map((c) => c[0]), 0x7fc0 /* NaN */];
    // Two tensors, the second at an odd 2-byte offset (2 bytes into the data), to exercise offset handling.
    const data = Buffer.concat([u16le([0x4000]), u16le(bits)]);
    const file = await handBuilt(
      { __metadata__: { format: "pt" }, two: { dtype: "BF16", shape: [], data_offsets: [0, 2] }, b: { dtype: "BF16", shape: [bits.length], data_offsets: [2, 2 + 2 * bits.length] } },
      data,
    );
    const m = await readSafetensors(file);
    assert.deepEqual([...get(m, "two").data], [2]);
    assert.deepEqual(get(m, "two").shape, []);
    const b = get(m, "b");
    assert.equal(b.dtype, "BF16");
    cases.forEach(([bitsOf, v], i) => assert.ok(Object.is(b.data[i], v), `0x${bitsOf.toString(16)} → ${b.data[i]}, expected ${v}`));
    assert.ok(Number.isNaN(b.data[cases.length]));
  });

  test("F64, I64, I32, U8 and BOOL become float32", async () => {
    const f64 = Buffer.alloc(24);
    [0.1, -1e300, 2 ** -1074].forEach((v, i) => f64.writeDoubleLE(v, i * 8));
    const i64 = Buffer.alloc(24);
    [42n, -7n, 2n ** 40n].forEach((v, i) => i64.writeBigInt64LE(v, i * 8));
    const i32 = Buffer.alloc(8);
    [-2147483648, 123].forEach((v, i) => i32.writeInt32LE(v, i * 4));
    const u8 = Buffer.from([0, 255]);
    const bool = Buffer.from([1, 0]);
    const parts = [f64, i64, i32, u8, bool];
    const names = ["f64", "i64", "i32", "u8", "bool"];
    const dtypes = ["F64", "I64", "I32", "U8", "BOOL"];
    const header: Record<string, unknown> = {};
    let off = 0;
    parts.forEach((p, i) => {
      header[names[i]] = { dtype: dtypes[i], shape: i < 2 ? [3] : [2], data_offsets: [off, off + p.length] };
      off += p.length;
    });
    const m = await readSafetensors(await handBuilt(header, Buffer.concat(parts)));
    // float32 rounding: 0.1 → fround(0.1); −1e300 overflows to −∞; 2^−1074 underflows to 0.
    assert.deepEqual([...get(m, "f64").data], [Math.fround(0.1), -Infinity, 0]);
    assert.deepEqual([...get(m, "i64").data], [42, -7, 2 ** 40]);
    assert.deepEqual([...get(m, "i32").data], [-2147483648, 123]);
    assert.deepEqual([...get(m, "u8").data], [0, 255]);
    assert.deepEqual([...get(m, "bool").data], [1, 0]);
    assert.equal(get(m, "i64").dtype, "I64");
  });
});

describe("corrupt and truncated files give an Error naming the file and the problem", () => {
  const ok = { x: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };

  test("shorter than 8 bytes", async () => {
    const file = fresh();
    await writeFile(file, Buffer.from([1, 2, 3]));
    await rejectsNaming(readSafetensors(file), file, [/3 bytes is too short/, /truncated/]);
    const emptyFile = fresh();
    await writeFile(emptyFile, Buffer.alloc(0));
    await rejectsNaming(readSafetensors(emptyFile), emptyFile, [/0 bytes is too short/]);
  });

  test("header length beyond the file", async () => {
    const file = fresh();
    const b = Buffer.alloc(20);
    b.writeBigUInt64LE(1000n);
    await writeFile(file, b);
    await rejectsNaming(readSafetensors(file), file, [/header length 1000 does not fit in a 20-byte file/, /truncated or not safetensors/]);
    // An absurd length (a text file read as safetensors) is reported the same way, without allocating it.
    const text = fresh();
    await writeFile(text, "this is not a safetensors file at all");
    await rejectsNaming(readSafetensors(text), text, [/header length \d+ does not fit/]);
  });

  test("header not JSON", async () => {
    const file = await handBuilt('{"x": {"dtype": "F32",', new Uint8Array(8));
    await rejectsNaming(readSafetensors(file), file, [/header is not valid JSON/, /download it again/]);
  });

  test("header not an object", async () => {
    for (const header of ["[1, 2]", "null", '"text"', "42"]) {
      const file = await handBuilt(header);
      await rejectsNaming(readSafetensors(file), file, [/header is not a JSON object/]);
    }
  });

  test("an entry that is not an object", async () => {
    const file = await handBuilt({ x: null });
    await rejectsNaming(readSafetensors(file), file, [/tensor "x"/, /unsupported dtype/]);
  });

  test("unknown dtype, lists the supported ones", async () => {
    for (const dtype of ["F8_E4M3", "float32", "constructor", 7]) {
      const file = await handBuilt({ x: { dtype, shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2));
      await rejectsNaming(readSafetensors(file), file, [/tensor "x" has unsupported dtype/, /supported: .*F32.*BF16/]);
    }
  });

  test("invalid shape or offsets", async () => {
    const badShape = await handBuilt({ x: { dtype: "F32", shape: [2, -1], data_offsets: [0, 8] } }, new Uint8Array(8));
    await rejectsNaming(readSafetensors(badShape), badShape, [/tensor "x" has an invalid shape \[2,-1\]/]);
    const reversed = await handBuilt({ x: { dtype: "F32", shape: [2], data_offsets: [8, 0] } }, new Uint8Array(8));
    await rejectsNaming(readSafetensors(reversed), reversed, [/tensor "x" has invalid data_offsets \[8,0\]/]);
  });

  test("data_offsets not matching the shape's byte size", async () => {
    const file = await handBuilt({ x: { dtype: "F32", shape: [2, 3], data_offsets: [0, 20] } }, new Uint8Array(24));
    await rejectsNaming(readSafetensors(file), file, [/tensor "x" spans 20 bytes but shape \[2,3\] of F32 needs 24/]);
    const half = await handBuilt({ x: { dtype: "BF16", shape: [4], data_offsets: [0, 16] } }, new Uint8Array(16));
    await rejectsNaming(readSafetensors(half), half, [/spans 16 bytes but shape \[4\] of BF16 needs 8/]);
  });

  test("offsets beyond the end: a truncated data section", async () => {
    const file = await handBuilt(ok, new Uint8Array(5));
    await rejectsNaming(readSafetensors(file), file, [/tensor "x" ends at byte 8 of the data section, but the file has only 5 data bytes/, /truncated/]);
    // The real thing: a written file cut short.
    const whole = fresh();
    await writeSafetensors(whole, { a: { shape: [4], data: new Float32Array(4) }, b: { shape: [100], data: new Float32Array(100) } });
    const bytes = await readFile(whole);
    const cut = fresh();
    await writeFile(cut, bytes.subarray(0, bytes.length - 1));
    await rejectsNaming(readSafetensors(cut), cut, [/tensor "b" ends at byte 416 of the data section, but the file has only 415 data bytes/]);
  });

  test("a missing file", async () => {
    const file = path.join(dir, "nope.safetensors");
    await rejectsNaming(readSafetensors(file), file, [/cannot open weights file/, /ENOENT/]);
  });
});

describe("writeSafetensors leaves nothing half-written on disk", () => {
  test("a tensor whose data does not match its shape: nothing written, the existing file untouched", async () => {
    const sub = path.join(dir, "atomic-1");
    await mkdir(sub);
    const file = path.join(sub, "model.safetensors");
    await writeSafetensors(file, { old: { shape: [2], data: new Float32Array([1, 2]) } });
    const original = await readFile(file);
    await assert.rejects(
      writeSafetensors(file, { good: { shape: [1], data: new Float32Array([0]) }, bad: { shape: [2, 2], data: new Float32Array(3) } }),
      /"bad" has 3 values but shape \[2,2\] needs 4/,
    );
    assert.deepEqual(await readdir(sub), ["model.safetensors"], "no temporary file left");
    assert.deepEqual(await readFile(file), original, "existing file unchanged");
    assert.deepEqual([...get(await readSafetensors(file), "old").data], [1, 2]);
  });

  test("a failure after the data is written (rename onto a folder) removes the temporary file", async () => {
    const sub = path.join(dir, "atomic-2");
    const target = path.join(sub, "model.safetensors");
    await mkdir(path.join(target, "occupied"), { recursive: true });
    await assert.rejects(writeSafetensors(target, { x: { shape: [1000], data: new Float32Array(1000) } }), /EISDIR|ENOTEMPTY|EEXIST/);
    assert.deepEqual(await readdir(sub), ["model.safetensors"], "only the pre-existing folder remains");
    assert.deepEqual(await readdir(target), ["occupied"]);
  });

  test("a successful overwrite replaces the file and leaves no temporary file", async () => {
    const sub = path.join(dir, "atomic-3");
    await mkdir(sub);
    const file = path.join(sub, "w.safetensors");
    await writeSafetensors(file, { a: { shape: [1], data: new Float32Array([1]) } });
    await writeSafetensors(file, { b: { shape: [2], data: new Float32Array([3, 4]) } });
    assert.deepEqual(await readdir(sub), ["w.safetensors"]);
    const m = await readSafetensors(file);
    assert.deepEqual([...m.keys()], ["b"]);
    assert.deepEqual([...get(m, "b").data], [3, 4]);
  });
});
