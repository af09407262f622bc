/**
 * show() and display bundles: the three mime forms of a figure, the once-per-kernel plotly.js loader, views, and the
 * plain-Node fallback. The tslab path is exercised with a stand-in for tslab's display writer placed in require.cache
 * under the path show() looks for (…/tslab/dist/jupyter.js), which is how tslab's own display API reaches Jupyter.
 */
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { test } from "node:test";
import { Progress } from "../../../src/lens/loading/hub/progress";
import { coloredTokens, displayBundle, imshow, inNotebook, line, plotlyJs, resendPlotly, show, type DisplayBundle } from "../../../src/lens/viz/index";

const PLOTLY_MIME = "application/vnd.plotly.v1+json";

test("figure bundle: plotly JSON (with default config), text/html that draws it, text/plain summary", async () => {
  const fig = await line([1, 2, 3], { title: "t" });
  const b = displayBundle(fig);
  assert.deepStrictEqual(Object.keys(b.data).sort(), [PLOTLY_MIME, "text/html", "text/plain"].sort());
  assert.deepStrictEqual(b.data[PLOTLY_MIME], { data: fig.data, layout: fig.layout, config: { responsive: true, displaylogo: false } });
  const html = String(b.data["text/html"]);
  assert.match(html, /window\.Plotly\.newPlot\(el, fig\.data, fig\.layout, fig\.config\)/);
  assert.ok(html.includes(JSON.stringify(fig.data)), "the HTML form carries the same trace JSON");
  assert.equal(b.data["text/plain"], '<plotly figure: scatter "t">');
});

test("figure HTML: text that contains </script> cannot end the script element early", async () => {
  const fig = await imshow([[1]], { title: "</script><b>x</b>" });
  const html = String(displayBundle(fig).data["text/html"]);
  assert.equal(html.split("</script>").length, 2, "exactly one </script>: the closing tag");
  assert.ok(html.includes("\\u003c/script>"));
});

test("outside a notebook show() prints one summary line (nothing when quiet) and returns nothing", async () => {
  assert.equal(inNotebook(), false);
  const fig = await imshow([[1, 2], [3, 4]]);
  const logged: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => void logged.push(a.join(" "));
  try {
    const r: unknown = show(fig);
    show(fig, { quiet: true });
    assert.equal(r, undefined, "nothing for a notebook cell to echo");
  } finally {
    console.log = orig;
  }
  assert.deepStrictEqual(logged, ["<plotly figure: heatmap>"]);
});

test("in a tslab kernel show() sends the plotly.js loader once, then one bundle per figure or view", async () => {
  const sent: { data: Record<string, unknown>; metadata: Record<string, unknown>; update: boolean }[] = [];
  const key = "/fake/node_modules/tslab/dist/jupyter.js";
  const fake = { lastWriteDisplayData: (msg: DisplayBundle, update: boolean) => void sent.push({ ...msg, update }) };
  require.cache[key] = { exports: fake } as unknown as NodeJS.Module;
  resendPlotly();
  try {
    assert.equal(inNotebook(), true);
    const view = await coloredTokens(["a", "b"], [1, 2]);
    show(view);
    const fig = await imshow([[0, 1]]);
    show(fig);
    show(fig);
  } finally {
    delete require.cache[key];
  }
  assert.equal(sent.length, 4, "view, loader, figure, figure");
  assert.deepStrictEqual(Object.keys(sent[0].data).sort(), ["text/html", "text/plain"], "a view sends HTML and text only");
  assert.deepStrictEqual(sent[1].metadata, { lens: { plotlyLoader: true } });
  const loader = String(sent[1].data["text/html"]);
  assert.ok(loader.startsWith("<script") && loader.includes("window.Plotly"), "the loader is one inline script");
  const plotlyFile = statSync(require.resolve("plotly.js-dist")).size;
  assert.ok(loader.length >= plotlyFile * 0.99, `the loader inlines plotly.js (${loader.length} chars for a ${plotlyFile}-byte file)`);
  assert.match(String(sent[1].data["text/plain"]), new RegExp(`plotly\\.js ${plotlyJs().version.replace(/\./g, "\\.")} loaded`));
  for (const s of [sent[2], sent[3]]) {
    assert.ok(PLOTLY_MIME in s.data && "text/html" in s.data && "text/plain" in s.data);
    assert.equal(s.update, false);
  }
});

test("show() rejects things that are neither figures nor views", () => {
  assert.throws(() => show({} as never), /expected a plotly figure \(\{data, layout\}\) or a lens view/);
});

test("in a tslab kernel a download's Progress line is one output element replaced in place (one display_id)", () => {
  const sent: { data: Record<string, unknown>; transient: Record<string, unknown>; update: boolean }[] = [];
  const key = "/fake/node_modules/tslab/dist/jupyter.js";
  const fake = { lastWriteDisplayData: (msg: { data: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void sent.push({ ...msg, update }) };
  require.cache[key] = { exports: fake } as unknown as NodeJS.Module;
  try {
    const p = new Progress("model.safetensors", 2000);
    p.add(1000);
    p.add(1000);
    p.finish();
  } finally {
    delete require.cache[key];
  }
  assert.ok(sent.length >= 2, `a first line and the final one (${sent.length} sent)`);
  assert.equal(sent[0]!.update, false, "the first line is a display_data");
  assert.ok(sent.slice(1).every((s) => s.update), "later lines are update_display_data");
  const ids = new Set(sent.map((s) => s.transient.display_id));
  assert.equal(ids.size, 1, "all lines carry one display_id");
  assert.match(String(sent.at(-1)!.data["text/plain"]), /^model\.safetensors 100% \|█{20}\| 2\.00 kB\/2\.00 kB/);
});
