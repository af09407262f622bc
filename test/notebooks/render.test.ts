/**
 * The committed course notebooks, exported to offline HTML (`npm run export`'s exportNotebook, from their stored
 * outputs), render in a real browser: in headless Chromium every plotly figure draws its SVG and all its traces,
 * passes Plotly.validate, every scripted viewer starts, and nothing logs an error. Skipped with a message when
 * nbconvert or Chromium is missing (CI installs both).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { exportNotebook, hasNbconvert } from "../../scripts/export";
import { courseNotebooks } from "../../scripts/notebooks";
import { Browser, findChromium } from "../../src/lens/viz/chromium";
import { plotReports } from "../lens/viz/pageChecks";

const chromium = findChromium();
const skip = !hasNbconvert() ? "jupyter nbconvert not found (apt-get install -y jupyter-nbconvert python3-nbformat)" : !chromium ? "Chromium not found (apt-get install -y chromium)" : false;

test("course notebooks exported to HTML render every figure and viewer in headless Chromium", { skip, timeout: 300000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "lens-course-html-"));
  const browser = await Browser.launch(chromium!);
  try {
    for (const nb of courseNotebooks()) {
      const file = exportNotebook(nb, dir);
      const html = readFileSync(file, "utf8");
      const figures = html.split('class="lens-plotly"').length - 1;
      const views = (html.match(/window\.LensViews\.[A-Za-z]+\(root, /g) ?? []).length; // scripted viewers (topk tables and SAE dashboards are static)
      assert.ok(figures > 0, `${basename(nb)}: the committed notebook has figures (run npm run test:notebooks -- --inplace ${nb})`);
      const page = await browser.newPage(1200, 900);
      await page.goto(pathToFileURL(file).href);
      const plots = await plotReports(page);
      assert.equal(plots.length, figures, `${basename(nb)}: every figure div is in the page`);
      for (const p of plots) {
        assert.ok(p.svgs >= 1, `${basename(nb)} ${p.id}: plotly drew no svg`);
        assert.equal(p.fullTraces, p.traces, `${basename(nb)} ${p.id}: ${p.fullTraces} of ${p.traces} traces drawn`);
        assert.deepStrictEqual(p.invalid, [], `${basename(nb)} ${p.id}: Plotly.validate`);
      }
      const ready = await page.evaluate<number>(`document.querySelectorAll(".lens-view[data-ready]").length`);
      assert.equal(ready, views, `${basename(nb)}: ${ready} of ${views} scripted viewers started`);
      assert.deepStrictEqual(page.errors, [], `${basename(nb)}: console errors or exceptions`);
      console.log(`${basename(nb)}: ${figures} figures and ${views} scripted viewers render`);
    }
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
