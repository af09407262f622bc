/**
 * imshow: heatmaps as plotly figure JSON, with token labels, a colour scale centred on 0 for signed data, and facet
 * grids (one panel per slice of the first dimension, e.g. one per attention head).
 */
import { finiteRange, flatten, readRank, roundNested, tokenLabels, type Nested, type PlotlyFigure, type PlotlyTrace, type Values } from "./types";

/** Options for {@link imshow}. */
export interface ImshowOptions {
  /** Column labels (e.g. key / source tokens); made unique with {@link tokenLabels}. */
  x?: readonly string[];
  /** Row labels (e.g. query / destination tokens). */
  y?: readonly string[];
  /** Axis titles. */
  xTitle?: string;
  yTitle?: string;
  /** Figure title. */
  title?: string;
  /** One title per facet (3-D input); default "0", "1", …. */
  facetTitles?: readonly string[];
  /** Facets per row of the grid (default min(facets, 4)). */
  facetCols?: number;
  /** A plotly colour scale name or [[0, colour], …, [1, colour]]; default {@link DIVERGING} for signed data, else {@link SEQUENTIAL}. */
  colorScale?: string | [number, string][];
  /** Centre of the colour scale; default 0 when the data has both signs (or `signed` is true). */
  zmid?: number;
  /** Force (true) or forbid (false) the diverging, zero-centred scale; default: values have both signs. */
  signed?: boolean;
  /** Colour range limits (cmin/cmax); giving one takes the other from the data, and replaces the zero-centring. */
  zmin?: number;
  zmax?: number;
  /** Names used in the hover label for x, y and the value (default "x", "y", "value"). */
  hoverNames?: { x?: string; y?: string; z?: string };
  /** Colour bar title. */
  colorbarTitle?: string;
  /** Figure size in pixels (default: width automatic, height from the number of facet rows). */
  width?: number;
  height?: number;
  /** Significant digits kept in the JSON (default 6). */
  digits?: number;
}

/** ColorBrewer RdBu (11 classes): red for negative, white at the centre, blue for positive (as in TransformerLens plots). */
export const DIVERGING: [number, string][] = ["#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061"].map((c, i) => [i / 10, c]);
/** ColorBrewer Blues (9 classes): white for 0 / the minimum, dark blue for the maximum. */
export const SEQUENTIAL: [number, string][] = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"].map((c, i) => [i / 8, c]);
/** Axes with at most this many labels show every label (plotly would otherwise skip some). */
const ALL_TICKS_MAX = 64;

const H_GAP = 0.05;
const V_GAP = 0.12;

/** Rounds paper coordinates so that figure JSON is stable (no 0.30000000000000004). */
function r6(v: number): number {
  return Math.round(v * 1e6) / 1e6 + 0; // + 0 turns -0 into 0
}

/** The [x, y] domains of facet `i` in a grid of `rows` × `cols` (row 0 at the top). */
export function facetDomains(i: number, rows: number, cols: number): { x: [number, number]; y: [number, number] } {
  const w = (1 - (cols - 1) * H_GAP) / cols;
  const h = (1 - (rows - 1) * V_GAP) / rows;
  const c = i % cols;
  const r = Math.floor(i / cols);
  const x0 = c * (w + H_GAP);
  const y1 = 1 - r * (h + V_GAP);
  return { x: [r6(x0), r6(x0 + w)], y: [r6(y1 - h), r6(y1)] };
}

/**
 * A heatmap of a 2-D tensor/array, or a grid of heatmaps of a 3-D one (one facet per slice of the first dimension,
 * sharing one colour axis). Row 0 is at the top, as in a matrix. Signed data gets a diverging scale centred on 0.
 * @example
 * const fig = await imshow(pattern, { x: tokens, y: tokens, facetTitles: heads.map((h) => `L0H${h}`), xTitle: "key", yTitle: "query" });
 * show(fig);
 */
