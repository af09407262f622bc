"""Generates the pytorch_model.bin fixtures for test/lens/loading/pytorchBin.test.ts with real torch.save.

Run with Debian's torch:  apt-get install -y python3-torch  &&  /usr/bin/python3 scripts/reference/make_pytorch_bin.py
(the committed fixtures were written by torch 1.13 from Debian bookworm).

Writes, into test/fixtures/pytorch-bin/:
- views.bin + views.expected.json: F32, F16, BF16, F64 and int64 tensors, a transposed (strided) view, a sliced view
  with a storage offset, two views sharing one storage, an nn.Parameter; the expected values are the tensors'
  contiguous float32 values (F16/BF16 values are exactly representable in float32), computed by torch itself.
- evil.bin: a torch.save whose pickle calls builtins.print (a reader must refuse it without running anything).
- tiny-neox.bin: the committed test/fixtures/tiny-neox safetensors shards as one torch state dict (same dtypes),
  for loading a .bin-only repo.
"""
import json
import os
import sys

import numpy as np
import torch

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(SCRIPTS, "..", "..", "test", "fixtures")
HERE = os.path.join(FIXTURES, "pytorch-bin")
sys.path.insert(0, SCRIPTS)
from safetensors_np import read_safetensors  # noqa: E402

torch.manual_seed(0)


def views():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8 - 1.5
    shared = torch.randn(2, 5)
    sd = {
        "f32": torch.randn(3, 4),
        "f16": (torch.randn(5) * 3).to(torch.float16),
        "bf16": (torch.randn(2, 3) * 7).to(torch.bfloat16),
        "f64": torch.randn(4, dtype=torch.float64),
        "i64": torch.tensor([0, 1, -5, 1 << 40], dtype=torch.int64),
        "transposed": base.t(),  # shape [6, 4], stride (1, 6)
        "sliced": base[1:, 2:5],  # offset 8, shape [3, 3], stride (6, 1)
        "shared_a": shared[0],  # the same storage, offsets 0 and 5
        "shared_b": shared[1],
        "scalar": torch.tensor(2.5),
        "param": torch.nn.Parameter(torch.randn(2, 2)),
    }
    expected = {}
    for k, v in sd.items():
        x = v.detach().to(torch.float32).contiguous()
        expected[k] = {"shape": list(x.shape), "values": [float(f) for f in x.flatten().tolist()], "dtype": str(v.dtype)}
    expected["_meta"] = {
        "strides": {k: list(v.stride()) for k, v in sd.items()},
        "offsets": {k: v.storage_offset() for k, v in sd.items()},
        "torch": torch.__version__,
    }
    torch.save(sd, os.path.join(HERE, "views.bin"))
    with open(os.path.join(HERE, "views.expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


class Evil:
    def __reduce__(self):
        return (print, ("this must never be printed by a reader",))


def evil():
    torch.save({"x": torch.zeros(2), "y": Evil()}, os.path.join(HERE, "evil.bin"))


def tiny_neox():
    folder = os.path.join(FIXTURES, "tiny-neox")
    index = json.load(open(os.path.join(folder, "model.safetensors.index.json")))
    sd = {}
    for shard in sorted(set(index["weight_map"].values())):
        tensors, _ = read_safetensors(os.path.join(folder, shard))
        for name, (dtype, arr) in tensors.items():
            t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))  # exact: the source is F32/F16/BF16
            sd[name] = t.to({"F16": torch.float16, "BF16": torch.bfloat16}.get(dtype, torch.float32))
    torch.save(sd, os.path.join(HERE, "tiny-neox.bin"))


if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    views()
    evil()
    tiny_neox()
