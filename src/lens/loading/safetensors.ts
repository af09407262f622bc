/**
 * Safetensors reading and writing. The header is validated (dtypes, shapes, offsets against the file size) before any
 * tensor memory is allocated; tensors are read one at a time, so files larger than a Node Buffer still load.
 * Format: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}},
 * then the data section (offsets are relative to its start).
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";

/** A decoded tensor: float32 data (F32, F16 and BF16 are all converted) and its shape. */
export interface RawTensor {
  readonly shape: number[];
  readonly data: Float32Array;
  /** The dtype stored in the file. */
  readonly dtype: string;
}

interface HeaderEntry {
  readonly dtype: string;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, BOOL: 1, U8: 1 };
/** Bytes per element of a safetensors dtype ("F16" → 2); undefined for an unknown one. */
export function dtypeBytes(dtype: string): number | undefined {
  return Object.hasOwn(BYTES, dtype) ? BYTES[dtype] : undefined;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const MAX_HEADER = 100 * 1024 * 1024;

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Every float16 bit pattern's float32 value (256 KiB, built on first use): F16 decodes by table lookup. */
let halfTable: Float32Array | undefined;
function halfLookup(): Float32Array {
  if (halfTable === undefined) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

/** Decodes `count` little-endian values of a safetensors dtype (F32, F16, BF16, F64, I64, I32, U8, BOOL) to float32. */
export function decodeLittleEndian(dtype: string, bytes: Buffer, count: number): Float32Array {
  return decode(dtype, bytes, count);
}

function decode(dtype: string, bytes: Buffer, count: number): Float32Array {
  const aligned = bytes.byteOffset % 4 === 0 && LITTLE_ENDIAN;
  if (dtype === "F32" && aligned) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === "F16" && aligned) {
    const src = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
    const table = halfLookup();
    for (let i = 0; i < count; i++) out[i] = table[src[i]];
  } else if (dtype === "BF16" && aligned) {
    const src = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) u32[i] = src[i] << 16;
  } else if (dtype === "F32") for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  else if (dtype === "F64") for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
  else if (dtype === "F16") {
    const table = halfLookup();
    for (let i = 0; i < count; i++) out[i] = table[view.getUint16(i * 2, true)];
  }
  else if (dtype === "BF16") {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) u32[i] = view.getUint16(i * 2, true) << 16;
  } else if (dtype === "I64") for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(i * 8, true));
  else if (dtype === "I32") for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
  else for (let i = 0; i < count; i++) out[i] = view.getUint8(i);
  return out;
}

