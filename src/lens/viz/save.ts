/**
 * Saving figures and views: saveHtml writes a self-contained offline page (works everywhere); savePng renders it in
 * the system's headless Chromium and writes a PNG (needs Debian's `chromium` or $LENS_CHROMIUM).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Browser } from "./chromium";
import { pageHtml } from "./html";
import type { HtmlView, PlotlyFigure } from "./types";

type Item = PlotlyFigure | HtmlView;

/**
 * Writes one page holding the figures/views (plotly.js inlined once when there is a figure, ~11 MB; no network).
 * Creates the parent folder.
 * @example
 * await saveHtml([await imshow(pattern), await attentionHeads(tokens, pattern)], "out/attention.html");
 */
export async function saveHtml(items: Item | readonly Item[], path: string, title = "lens"): Promise<void> {
  const list = Array.isArray(items) ? (items as readonly Item[]) : [items as Item];
  mkdirSync(dirname(resolve(path)), { recursive: true });
  await writeFile(path, pageHtml(list, title), "utf8");
}

/** Options for {@link savePng}. */
export interface SavePngOptions {
  /** Viewport width in CSS pixels (default 1000; a figure without layout.width takes this width). */
  width?: number;
  /** Viewport height (default 800); the PNG covers the whole item whatever its height. */
  height?: number;
  /** Chromium executable (default findChromium()). */
  executable?: string;
}

/**
 * Renders one figure or view in headless Chromium and writes a PNG of it (cropped to the item). Throws a clear error
 * when Chromium is missing or the page reports an error.
 * @example
 * await savePng(await imshow(pattern, { x: tokens, y: tokens }), "out/pattern.png");
 */
export async function savePng(item: Item, path: string, opts: SavePngOptions = {}): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "lens-png-"));
  const browser = await Browser.launch(opts.executable);
  try {
    const page = join(dir, "page.html");
    await saveHtml(item, page);
    const tab = await browser.newPage(opts.width ?? 1000, opts.height ?? 800);
    await tab.goto(pathToFileURL(page).href);
    const box = await tab.evaluate<{ x: number; y: number; width: number; height: number } | null>(`(async () => {
      const deadline = Date.now() + 20000;
      const item = document.querySelector(".lens-item");
      const ready = () => { const p = item.querySelector(".lens-plotly"); return p ? !!p.querySelector(".main-svg") : !!item.querySelector(".lens-view"); };
      while (!ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)));
      if (!ready()) return null;
      const r = item.getBoundingClientRect();
      return { x: r.left + window.scrollX, y: r.top + window.scrollY, width: Math.ceil(r.width), height: Math.ceil(r.height) };
    })()`);
    if (!box) throw new Error(`savePng: the item did not render within 20 s; page errors: ${tab.errors.join("; ") || "none"}`);
    if (tab.errors.length > 0) throw new Error(`savePng: the page reported errors: ${tab.errors.join("; ")}`);
    mkdirSync(dirname(resolve(path)), { recursive: true });
    await writeFile(path, await tab.screenshot(box));
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
