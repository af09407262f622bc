"""Hugging Face layouts for the tiny fixtures: configs, random weights, HF->TL conversion, HF-style forwards.

The HF-style forwards follow the transformers modelling code's own tensor manipulations (fused projections,
view/split of heads, rotate_half rotary) on the HF-layout weights, independently of the TL conversion, so that
comparing them with the TL-semantics forward checks the layout conversion (used by make_fixtures.py).
"""

import math

import numpy as np

from tl_reference import gelu_erf, gelu_new, softmax_last

V, D, H, L, NPOS = 512, 64, 4, 3, 64
DH = D // H
M = 4 * D

GPT2_CONFIG = {
    "activation_function": "gelu_new",
    "architectures": ["GPT2LMHeadModel"],
    "attn_pdrop": 0.1,
    "bos_token_id": 511,
    "embd_pdrop": 0.1,
    "eos_token_id": 511,
    "initializer_range": 0.02,
    "layer_norm_epsilon": 1e-05,
    "model_type": "gpt2",
    "n_ctx": NPOS,
    "n_embd": D,
    "n_head": H,
    "n_inner": None,
    "n_layer": L,
    "n_positions": NPOS,
    "reorder_and_upcast_attn": False,
    "resid_pdrop": 0.1,
    "scale_attn_by_inverse_layer_idx": False,
    "scale_attn_weights": True,
    "summary_activation": None,
    "summary_first_dropout": 0.1,
    "summary_proj_to_labels": True,
    "summary_type": "cls_index",
    "summary_use_proj": True,
    "tie_word_embeddings": True,
    "torch_dtype": "float32",
    "transformers_version": "4.46.3",
    "use_cache": True,
    "vocab_size": V,
}

NEOX_CONFIG = {
    "architectures": ["GPTNeoXForCausalLM"],
    "attention_bias": True,
    "attention_dropout": 0.0,
    "bos_token_id": 0,
    "classifier_dropout": 0.1,
    "eos_token_id": 0,
    "hidden_act": "gelu",
    "hidden_dropout": 0.0,
    "hidden_size": D,
    "initializer_range": 0.02,
    "intermediate_size": M,
    "layer_norm_eps": 1e-05,
    "max_position_embeddings": NPOS,
    "model_type": "gpt_neox",
    "num_attention_heads": H,
    "num_hidden_layers": L,
    "rope_scaling": None,
    "rotary_emb_base": 10000,
    "rotary_pct": 0.25,
    "tie_word_embeddings": False,
    "torch_dtype": "float16",
    "transformers_version": "4.46.3",
    "use_cache": True,
    "use_parallel_residual": True,
    "vocab_size": V,
}
NEOX_ROTARY_DIM = int(round(NEOX_CONFIG["rotary_pct"] * DH))
NEOX_BASE = float(NEOX_CONFIG["rotary_emb_base"])

# Scales (std of the normal draws). Q/K are deliberately large so that attention patterns are sharp.
QK_STD = 2.0 / math.sqrt(D)
W_STD = 1.0 / math.sqrt(D)
BIAS_STD = 0.1
# Unembedding (and GPT-2's tied wte) scale: logits std ~ 8 * 0.4 ~ 3, so the loss is ~10 rather than ~40 and the
# softmax is not saturated. W_E scale does not matter much (ln1 normalises it) beyond its ratio to W_pos.
UNEMBED_STD = 0.4


def _ln(rng):
    return 1.0 + 0.2 * rng.standard_normal(D), 0.2 * rng.standard_normal(D)


