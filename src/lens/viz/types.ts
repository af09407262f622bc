/**
 * Shared types and small helpers for the visualisation builders: plotly figure JSON, HTML views, and reading
 * numbers out of tfjs tensors or plain arrays.
 */
import * as tf from "@tensorflow/tfjs";

/** One plotly trace (see https://plotly.com/javascript/reference/). Kept open: plotly has hundreds of attributes. */
export type PlotlyTrace = { type: string } & Record<string, unknown>;

/** A plotly figure as JSON: exactly what `Plotly.newPlot(div, data, layout, config)` and the plotly mime type take. */
export interface PlotlyFigure {
  data: PlotlyTrace[];
  layout: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** A self-contained HTML fragment (markup, CSS and script; no network) made by a viewer such as `attentionHeads`. */
export interface HtmlView {
  /** Marks the object as a view (figures have `data` and `layout` instead). */
  readonly kind: "lens-html-view";
  /** The fragment; it runs in a live notebook output, in exported HTML and in a saved page. */
  readonly html: string;
  /** A one-line description for text/plain. */
  readonly text: string;
}

/** Anything a builder accepts as numbers: a tensor or (nested) arrays. */
export type Values = tf.Tensor | number | ArrayLike<number> | ArrayLike<number>[] | ArrayLike<number>[][];

/** Nested plain arrays of any depth. */
export type Nested = number | Nested[];

/** True when `x` is a plotly figure (has `data` and `layout`). */
export function isFigure(x: unknown): x is PlotlyFigure {
  return typeof x === "object" && x !== null && Array.isArray((x as PlotlyFigure).data) && typeof (x as PlotlyFigure).layout === "object";
}

/** True when `x` is an HtmlView. */
export function isView(x: unknown): x is HtmlView {
  return typeof x === "object" && x !== null && (x as HtmlView).kind === "lens-html-view";
}

/** Reads a tensor or array into nested plain arrays (async: tensors are read with `await t.array()`). */
export async function toNested(x: Values): Promise<Nested> {
  if (x instanceof tf.Tensor) return (await x.array()) as Nested;
  if (typeof x === "number") return x;
  const out: Nested[] = [];
  for (let i = 0; i < x.length; i++) {
    const v = (x as ArrayLike<unknown>)[i];
    out.push(typeof v === "number" ? v : await toNested(v as Values));
  }
  return out;
}

function shapeOf(x: Nested): number[] {
  return Array.isArray(x) ? [x.length, ...(x.length > 0 ? shapeOf(x[0]) : [])] : [];
}

/** Reads values that must be `rank`-dimensional; `what` names the argument in the error message. */
export async function readRank(x: Values, ranks: number[], what: string): Promise<Nested> {
  const n = await toNested(x);
  const shape = shapeOf(n);
  if (!ranks.includes(shape.length)) {
    throw new Error(`${what}: expected a ${ranks.join(" or ")}-D tensor or array, got shape [${shape.join(", ")}]; reshape or index it first`);
  }
  return n;
}

/** All numbers of a nested array, in row-major order. */
export function flatten(x: Nested): number[] {
  if (!Array.isArray(x)) return [x];
  const out: number[] = [];
  const walk = (v: Nested): void => {
    if (Array.isArray(v)) for (const e of v) walk(e);
    else out.push(v);
  };
  walk(x);
  return out;
}

/** Rounds to `digits` significant digits (keeps figure JSON small); non-finite values become null (plotly gaps). */
export function roundSig(v: number, digits: number): number | null {
  if (!Number.isFinite(v)) return null;
  if (v === 0) return 0;
  return Number(v.toPrecision(digits));
}

/** Applies roundSig to every number of a nested array. */
export function roundNested(x: Nested, digits: number): unknown {
  return Array.isArray(x) ? x.map((e) => roundNested(e, digits)) : roundSig(x, digits);
}

/** The finite minimum and maximum (0, 0 when there are none). */
export function finiteRange(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/**
 * Axis labels from token strings: newlines and tabs become visible (↵, ⇥), and labels that repeat get their position
 * appended ("␣the (2)"), because plotly merges equal category names into one.
 */
export function tokenLabels(tokens: readonly string[]): string[] {
  const shown = tokens.map((t) => t.replace(/\n/g, "↵").replace(/\t/g, "⇥"));
  const counts = new Map<string, number>();
  for (const s of shown) counts.set(s, (counts.get(s) ?? 0) + 1);
  return shown.map((s, i) => ((counts.get(s) ?? 0) > 1 ? `${s} (${i})` : s));
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** JSON that is safe inside an HTML <script> element (no "</script>", no "<!--"). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** A random element id, unique enough for one page. */
export function newId(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}${Date.now().toString(36).slice(-4)}`;
}
