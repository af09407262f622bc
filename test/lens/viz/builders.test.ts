/**
 * Figure builders against golden JSON. Provenance: every file in golden/ was written by hand (not produced by the
 * code) from plotly.js's documented schema (https://plotly.com/javascript/reference/: heatmap z/x/y/coloraxis/
 * hovertemplate, layout.coloraxis colorscale/cmid, axis domain/anchor/autorange "reversed"/dtick/automargin,
 * annotations with xref/yref "paper", scatter mode/text/marker.color, bar barmode "group", histogram nbinsx),
 * with the colour stops copied from ColorBrewer's RdBu-11 and Blues-9 palettes, and facet domains computed by hand
 * for a 1×2 grid with a 0.05 gap: width (1 − 0.05)/2 = 0.475, centres 0.2375 and 0.7625, height 120 + 260 = 380.
 * The browser test separately checks the builders' output with Plotly.validate in Chromium.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { bar, histogram, imshow, line, scatter } from "../../../src/lens/viz/index";
import { facetDomains } from "../../../src/lens/viz/imshow";
import { roundSig, tokenLabels } from "../../../src/lens/viz/types";

const golden = (name: string): unknown => JSON.parse(readFileSync(join(__dirname, "golden", name), "utf8"));

test("imshow: signed 2-D data gets the diverging scale centred on 0, labels, titles (golden)", async () => {
  const fig = await imshow([[1, -2], [0.5, 0]], { x: ["a", "b"], y: ["c", "d"], title: "signed", xTitle: "key", yTitle: "query", hoverNames: { x: "key", y: "query" } });
  assert.deepStrictEqual(JSON.parse(JSON.stringify(fig)), golden("imshow_signed.json"));
});

test("imshow: zmin/zmax set both cmin and cmax and drop cmid (plotly ignores a lone bound, and cmid with both; Plotly.validate flagged notebook 03)", async () => {
  const axis = async (o: Parameters<typeof imshow>[1]) => ((await imshow([[1, -2], [0.5, 0]], o)).layout as { coloraxis: Record<string, unknown> }).coloraxis;
  assert.deepStrictEqual([(await axis({ zmin: 0, zmax: 1 })).cmid, (await axis({ zmin: 0, zmax: 1 })).cmin, (await axis({ zmin: 0, zmax: 1 })).cmax], [undefined, 0, 1]);
  const one = await axis({ zmax: 1.5 });
  assert.deepStrictEqual([one.cmin, one.cmax, one.cmid], [-2, 1.5, undefined], "one bound: the other comes from the data (plotly drops a lone cmin/cmax)");
  assert.equal((await axis({})).cmid, 0);
});

test("imshow: a 3-D tensor gives one facet per slice with titles and a shared sequential colour axis (golden)", async () => {
  const t = tf.tensor3d([[[0.25, 0.75]], [[1, 0]]]);
  const before = tf.memory().numTensors;
  const fig = await imshow(t, { facetTitles: ["L0H0", "L0H1"] });
  assert.equal(tf.memory().numTensors, before, "imshow leaves no tensors behind");
  t.dispose();
  assert.deepStrictEqual(JSON.parse(JSON.stringify(fig)), golden("imshow_facets.json"));
});

test("imshow: tensor and array input give the same figure; errors name the problem", async () => {
  const values = [[0.1, -0.3, 0.2], [0.4, 0.5, -0.6]];
  const t = tf.tensor2d(values);
  const a = await imshow(t, { x: ["p", "q", "r"] });
  t.dispose();
  assert.deepStrictEqual(a, await imshow(values, { x: ["p", "q", "r"] }));
  await assert.rejects(imshow(values, { x: ["p"] }), /1 x labels for 3 columns/);
  await assert.rejects(imshow([1, 2, 3]), /expected a 2 or 3-D tensor or array, got shape \[3\]/);
  await assert.rejects(imshow(tf.zeros([2, 2, 2]), { facetTitles: ["a"] }), /1 facet titles for 2 facets/);
});

test("facetDomains: panels tile [0, 1] left to right and top to bottom with the documented gaps", () => {
  // 5 facets in 3 columns → 2 rows. Hand computation: w = (1 − 2·0.05)/3 = 0.3, h = (1 − 0.12)/2 = 0.44.
  assert.deepStrictEqual(facetDomains(0, 2, 3), { x: [0, 0.3], y: [0.56, 1] });
  assert.deepStrictEqual(facetDomains(2, 2, 3), { x: [0.7, 1], y: [0.56, 1] });
  assert.deepStrictEqual(facetDomains(4, 2, 3), { x: [0.35, 0.65], y: [0, 0.44] });
});

test("imshow: a 12-head facet grid has 12 traces on distinct axes and titles in order", async () => {
  const fig = await imshow(tf.randomUniform([12, 5, 5]), { facetTitles: [...Array(12).keys()].map((h) => `H${h}`), facetCols: 4 });
  assert.equal(fig.data.length, 12);
  assert.deepStrictEqual(fig.data.map((d) => d.xaxis), ["x", ...[...Array(11).keys()].map((i) => `x${i + 2}`)]);
  assert.deepStrictEqual((fig.layout.annotations as { text: string }[]).map((a) => a.text), [...Array(12).keys()].map((h) => `H${h}`));
  assert.equal(fig.layout.height, 120 + 3 * 260);
});

test("line: several series with token x labels, hover text and NaN as a gap (golden)", async () => {
  const fig = await line([[1, 2, 3], [3, NaN, 1]], { x: ["the", " cat", "the"], names: ["clean", "corrupt"], hoverText: ["the", " cat", "the"], title: "loss", yTitle: "nats" });
  assert.deepStrictEqual(JSON.parse(JSON.stringify(fig)), golden("line.json"));
  await assert.rejects(line([[1, 2]], { names: ["a", "b"] }), /2 names for 1 series/);
});

test("scatter: labels in hover, colour values (golden)", async () => {
  const fig = await scatter(tf.tensor1d([0.1, 0.2]), [3, 4], { labels: ["L0H1", "L2H3"], color: [5, 6], xTitle: "a" });
  assert.deepStrictEqual(JSON.parse(JSON.stringify(fig)), golden("scatter.json"));
  await assert.rejects(scatter([1, 2], [1]), /2 x values and 1 y values/);
});

test("bar: grouped series (golden)", async () => {
  const fig = await bar([[1, -1], [0.5, 2]], { x: ["L0", "L1"], names: ["attn", "mlp"], width: 400, height: 300 });
  assert.deepStrictEqual(JSON.parse(JSON.stringify(fig)), golden("bar.json"));
});

test("histogram: flattens any rank, drops non-finite values, rounds to 6 significant digits (golden)", async () => {
  const fig = await histogram([[1, 2, 2], [3, 1 / 3, Infinity]], { nbins: 10, name: "acts", xTitle: "activation" });
  assert.deepStrictEqual(JSON.parse(JSON.stringify(fig)), golden("histogram.json"));
});

test("tokenLabels: repeated labels get their position, newlines become visible", () => {
  assert.deepStrictEqual(tokenLabels(["the", " cat", "the", "\n"]), ["the (0)", " cat", "the (2)", "↵"]);
  assert.deepStrictEqual(tokenLabels(["a", "b"]), ["a", "b"]);
});

test("roundSig: 6 significant digits, non-finite values become null", () => {
  assert.equal(roundSig(0.123456789, 6), 0.123457);
  assert.equal(roundSig(-98765.4321, 3), -98800);
  assert.equal(roundSig(NaN, 6), null);
  assert.equal(roundSig(-Infinity, 6), null);
});
