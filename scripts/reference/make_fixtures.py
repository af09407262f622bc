"""Generate the tiny-model test fixtures and their float64 reference activations.

What it writes (all under test/fixtures/, ~3 MB in total):
  tiny-gpt2/            config.json + model.safetensors: a random 3-layer GPT2LMHeadModel (D=64, H=4, V=512,
                        n_positions=64) in the real openai-community/gpt2 layout (no `transformer.` prefix, Conv1D
                        [in, out] weights, tied lm_head absent, F32, plus the h.{l}.attn.bias causal-mask buffer).
  tiny-neox/            config.json + model.safetensors.index.json + two shards: a random 3-layer
                        GPTNeoXForCausalLM (rotary_pct 0.25, parallel residual, untied embed_out); shard 1 is BF16,
                        shard 2 is F16, the rotary_emb.inv_freq buffers are F32.
  tiny-{gpt2,neox}.reference.safetensors / .reference.json: every TransformerLens hook (firing order), the
                        flag-gated attn.hook_result, logits, mean and per-token next-token loss, for the raw model
                        ("raw/...") and after TL weight processing ("processed/..."), stored as F32.

Run:  /usr/bin/python3 scripts/reference/make_fixtures.py      (or `npm run fixtures`); numpy only, deterministic.

This is an independent reference written from the architecture math (HF transformers GPT-2 / GPT-NeoX semantics,
TransformerLens hook and weight-processing semantics as described in docs/sources.md §1, §2).
It is not derived from the TypeScript implementation under test. All reference arithmetic is float64, on the
weights exactly as stored (read back from the written files, i.e. after rounding to F32/BF16/F16).
Self-checks (the script fails if any does not hold): safetensors round trip; HF-layout forward (fused QKV split
the way transformers does it, rotate_half rotary) equals the TL-layout forward hook by hook; attention rows sum to
1; processed and raw log-probs agree to 1e-11; quantities that processing must leave unchanged are unchanged.
"""

import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the repository

import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402

import numpy as np  # noqa: E402

import hf_models as hm  # noqa: E402
from safetensors_np import read_safetensors, write_safetensors  # noqa: E402
from tl_reference import lm_loss, log_softmax_last, process_weights, run_tl  # noqa: E402

SEED = 20240611
B, P = 2, 9
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "test", "fixtures")
GENERATOR = "/usr/bin/python3 scripts/reference/make_fixtures.py"
PROCESSING_ORDER = ["fold_ln", "center_writing_weights", "center_unembed", "fold_value_biases"]


def rng_for(*keys):
    return np.random.default_rng([SEED, *keys])


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")


def close(a, b, tol, what):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    fin = np.isfinite(b)
    assert np.array_equal(np.isfinite(a), fin) and np.array_equal(a[~fin], b[~fin]), f"{what}: infinities differ"
    err = float(np.max(np.abs(a[fin] - b[fin]))) if fin.any() else 0.0
    assert err <= tol, f"{what}: max |diff| {err:.3e} > {tol:.1e}"
    return err


# ---------------------------------------------------------------- checkpoints


def make_gpt2():
    hf = hm.random_gpt2(rng_for(1))
    out = os.path.join(FIX, "tiny-gpt2")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(hm.GPT2_CONFIG, f, indent=2, sort_keys=True)
        f.write("\n")
    path = os.path.join(out, "model.safetensors")
    write_safetensors(path, [(k, "F32", v) for k, v in hf.items()], {"format": "pt"})
    stored, _ = read_safetensors(path)
    assert list(stored) == list(hf), "tiny-gpt2: key order/names changed in the round trip"
    for k, v in hf.items():
        assert stored[k][0] == "F32"
        close(stored[k][1], v.astype(np.float32).astype(np.float64), 0.0, f"tiny-gpt2 round trip {k}")
    return {k: a for k, (_, a) in stored.items()}


