"""float32 NumPy forward of the large benchmark checkpoints (bench/large.ts): GPT-2 (gpt2-xl shape) and GPT-NeoX
(Pythia-2.8B shape, F16 file decoded to float32, rotary on rotary_pct of each head, parallel attention + MLP, exact GELU).

Usage: /usr/bin/python3 bench/numpy_large.py <modelDir> <outDir> [reps]
Runs 1x128 tokens (the ids of bench/checkpoint.ts's benchTokens) after a warm-up, best of reps, and prints one JSON line:
load time, forward time, peak RSS, and the max |difference| of the last position's log-probabilities against lens's
(<outDir>/lens-logprobs.f32, written by bench/large.ts's child; log-probs, because lens centres the unembedding).
"""
import json, os, resource, sys, time
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numpy_forward import attend, forward as gpt2_forward, layer_norm, read_safetensors, tokens  # noqa: E402


def erf(x):
    # Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7, below float32 resolution of GELU's output here)
    s = np.sign(x)
    a = np.abs(x)
    t = np.float32(1) / (np.float32(1) + np.float32(0.3275911) * a)
    y = np.float32(1) - (((((np.float32(1.061405429) * t - np.float32(1.453152027)) * t) + np.float32(1.421413741)) * t
                          - np.float32(0.284496736)) * t + np.float32(0.254829592)) * t * np.exp(-a * a)
    return s * y


def neox_forward(W, cfg, toks):
    B, P = toks.shape
    D, H = cfg["hidden_size"], cfg["num_attention_heads"]
    dh = D // H
    rd = int(dh * cfg["rotary_pct"])
    inv = 1.0 / (cfg["rotary_emb_base"] ** (np.arange(0, rd, 2, dtype=np.float64) / rd))
    ang = np.outer(np.arange(P), inv)
    ang = np.concatenate([ang, ang], -1)
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)

    def rope(t):
        r, rest = t[..., :rd], t[..., rd:]
        rot = np.concatenate([-r[..., rd // 2:], r[..., :rd // 2]], -1)
        return np.concatenate([r * cos + rot * sin, rest], -1)

    x = W["gpt_neox.embed_in.weight"][toks]
    mask = np.triu(np.full((P, P), -np.inf, dtype=np.float32), 1)
    scale = np.float32(1 / np.sqrt(dh))
    for l in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{l}."
        h = layer_norm(x, W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"]).reshape(B * P, D)
        qkv = (h @ W[p + "attention.query_key_value.weight"].T + W[p + "attention.query_key_value.bias"]).reshape(B, P, H, 3, dh)
        q, k, v = (qkv[:, :, :, i].transpose(0, 2, 1, 3) for i in range(3))
        q, k = rope(q), rope(k)
        z = attend(q, k, v, mask, scale)
        attn = z @ W[p + "attention.dense.weight"].T + W[p + "attention.dense.bias"]
        h2 = layer_norm(x, W[p + "post_attention_layernorm.weight"], W[p + "post_attention_layernorm.bias"]).reshape(B * P, D)
        m = h2 @ W[p + "mlp.dense_h_to_4h.weight"].T + W[p + "mlp.dense_h_to_4h.bias"]
        m = np.float32(0.5) * m * (np.float32(1) + erf(m * np.float32(1 / np.sqrt(2))))
        mlp = m @ W[p + "mlp.dense_4h_to_h.weight"].T + W[p + "mlp.dense_4h_to_h.bias"]
        x = x + (attn + mlp).reshape(B, P, D)
    h = layer_norm(x, W["gpt_neox.final_layer_norm.weight"], W["gpt_neox.final_layer_norm.bias"]).reshape(B * P, D)
    return (h @ W["embed_out.weight"].T).reshape(B, P, -1)


def main():
    model_dir, out_dir = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    t0 = time.perf_counter()
    W = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    load_s = time.perf_counter() - t0
    fwd = gpt2_forward if cfg["model_type"] == "gpt2" else neox_forward
    toks = tokens(1, 128, cfg["vocab_size"])
    fwd(W, cfg, toks)
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        logits = fwd(W, cfg, toks)
        ts.append(time.perf_counter() - t0)
    last = logits[0, -1].astype(np.float64)
    logprobs = last - last.max() - np.log(np.exp(last - last.max()).sum())
    diff = None
    f = os.path.join(out_dir, "lens-logprobs.f32")
    if os.path.exists(f):
        diff = float(np.abs(np.fromfile(f, dtype=np.float32) - logprobs).max())
    print(json.dumps({"load_s": load_s, "forward_s": min(ts), "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                      "maxAbsLogprobDiff": diff, "numpy": np.__version__}))


if __name__ == "__main__":
    main()