def random_gpt2(rng):
    """HF GPT-2 state dict (no `transformer.` prefix; Conv1D weights [in, out]) in float64, insertion-ordered."""
    sd = {"wte.weight": UNEMBED_STD * rng.standard_normal((V, D)), "wpe.weight": 0.2 * rng.standard_normal((NPOS, D))}
    for l in range(L):
        p = f"h.{l}."
        sd[p + "ln_1.weight"], sd[p + "ln_1.bias"] = _ln(rng)
        stds = np.concatenate([np.full(D, QK_STD), np.full(D, QK_STD), np.full(D, W_STD)])  # (qkv, head, d_head)
        sd[p + "attn.c_attn.weight"] = rng.standard_normal((D, 3 * D)) * stds[None, :]
        sd[p + "attn.c_attn.bias"] = BIAS_STD * rng.standard_normal(3 * D)
        sd[p + "attn.c_proj.weight"] = W_STD * rng.standard_normal((D, D))
        sd[p + "attn.c_proj.bias"] = BIAS_STD * rng.standard_normal(D)
        sd[p + "attn.bias"] = np.tril(np.ones((NPOS, NPOS)))[None, None]  # causal-mask buffer, ignored by loaders
        sd[p + "ln_2.weight"], sd[p + "ln_2.bias"] = _ln(rng)
        sd[p + "mlp.c_fc.weight"] = W_STD * rng.standard_normal((D, M))
        sd[p + "mlp.c_fc.bias"] = BIAS_STD * rng.standard_normal(M)
        sd[p + "mlp.c_proj.weight"] = (1.0 / math.sqrt(M)) * rng.standard_normal((M, D))
        sd[p + "mlp.c_proj.bias"] = BIAS_STD * rng.standard_normal(D)
    sd["ln_f.weight"], sd["ln_f.bias"] = _ln(rng)
    return sd


def neox_inv_freq():
    return 1.0 / (NEOX_BASE ** (np.arange(0, NEOX_ROTARY_DIM, 2, dtype=np.float64) / NEOX_ROTARY_DIM))


def random_neox(rng):
    """HF GPT-NeoX state dict (nn.Linear weights [out, in]; fused QKV output axis (head, qkv, d_head)), float64."""
    sd = {"gpt_neox.embed_in.weight": rng.standard_normal((V, D))}
    for l in range(L):
        p = f"gpt_neox.layers.{l}."
        sd[p + "input_layernorm.weight"], sd[p + "input_layernorm.bias"] = _ln(rng)
        sd[p + "post_attention_layernorm.weight"], sd[p + "post_attention_layernorm.bias"] = _ln(rng)
        per_head = np.concatenate([np.full(DH, QK_STD), np.full(DH, QK_STD), np.full(DH, W_STD)])  # (qkv, d_head)
        stds = np.tile(per_head, H)  # output axis (head, qkv, d_head)
        sd[p + "attention.query_key_value.weight"] = rng.standard_normal((3 * D, D)) * stds[:, None]
        sd[p + "attention.query_key_value.bias"] = BIAS_STD * rng.standard_normal(3 * D)
        sd[p + "attention.dense.weight"] = W_STD * rng.standard_normal((D, D))
        sd[p + "attention.dense.bias"] = BIAS_STD * rng.standard_normal(D)
        sd[p + "attention.rotary_emb.inv_freq"] = neox_inv_freq()  # buffer, ignored by loaders
        sd[p + "mlp.dense_h_to_4h.weight"] = W_STD * rng.standard_normal((M, D))
        sd[p + "mlp.dense_h_to_4h.bias"] = BIAS_STD * rng.standard_normal(M)
        sd[p + "mlp.dense_4h_to_h.weight"] = (1.0 / math.sqrt(M)) * rng.standard_normal((D, M))
        sd[p + "mlp.dense_4h_to_h.bias"] = BIAS_STD * rng.standard_normal(D)
    sd["gpt_neox.final_layer_norm.weight"], sd["gpt_neox.final_layer_norm.bias"] = _ln(rng)
    sd["embed_out.weight"] = UNEMBED_STD * rng.standard_normal((V, D))
    return sd


def gpt2_to_tl(hf):
    """HF GPT-2 -> TL layout. c_attn.weight [D, 3D], output column index = qkv*D + head*d + j."""
    tl = {"embed.W_E": hf["wte.weight"], "pos_embed.W_pos": hf["wpe.weight"][:NPOS]}
    for l in range(L):
        p, t = f"h.{l}.", f"blocks.{l}."
        tl[t + "ln1.w"], tl[t + "ln1.b"] = hf[p + "ln_1.weight"], hf[p + "ln_1.bias"]
        W = hf[p + "attn.c_attn.weight"].reshape(D, 3, H, DH)  # [in, qkv, head, d]
        b = hf[p + "attn.c_attn.bias"].reshape(3, H, DH)
        for i, X in enumerate("QKV"):
            tl[t + f"attn.W_{X}"] = W[:, i].transpose(1, 0, 2)  # [H, D, d]
            tl[t + f"attn.b_{X}"] = b[i]
        tl[t + "attn.W_O"] = hf[p + "attn.c_proj.weight"].reshape(H, DH, D)  # rows of [in=D, out=D] are (head, d)
        tl[t + "attn.b_O"] = hf[p + "attn.c_proj.bias"]
        tl[t + "ln2.w"], tl[t + "ln2.b"] = hf[p + "ln_2.weight"], hf[p + "ln_2.bias"]
        tl[t + "mlp.W_in"], tl[t + "mlp.b_in"] = hf[p + "mlp.c_fc.weight"], hf[p + "mlp.c_fc.bias"]
        tl[t + "mlp.W_out"], tl[t + "mlp.b_out"] = hf[p + "mlp.c_proj.weight"], hf[p + "mlp.c_proj.bias"]
    tl["ln_final.w"], tl["ln_final.b"] = hf["ln_f.weight"], hf["ln_f.bias"]
    tl["unembed.W_U"] = hf["wte.weight"].T  # tied
    tl["unembed.b_U"] = np.zeros(V)
    return tl