def make_neox():
    hf = hm.random_neox(rng_for(2))
    out = os.path.join(FIX, "tiny-neox")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(hm.NEOX_CONFIG, f, indent=2, sort_keys=True)
        f.write("\n")
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    shards = ([], [])
    for k, v in hf.items():
        second = k.startswith(f"gpt_neox.layers.{hm.L - 1}.") or k.startswith("gpt_neox.final_layer_norm") or (
            k == "embed_out.weight"
        )
        dtype = "F32" if k.endswith("rotary_emb.inv_freq") else ("F16" if second else "BF16")
        shards[int(second)].append((k, dtype, v))
    total = 0
    weight_map = {}
    for name, tensors in zip(names, shards):
        total += write_safetensors(os.path.join(out, name), tensors, {"format": "pt"})
        weight_map.update({k: name for k, _, _ in tensors})
    write_json(os.path.join(out, "model.safetensors.index.json"), {"metadata": {"total_size": total}, "weight_map": weight_map})
    stored = {}
    for name, tensors in zip(names, shards):
        got, meta = read_safetensors(os.path.join(out, name))
        assert meta == {"format": "pt"}
        for k, dtype, v in tensors:
            assert got[k][0] == dtype
            if dtype == "BF16":  # 8 significant bits: relative rounding error at most 2^-8
                rel = float(np.max(np.abs(got[k][1] - v) / np.abs(v)))
                assert 0 < rel <= 2.0**-8, f"BF16 round trip {k}: relative error {rel}"
            else:
                exact = v.astype(np.float16 if dtype == "F16" else np.float32).astype(np.float64)
                close(got[k][1], exact, 0.0, f"{dtype} round trip {k}")
            stored[k] = got[k][1]
    assert sorted(stored) == sorted(hf)
    return {k: stored[k] for k in hf}


# ---------------------------------------------------------------- references


def tl_config(kind):
    common = {"n_layers": hm.L, "d_model": hm.D, "n_heads": hm.H, "d_head": hm.DH, "d_mlp": hm.M, "d_vocab": hm.V,
              "n_ctx": hm.NPOS, "eps": 1e-5, "attn_scale": float(np.sqrt(hm.DH))}
    if kind == "gpt2":
        return {**common, "act_fn": "gelu_new", "positional_embedding_type": "standard", "parallel_attn_mlp": False}
    return {**common, "act_fn": "gelu", "positional_embedding_type": "rotary", "parallel_attn_mlp": True,
            "rotary_dim": hm.NEOX_ROTARY_DIM, "rotary_base": hm.NEOX_BASE}


def check_against_hf_forward(hooks, logits, hf_logits, inner, kind):
    close(logits, hf_logits, 1e-10, f"{kind}: TL-layout vs HF-layout logits")
    for l, d in enumerate(inner):
        p = f"blocks.{l}."
        for key, hook in [("q", "attn.hook_q"), ("k", "attn.hook_k"), ("v", "attn.hook_v"),
                          ("rot_q", "attn.hook_rot_q"), ("rot_k", "attn.hook_rot_k"),
                          ("pattern", "attn.hook_pattern"), ("attn_out", "hook_attn_out"),
                          ("resid_pre", "hook_resid_pre")]:
            if key in d:
                close(hooks[p + hook], d[key], 1e-10, f"{kind}: {p}{hook} vs HF-layout forward")


def check_processed(raw, proc, cfg, kind):
    """Invariants of TL weight processing (exact in real arithmetic)."""
    for name, a in raw.items():
        b = proc[name]
        if name.endswith(("hook_scale", "hook_normalized", "attn_scores", "hook_pattern", "mlp.hook_pre",
                          "mlp.hook_post", "attn.hook_q", "attn.hook_k", "hook_rot_q", "hook_rot_k")):
            close(b, a, 1e-9, f"{kind}: processing must not change {name}")
        elif "hook_resid" in name or name == "hook_embed" or name.endswith(("hook_mlp_out", "hook_attn_out")):
            close(b, a - a.mean(axis=-1, keepdims=True), 1e-9, f"{kind}: processed {name} = centred raw")
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}."
        if p + "hook_resid_pre" in proc:
            close(proc[p + "hook_resid_pre"].mean(-1), np.zeros((B, P)), 1e-12, f"{kind}: centred residual")


