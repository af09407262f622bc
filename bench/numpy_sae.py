"""float32 NumPy SAE training step (forward + hand-written backward + Adam), the reference for bench/sae.ts.

Usage: /usr/bin/python3 bench/numpy_sae.py [reps]   -> one JSON line with the best step time.
d_in 768, d_sae 6144, batch 4096; loss = mean_b sum_i (x_hat - x)^2 + 1e-3 * mean_b sum_j |f|.
"""
import json, resource, sys, time
import numpy as np

D_IN, D_SAE, BATCH, L1, LR = 768, 6144, 4096, 1e-3, 1e-4
rng = np.random.default_rng(0)
P = {
    "W_enc": rng.uniform(-0.02, 0.02, (D_IN, D_SAE)).astype(np.float32),
    "b_enc": np.zeros(D_SAE, np.float32),
    "W_dec": rng.uniform(-0.02, 0.02, (D_SAE, D_IN)).astype(np.float32),
    "b_dec": np.zeros(D_IN, np.float32),
}
x = rng.standard_normal((BATCH, D_IN)).astype(np.float32)
m = {k: np.zeros_like(v) for k, v in P.items()}
v = {k: np.zeros_like(v) for k, v in P.items()}
t = 0


def step():
    global t
    xc = x - P["b_dec"]
    pre = xc @ P["W_enc"] + P["b_enc"]
    f = np.maximum(pre, 0)
    x_hat = f @ P["W_dec"] + P["b_dec"]
    err = x_hat - x
    loss = (err * err).sum(-1).mean() + L1 * np.abs(f).sum(-1).mean()
    g_xhat = (2.0 / BATCH) * err
    g = {"W_dec": f.T @ g_xhat, "b_dec": g_xhat.sum(0)}
    g_f = g_xhat @ P["W_dec"].T + (L1 / BATCH) * np.sign(f)
    g_pre = g_f * (pre > 0)
    g["W_enc"] = xc.T @ g_pre
    g["b_enc"] = g_pre.sum(0)
    g["b_dec"] = g["b_dec"] - (g_pre @ P["W_enc"].T).sum(0)  # b_dec enters through xc = x - b_dec
    t += 1
    for k in P:
        m[k] = 0.9 * m[k] + 0.1 * g[k]
        v[k] = 0.999 * v[k] + 0.001 * g[k] * g[k]
        mh = m[k] / (1 - 0.9 ** t)
        vh = v[k] / (1 - 0.999 ** t)
        P[k] -= (LR * mh / (np.sqrt(vh) + 1e-7)).astype(np.float32)
    return float(loss)


reps = int(sys.argv[1]) if len(sys.argv) > 1 else 2
step()
ts = []
for _ in range(reps):
    t0 = time.perf_counter()
    step()
    ts.append(time.perf_counter() - t0)
print(json.dumps({"step_s": min(ts), "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
