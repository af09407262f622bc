# Variant of notebook 02 with deliberately wrong implementations run through each check (by-hand exercise of the checks).
import json, sys
nb = json.load(open(sys.argv[1]))
W = {
"await checkLogitDiff(solutionLogitDiff);": '''console.log("--- wrong implementations of exercise 1 ---");
await checkLogitDiff((l, a) => tf.tidy(() => solutionLogitDiff(l, a).neg()));
await checkLogitDiff((l, a) => tf.tidy(() => { const [b, , v] = l.shape; return solutionLogitDiff(l.slice([0, 0, 0], [b, 1, v]), a); }));
await checkLogitDiff((l, a) => tf.tidy(() => { const [b, s, v] = l.shape; const last = l.slice([0, s - 1, 0], [b, 1, v]).reshape([b, v]); return last.mul(tf.oneHot(tf.tensor1d(a.map((x) => x[0]), "int32"), v).sub(tf.oneHot(tf.tensor1d(a.map((x) => x[1]), "int32"), v))).sum(1); }));''',
"await checkHeadDLA(solutionHeadDLA);": '''console.log("--- wrong implementations of exercise 2 ---");
await checkHeadDLA((c, a) => tf.tidy(() => solutionHeadDLA(c, a).neg()));
await checkHeadDLA((c, a) => tf.tidy(() => { const s = c.get("ln_final.hook_scale"); const [b, q] = s.shape; const sc = s.slice([0, q - 1, 0], [b, 1, 1]).reshape([b]); return tf.tidy(() => headDla.perPrompt.mul(sc.reshape([1, b])).mean(1).reshape([cfg.nLayers, cfg.nHeads])); }));
await checkHeadDLA((c, a) => tf.tidy(() => solutionHeadDLA(c, a).transpose()));''',
"await checkResidPrePatch(solutionResidPrePatch);": '''console.log("--- wrong implementations of exercise 3 ---");
await checkResidPrePatch(async (m, ct, cc, metric) => { const out: number[][] = []; for (let l = 0; l < cfg.nLayers; l++) { const name = getActName("resid_pre", l); const logits = await m.runWithHooks(ct, { fwdHooks: [[name, () => cc.get(name).clone()]] }); const v = await metric(logits); logits.dispose(); out.push(Array(seqLen).fill(v)); } return out; });
await checkResidPrePatch(async (m, ct, cc, metric) => (await solutionResidPrePatch(m, ds.tokens, cc, metric)));''',
"await checkAttentionScores(solutionAttentionScores);": '''console.log("--- wrong implementations of exercise 4 ---");
await checkAttentionScores((c, f, t) => solutionAttentionScores(c, t, f));
await checkAttentionScores(async (c, f, t) => (await solutionAttentionScores(c, f, t)).map((r) => r.map((v) => v * N)));
await checkAttentionScores(async (c, f, t) => (await solutionAttentionScores(c, f, f.map((p) => p - 1))));''',
"await checkPathPatchToLogits(solutionPathPatchToLogits);": '''console.log("--- wrong implementations of exercise 5 ---");
await checkPathPatchToLogits(async () => await senderOnly());
await checkPathPatchToLogits(async (m, t, oc, nc, metric) => { const out: number[][] = []; for (let l = 0; l < cfg.nLayers; l++) { out.push([]); for (let h = 0; h < cfg.nHeads; h++) { const hooks: Array<[string, HookFn]> = []; for (let layer = 0; layer < cfg.nLayers; layer++) { const name = getActName("z", layer); const o = oc.get(name); hooks.push([name, layer === l ? () => tf.where(tf.oneHot(h, cfg.nHeads).reshape([1, 1, cfg.nHeads, 1]).cast("bool"), nc.get(name), o) : () => o]); } const logits = await m.runWithHooks(t, { fwdHooks: hooks }); out[l].push(await metric(logits)); logits.dispose(); } } return out; });
await checkPathPatchToLogits(async (m, t, oc, nc, metric) => solutionPathPatchToLogits(m, ds.abc.tokens, nc, oc, metric));''',
"await checkCopyingScores(solutionCopyingScores);": '''console.log("--- wrong implementations of exercise 6 ---");
await checkCopyingScores(async (m, n, k) => { const r = await solutionCopyingScores(m, n, k); return { positive: r.negative, negative: r.positive }; });
await checkCopyingScores(async (m, n, k) => { const r = await solutionCopyingScores(m, n, k); return { positive: r.positive, negative: r.positive }; });
await checkCopyingScores(async (m, n, k) => solutionCopyingScores(m, n, 1));''',
"await checkCircuitHooks(solutionCircuitHooks);": '''console.log("--- wrong implementations of exercise 7 ---");
await checkCircuitHooks(() => []);
await checkCircuitHooks((c, mc) => solutionCircuitHooks([], mc));
await checkCircuitHooks((c, mc) => solutionCircuitHooks(c.map((x) => ({ head: x.head, positions: x.positions.map(() => posEnd) })), mc));''',
}
cells = []
for c in nb["cells"]:
    cells.append(c)
    s = "".join(c["source"])
    for k, v in W.items():
        if k in s and c["cell_type"] == "code":
            cells.append({"cell_type": "code", "id": c["id"] + "w", "metadata": {}, "execution_count": None, "outputs": [], "source": v})
nb["cells"] = cells
json.dump(nb, open(sys.argv[2], "w"), indent=1)
print(len(cells))