def pattern_stats(hooks, cfg):
    maxes = []
    for l in range(cfg["n_layers"]):
        pat = hooks[f"blocks.{l}.attn.hook_pattern"]
        close(pat.sum(-1), np.ones(pat.shape[:-1]), 1e-12, f"pattern rows sum to 1 (layer {l})")
        assert np.all(np.triu(pat, 1) == 0.0), "pattern must be exactly 0 above the diagonal"
        for q in range(1, P):
            maxes.append(pat[:, :, q, : q + 1].max(-1).ravel() * (q + 1))  # max entry / uniform 1/(q+1)
    r = np.concatenate(maxes)
    rows = [hooks[f"blocks.{l}.attn.hook_pattern"][:, :, P - 1, :].max(-1) for l in range(cfg["n_layers"])]
    last = np.stack(rows)  # [L,B,H]
    return {"maxEntryOverUniform_median": float(np.median(r)), "maxEntryOverUniform_min": float(r.min()),
            "lastRowMaxEntry_median": float(np.median(last)), "lastRowMaxEntry_min": float(last.min()),
            "uniformLastRow": 1.0 / P}


def reference(kind, hf, tokens):
    cfg = tl_config(kind)
    to_tl = hm.gpt2_to_tl if kind == "gpt2" else hm.neox_to_tl
    hf_fwd = hm.hf_gpt2_forward if kind == "gpt2" else hm.hf_neox_forward
    sd = to_tl(hf)
    raw, raw_extra, raw_logits = run_tl(sd, cfg, tokens)
    hf_logits, inner = hf_fwd(hf, tokens)
    check_against_hf_forward(raw, raw_logits, hf_logits, inner, kind)
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}."
        close(raw_extra[p + "attn.hook_result"].sum(2) + sd[p + "attn.b_O"], raw[p + "hook_attn_out"], 1e-12,
              "sum of hook_result + b_O = hook_attn_out")
    psd, steps = process_weights(sd, cfg)
    proc, proc_extra, proc_logits = run_tl(psd, cfg, tokens)
    assert list(proc) == list(raw), "processed hook order differs"
    check_processed(raw, proc, cfg, kind)
    lp_err = close(log_softmax_last(proc_logits), log_softmax_last(raw_logits), 1e-11, f"{kind}: log-probs")
    per_raw, loss_raw = lm_loss(raw_logits, tokens)
    per_proc, loss_proc = lm_loss(proc_logits, tokens)
    stats = pattern_stats(raw, cfg)
    stats.update({"lossRaw": float(loss_raw), "lossProcessed": float(loss_proc), "logProbMaxAbsDiff": lp_err,
                  "logitsStd": float(raw_logits.std()), "logitMeanShiftFromProcessing":
                  float(np.abs((raw_logits - proc_logits).mean(-1)).max())})
    tensors = []
    for tag, hooks, extra, logits, per, loss in [("raw", raw, raw_extra, raw_logits, per_raw, loss_raw),
                                                 ("processed", proc, proc_extra, proc_logits, per_proc, loss_proc)]:
        tensors += [(f"{tag}/{k}", "F32", v) for k, v in hooks.items()]
        tensors += [(f"{tag}/{k}", "F32", v) for k, v in extra.items()]
        tensors += [(f"{tag}/logits", "F32", logits), (f"{tag}/loss", "F32", np.array(loss)),
                    (f"{tag}/loss_per_token", "F32", per)]
    path = os.path.join(FIX, f"tiny-{kind}.reference.safetensors")
    write_safetensors(path, tensors, {"generator": GENERATOR, "seed": SEED})
    back, _ = read_safetensors(path)
    for name, _, v in tensors:
        close(back[name][1], np.asarray(v, dtype=np.float32).astype(np.float64), 0.0, f"reference round trip {name}")
    shapes = {k: list(v.shape) for k, v in list(raw.items()) + list(raw_extra.items())}
    shapes.update({"logits": list(raw_logits.shape), "loss": [], "loss_per_token": list(per_raw.shape)})
    meta = {
        "description": f"float64 numpy reference activations for test/fixtures/tiny-{kind} (TransformerLens "
                       "HookedTransformer semantics), stored as F32 in the .reference.safetensors next to this file.",
        "checkpoint": f"test/fixtures/tiny-{kind}",
        "generator": GENERATOR,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "seed": SEED,
        "tokens": np.asarray(tokens).tolist(),
        "tlConfig": {**cfg, "normalization_type": {"raw": "LN", "processed": "LNPre"}},
        "hookOrder": list(raw),
        "extraHooks": list(raw_extra),
        "shapes": shapes,
        "tensorNames": "raw/<hook> and processed/<hook> for every name in hookOrder and extraHooks, plus "
                       "{raw,processed}/logits [B,P,V], /loss [] (mean), /loss_per_token [B,P-1] (+NLL)",
        "processing": {
            "raw": {s: False for s in PROCESSING_ORDER},
            "processed": {**{s: True for s in PROCESSING_ORDER}, "refactor_factored_attn_matrices": False},
            "order": PROCESSING_ORDER,
            "steps": steps,
        },
        "conventions": [
            "Weights are those stored in the checkpoint (after F32/BF16/F16 rounding) converted to float64; all "
            "arithmetic float64; outputs rounded once to F32.",
            "LayerNorm: xc = x - mean(x); hook_scale = sqrt(mean(xc^2) + eps) [B,P,1]; hook_normalized = xc/scale "
            "(before the affine w,b); processed models have no affine (LNPre).",
            "hook_q/k/v [B,P,H,d] = ln1_out @ W + b per head (before rotary). hook_rot_q/k: half-split rotary on the "
            "first rotary_dim dims of each head, inv_freq_i = base^(-2i/rotary_dim), angle = pos*inv_freq_i, "
            "positions 0..P-1, (x1,x2) -> (x1 cos - x2 sin, x2 cos + x1 sin); the rest passes through.",
            "hook_attn_scores [B,H,Pq,Pk] = q.k/sqrt(d_head) with -inf above the diagonal; hook_pattern = softmax "
            "(exact 0 above the diagonal); hook_z [B,P,H,d] = pattern @ v.",
            "hook_result [B,P,H,D] = z_h @ W_O[h] (no b_O); hook_attn_out = sum_h result + b_O.",
            "GPT-2: resid_mid = resid_pre + attn_out; ln2 acts on resid_mid; resid_post = resid_mid + mlp_out. "
            "GPT-NeoX (parallel): no resid_mid; ln2 acts on resid_pre; resid_post = resid_pre + attn_out + mlp_out.",
            "MLP: hook_pre = ln2_out @ W_in + b_in; hook_post = act(pre) (GPT-2 gelu_new tanh form; NeoX exact erf "
            "GELU); hook_mlp_out = post @ W_out + b_out.",
            "logits = ln_final_out @ W_U + b_U (b_U = 0 raw). loss = mean over B x (P-1) of -log_softmax(logits)"
            "[b,p,tokens[b,p+1]]; loss_per_token is that NLL, [B,P-1].",
            "The TL 3.x unembed.hook_in/hook_out hooks are not recorded (unembed.hook_in = ln_final output, "
            "hook_out = logits).",
        ],
        "sanity": stats,
    }
    write_json(os.path.join(FIX, f"tiny-{kind}.reference.json"), meta)
    return raw, raw_extra, stats


def main():
    os.makedirs(FIX, exist_ok=True)
    report = {}
    for i, (kind, make) in enumerate([("gpt2", make_gpt2), ("neox", make_neox)]):
        hf = make()
        tokens = rng_for(100 + i).integers(0, hm.V, size=(B, P))
        raw, extra, stats = reference(kind, hf, tokens)
        report[kind] = stats
        print(f"tiny-{kind}: tokens {tokens.tolist()}")
        print(f"  {len(raw)} hooks in order, {len(extra)} extra; "
              + ", ".join(f"{k}={v:.4g}" for k, v in stats.items()))
    total = 0
    for dirpath, _, files in os.walk(FIX):
        for f in files:
            if f.startswith("tiny-") or "tiny-" in dirpath:
                size = os.path.getsize(os.path.join(dirpath, f))
                total += size
                print(f"  {os.path.relpath(os.path.join(dirpath, f), ROOT)}: {size} bytes")
    print(f"total fixture bytes: {total}")
    assert total < 3 * 1024 * 1024, "fixtures exceed 3 MB"


if __name__ == "__main__":
    main()