def neox_to_tl(hf):
    """HF GPT-NeoX -> TL layout. query_key_value.weight [3D, D], output row index = head*3d + qkv*d + j."""
    tl = {"embed.W_E": hf["gpt_neox.embed_in.weight"]}
    for l in range(L):
        p, t = f"gpt_neox.layers.{l}.", f"blocks.{l}."
        tl[t + "ln1.w"], tl[t + "ln1.b"] = hf[p + "input_layernorm.weight"], hf[p + "input_layernorm.bias"]
        W = hf[p + "attention.query_key_value.weight"].reshape(H, 3, DH, D)  # [head, qkv, d, in]
        b = hf[p + "attention.query_key_value.bias"].reshape(H, 3, DH)
        for i, X in enumerate("QKV"):
            tl[t + f"attn.W_{X}"] = W[:, i].transpose(0, 2, 1)  # [H, D, d]
            tl[t + f"attn.b_{X}"] = b[:, i]
        tl[t + "attn.W_O"] = hf[p + "attention.dense.weight"].T.reshape(H, DH, D)  # [out=D, in=(head,d)]
        tl[t + "attn.b_O"] = hf[p + "attention.dense.bias"]
        tl[t + "ln2.w"] = hf[p + "post_attention_layernorm.weight"]
        tl[t + "ln2.b"] = hf[p + "post_attention_layernorm.bias"]
        tl[t + "mlp.W_in"], tl[t + "mlp.b_in"] = hf[p + "mlp.dense_h_to_4h.weight"].T, hf[p + "mlp.dense_h_to_4h.bias"]
        tl[t + "mlp.W_out"], tl[t + "mlp.b_out"] = hf[p + "mlp.dense_4h_to_h.weight"].T, hf[p + "mlp.dense_4h_to_h.bias"]
    tl["ln_final.w"] = hf["gpt_neox.final_layer_norm.weight"]
    tl["ln_final.b"] = hf["gpt_neox.final_layer_norm.bias"]
    tl["unembed.W_U"] = hf["embed_out.weight"].T
    tl["unembed.b_U"] = np.zeros(V)
    return tl


