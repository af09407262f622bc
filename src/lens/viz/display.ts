/**
 * Showing figures and views in a notebook, through tslab's display writer (tslab.ts, the one module that finds tslab,
 * the TypeScript Jupyter kernel). In plain Node, show() prints a one-line summary.
 *
 * A figure is sent as one display_data bundle with three forms, and the frontend picks the richest it can render:
 * - application/vnd.plotly.v1+json: drawn by a plotly renderer (JupyterLab with a plotly extension, VS Code);
 * - text/html: a div and a script calling window.Plotly (classic Notebook, JupyterLab without an extension,
 *   nbconvert HTML); plotly.js itself is sent once per kernel session, inlined from plotly.js-dist (no CDN);
 * - image/png: a static picture of the figure (staticImage.ts, rendered by plotly.js in headless Chromium) for viewers
 *   that run no JavaScript; the text/html form carries the same picture (as WebP) until its script draws the plot.
 *   Left out quietly when there is no Chromium (LENS_STATIC_FIGURES=0 turns it off);
 * - text/plain: a one-line summary.
 * A view (attentionHeads, coloredTokens, …) is text/html whose static markup a script upgrades, plus text/plain.
 */
import { figureHtml, figureSummary, plotlyJs, plotlyLoaderHtml, DEFAULT_CONFIG } from "./html";
import { staticImage, warmStaticImages, type StaticImage } from "./staticImage";
import { tslabWriter } from "./tslab";
import { isFigure, isView, type HtmlView, type PlotlyFigure } from "./types";

/** The mime bundle and metadata of one display_data message. */
export interface DisplayBundle {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** Output metadata that marks the plotly.js loader (the nbconvert template drops it: the page head has plotly.js). */
export const LOADER_METADATA = { lens: { plotlyLoader: true } } as const;

/** True when running inside a tslab kernel (show() then sends display_data messages). */
export function inNotebook(): boolean {
  return tslabWriter() !== undefined;
}

/** Options for {@link displayBundle}. */
export interface BundleOptions {
  /** A static picture of the figure (from staticImage()); `true` renders one now (when Chromium is available). */
  image?: StaticImage | boolean;
}

/**
 * The display bundle of a figure (plotly JSON + HTML fallback + static image when given + text) or of a view
 * (HTML + text).
 */
export function displayBundle(item: PlotlyFigure | HtmlView, opts: BundleOptions = {}): DisplayBundle {
  if (isFigure(item)) {
    const config = { ...DEFAULT_CONFIG, ...(item.config ?? {}) };
    const image = opts.image === true ? staticImage(item) : opts.image || undefined;
    const data: Record<string, unknown> = {
      "application/vnd.plotly.v1+json": { data: item.data, layout: item.layout, config },
      "text/html": figureHtml(item, undefined, image),
    };
    if (image) data["image/png"] = image.png;
    data["text/plain"] = figureSummary(item);
    const metadata = image ? { "image/png": { width: image.width, height: image.height } } : {};
    return { data, metadata };
  }
  if (isView(item)) return { data: { "text/html": item.html, "text/plain": item.text }, metadata: {} };
  throw new Error("show: expected a plotly figure ({data, layout}) or a lens view (from attentionHeads, coloredTokens, …)");
}

/** The display bundle that defines window.Plotly in the notebook page (sent before the first figure). */
export function loaderBundle(): DisplayBundle {
  return {
    data: { "text/html": plotlyLoaderHtml(), "text/plain": `<plotly.js ${plotlyJs().version} loaded offline by lens>` },
    metadata: { ...LOADER_METADATA },
  };
}

/** Kept on globalThis so that re-running the import cell (tslab recompiles the module) does not resend plotly.js. */
const SENT = Symbol.for("lens.viz.plotlyLoaderSent");
const state = globalThis as unknown as Record<symbol, boolean | undefined>;

/** Options for {@link show}. */
export interface ShowOptions {
  /** Outside a notebook, do not print the summary line. */
  quiet?: boolean;
}

/**
 * Displays a figure or view. In a tslab notebook it sends one display_data bundle (and, before the first figure of the
 * kernel session, the plotly.js loader); a figure's bundle carries a static image when Chromium is available (the
 * first figure of a kernel waits a few seconds for Chromium to start, later ones ~0.1–0.3 s). In plain Node it prints the text/plain summary line (unless quiet). Returns
 * nothing, so that a cell ending in show(...) does not echo the bundle; displayBundle(item) gives the bundle.
 * @example
 * show(await imshow(pattern, { x: tokens, y: tokens }));
 */
export function show(item: PlotlyFigure | HtmlView, opts: ShowOptions = {}): void {
  const write = tslabWriter();
  if (!write) {
    if (!opts.quiet) console.log(String(displayBundle(item).data["text/plain"]));
    return;
  }
  warmStaticImages();
  const bundle = displayBundle(item, { image: true });
  if (isFigure(item) && !state[SENT]) {
    write({ ...loaderBundle(), transient: {} }, false);
    state[SENT] = true;
  }
  write({ ...bundle, transient: {} }, false);
}

/** Makes the next show() of a figure send plotly.js again (e.g. after the cell that carried it was cleared). */
export function resendPlotly(): void {
  state[SENT] = false;
}
