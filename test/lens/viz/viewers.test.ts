/**
 * The Node side of the viewers: colour rule, colour ranges, top-k selection (against a sort-based reference), the
 * data a view embeds, input checks, and tensor hygiene. How views behave in a browser is in browser.test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { test } from "node:test";
import { attentionHeads, coloredTokens, rangeOf, topkIndices, topkTokens, valueColor } from "../../../src/lens/viz/index";

test("valueColor: white at the low end / zero, ColorBrewer end colours at the extremes", () => {
  const u = { lo: 0, hi: 2, signed: false };
  assert.equal(valueColor(0, u), "rgb(255,255,255)");
  assert.equal(valueColor(2, u), "rgb(8,48,107)");
  assert.equal(valueColor(1, u), "rgb(132,152,181)", "halfway: (255 + 8)/2 rounded, etc.");
  const s = { lo: -4, hi: 2, signed: true };
  assert.equal(valueColor(0, s), "rgb(255,255,255)");
  assert.equal(valueColor(-4, s), "rgb(178,24,43)");
  assert.equal(valueColor(4, s), "rgb(33,102,172)", "the signed scale is symmetric: ±max|value|");
  assert.equal(valueColor(NaN, s), "rgb(235,235,235)");
});

test("rangeOf: non-negative data starts at 0; any negative value makes the scale diverging; options override", () => {
  assert.deepStrictEqual(rangeOf([0.2, 0.9], {}), { lo: 0, hi: 0.9, signed: false });
  assert.deepStrictEqual(rangeOf([-3, -1], {}), { lo: -3, hi: 0, signed: true });
  assert.deepStrictEqual(rangeOf([-1, 2, Infinity], {}), { lo: -1, hi: 2, signed: true });
  assert.deepStrictEqual(rangeOf([-1, 2], { signed: false, minValue: -5, maxValue: 5 }), { lo: -5, hi: 5, signed: false });
});

test("topkIndices matches a full sort on random rows (largest and smallest), skipping non-finite values", () => {
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 10 - 5;
  for (let trial = 0; trial < 50; trial++) {
    const row = Array.from({ length: 40 }, rand);
    row[trial % 40] = NaN;
    const order = row.map((v, i) => [v, i]).filter(([v]) => Number.isFinite(v)).sort((a, b) => b[0] - a[0]).map(([, i]) => i);
    assert.deepStrictEqual(topkIndices(row, 5), order.slice(0, 5));
    assert.deepStrictEqual(topkIndices(row, 3, true), order.slice(-3).reverse());
  }
  assert.deepStrictEqual(topkIndices([1, 2], 5), [1, 0], "k larger than the row");
});

test("topkTokens: one table row per input row, best first, labels from a function", async () => {
  const v = await topkTokens([[1, 5, 3], [0, -1, 2]], { k: 2, labels: (i) => ["a", "b", "c"][i], rowLabels: ["r0", "r1"], title: "T<" });
  const cells = [...v.html.matchAll(/<td[^>]*>([^<]*)<span class="lens-val">([^<]*)<\/span><\/td>/g)].map((m) => `${m[1]}=${m[2]}`);
  assert.deepStrictEqual(cells, ["b=5", "c=3", "c=2", "a=0"]);
  assert.ok(v.html.includes("<th>r0</th>") && v.html.includes("T&lt;"), "labels and title escaped into the table");
  assert.equal(v.text, "<topkTokens: 2 rows × top 2>");
});

test("attentionHeads: embeds tokens, head names, rounded matrices and the range; tensors read without leaks", async () => {
  const p = tf.tensor3d([[[1, 0], [0.123456, 0.876544]]]);
  const before = tf.memory().numTensors;
  const v = await attentionHeads(["x", "y"], p, { headNames: ["L0H0"] });
  assert.equal(tf.memory().numTensors, before);
  p.dispose();
  const spec = JSON.parse(/LensViews\.attentionHeads\(root, (.*)\); \}\)\(\);<\/script>/.exec(v.html)?.[1] ?? "null");
  assert.deepStrictEqual(spec, { title: "", tokens: ["x", "y"], heads: [{ name: "L0H0", matrix: [[1, 0], [0.1235, 0.8765]] }], scale: { lo: 0, hi: 1, signed: false } });
  assert.equal(v.text, "<attentionHeads: 1 heads × 2 tokens>");
});

test("viewers reject mismatched inputs with a message that names the fix", async () => {
  await assert.rejects(attentionHeads(["a"], [[[1, 0], [0, 1]]]), /1 tokens for 2 positions; pass one token string per position/);
  await assert.rejects(attentionHeads(["a", "b"], [[1, 0], [0, 1]]), /expected a 3-D tensor or array, got shape \[2, 2\]/);
  await assert.rejects(attentionHeads(["a", "b"], [[[1, 0], [0, 1]]], { headNames: ["x", "y"] }), /2 head names for 1 heads/);
  await assert.rejects(coloredTokens(["a", "b"], [1, 2, 3]), /2 tokens for 3 positions/);
});
