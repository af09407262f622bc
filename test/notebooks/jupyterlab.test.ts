/**
 * The committed notebooks as JupyterLab shows them: every output of every notebook is rendered by JupyterLab's own
 * renderers (@jupyterlab/rendermime, @jupyterlab/outputarea; see jupyterlab.ts) in headless Chromium, twice:
 * - untrusted (a fresh clone, GitHub-like): HTML sanitised, no scripts. Every plotly figure and every viewer must
 *   still show visible, non-blank content (the static picture / static markup), and no script may have run;
 * - trusted (a live kernel session: the plotly.js loader output restored, as the kernel sends it): every figure is
 *   drawn by plotly with all its traces, every viewer's script starts, and they react to the mouse (plotly's hover
 *   label on a heatmap, a click on an attention-head thumbnail selects it).
 * Skipped with a message naming what to install when Chromium or the npm packages are missing.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { courseNotebooks } from "../../scripts/notebooks";
import { Browser, findChromium, type Page } from "../../src/lens/viz/chromium";
import { loaderBundle } from "../../src/lens/viz/display";
import { centerOf } from "../lens/viz/pageChecks";
import { bundleLabRenderer, MEASURE, missingLabPackage, outputKind, writeLabPage, type OutputKind, type RenderedOutput } from "./jupyterlab";

const chromium = findChromium();
const missing = missingLabPackage();
const skip = !chromium ? "Chromium not found (apt-get install -y chromium, or set LENS_CHROMIUM)" : missing ? `${missing} is not installed (npm install)` : false;
if (skip) console.log(`JupyterLab rendering test skipped: ${skip}`);

type Output = { output_type: string; data?: Record<string, unknown>; metadata?: Record<string, unknown> };

/** nbformat stores text as lists of lines; Jupyter's server joins them (nbformat.reads) before JupyterLab sees them. */
function joinLines(o: Output): Output {
  const join = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === "string") ? v.join("") : v);
  const out: Output & { text?: unknown } = { ...o };
  if (o.data) out.data = Object.fromEntries(Object.entries(o.data).map(([k, v]) => [k, join(v)]));
  if ("text" in o) out.text = join((o as { text?: unknown }).text);
  return out;
}

/** The notebook's outputs in order, each with its kind; with `live`, the plotly.js loader's stripped HTML restored. */
function notebookOutputs(nb: string, live: boolean): { kind: OutputKind; output: Output }[] {
  const cells = (JSON.parse(readFileSync(nb, "utf8")) as { cells: { outputs?: Output[] }[] }).cells;
  return cells.flatMap((c) => c.outputs ?? []).map((o) => {
    const loader = (o.metadata?.lens as { plotlyLoader?: boolean } | undefined)?.plotlyLoader;
    const output = live && loader ? { ...o, data: loaderBundle().data } : joinLines(o);
    return { kind: outputKind(o), output };
  });
}

async function render(page: Page, file: string, trusted: boolean): Promise<RenderedOutput[]> {
  await page.goto(pathToFileURL(file).href);
  return page.evaluate<RenderedOutput[]>(MEASURE.replace("${TRUSTED}", String(trusted)), 150000);
}

function describe(r: RenderedOutput): string {
  return `output ${r.index} (${r.kind}): ${r.width}×${r.height} px, ${r.inkPixels} ink pixels, ${r.coloured} coloured elements, plotted ${r.plotted}, ready ${r.ready}, static images ${r.staticImages}`;
}

test("JupyterLab renders every figure and viewer of the committed notebooks visibly, untrusted and trusted; trusted is interactive", { skip, timeout: 600000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "lens-lab-"));
  const t0 = Date.now();
  const bundle = await bundleLabRenderer();
  console.log(`bundled JupyterLab's renderers: ${(bundle.length / 1024).toFixed(0)} KiB in ${Date.now() - t0} ms`);
  const browser = await Browser.launch(chromium!);
  try {
    for (const nb of courseNotebooks()) {
      const name = basename(nb, ".ipynb");
      for (const trusted of [false, true]) {
        const outputs = notebookOutputs(nb, trusted);
        const file = writeLabPage(dir, `${name}-${trusted ? "trusted" : "untrusted"}`, bundle, outputs, trusted);
        const page = await browser.newPage(1200, 900);
        const t1 = Date.now();
        const rendered = await render(page, file, trusted);
        const mode = trusted ? "trusted" : "untrusted";
        const shown = rendered.filter((r) => r.kind === "figure" || r.kind === "viewer" || r.kind === "static-view");
        assert.ok(shown.some((r) => r.kind === "figure"), `${name}: the committed notebook has figures (run npm run test:notebooks -- --inplace ${nb})`);
        for (const r of shown) {
          const what = `${name} ${mode}: ${describe(r)}`;
          assert.ok(r.width >= 100 && r.height >= 20, `${what}: too small to see`);
          if (r.kind === "figure" && !trusted) {
            assert.ok(!r.plotted, `${what}: scripts must not run untrusted`);
            assert.equal(r.staticImages, 1, `${what}: the static picture is shown (re-execute the notebook with Chromium installed)`);
            assert.ok(r.inkPixels > 1000, `${what}: the picture is blank`);
          } else if (r.kind === "figure") {
            assert.ok(r.plotted, `${what}: plotly did not draw it`);
            assert.equal(r.staticImages, 0, `${what}: the static picture is replaced by the plot`);
          } else if (r.kind === "viewer") {
            assert.equal(r.ready, trusted, `${what}: the viewer script runs only when trusted`);
            assert.ok(r.inkPixels > 200 || r.coloured > 0, `${what}: blank`);
          } else {
            assert.ok(r.coloured > 0 || r.inkPixels > 200, `${what}: blank`);
          }
        }
        if (trusted) {
          // plotly: hovering the middle of the first heatmap shows its hover label.
          const heat = rendered.find((r) => r.kind === "figure" && outputs[r.index].output.data?.["application/vnd.plotly.v1+json"] && JSON.stringify((outputs[r.index].output.data!["application/vnd.plotly.v1+json"] as { data: { type: string }[] }).data[0]?.type) === '"heatmap"');
          if (heat) {
            const c = await centerOf(page, `[data-output="${heat.index}"] .nsewdrag`);
            await page.hover(c.x, c.y);
            await page.evaluate("new Promise((r) => setTimeout(r, 300))");
            const labels = await page.evaluate<number>(`document.querySelectorAll('[data-output="${heat.index}"] .hoverlayer .hovertext').length`);
            assert.ok(labels > 0, `${name}: hovering heatmap output ${heat.index} shows plotly's hover label`);
          }
          // attentionHeads: a real click on the second thumbnail selects that head.
          const heads = await page.evaluate<number>(`document.querySelectorAll(".lens-attentionHeads .lens-thumb").length`);
          if (heads >= 2) {
            const before = await page.evaluate<string>(`document.querySelector(".lens-attentionHeads").getAttribute("data-selected")`);
            const c = await centerOf(page, ".lens-attentionHeads .lens-thumb", 1);
            await page.click(c.x, c.y);
            const after = await page.evaluate<string>(`document.querySelector(".lens-attentionHeads").getAttribute("data-selected")`);
            assert.notEqual(after, before, `${name}: clicking a head thumbnail selects it`);
          }
        }
        assert.deepStrictEqual(page.errors, [], `${name} ${mode}: console errors or exceptions`);
        const n = (k: OutputKind) => shown.filter((r) => r.kind === k).length;
        console.log(`${name} ${mode}: ${n("figure")} figures, ${n("viewer")} scripted viewers, ${n("static-view")} static views visible (${Date.now() - t1} ms)`);
      }
    }
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
