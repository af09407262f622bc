/**
 * HTML for figures and pages: the `text/html` form of a plotly figure (a div and a script calling Plotly.newPlot),
 * the offline plotly.js loader, and whole self-contained pages for saveHtml. No network anywhere.
 */
import { readFileSync } from "node:fs";
import { escapeHtml, isFigure, newId, scriptJson, type HtmlView, type PlotlyFigure } from "./types";

let plotlySource: { version: string; code: string } | undefined;

/** plotly.js from the installed `plotly.js-dist` package (read once): its version and source code. */
export function plotlyJs(): { version: string; code: string } {
  if (plotlySource) return plotlySource;
  let file: string;
  try {
    file = require.resolve("plotly.js-dist");
  } catch {
    throw new Error("plotly.js-dist is not installed; run `npm install` in the project root (it is a dependency of lens)");
  }
  const code = readFileSync(file, "utf8");
  const version = /plotly\.js v(\d+\.\d+\.\d+)/.exec(code.slice(0, 200))?.[1] ?? "unknown";
  plotlySource = { version, code };
  return plotlySource;
}

/** A <script> element that defines window.Plotly from the inlined plotly.js source (about 11 MB for plotly.js-dist). */
export function plotlyLoaderHtml(): string {
  const { version, code } = plotlyJs();
  // "</script" cannot appear inside an inline script; plotly.js-dist has none today, but escape it anyway.
  const safe = code.replace(/<\/script/gi, "<\\/script");
  return `<script type="text/javascript">/* plotly.js ${version}, inlined by lens */\nif (!window.Plotly) {\n${safe}\n}</script>`;
}

/** Default plotly config: responsive, no link to plotly's cloud editor. */
export const DEFAULT_CONFIG: Record<string, unknown> = { responsive: true, displaylogo: false };

/** A static image of a figure for its text/html form: base64 WebP (see staticImage.ts) and its size in CSS pixels. */
export interface FigureImage {
  webp: string;
  width: number;
  height: number;
}

/**
 * The text/html form of a figure: a div plus a script that draws it with window.Plotly, waiting up to 10 s for
 * plotly.js to appear (it is loaded by an earlier output or by the page head). With `image`, the div first holds that
 * static picture (an <img>, kept by HTML sanitisers), which is what untrusted or script-less viewers (GitHub,
 * nbviewer, an untrusted JupyterLab) show; the script replaces it with the interactive plot. If plotly.js never
 * comes, the div says so (under the picture, when there is one) instead of staying blank.
 */
export function figureHtml(fig: PlotlyFigure, id: string = newId("lens-plot"), image?: FigureImage): string {
  const height = typeof fig.layout.height === "number" ? fig.layout.height : 450;
  const config = { ...DEFAULT_CONFIG, ...(fig.config ?? {}) };
  const img = image
    ? `<img class="lens-static" alt="${escapeHtml(figureSummary(fig))}" width="${image.width}" height="${image.height}" style="max-width:100%;height:auto" src="data:image/webp;base64,${image.webp}">`
    : "";
  return [
    `<div id="${id}" class="lens-plotly" style="width:100%;min-height:${image ? 0 : height}px">${img}</div>`,
    `<script type="text/javascript">(function () {`,
    `  var fig = ${scriptJson({ data: fig.data, layout: fig.layout, config })};`,
    `  var tries = 0;`,
    `  function draw() {`,
    `    var el = document.getElementById(${JSON.stringify(id)});`,
    `    if (!el) return;`,
    `    var still = el.querySelector(".lens-static");`,
    `    if (window.Plotly) { if (still) el.removeChild(still); el.style.minHeight = "${height}px"; window.Plotly.newPlot(el, fig.data, fig.layout, fig.config); return; }`,
    `    if (++tries < 100) { setTimeout(draw, 100); return; }`,
    `    var note = document.createElement("div");`,
    `    note.className = "lens-plotly-note";`,
    `    note.textContent = (still ? "A static image: " : "") + "plotly.js is not loaded here: re-run the cell that made the first figure (lens sends plotly.js once per kernel), or trust the notebook (File > Trust).";`,
    `    el.appendChild(note);`,
    `  }`,
    `  draw();`,
    `})();</script>`,
  ].join("\n");
}

/** The HTML fragment of a figure or view. */
export function itemHtml(item: PlotlyFigure | HtmlView): string {
  return isFigure(item) ? figureHtml(item) : item.html;
}

/**
 * A whole self-contained page (offline): plotly.js inlined once in the head when any item is a figure, then every
 * figure and view in order.
 */
export function pageHtml(items: readonly (PlotlyFigure | HtmlView)[], title = "lens"): string {
  const needsPlotly = items.some((i) => isFigure(i));
  return [
    "<!DOCTYPE html>",
    `<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<style>body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:16px;}.lens-item{margin-bottom:24px;}</style>`,
    needsPlotly ? plotlyLoaderHtml() : "",
    "</head><body>",
    ...items.map((i) => `<div class="lens-item">\n${itemHtml(i)}\n</div>`),
    "</body></html>",
    "",
  ].join("\n");
}

/** A one-line text/plain description of a figure: trace types, facet count and title. */
export function figureSummary(fig: PlotlyFigure): string {
  const counts = new Map<string, number>();
  for (const t of fig.data) counts.set(t.type, (counts.get(t.type) ?? 0) + 1);
  const types = [...counts].map(([t, n]) => (n > 1 ? `${n}×${t}` : t)).join(", ");
  const title = (fig.layout.title as { text?: string } | undefined)?.text;
  return `<plotly figure: ${types || "empty"}${title ? ` "${title}"` : ""}>`;
}
