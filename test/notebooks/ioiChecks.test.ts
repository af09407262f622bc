/**
 * Notebook 02's exercise checks catch wrong answers: the committed notebook is executed (on its bundled model, as in
 * notebooks.test.ts) with a cell after each solution's check that runs the same check on deliberately wrong
 * implementations — the mistakes a learner makes (a flipped sign, the wrong position, no LayerNorm scale, patching the
 * whole sequence, swapped query/key, no freezing in path patching, every head's queries patched, a leak, swapped copying
 * signs, top-1 instead of top-5, no mean ablation, …). Each must print a "✗" line with the diagnosis the check promises,
 * never "✓"; the stub cells must print "✗ … not implemented yet" and the solutions "✓". The notebook is cut after the
 * last check, so the tail (backups, summary) is not run twice in the suite.
 * Skipped, like the other kernel tests, when tslab or Jupyter's nbclient/nbformat is missing.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { notebookSkipReason, runNotebook } from "../../scripts/notebooks";

const ROOT = resolve(__dirname, "../..");
const NOTEBOOK = join(ROOT, "notebooks", "02_ioi_activation_patching.ipynb");
const skip = notebookSkipReason() ?? false;

type Cell = { id?: string; cell_type: string; source: string | string[]; metadata: Record<string, unknown>; outputs?: Array<{ output_type: string; name?: string; text?: string | string[] }>; execution_count?: number | null };

/** After the cell that runs `anchor`: wrong implementations (one check call each) and the diagnosis each must get. */
const WRONG: Array<{ anchor: string; calls: Array<[string, RegExp]> }> = [
  {
    anchor: "await checkLogitDiff(solutionLogitDiff);",
    calls: [
      ["await checkLogitDiff((l, a) => tf.tidy(() => solutionLogitDiff(l, a).neg()));", /is minus the expected/],
      ["await checkLogitDiff((l, a) => tf.tidy(() => { const [b, , v] = l.shape; return solutionLogitDiff(l.slice([0, 0, 0], [b, 1, v]), a); }));", /you read position 0/],
      ["await checkLogitDiff((l, a) => tf.tidy(() => { const [b, s, v] = l.shape; const last = l.slice([0, s - 1, 0], [b, 1, v]).reshape([b, v]); return last.mul(tf.oneHot(tf.tensor1d(a.map((x) => x[0]), \"int32\"), v).sub(tf.oneHot(tf.tensor1d(a.map((x) => x[1]), \"int32\"), v))).sum(1); }));", /returned shape \[\d+\]; return a scalar/],
    ],
  },
  {
    anchor: "await checkHeadDLA(solutionHeadDLA);",
    calls: [
      ["await checkHeadDLA((c, a) => tf.tidy(() => solutionHeadDLA(c, a).neg()));", /wrong sign/],
      ["await checkHeadDLA((c, a) => tf.tidy(() => { const s = c.get(\"ln_final.hook_scale\"); const [b, q] = s.shape; const sc = s.slice([0, q - 1, 0], [b, 1, 1]).reshape([1, b]); return headDla.perPrompt.mul(sc).mean(1).reshape([cfg.nLayers, cfg.nHeads]); }));", /before the final LayerNorm/],
      ["await checkHeadDLA((c, a) => tf.tidy(() => solutionHeadDLA(c, a).transpose()));", /shape \[\d+,\d+\] but expected/],
    ],
  },
  {
    anchor: "await checkResidPrePatch(solutionResidPrePatch);",
    calls: [
      // the whole sequence patched at once: on an attention-only model that restores the clean run exactly, as running the clean tokens does
      ["await checkResidPrePatch(async (m, ct, cc, metric) => { const out: number[][] = []; for (let l = 0; l < cfg.nLayers; l++) { const name = getActName(\"resid_pre\", l); const logits = await m.runWithHooks(ct, { fwdHooks: [[name, () => cc.get(name).clone()]] }); const v = await metric(logits); logits.dispose(); out.push(Array(seqLen).fill(v)); } return out; });", /every cell is 1 .*patched the whole sequence/],
      ["await checkResidPrePatch(async (m, ct, cc, metric) => solutionResidPrePatch(m, ds.tokens, cc, metric));", /every cell is 1 .*ran the clean tokens/],
      ["await checkResidPrePatch(async (m, ct, cc, metric) => { const g = await solutionResidPrePatch(m, ct, cc, metric); return g[0].map((_, p) => g.map((r) => r[p])); });", /expected \d+ rows \(layers\)/],
    ],
  },
  {
    anchor: "await checkAttentionScores(solutionAttentionScores);",
    calls: [
      ["await checkAttentionScores((c, f, t) => solutionAttentionScores(c, t, f));", /every score is 0/],
      ["await checkAttentionScores(async (c, f, t) => (await solutionAttentionScores(c, f, t)).map((r) => r.map((v) => v * N)));", /outside \[0, 1\]/],
      ["await checkAttentionScores((c, f, t) => solutionAttentionScores(c, f, f.map((p) => p - 1)));", /largest difference/],
    ],
  },
  {
    anchor: "await checkPathPatchToLogits(solutionPathPatchToLogits);",
    calls: [
      ["await checkPathPatchToLogits(async () => await senderOnly());", /did not freeze the other heads/],
      ["await checkPathPatchToLogits(async (m, t, oc, nc, metric) => (await solutionPathPatchToLogits(m, t, oc, nc, metric)).map((r) => r.map((v) => -v)));", /wrong sign/],
      ["await checkPathPatchToLogits(async (m, t, oc, nc, metric) => solutionPathPatchToLogits(m, t, oc, oc, metric));", /every value is 0/],
    ],
  },
  {
    anchor: "await checkPathPatchToQueries(solutionPathPatchToQueries);",
    calls: [
      ["await checkPathPatchToQueries((m, t, oc, nc, r, metric) => solutionPathPatchToQueries(m, t, oc, nc, headNames.map((_, h) => [r[0][0], h] as HeadRef), metric));", /patched the queries of every head/],
      ["await checkPathPatchToQueries((m, t, oc, nc, r, metric) => solutionPathPatchToQueries(m, t, oc, oc, r, metric));", /every value is 0/],
      ["await checkPathPatchToQueries(async (m, t, oc, nc, r, metric) => { const out = await solutionPathPatchToQueries(m, t, oc, nc, r, metric); tf.zeros([1]); return out; });", /tensors were left behind/],
      // no freezing: step 1 patches only the sender, so later heads recompute on the ABC-changed residual stream
      ["await checkPathPatchToQueries(async (m, t, oc, nc, r, metric) => { const R = r[0][0], qName = getActName(\"q\", R); const out: number[][] = []; for (let l = 0; l < R; l++) { out.push([]); for (let h = 0; h < cfg.nHeads; h++) { const rec: tf.Tensor[] = []; const z = getActName(\"z\", l); (await m.runWithHooks(t, { fwdHooks: [[z, (act) => tf.where(tf.oneHot(h, cfg.nHeads).reshape([1, 1, cfg.nHeads, 1]).cast(\"bool\"), nc.get(z), act)], [qName, (act) => { rec.push(tf.keep(act.clone())); }]] })).dispose(); const mask = tf.oneHot(tf.tensor1d(r.map(([, rh]) => rh), \"int32\"), cfg.nHeads).sum(0).reshape([1, 1, cfg.nHeads, 1]).cast(\"bool\"); const logits = await m.runWithHooks(t, { fwdHooks: [[qName, (act) => tf.where(mask, rec[0], act)]] }); out[l].push(await metric(logits)); tf.dispose([logits, mask, ...rec]); } } return out; });", /largest difference; did you freeze/],
    ],
  },
  {
    anchor: "await checkCopyingScores(solutionCopyingScores);",
    calls: [
      ["await checkCopyingScores(async (m, n, k) => { const r = await solutionCopyingScores(m, n, k); return { positive: r.negative, negative: r.positive }; });", /swapped/],
      ["await checkCopyingScores(async (m, n, k) => { const r = await solutionCopyingScores(m, n, k); return { positive: r.positive, negative: r.positive }; });", /negative scores equal the positive/],
      ["await checkCopyingScores((m, n) => solutionCopyingScores(m, n, 1));", /top-1 scores/],
    ],
  },
  {
    anchor: "await checkCircuitHooks(solutionCircuitHooks);",
    calls: [
      ["await checkCircuitHooks(() => []);", /full model's logit difference/],
      ["await checkCircuitHooks((c, mc) => solutionCircuitHooks([], mc));", /on the circuit: logit difference .*expected/],
      ["await checkCircuitHooks((c, mc) => solutionCircuitHooks(c.map((x) => ({ head: x.head, positions: x.positions.map(() => 0) })), mc));", /logit difference .*expected/],
    ],
  },
];

const src = (c: Cell) => (Array.isArray(c.source) ? c.source.join("") : c.source);
const checkLines = (c: Cell) => (c.outputs ?? []).filter((o) => o.output_type === "stream" && o.name === "stdout")
  .map((o) => (Array.isArray(o.text) ? o.text.join("") : o.text ?? "")).join("").split("\n").filter((l) => /^[✓✗]/.test(l));

test("notebook 02: every exercise check rejects deliberately wrong implementations with its diagnosis", { skip, timeout: 900000 }, () => {
  const nb = JSON.parse(readFileSync(NOTEBOOK, "utf8")) as { cells: Cell[] };
  const cells: Cell[] = [];
  const inserted: Array<{ id: string; calls: Array<[string, RegExp]> }> = [];
  let last = -1;
  for (const c of nb.cells) {
    cells.push({ ...c, outputs: [], execution_count: null });
    const w = c.cell_type === "code" ? WRONG.find((x) => src(c).includes(x.anchor)) : undefined;
    if (w) {
      const id = `wrong${inserted.length}`;
      cells.push({ id, cell_type: "code", metadata: {}, source: w.calls.map(([call]) => call).join("\n"), outputs: [], execution_count: null });
      inserted.push({ id, calls: w.calls });
      last = cells.length;
    }
  }
  assert.deepStrictEqual(inserted.length, WRONG.length, `every anchor found in ${NOTEBOOK}`);
  const dir = mkdtempSync(join(tmpdir(), "lens-ioi-checks-"));
  try {
    const path = join(dir, "02_wrong.ipynb"), out = join(dir, "02_wrong.out.ipynb");
    writeFileSync(path, JSON.stringify({ ...nb, cells: cells.slice(0, last) }));
    const res = runNotebook(path, { outPath: out });
    assert.ok(res.ok, res.problems.join("\n\n"));
    const ran = (JSON.parse(readFileSync(out, "utf8")) as { cells: Cell[] }).cells;
    const wrong: string[] = [];
    for (const { id, calls } of inserted) {
      const lines = checkLines(ran.find((c) => c.id === id)!);
      if (lines.length !== calls.length) { wrong.push(`${id}: ${lines.length} verdicts for ${calls.length} wrong implementations:\n${lines.join("\n")}`); continue; }
      calls.forEach(([call, re], i) => {
        if (!lines[i]!.startsWith("✗") || !re.test(lines[i]!)) wrong.push(`${call}\n  → ${lines[i]}\n  (expected ✗ matching ${re})`);
      });
    }
    assert.deepStrictEqual(wrong, [], `checks that let a wrong implementation pass or misdiagnosed it:\n\n${wrong.join("\n\n")}`);
    // the stubs fail, the solutions pass
    const verdicts = ran.filter((c) => c.cell_type === "code" && !c.id?.startsWith("wrong")).flatMap(checkLines);
    assert.equal(verdicts.filter((l) => l.includes("not implemented yet")).length, WRONG.length, verdicts.join("\n"));
    assert.equal(verdicts.filter((l) => l.startsWith("✓")).length, WRONG.length, verdicts.join("\n"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