def _hf_ln(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _split_heads(x):  # [B,P,D] -> [B,H,P,d]
    B, P, _ = x.shape
    return x.reshape(B, P, H, DH).transpose(0, 2, 1, 3)


def _attend(q, k, v):  # [B,H,P,d] each -> pattern [B,H,P,P], merged output [B,P,D]
    P = q.shape[2]
    w = q @ k.transpose(0, 1, 3, 2) / math.sqrt(DH)
    w = np.where(np.tril(np.ones((P, P), dtype=bool)), w, -np.inf)
    pat = softmax_last(w)
    o = pat @ v
    return pat, o.transpose(0, 2, 1, 3).reshape(q.shape[0], P, D)


def hf_gpt2_forward(hf, tokens):
    """GPT2LMHeadModel semantics on the HF layout. Returns (logits, per-layer dict of q,k,v,pattern as [B,P,H,d]...)."""
    tokens = np.asarray(tokens)
    P = tokens.shape[1]
    h = hf["wte.weight"][tokens] + hf["wpe.weight"][np.arange(P)][None]
    eps = GPT2_CONFIG["layer_norm_epsilon"]
    inner = []
    for l in range(L):
        p = f"h.{l}."
        a = _hf_ln(h, hf[p + "ln_1.weight"], hf[p + "ln_1.bias"], eps)
        qkv = a @ hf[p + "attn.c_attn.weight"] + hf[p + "attn.c_attn.bias"]
        q, k, v = (_split_heads(t) for t in np.split(qkv, 3, axis=-1))
        pat, o = _attend(q, k, v)
        attn_out = o @ hf[p + "attn.c_proj.weight"] + hf[p + "attn.c_proj.bias"]
        inner.append({"q": q.transpose(0, 2, 1, 3), "k": k.transpose(0, 2, 1, 3), "v": v.transpose(0, 2, 1, 3),
                      "pattern": pat, "attn_out": attn_out, "resid_pre": h})
        h = h + attn_out
        m = _hf_ln(h, hf[p + "ln_2.weight"], hf[p + "ln_2.bias"], eps)
        m = gelu_new(m @ hf[p + "mlp.c_fc.weight"] + hf[p + "mlp.c_fc.bias"])
        h = h + (m @ hf[p + "mlp.c_proj.weight"] + hf[p + "mlp.c_proj.bias"])
    h = _hf_ln(h, hf["ln_f.weight"], hf["ln_f.bias"], eps)
    return h @ hf["wte.weight"].T, inner


def _rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def hf_neox_forward(hf, tokens):
    """GPTNeoXForCausalLM semantics (parallel residual, rotate_half rotary) on the HF layout."""
    tokens = np.asarray(tokens)
    B, P = tokens.shape
    rd = NEOX_ROTARY_DIM
    eps = NEOX_CONFIG["layer_norm_eps"]
    h = hf["gpt_neox.embed_in.weight"][tokens]
    inner = []
    for l in range(L):
        p = f"gpt_neox.layers.{l}."
        inv_freq = neox_inv_freq()  # recomputed in float64, as transformers does; the F32 buffer is ignored
        rel = np.abs(hf[p + "attention.rotary_emb.inv_freq"] / inv_freq - 1.0).max()
        assert rel < 2.0**-23, f"stored inv_freq differs from base^(-2i/rotary_dim) by {rel}"
        freqs = np.outer(np.arange(P, dtype=np.float64), inv_freq)
        emb = np.concatenate([freqs, freqs], axis=-1)
        cos, sin = np.cos(emb)[None, None], np.sin(emb)[None, None]  # [1,1,P,rd]
        a = _hf_ln(h, hf[p + "input_layernorm.weight"], hf[p + "input_layernorm.bias"], eps)
        qkv = a @ hf[p + "attention.query_key_value.weight"].T + hf[p + "attention.query_key_value.bias"]
        qkv = qkv.reshape(B, P, H, 3 * DH).transpose(0, 2, 1, 3)  # [B,H,P,3d]
        q, k, v = qkv[..., :DH], qkv[..., DH : 2 * DH], qkv[..., 2 * DH :]
        rq = np.concatenate([q[..., :rd] * cos + _rotate_half(q[..., :rd]) * sin, q[..., rd:]], axis=-1)
        rk = np.concatenate([k[..., :rd] * cos + _rotate_half(k[..., :rd]) * sin, k[..., rd:]], axis=-1)
        pat, o = _attend(rq, rk, v)
        attn_out = o @ hf[p + "attention.dense.weight"].T + hf[p + "attention.dense.bias"]
        m = _hf_ln(h, hf[p + "post_attention_layernorm.weight"], hf[p + "post_attention_layernorm.bias"], eps)
        m = gelu_erf(m @ hf[p + "mlp.dense_h_to_4h.weight"].T + hf[p + "mlp.dense_h_to_4h.bias"])
        mlp_out = m @ hf[p + "mlp.dense_4h_to_h.weight"].T + hf[p + "mlp.dense_4h_to_h.bias"]
        t = lambda x: x.transpose(0, 2, 1, 3)  # noqa: E731
        inner.append({"q": t(q), "k": t(k), "v": t(v), "rot_q": t(rq), "rot_k": t(rk), "pattern": pat,
                      "attn_out": attn_out, "resid_pre": h})
        h = h + attn_out + mlp_out
    h = _hf_ln(h, hf["gpt_neox.final_layer_norm.weight"], hf["gpt_neox.final_layer_norm.bias"], eps)
    return h @ hf["embed_out.weight"].T, inner
