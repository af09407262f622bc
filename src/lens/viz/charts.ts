/**
 * Line, scatter, bar and histogram builders returning plotly figure JSON. They take tensors or arrays (async,
 * because tensors are read with `await t.array()`) and token strings for labels.
 */
import { flatten, readRank, roundSig, tokenLabels, type Nested, type PlotlyFigure, type PlotlyTrace, type Values } from "./types";

/** Options shared by every chart. */
export interface ChartOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  width?: number;
  height?: number;
  /** Significant digits kept in the JSON (default 6). */
  digits?: number;
}

function baseLayout(opts: ChartOptions): Record<string, unknown> {
  const layout: Record<string, unknown> = {};
  if (opts.title !== undefined) layout.title = { text: opts.title };
  if (opts.xTitle !== undefined) layout.xaxis = { title: { text: opts.xTitle } };
  if (opts.yTitle !== undefined) layout.yaxis = { title: { text: opts.yTitle } };
  if (opts.width !== undefined) layout.width = opts.width;
  if (opts.height !== undefined) layout.height = opts.height;
  return layout;
}

function rounded(values: number[], digits: number | undefined): (number | null)[] {
  return values.map((v) => roundSig(v, digits ?? 6));
}

/** Reads 1-D values as one series or 2-D values as several (one per row). */
async function series(values: Values, what: string): Promise<number[][]> {
  const n = await readRank(values, [1, 2], what);
  return (Array.isArray((n as Nested[])[0]) ? n : [n]) as number[][];
}

/** Options for {@link line}. */
export interface LineOptions extends ChartOptions {
  /** x values or labels (e.g. token strings, made unique with {@link tokenLabels}); default 0, 1, …. */
  x?: readonly (string | number)[];
  /** One legend name per series. */
  names?: readonly string[];
  /** Extra hover text per point (e.g. the token at each position), shared by every series. */
  hoverText?: readonly string[];
  /** Plotly line mode (default "lines"). */
  mode?: "lines" | "lines+markers" | "markers";
}

/**
 * One line per series: `values` is [points] or [series, points].
 * @example
 * const fig = await line(lossPerToken, { x: tokens.slice(1), names: ["loss"], yTitle: "loss", hoverText: tokens.slice(1) });
 */
export async function line(values: Values, opts: LineOptions = {}): Promise<PlotlyFigure> {
  const rows = await series(values, "line(values)");
  if (opts.names && opts.names.length !== rows.length) throw new Error(`line: ${opts.names.length} names for ${rows.length} series; pass one name per series`);
  const x = opts.x && typeof opts.x[0] === "string" ? tokenLabels(opts.x as string[]) : opts.x;
  const data = rows.map((ys, i): PlotlyTrace => {
    if (x && x.length !== ys.length) throw new Error(`line: ${x.length} x values for a series of ${ys.length} points; pass one per point`);
    const t: PlotlyTrace = { type: "scatter", mode: opts.mode ?? "lines", x: x ? [...x] : ys.map((_, j) => j), y: rounded(ys, opts.digits) };
    if (opts.names) t.name = opts.names[i];
    if (opts.hoverText) {
      t.text = [...opts.hoverText];
      t.hovertemplate = "%{text}<br>x: %{x}<br>y: %{y:.4g}";
    }
    return t;
  });
  return { data, layout: baseLayout(opts) };
}

/** Options for {@link scatter}. */
export interface ScatterOptions extends ChartOptions {
  /** Hover label per point (e.g. a token or a head name). */
  labels?: readonly string[];
  /** Values mapped to marker colour (shown with a colour bar). */
  color?: Values;
  /** Legend name. */
  name?: string;
}

/**
 * A scatter plot of points (x[i], y[i]) with optional hover labels and colours.
 * @example
 * const fig = await scatter(dla.slice([0], [12]), dlaOther, { labels: headNames, xTitle: "DLA (clean)", yTitle: "DLA (corrupted)" });
 */
export async function scatter(x: Values, y: Values, opts: ScatterOptions = {}): Promise<PlotlyFigure> {
  const xs = flatten(await readRank(x, [1], "scatter(x)"));
  const ys = flatten(await readRank(y, [1], "scatter(y)"));
  if (xs.length !== ys.length) throw new Error(`scatter: ${xs.length} x values and ${ys.length} y values; pass the same number`);
  if (opts.labels && opts.labels.length !== xs.length) throw new Error(`scatter: ${opts.labels.length} labels for ${xs.length} points; pass one per point`);
  const t: PlotlyTrace = { type: "scatter", mode: "markers", x: rounded(xs, opts.digits), y: rounded(ys, opts.digits) };
  if (opts.name !== undefined) t.name = opts.name;
  if (opts.labels) {
    t.text = [...opts.labels];
    t.hovertemplate = "%{text}<br>x: %{x:.4g}<br>y: %{y:.4g}<extra></extra>";
  }
  if (opts.color !== undefined) {
    const c = flatten(await readRank(opts.color, [1], "scatter(color)"));
    if (c.length !== xs.length) throw new Error(`scatter: ${c.length} colour values for ${xs.length} points; pass one per point`);
    t.marker = { color: rounded(c, opts.digits), colorscale: "Viridis", showscale: true };
  }
  return { data: [t], layout: baseLayout(opts) };
}

/** Options for {@link bar}. */
export interface BarOptions extends ChartOptions {
  /** One label per bar (e.g. tokens or head names); default 0, 1, …. */
  x?: readonly string[];
  /** One legend name per series (2-D values); series are grouped side by side. */
  names?: readonly string[];
}

/**
 * Bars: `values` is [bars] or [series, bars] (grouped).
 * @example
 * const fig = await bar(logitDiffPerLayer, { x: layerNames, yTitle: "logit difference" });
 */
export async function bar(values: Values, opts: BarOptions = {}): Promise<PlotlyFigure> {
  const rows = await series(values, "bar(values)");
  if (opts.names && opts.names.length !== rows.length) throw new Error(`bar: ${opts.names.length} names for ${rows.length} series; pass one name per series`);
  const x = opts.x ? tokenLabels(opts.x) : undefined;
  const data = rows.map((ys, i): PlotlyTrace => {
    if (x && x.length !== ys.length) throw new Error(`bar: ${x.length} labels for ${ys.length} bars; pass one label per bar`);
    const t: PlotlyTrace = { type: "bar", x: x ?? ys.map((_, j) => j), y: rounded(ys, opts.digits) };
    if (opts.names) t.name = opts.names[i];
    return t;
  });
  const layout = baseLayout(opts);
  if (rows.length > 1) layout.barmode = "group";
  return { data, layout };
}

/** Options for {@link histogram}. */
export interface HistogramOptions extends ChartOptions {
  /** Maximum number of bins (plotly picks nice bin edges up to this many); default plotly's automatic choice. */
  nbins?: number;
  /** Legend name. */
  name?: string;
}

/**
 * A histogram of all values of a tensor or array (flattened).
 * @example
 * const fig = await histogram(cache.get("blocks.0.attn.hook_pattern"), { nbins: 50, xTitle: "attention weight" });
 */
export async function histogram(values: Values, opts: HistogramOptions = {}): Promise<PlotlyFigure> {
  const flat = flatten(await readRank(values, [0, 1, 2, 3, 4, 5, 6], "histogram(values)"));
  const t: PlotlyTrace = { type: "histogram", x: rounded(flat, opts.digits).filter((v) => v !== null) };
  if (opts.nbins !== undefined) t.nbinsx = opts.nbins;
  if (opts.name !== undefined) t.name = opts.name;
  return { data: [t], layout: baseLayout(opts) };
}
