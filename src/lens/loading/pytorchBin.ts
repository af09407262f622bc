/**
 * Reads PyTorch's `torch.save` zip format (`pytorch_model.bin`) without running any of its code.
 * The zip holds `<prefix>/data.pkl` (a pickle of the state dict whose tensors point at storages through persistent
 * ids), `<prefix>/data/<key>` (each storage's raw little-endian bytes) and `<prefix>/byteorder`. The pickle runs on a
 * minimal VM that knows only the opcodes torch's state-dict pickles use and only these globals:
 * `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter` and torch's typed
 * storage classes. Anything else is an Error. Entries must be stored (uncompressed), as torch writes them.
 */
import { promises as fsp } from "node:fs";
import { runStateDictPickle, type TensorRef } from "./pickle";
import { decodeLittleEndian, openWeightsFile, type RawTensor } from "./safetensors";

interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly size: number;
  readonly localOffset: number;
}

async function readAt(fh: fsp.FileHandle, pos: number, len: number, file: string): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  const { bytesRead } = await fh.read(buf, 0, len, pos);
  if (bytesRead !== len) throw new Error(`${file}: unexpected end of file at byte ${pos + bytesRead} (truncated download?)`);
  return buf;
}

/** The zip's central directory (ZIP64 aware). */
async function readZipDirectory(fh: fsp.FileHandle, file: string, size: number): Promise<Map<string, ZipEntry>> {
  const tailLen = Math.min(size, 65557);
  const tail = await readAt(fh, size - tailLen, tailLen, file);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) if (tail.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) throw new Error(`${file} is not a zip archive: it is not in torch.save's zip format (legacy pre-1.6 .bin files and truncated downloads are not readable); download it again or use safetensors`);
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  const loc = eocd - 20;
  if (loc >= 0 && tail.readUInt32LE(loc) === 0x07064b50) {
    const z64 = await readAt(fh, Number(tail.readBigUInt64LE(loc + 8)), 56, file);
    if (z64.readUInt32LE(0) !== 0x06064b50) throw new Error(`${file}: broken ZIP64 end-of-directory record`);
    count = Number(z64.readBigUInt64LE(32));
    cdSize = Number(z64.readBigUInt64LE(40));
    cdOffset = Number(z64.readBigUInt64LE(48));
  }
  const cd = await readAt(fh, cdOffset, cdSize, file);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (cd.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: broken zip central directory`);
    const method = cd.readUInt16LE(p + 10);
    let size = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localOffset = cd.readUInt32LE(p + 42);
    const name = cd.toString("utf8", p + 46, p + 46 + nameLen);
    const compressed = cd.readUInt32LE(p + 20);
    // ZIP64 extra field: the 0xFFFFFFFF fields, in the order uncompressed size, compressed size, local offset.
    let e = p + 46 + nameLen;
    const end = e + extraLen;
    while (e + 4 <= end) {
      const id = cd.readUInt16LE(e);
      const len = cd.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) { size = Number(cd.readBigUInt64LE(q)); q += 8; }
        if (compressed === 0xffffffff) q += 8;
        if (localOffset === 0xffffffff) localOffset = Number(cd.readBigUInt64LE(q));
      }
      e += 4 + len;
    }
    entries.set(name, { name, method, size, localOffset });
    p = end + commentLen;
  }
  return entries;
}

/** Where an entry's bytes start (after its local header, whose extra field torch uses for 64-byte alignment). */
async function dataOffset(fh: fsp.FileHandle, entry: ZipEntry, file: string): Promise<number> {
  const h = await readAt(fh, entry.localOffset, 30, file);
  if (h.readUInt32LE(0) !== 0x04034b50) throw new Error(`${file}: broken zip local header for ${entry.name}`);
  if (entry.method !== 0) throw new Error(`${file}: ${entry.name} is compressed (method ${entry.method}); torch.save writes stored entries — re-save it with torch.save or convert it to safetensors`);
  return entry.localOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
}

const STORAGE_DTYPES: Record<string, { dtype: string; bytes: number }> = {
  FloatStorage: { dtype: "F32", bytes: 4 }, HalfStorage: { dtype: "F16", bytes: 2 }, BFloat16Storage: { dtype: "BF16", bytes: 2 },
  DoubleStorage: { dtype: "F64", bytes: 8 }, LongStorage: { dtype: "I64", bytes: 8 }, IntStorage: { dtype: "I32", bytes: 4 },
  ByteStorage: { dtype: "U8", bytes: 1 }, BoolStorage: { dtype: "BOOL", bytes: 1 },
};

/** Storage class names the pickle VM accepts. */
export const TORCH_STORAGE_TYPES: readonly string[] = Object.keys(STORAGE_DTYPES);

/** Gathers a strided view out of the decoded span of its storage. */
function gather(span: Float32Array, shape: number[], stride: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  let src = 0;
  for (let i = 0; i < n; i++) {
    out[i] = span[src];
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]++;
      src += stride[d];
      if (idx[d] < shape[d]) break;
      src -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expect) return false;
    expect *= shape[d];
  }
  return true;
}

/**
 * Reads a `torch.save` state dict tensor by tensor (float32; F16/BF16/F64/ints converted), calling `onTensor` for each
 * before reading the next. Views (offsets, strides) and storages shared by several tensors are handled.
 */
export async function forEachPytorchTensor(
  file: string,
  onTensor: (name: string, tensor: RawTensor) => void | Promise<void>,
  only?: (name: string) => boolean,
): Promise<void> {
  const fh = await openWeightsFile(file);
  try {
    const entries = await readZipDirectory(fh, file, (await fh.stat()).size);
    const pkl = [...entries.keys()].find((k) => k === "data.pkl" || k.endsWith("/data.pkl"));
    if (pkl === undefined) throw new Error(`${file}: no data.pkl in the archive; this is not a torch.save file`);
    const prefix = pkl.slice(0, pkl.length - "data.pkl".length);
    const order = entries.get(`${prefix}byteorder`);
    if (order) {
      const text = (await readAt(fh, await dataOffset(fh, order, file), order.size, file)).toString("latin1");
      if (text !== "little") throw new Error(`${file}: byte order "${text}" is not supported (only little-endian)`);
    }
    const pe = entries.get(pkl) as ZipEntry;
    const pickle = await readAt(fh, await dataOffset(fh, pe, file), pe.size, file);
    const refs = runStateDictPickle(pickle, file, TORCH_STORAGE_TYPES);
    for (const [name, ref] of refs) {
      if (only && !only(name)) continue;
      await onTensor(name, await readTensor(fh, file, entries, prefix, name, ref));
    }
  } finally {
    await fh.close();
  }
}

async function readTensor(fh: fsp.FileHandle, file: string, entries: Map<string, ZipEntry>, prefix: string, name: string, ref: TensorRef): Promise<RawTensor> {
  const { dtype, bytes } = STORAGE_DTYPES[ref.storageType];
  const entry = entries.get(`${prefix}data/${ref.storageKey}`);
  if (entry === undefined) throw new Error(`${file}: tensor "${name}" points at storage ${ref.storageKey}, which the archive lacks (truncated or corrupt file)`);
  if (entry.size !== ref.storageNumel * bytes) throw new Error(`${file}: storage ${ref.storageKey} has ${entry.size} bytes but ${ref.storageNumel} ${ref.storageType} elements need ${ref.storageNumel * bytes}`);
  const { shape, stride, offset } = ref;
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel === 0) return { shape, data: new Float32Array(0), dtype };
  const last = offset + shape.reduce((acc, s, d) => acc + (s - 1) * stride[d], 0);
  if (offset < 0 || stride.some((s) => s < 0) || last >= ref.storageNumel) {
    throw new Error(`${file}: tensor "${name}" (offset ${offset}, shape [${shape}], stride [${stride}]) reaches past its storage of ${ref.storageNumel} elements`);
  }
  const spanLen = last - offset + 1;
  const start = (await dataOffset(fh, entry, file)) + offset * bytes;
  const span = decodeLittleEndian(dtype, await readAt(fh, start, spanLen * bytes, file), spanLen);
  const data = isContiguous(shape, stride) ? span : gather(span, shape, stride);
  return { shape, data, dtype };
}

/** Reads a whole `torch.save` state dict (see `forEachPytorchTensor`). */
export async function readPytorchBin(file: string, only?: (name: string) => boolean): Promise<Map<string, RawTensor>> {
  const out = new Map<string, RawTensor>();
  await forEachPytorchTensor(file, (name, t) => void out.set(name, t), only);
  return out;
}
