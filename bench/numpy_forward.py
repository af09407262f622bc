"""float32 NumPy GPT-2 forward on the benchmark checkpoint (the reference side of `npm run bench`).

Usage: /usr/bin/python3 bench/numpy_forward.py <modelDir> <outDir> [reps]
Reads model.safetensors with numpy only, runs 4x128, 1x1024 and 1x16 token batches (the same ids as bench/checkpoint.ts),
prints one JSON line with best-of-reps times, and compares the last-position logits of sequence 0 with the lens files in
<outDir> (logits-*.f32) when they exist. BLAS threads come from OPENBLAS_NUM_THREADS (set by the runner).
"""
import json, os, resource, struct, sys, time
import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        dt = {"F32": np.float32, "F16": np.float16}[v["dtype"]]  # F16 (Pythia's files) is decoded to float32
        out[k] = np.frombuffer(raw[base + s: base + e], dtype=dt).reshape(v["shape"]).astype(np.float32)
    return out


def tokens(batch, pos, vocab):
    s, rows = 12345, []
    for _ in range(batch):
        row = []
        for _ in range(pos):
            s = (s * 1103515245 + 12345) & 0xFFFFFFFF
            row.append(s % vocab)
        rows.append(row)
    return np.array(rows, dtype=np.int64)


def layer_norm(x, w, b, eps=1e-5):
    x = x - x.mean(-1, keepdims=True)
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w + b


def gelu_new(x):
    # x * x * x, not x ** 3: NumPy's float32 power is a slow generic pow
    return np.float32(0.5) * x * (np.float32(1) + np.tanh(np.float32(np.sqrt(2 / np.pi)) * (x + np.float32(0.044715) * (x * x * x))))


def attend(q, k, v, mask, scale):
    """Causal softmax attention of q, k, v [B, H, P, dh]; returns z as [B * P, H * dh]."""
    B, H, P, dh = q.shape
    s = q @ k.transpose(0, 1, 3, 2) * scale + mask
    s = np.exp(s - s.max(-1, keepdims=True))
    s /= s.sum(-1, keepdims=True)
    return (s @ v).transpose(0, 2, 1, 3).reshape(B * P, H * dh)


def forward(W, cfg, toks):
    B, P = toks.shape
    D, H = cfg["n_embd"], cfg["n_head"]
    dh = D // H
    x = W["wte.weight"][toks] + W["wpe.weight"][:P]
    mask = np.triu(np.full((P, P), -np.inf, dtype=np.float32), 1)
    scale = np.float32(1 / np.sqrt(dh))
    for l in range(cfg["n_layer"]):
        p = f"h.{l}."
        h = layer_norm(x, W[p + "ln_1.weight"], W[p + "ln_1.bias"]).reshape(B * P, D)
        qkv = (h @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]).reshape(B, P, 3, H, dh)
        q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
        z = attend(q, k, v, mask, scale)
        x = x + (z @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]).reshape(B, P, D)
        h = layer_norm(x, W[p + "ln_2.weight"], W[p + "ln_2.bias"]).reshape(B * P, D)
        m = gelu_new(h @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"])
        x = x + (m @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]).reshape(B, P, D)
    h = layer_norm(x, W["ln_f.weight"], W["ln_f.bias"]).reshape(B * P, D)
    return (h @ W["wte.weight"].T).reshape(B, P, -1)


def main():
    model_dir, out_dir = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    W = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    rows, compare = [], {}
    for B, P in [(4, 128), (1, 1024), (1, 16)]:
        toks = tokens(B, P, cfg["vocab_size"])
        forward(W, cfg, toks)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            logits = forward(W, cfg, toks)
            ts.append(time.perf_counter() - t0)
        rows.append({"shape": f"{B}x{P}", "forward_s": min(ts)})  # best of reps, as on the lens side
        if B == 4:
            ref = logits[0, -1]
            for f in sorted(os.listdir(out_dir)):
                if f.startswith("logits-") and f.endswith(".f32"):
                    got = np.fromfile(os.path.join(out_dir, f), dtype=np.float32)
                    compare[f[7:-4]] = float(np.abs(got - ref).max())
    print(json.dumps({"rows": rows, "maxAbsLogitDiff": compare, "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                      "numpy": np.__version__}))


if __name__ == "__main__":
    main()