export async function imshow(values: Values, opts: ImshowOptions = {}): Promise<PlotlyFigure> {
  const nested = await readRank(values, [2, 3], "imshow(values)");
  const faceted = Array.isArray((nested as Nested[][])[0]?.[0]);
  const panels = (faceted ? nested : [nested]) as number[][][];
  const n = panels.length;
  const rowsLen = panels[0]?.length ?? 0;
  const colsLen = panels[0]?.[0]?.length ?? 0;
  if (opts.x && opts.x.length !== colsLen) throw new Error(`imshow: ${opts.x.length} x labels for ${colsLen} columns; pass one label per column`);
  if (opts.y && opts.y.length !== rowsLen) throw new Error(`imshow: ${opts.y.length} y labels for ${rowsLen} rows; pass one label per row`);
  if (opts.facetTitles && opts.facetTitles.length !== n) throw new Error(`imshow: ${opts.facetTitles.length} facet titles for ${n} facets; pass one per facet`);

  const [lo, hi] = finiteRange(flatten(panels));
  const signed = opts.signed ?? (lo < 0 && hi > 0);
  const coloraxis: Record<string, unknown> = { colorscale: opts.colorScale ?? (signed ? DIVERGING : SEQUENTIAL) };
  // plotly uses cmin only together with cmax (one bound alone is dropped), and ignores cmid once both are set
  // (Plotly.validate reports either as "not coerced"): one given bound takes the other from the data.
  if (opts.zmin !== undefined || opts.zmax !== undefined) {
    coloraxis.cmin = opts.zmin ?? lo;
    coloraxis.cmax = opts.zmax ?? hi;
  } else if (opts.zmid !== undefined || signed) coloraxis.cmid = opts.zmid ?? 0;
  if (opts.colorbarTitle !== undefined) coloraxis.colorbar = { title: { text: opts.colorbarTitle } };

  const xs = opts.x ? tokenLabels(opts.x) : undefined;
  const ys = opts.y ? tokenLabels(opts.y) : undefined;
  const names = { x: opts.hoverNames?.x ?? "x", y: opts.hoverNames?.y ?? "y", z: opts.hoverNames?.z ?? "value" };
  const digits = opts.digits ?? 6;
  const cols = faceted ? Math.max(1, Math.min(opts.facetCols ?? 4, n)) : 1;
  const rows = Math.ceil(n / cols);
  const layout: Record<string, unknown> = { coloraxis };
  if (opts.title !== undefined) layout.title = { text: opts.title };
  const annotations: Record<string, unknown>[] = [];
  const data: PlotlyTrace[] = panels.map((z, i) => {
    const suffix = i === 0 ? "" : String(i + 1);
    const facetTitle = faceted ? (opts.facetTitles?.[i] ?? String(i)) : "";
    const trace: PlotlyTrace = { type: "heatmap", z: roundNested(z, digits), coloraxis: "coloraxis" };
    if (xs) trace.x = xs;
    if (ys) trace.y = ys;
    trace.hovertemplate = `${names.y}: %{y}<br>${names.x}: %{x}<br>${names.z}: %{z:.4g}<extra>${facetTitle}</extra>`;
    if (faceted) {
      trace.xaxis = `x${suffix}`;
      trace.yaxis = `y${suffix}`;
    }
    const dom = facetDomains(i, rows, cols);
    const xaxis: Record<string, unknown> = { anchor: `y${suffix}`, automargin: true };
    const yaxis: Record<string, unknown> = { anchor: `x${suffix}`, autorange: "reversed", automargin: true };
    if (xs && xs.length <= ALL_TICKS_MAX) xaxis.dtick = 1;
    if (ys && ys.length <= ALL_TICKS_MAX) yaxis.dtick = 1;
    if (faceted) {
      xaxis.domain = dom.x;
      yaxis.domain = dom.y;
      annotations.push({ text: facetTitle, x: r6((dom.x[0] + dom.x[1]) / 2), y: dom.y[1], xref: "paper", yref: "paper", xanchor: "center", yanchor: "bottom", showarrow: false });
    }
    const bottom = !faceted || i + cols >= n;
    const left = !faceted || i % cols === 0;
    if (opts.xTitle !== undefined && bottom) xaxis.title = { text: opts.xTitle };
    if (opts.yTitle !== undefined && left) yaxis.title = { text: opts.yTitle };
    if (faceted && !bottom) xaxis.showticklabels = false;
    if (faceted && !left) yaxis.showticklabels = false;
    layout[`xaxis${suffix}`] = xaxis;
    layout[`yaxis${suffix}`] = yaxis;
    return trace;
  });
  if (annotations.length > 0) layout.annotations = annotations;
  if (opts.width !== undefined) layout.width = opts.width;
  if (opts.height !== undefined || faceted) layout.height = opts.height ?? 120 + rows * 260;
  return { data, layout };
}