/** Parses and validates the header against the file size; throws naming the file and the bad entry. */
function parseHeader(file: string, json: string, dataSize: number): Map<string, HeaderEntry> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error(`${file}: the safetensors header is not valid JSON; the file is corrupt or not a safetensors file — download it again`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error(`${file}: the safetensors header is not a JSON object`);
  const entries = new Map<string, HeaderEntry>();
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === "__metadata__") continue;
    const e = (typeof v === "object" && v !== null ? v : {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const bad = (why: string) => new Error(`${file}: tensor "${name}" ${why}; the file is corrupt or truncated — download it again`);
    if (typeof e.dtype !== "string" || !Object.hasOwn(BYTES, e.dtype)) throw bad(`has unsupported dtype ${JSON.stringify(e.dtype)} (supported: ${Object.keys(BYTES).join(", ")})`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`has an invalid shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[0] > off[1]) {
      throw bad(`has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const shape = e.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * BYTES[e.dtype];
    if (off[1] - off[0] !== expected) throw bad(`spans ${off[1] - off[0]} bytes but shape [${shape}] of ${e.dtype} needs ${expected}`);
    if (off[1] > dataSize) throw bad(`ends at byte ${off[1]} of the data section, but the file has only ${dataSize} data bytes`);
    entries.set(name, { dtype: e.dtype, shape, begin: off[0], end: off[1] });
  }
  return entries;
}

/** Opens a weights file for reading; a missing or unreadable file is an Error naming it. */
export async function openWeightsFile(file: string): Promise<fsp.FileHandle> {
  try {
    return await fsp.open(file, "r");
  } catch (e) {
    throw new Error(`cannot open weights file ${file}: ${(e as Error).message}`);
  }
}

/** Fills `buf` from `position`, in reads of at most 1 GiB (one read is limited to 2 GiB); a short file is an Error. */
async function readFully(fh: fsp.FileHandle, buf: Buffer, position: number, file: string, name: string): Promise<void> {
  for (let done = 0; done < buf.length; ) {
    const { bytesRead } = await fh.read(buf, done, Math.min(buf.length - done, 2 ** 30), position + done);
    if (bytesRead === 0) throw new Error(`${file}: short read for "${name}" (file truncated?)`);
    done += bytesRead;
  }
}

/** The tensors a safetensors file declares (name → dtype, shape), from its header alone: nothing else is read. */
export async function safetensorsHeader(file: string): Promise<Map<string, { dtype: string; shape: number[] }>> {
  const fh = await openWeightsFile(file);
  try {
    const { entries } = await readHeader(fh, file);
    return new Map([...entries].map(([k, e]) => [k, { dtype: e.dtype, shape: e.shape }]));
  } finally {
    await fh.close();
  }
}

/** Reads and validates the header of an open file: its entries and where the data section starts. */
async function readHeader(fh: fsp.FileHandle, file: string): Promise<{ entries: Map<string, HeaderEntry>; dataStart: number }> {
  const size = (await fh.stat()).size;
  if (size < 8) throw new Error(`${file}: ${size} bytes is too short to be a safetensors file (truncated download?)`);
  const lenBuf = Buffer.alloc(8);
  await fh.read(lenBuf, 0, 8, 0);
  const headerLen = Number(lenBuf.readBigUInt64LE(0));
  if (headerLen > MAX_HEADER || 8 + headerLen > size) {
    throw new Error(`${file}: header length ${headerLen} does not fit in a ${size}-byte file; the file is truncated or not safetensors`);
  }
  const headerBuf = Buffer.alloc(headerLen);
  await fh.read(headerBuf, 0, headerLen, 8);
  const dataStart = 8 + headerLen;
  return { entries: parseHeader(file, headerBuf.toString("utf8"), size - dataStart), dataStart };
}

/**
 * Reads a safetensors file tensor by tensor, calling `onTensor` for each (in file order) before reading the next, so
 * the caller can convert and drop each one; every floating tensor becomes float32. `only` selects names.
 */
export async function forEachSafetensor(
  file: string,
  onTensor: (name: string, tensor: RawTensor) => void | Promise<void>,
  only?: (name: string) => boolean,
): Promise<void> {
  const fh = await openWeightsFile(file);
  try {
    const { entries, dataStart } = await readHeader(fh, file);
    for (const [name, e] of [...entries].sort((a, b) => a[1].begin - b[1].begin)) {
      if (only && !only(name)) continue;
      // Its own, uninitialised ArrayBuffer (offset 0, so F32 is used in place and F16/BF16 decode from aligned views);
      // it is dropped once decoded: a half-precision tensor costs its float32 size plus its file size, one at a time.
      const buf = Buffer.allocUnsafeSlow(e.end - e.begin);
      await readFully(fh, buf, dataStart + e.begin, file, name);
      const count = e.shape.reduce((a, b) => a * b, 1);
      await onTensor(name, { shape: e.shape, data: decode(e.dtype, buf, count), dtype: e.dtype });
    }
  } finally {
    await fh.close();
  }
}

/** Reads a safetensors file; every floating tensor becomes float32. Pass `only` to read a subset of names. */
export async function readSafetensors(file: string, only?: (name: string) => boolean): Promise<Map<string, RawTensor>> {
  const out = new Map<string, RawTensor>();
  await forEachSafetensor(file, (name, t) => void out.set(name, t), only);
  return out;
}

/** Float32 tensors to write, by name. */
export type TensorsToWrite = Record<string, { readonly shape: readonly number[]; readonly data: Float32Array }>;

/** Writes float32 tensors as safetensors, atomically (temporary file, then rename): nothing half-written is left. */
export async function writeSafetensors(file: string, tensors: TensorsToWrite, metadata?: Record<string, string>): Promise<void> {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    const { shape, data } = tensors[name];
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`writeSafetensors: "${name}" has ${data.length} values but shape [${shape}] needs ${n}`);
    header[name] = { dtype: "F32", shape: [...shape], data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fh = await fsp.open(tmp, "w");
  try {
    await fh.write(len);
    await fh.write(headerBytes);
    for (const name of names) {
      const d = tensors[name].data;
      const le = Buffer.alloc(d.length * 4);
      for (let i = 0; i < d.length; i++) le.writeFloatLE(d[i], i * 4);
      await fh.write(le);
    }
    await fh.close();
    await fsp.rename(tmp, file);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}
