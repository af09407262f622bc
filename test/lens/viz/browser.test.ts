/**
 * Real-browser test: headless Chromium (Debian's `chromium`, driven over the DevTools pipe) opens a page written by
 * saveHtml with every kind of figure and viewer, and the test checks that every plot rendered (plotly's SVG roots,
 * all traces drawn, Plotly.validate finds nothing wrong with the builders' JSON), that no console error or exception
 * happened, and that the viewers react to real mouse clicks and hovers. A full-page screenshot is written to
 * $LENS_VIZ_SCREENSHOT (default <tmpdir>/lens-viz-browser.png) for a person to look at. Skipped, with a message,
 * only when no Chromium is installed (CI installs it).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { Browser, findChromium } from "../../../src/lens/viz/chromium";
import { rangeOf, saveHtml, savePng, valueColor } from "../../../src/lens/viz/index";
import { centerOf, plotReports, sampleItems, TOKENS } from "./pageChecks";

const chromium = findChromium();
const skip = chromium ? false : "no Chromium found (apt-get install -y chromium, or set LENS_CHROMIUM); CI installs it";

test("saved page: every figure renders, no console errors, viewers react to clicks and hovers", { skip, timeout: 180000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "lens-viz-"));
  const browser = await Browser.launch(chromium);
  try {
    const { figures, views, pattern } = await sampleItems();
    const file = join(dir, "page.html");
    await saveHtml([...figures, ...views], file, "lens viz test");
    const page = await browser.newPage(1200, 900);
    await page.goto(pathToFileURL(file).href);

    const plots = await plotReports(page);
    assert.equal(plots.length, figures.length, "one plot div per figure");
    plots.forEach((p, i) => {
      assert.ok(p.svgs >= 2, `figure ${i}: plotly drew ${p.svgs} main-svg roots`);
      assert.equal(p.fullTraces, figures[i].data.length, `figure ${i}: all traces drawn`);
      assert.deepStrictEqual(p.invalid, [], `figure ${i}: Plotly.validate`);
      const expected = figures[i].data.map((t) => (t.coloraxis as string | undefined) ?? null);
      assert.deepStrictEqual(p.coloraxes, expected, `figure ${i}: plotly used the shared colour axis`);
    });
    const heatmapImages = await page.evaluate<number>(`document.querySelectorAll(".lens-plotly .hm image").length`);
    assert.equal(heatmapImages, 4 + 1, "one heatmap image per facet (4) and for the signed imshow (1)");

    // attentionHeads: the first head starts selected; a real click on the third thumbnail selects it.
    const root = ".lens-attentionHeads";
    assert.equal(await page.evaluate(`document.querySelector("${root}").getAttribute("data-selected")`), "L0H0");
    const thumb = await centerOf(page, `${root} .lens-thumb`, 2);
    await page.click(thumb.x, thumb.y);
    assert.equal(await page.evaluate(`document.querySelector("${root}").getAttribute("data-selected")`), "L0H2", "clicking a head enlarges it");
    assert.deepStrictEqual(await page.evaluate(`Array.from(document.querySelectorAll("${root} .lens-thumb")).map((t) => t.classList.contains("lens-selected"))`), [false, false, true, false]);
    assert.match(await page.evaluate<string>(`document.querySelector("${root} .lens-detail-title").textContent`), /^L0H2/);

    // Hover over cell (q = 5, k = 2) of head 1's thumbnail: the tooltip names both tokens and the weight.
    const cell = await page.evaluate<{ x: number; y: number }>(`(() => {
      const c = document.querySelectorAll("${root} .lens-thumb canvas")[1];
      const r = c.getBoundingClientRect(), k = r.width / c.width;
      return { x: r.left + 2.5 * k, y: r.top + 5.5 * k };
    })()`);
    await page.hover(cell.x, cell.y);
    const tip = await page.evaluate<{ shown: string; text: string }>(`(() => { const t = document.querySelector("${root} .lens-tip"); return { shown: t.style.display, text: t.textContent }; })()`);
    assert.equal(tip.shown, "block");
    assert.ok(tip.text.includes(`${JSON.stringify(TOKENS[5])} ← ${JSON.stringify(TOKENS[2])}`), tip.text);
    assert.ok(tip.text.includes(`weight ${Number(pattern[1][5][2].toPrecision(4)).toPrecision(4)}`), tip.text);

    // coloredTokensMulti: clicking the second series button recolours the tokens with that series' scale.
    const multi = ".lens-coloredTokens:has(.lens-buttons)";
    const button = await centerOf(page, `${multi} .lens-buttons button`, 1);
    await page.click(button.x, button.y);
    assert.equal(await page.evaluate(`document.querySelector("${multi}").getAttribute("data-selected")`), "ramp");
    const bg = await page.evaluate<string>(`document.querySelectorAll("${multi} .lens-tok")[6].style.background`);
    const ramp = TOKENS.map((_, i) => i / TOKENS.length);
    assert.equal(bg.replace(/\s/g, ""), valueColor(Number(ramp[6].toPrecision(4)), rangeOf(ramp, {})));

    assert.deepStrictEqual(page.errors, [], "no console errors or exceptions");
    const shot = process.env.LENS_VIZ_SCREENSHOT ?? join(tmpdir(), "lens-viz-browser.png");
    writeFileSync(shot, await page.screenshot());
    console.log(`screenshot of the test page: ${shot}`);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("savePng writes a PNG of one figure, cropped to it", { skip, timeout: 120000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "lens-viz-"));
  try {
    const { figures } = await sampleItems();
    const file = join(dir, "fig.png");
    await savePng({ ...figures[2], layout: { ...figures[2].layout, width: 640, height: 360 } }, file, { executable: chromium });
    const png = readFileSync(file);
    assert.deepStrictEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "PNG signature");
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    assert.ok(width >= 640 && width <= 1000, `width ${width}: the 640-px figure inside the 1000-px page`);
    assert.ok(height >= 360 && height < 420, `height ${height}: the 360-px figure`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
