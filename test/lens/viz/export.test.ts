/**
 * Notebook → HTML export with the committed nbconvert template (jupyter/nbconvert/templates/lens), through the
 * `npm run export` script. The test writes a small notebook whose outputs are the bundles show() sends (plotly.js
 * loader, figures, viewers), exports it, and checks the HTML is self-contained (plotly.js inlined exactly once, the
 * notebook's own copy dropped, no external scripts); then, in headless Chromium, that every figure renders, viewers
 * work, and nothing logs an error. Skipped with a message when nbconvert (Debian: jupyter-nbconvert,
 * python3-nbformat) or, for the browser half, Chromium is missing.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { hasNbconvert } from "../../../scripts/export";
import { Browser, findChromium } from "../../../src/lens/viz/chromium";
import { writeNotebook } from "./notebook";
import { centerOf, plotReports, sampleItems } from "./pageChecks";

const ROOT = resolve(__dirname, "../../..");
const nbconvert = hasNbconvert();
const skip = nbconvert ? false : "jupyter nbconvert not found (apt-get install -y jupyter-nbconvert python3-nbformat); CI installs it";

test("npm run export: a notebook with figures and viewers becomes one offline HTML page where all of them render", { skip, timeout: 240000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "lens-export-"));
  try {
    const { figures, views } = await sampleItems();
    const nb = join(dir, "viz demo.ipynb");
    writeNotebook(nb, [...figures, ...views].map((item, i) => ({ code: `show(item${i});`, item })));
    const notebookBytes = readFileSync(nb).length;

    const out = join(dir, "out");
    const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "scripts", "export.ts"), "--out", out, nb], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, `export failed:\n${r.stderr}${r.stdout}`);
    const file = join(out, "viz demo.html");
    assert.ok(existsSync(file), `${file} written`);
    const html = readFileSync(file, "utf8");
    console.log(`notebook ${(notebookBytes / 1e6).toFixed(2)} MB → HTML ${(html.length / 1e6).toFixed(2)} MB`);

    assert.equal(html.split("* plotly.js v").length - 1, 1, "plotly.js inlined exactly once (the head)");
    assert.ok(!html.includes("inlined by lens */"), "the notebook's own plotly.js loader output is dropped");
    assert.deepStrictEqual(html.match(/<script[^>]*\bsrc=/g) ?? [], [], "no external scripts (require.js, MathJax, widgets)");
    assert.deepStrictEqual(html.match(/<link[^>]*\bhref="https?:/g) ?? [], [], "no external stylesheets");
    assert.equal(html.split('class="lens-plotly"').length - 1, figures.length, "every figure is in the page");

    const chromium = findChromium();
    if (!chromium) {
      t.diagnostic("Chromium not found: rendering of the exported page not checked (apt-get install -y chromium)");
      return;
    }
    const browser = await Browser.launch(chromium);
    try {
      const page = await browser.newPage(1200, 900);
      await page.goto(pathToFileURL(file).href);
      const plots = await plotReports(page);
      assert.equal(plots.length, figures.length);
      plots.forEach((p, i) => {
        assert.ok(p.svgs >= 2, `figure ${i}: ${p.svgs} main-svg roots`);
        assert.equal(p.fullTraces, figures[i].data.length, `figure ${i}: all traces drawn`);
        assert.deepStrictEqual(p.invalid, [], `figure ${i}: Plotly.validate`);
      });
      assert.equal(await page.evaluate(`document.querySelectorAll(".lens-view[data-ready]").length`), views.length - 1, "every scripted view started (topk is static)");
      const thumb = await centerOf(page, ".lens-attentionHeads .lens-thumb", 3);
      await page.click(thumb.x, thumb.y);
      assert.equal(await page.evaluate(`document.querySelector(".lens-attentionHeads").getAttribute("data-selected")`), "L0H3");
      assert.deepStrictEqual(page.errors, [], "no console errors or exceptions");
    } finally {
      await browser.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
