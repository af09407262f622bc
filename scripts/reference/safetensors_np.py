"""Minimal safetensors writer/reader and bfloat16 helpers, numpy only (used by make_fixtures.py).

Format (https://github.com/huggingface/safetensors): 8-byte little-endian u64 header length N, then N bytes of
UTF-8 JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}} padded with
spaces to a multiple of 8, then the raw little-endian tensor bytes; offsets are relative to the data start.
"""

import json
import struct

import numpy as np

# dtype string -> (numpy little-endian dtype used for the raw bytes, bytes per element)
_RAW = {
    "F64": (np.dtype("<f8"), 8),
    "F32": (np.dtype("<f4"), 4),
    "F16": (np.dtype("<f2"), 2),
    "BF16": (np.dtype("<u2"), 2),  # raw bit patterns
    "I64": (np.dtype("<i8"), 8),
    "I32": (np.dtype("<i4"), 4),
    "U8": (np.dtype("u1"), 1),
}


def f32_to_bf16_bits(x):
    """float32 -> bfloat16 bit patterns (uint16): the top 16 bits, rounded to nearest, ties to even."""
    a = np.ascontiguousarray(x, dtype=np.float32)
    if not np.all(np.isfinite(a)):
        raise ValueError("f32_to_bf16_bits: non-finite input")
    bits = a.view(np.uint32).astype(np.uint64)
    lsb = (bits >> np.uint64(16)) & np.uint64(1)
    rounded = (bits + np.uint64(0x7FFF) + lsb) >> np.uint64(16)
    return rounded.astype(np.uint16)


def bf16_bits_to_f32(bits):
    """bfloat16 bit patterns (uint16) -> float32 (exact)."""
    b = np.ascontiguousarray(bits, dtype=np.uint16).astype(np.uint32) << np.uint32(16)
    return b.view(np.float32)


def encode(values, dtype):
    """Encode float values as raw bytes of the given safetensors dtype. Returns (bytes, stored values as float64)."""
    v = np.asarray(values)
    if dtype == "BF16":
        bits = f32_to_bf16_bits(v.astype(np.float32))
        return bits.astype("<u2").tobytes(), bf16_bits_to_f32(bits).astype(np.float64)
    raw, _ = _RAW[dtype]
    stored = v.astype(raw)
    if dtype in ("F16", "F32") and not np.all(np.isfinite(stored) | ~np.isfinite(v)):
        raise ValueError(f"encode: overflow converting to {dtype}")
    return stored.tobytes(), stored.astype(np.float64)


def write_safetensors(path, tensors, metadata=None):
    """Write [(name, dtype, array)] in the given order. Returns the total number of tensor data bytes."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks = []
    offset = 0
    for name, dtype, arr in tensors:
        arr = np.asarray(arr)
        data, _ = encode(arr, dtype)
        header[name] = {"dtype": dtype, "shape": [int(s) for s in arr.shape], "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * ((-len(hbytes)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for c in chunks:
            f.write(c)
    return offset


def read_safetensors(path):
    """Read a safetensors file. Returns ({name: (dtype, array decoded to float64 or int64)}, metadata)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    data = blob[8 + n :]
    meta = header.pop("__metadata__", None)
    out = {}
    ends = []
    for name, info in header.items():
        dt = info["dtype"]
        raw, size = _RAW[dt]
        b0, b1 = info["data_offsets"]
        count = int(np.prod(info["shape"], dtype=np.int64))
        if b1 - b0 != count * size:
            raise ValueError(f"{path}: {name}: byte range {b0}..{b1} does not match shape {info['shape']} {dt}")
        arr = np.frombuffer(data[b0:b1], dtype=raw).reshape(info["shape"])
        if dt == "BF16":
            arr = bf16_bits_to_f32(arr).astype(np.float64)
        elif dt.startswith("F"):
            arr = arr.astype(np.float64)
        else:
            arr = arr.astype(np.int64)
        out[name] = (dt, arr)
        ends.append((b0, b1))
    ends.sort()
    pos = 0
    for b0, b1 in ends:
        if b0 != pos:
            raise ValueError(f"{path}: data is not contiguous at byte {pos}")
        pos = b1
    if pos != len(data):
        raise ValueError(f"{path}: {len(data) - pos} trailing bytes")
    return out, meta
