"""TransformerLens (HookedTransformer) forward semantics and weight processing in float64 numpy.

Written from the math (see docs/sources.md sections 1 and 2), used by make_fixtures.py.
State dicts use TL layout and names: embed.W_E [V,D], pos_embed.W_pos [n_ctx,D], blocks.{l}.ln1.w/b,
blocks.{l}.attn.W_Q/W_K/W_V [H,D,d], b_Q/b_K/b_V [H,d], W_O [H,d,D], b_O [D], blocks.{l}.ln2.w/b,
blocks.{l}.mlp.W_in [D,M], b_in [M], W_out [M,D], b_out [D], ln_final.w/b, unembed.W_U [D,V], b_U [V].
Weights multiply on the right (x @ W). LN weights absent (None) means LNPre (no affine).
"""

import math

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu_new(x):
    """GPT-2 tanh GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def gelu_erf(x):
    """Exact GELU: 0.5 x (1 + erf(x / sqrt 2)) (math.erf, float64)."""
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


ACT_FNS = {"gelu_new": gelu_new, "gelu": gelu_erf}


def softmax_last(x):
    """Softmax over the last axis; -inf entries give exactly 0."""
    m = np.max(x, axis=-1, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax_last(x):
    m = np.max(x, axis=-1, keepdims=True)
    s = x - m
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def rotary_half_split(x, rotary_dim, base):
    """NeoX/TL half-split rotary on x [B,P,H,d] at positions 0..P-1; dims >= rotary_dim pass through."""
    P = x.shape[1]
    half = rotary_dim // 2
    inv_freq = base ** (-2.0 * np.arange(half, dtype=np.float64) / rotary_dim)  # [half]
    ang = np.arange(P, dtype=np.float64)[:, None] * inv_freq[None, :]  # [P, half]
    cos = np.cos(ang)[None, :, None, :]
    sin = np.sin(ang)[None, :, None, :]
    x1 = x[..., :half]
    x2 = x[..., half:rotary_dim]
    rest = x[..., rotary_dim:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin, rest], axis=-1)


def layer_norm(x, w, b, eps, name, rec):
    """TL LayerNorm/LayerNormPre: records {name}.hook_scale and {name}.hook_normalized (before the affine)."""
    xc = x - x.mean(axis=-1, keepdims=True)
    scale = np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + eps)
    rec(name + ".hook_scale", scale)
    normed = xc / scale
    rec(name + ".hook_normalized", normed)
    if w is None:
        return normed
    return normed * w + b


def run_tl(sd, cfg, tokens):
    """Forward pass with TL hook semantics. Returns (hooks in firing order, extra flag-gated hooks, logits)."""
    hooks = {}
    extra = {}

    def rec(name, value):
        if name in hooks:
            raise AssertionError(f"hook {name} recorded twice")
        hooks[name] = value

    tokens = np.asarray(tokens)
    B, P = tokens.shape
    d = cfg["d_head"]
    embed = sd["embed.W_E"][tokens]
    rec("hook_embed", embed)
    resid = embed
    if cfg["positional_embedding_type"] == "standard":
        pos = np.broadcast_to(sd["pos_embed.W_pos"][:P][None], (B, P, cfg["d_model"])).copy()
        rec("hook_pos_embed", pos)
        resid = embed + pos
    causal = np.tril(np.ones((P, P), dtype=bool))
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}."
        rec(p + "hook_resid_pre", resid)
        x = layer_norm(resid, sd.get(p + "ln1.w"), sd.get(p + "ln1.b"), cfg["eps"], p + "ln1", rec)
        q = np.einsum("bpm,hmd->bphd", x, sd[p + "attn.W_Q"]) + sd[p + "attn.b_Q"]
        k = np.einsum("bpm,hmd->bphd", x, sd[p + "attn.W_K"]) + sd[p + "attn.b_K"]
        v = np.einsum("bpm,hmd->bphd", x, sd[p + "attn.W_V"]) + sd[p + "attn.b_V"]
        rec(p + "attn.hook_q", q)
        rec(p + "attn.hook_k", k)
        rec(p + "attn.hook_v", v)
        if cfg["positional_embedding_type"] == "rotary":
            q = rotary_half_split(q, cfg["rotary_dim"], cfg["rotary_base"])
            rec(p + "attn.hook_rot_q", q)
            k = rotary_half_split(k, cfg["rotary_dim"], cfg["rotary_base"])
            rec(p + "attn.hook_rot_k", k)
        scores = np.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(d)
        scores = np.where(causal[None, None], scores, -np.inf)
        rec(p + "attn.hook_attn_scores", scores)
        pattern = softmax_last(scores)
        rec(p + "attn.hook_pattern", pattern)
        z = np.einsum("bhqk,bkhd->bqhd", pattern, v)
        rec(p + "attn.hook_z", z)
        result = np.einsum("bqhd,hdm->bqhm", z, sd[p + "attn.W_O"])
        extra[p + "attn.hook_result"] = result
        attn_out = result.sum(axis=2) + sd[p + "attn.b_O"]
        rec(p + "hook_attn_out", attn_out)
        if cfg["parallel_attn_mlp"]:
            mlp_in = resid
        else:
            resid_mid = resid + attn_out
            rec(p + "hook_resid_mid", resid_mid)
            mlp_in = resid_mid
        x2 = layer_norm(mlp_in, sd.get(p + "ln2.w"), sd.get(p + "ln2.b"), cfg["eps"], p + "ln2", rec)
        pre = x2 @ sd[p + "mlp.W_in"] + sd[p + "mlp.b_in"]
        rec(p + "mlp.hook_pre", pre)
        post = ACT_FNS[cfg["act_fn"]](pre)
        rec(p + "mlp.hook_post", post)
        mlp_out = post @ sd[p + "mlp.W_out"] + sd[p + "mlp.b_out"]
        rec(p + "hook_mlp_out", mlp_out)
        resid = (resid + attn_out + mlp_out) if cfg["parallel_attn_mlp"] else (resid_mid + mlp_out)
        rec(p + "hook_resid_post", resid)
    xf = layer_norm(resid, sd.get("ln_final.w"), sd.get("ln_final.b"), cfg["eps"], "ln_final", rec)
    logits = xf @ sd["unembed.W_U"] + sd["unembed.b_U"]
    return hooks, extra, logits


def lm_loss(logits, tokens):
    """Next-token NLL: per-token [B,P-1] and the mean over B*(P-1)."""
    lp = log_softmax_last(logits)[:, :-1]
    nxt = np.asarray(tokens)[:, 1:]
    per = -np.take_along_axis(lp, nxt[..., None], axis=-1)[..., 0]
    return per, per.mean()


def process_weights(sd, cfg):
    """fold_ln -> center_writing_weights -> center_unembed -> fold_value_biases (+ re-centre b_O), on a copy.

    Returns (processed state dict with LN affine params removed, list of step descriptions)."""
    sd = {k: np.array(v, dtype=np.float64, copy=True) for k, v in sd.items()}
    L = cfg["n_layers"]
    # 1. fold_ln: biases first with the unscaled W, then scale by w, then centre over the d_model axis.
    for l in range(L):
        p = f"blocks.{l}."
        w, b = sd.pop(p + "ln1.w"), sd.pop(p + "ln1.b")
        for X in "QKV":
            W = sd[p + f"attn.W_{X}"]  # [H,D,d]
            sd[p + f"attn.b_{X}"] = sd[p + f"attn.b_{X}"] + np.einsum("hmd,m->hd", W, b)
            W = W * w[None, :, None]
            sd[p + f"attn.W_{X}"] = W - W.mean(axis=1, keepdims=True)
        w, b = sd.pop(p + "ln2.w"), sd.pop(p + "ln2.b")
        W = sd[p + "mlp.W_in"]  # [D,M]
        sd[p + "mlp.b_in"] = sd[p + "mlp.b_in"] + b @ W
        W = W * w[:, None]
        sd[p + "mlp.W_in"] = W - W.mean(axis=0, keepdims=True)
    w, b = sd.pop("ln_final.w"), sd.pop("ln_final.b")
    W = sd["unembed.W_U"]  # [D,V]
    sd["unembed.b_U"] = sd["unembed.b_U"] + b @ W
    W = W * w[:, None]
    sd["unembed.W_U"] = W - W.mean(axis=0, keepdims=True)
    # 2. center_writing_weights: everything that writes to the residual stream gets zero mean over d_model.
    sd["embed.W_E"] = sd["embed.W_E"] - sd["embed.W_E"].mean(axis=-1, keepdims=True)
    if "pos_embed.W_pos" in sd:  # standard positional embeddings only (not rotary)
        sd["pos_embed.W_pos"] = sd["pos_embed.W_pos"] - sd["pos_embed.W_pos"].mean(axis=-1, keepdims=True)
    for l in range(L):
        p = f"blocks.{l}."
        sd[p + "attn.W_O"] = sd[p + "attn.W_O"] - sd[p + "attn.W_O"].mean(axis=-1, keepdims=True)
        sd[p + "attn.b_O"] = sd[p + "attn.b_O"] - sd[p + "attn.b_O"].mean()
        sd[p + "mlp.W_out"] = sd[p + "mlp.W_out"] - sd[p + "mlp.W_out"].mean(axis=-1, keepdims=True)
        sd[p + "mlp.b_out"] = sd[p + "mlp.b_out"] - sd[p + "mlp.b_out"].mean()
    # 3. center_unembed: zero mean over the vocab axis.
    sd["unembed.W_U"] = sd["unembed.W_U"] - sd["unembed.W_U"].mean(axis=-1, keepdims=True)
    sd["unembed.b_U"] = sd["unembed.b_U"] - sd["unembed.b_U"].mean()
    # 4. fold_value_biases: b_O += sum_h b_V[h] @ W_O[h]; b_V = 0; then b_O -= mean(b_O) (TL 3.x process_weights
    #    re-centres b_O when centring writing weights; W_O is already centred so this is a no-op in exact math).
    recentre_shift = 0.0
    for l in range(L):
        p = f"blocks.{l}."
        b_O = sd[p + "attn.b_O"] + np.einsum("hd,hdm->m", sd[p + "attn.b_V"], sd[p + "attn.W_O"])
        sd[p + "attn.b_V"] = np.zeros_like(sd[p + "attn.b_V"])
        recentre_shift = max(recentre_shift, abs(float(b_O.mean())))
        sd[p + "attn.b_O"] = b_O - b_O.mean()
    assert recentre_shift < 1e-12, f"b_O re-centring should be a no-op, shifted by {recentre_shift}"
    steps = [
        "fold_ln: for ln1 into W_Q/W_K/W_V, ln2 into W_in, ln_final into W_U: b += ln.b @ W (unscaled W), "
        "W *= ln.w (over the d_model axis), W -= mean over d_model; LayerNorms become LNPre (no affine)",
        "center_writing_weights: W_E, W_pos (standard pos only), W_O, W_out -= mean over d_model; b_O, b_out -= mean",
        "center_unembed: W_U -= mean over vocab; b_U -= mean(b_U)",
        "fold_value_biases: b_O += sum_h b_V[h] @ W_O[h]; b_V = 0; then b_O -= mean(b_O) "
        f"(a no-op here: max |mean| before re-centring {recentre_shift:.1e})",
    ]
    return sd, steps
