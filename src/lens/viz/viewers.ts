/**
 * Interactive viewers in plain HTML/JS/CSS (no network, no libraries), in the spirit of CircuitsVis: a grid of
 * attention heads (click to enlarge, hover for source/destination tokens and weight), one attention pattern, tokens
 * coloured by values (one or several series), and top-k token tables. Each returns an HtmlView for show()/saveHtml().
 */
import { staticHeads, staticTokens, valueRgb } from "./staticViews";
import { VIEWER_CSS, VIEWER_JS } from "./viewerRuntime";
import { escapeHtml, finiteRange, flatten, newId, readRank, roundNested, scriptJson, type HtmlView, type Nested, type Values } from "./types";

/** The value range a colour scale covers; signed scales are centred on 0. */
export interface ColorScaleRange {
  lo: number;
  hi: number;
  signed: boolean;
}

/** Colour-range options shared by the viewers. */
export interface RangeOptions {
  /** Lower / upper end of the colour scale (default: the data's range, and 0 as the lower end for non-negative data). */
  minValue?: number;
  maxValue?: number;
  /** Force (true) or forbid (false) the diverging scale (red negative, white 0, blue positive); default: any value is negative. */
  signed?: boolean;
  /** Significant digits kept in the page (default 4). */
  digits?: number;
}

/** The colour range of some values under the options (exported for tests). */
export function rangeOf(values: number[], opts: RangeOptions): ColorScaleRange {
  const [lo, hi] = finiteRange(values);
  const signed = opts.signed ?? lo < 0;
  return { lo: opts.minValue ?? (signed ? lo : Math.min(0, lo)), hi: opts.maxValue ?? (signed ? Math.max(0, hi) : hi), signed };
}

/** The CSS colour of value `v` (same rule as the browser runtime): white → blue, or red ← white → blue when signed. */
// The browser runtime (viewerRuntime.ts, `color`) repeats this rule in plain JS: change both together.
export function valueColor(v: number, s: ColorScaleRange): string {
  return `rgb(${valueRgb(v, s).join(",")})`;
}

/** White text where the background is dark (|t| > 0.55 of the range), else the default. */
function inkStyle(v: number, s: ColorScaleRange): string {
  if (!Number.isFinite(v)) return "";
  const t = s.signed ? Math.abs(v) / (Math.max(Math.abs(s.lo), Math.abs(s.hi)) || 1) : s.hi > s.lo ? (v - s.lo) / (s.hi - s.lo) : 0;
  return t > 0.55 ? ";color:#fff" : "";
}

/**
 * A view: a root div holding static markup (seen where scripts do not run: untrusted notebooks, GitHub, nbviewer),
 * the CSS, and a script that clears the root and builds the interactive viewer in it.
 */
function view(kind: string, spec: unknown, text: string, staticHtml: string): HtmlView {
  const id = newId("lens-view");
  const html = [
    `<div id="${id}" class="lens-view lens-${kind}">${staticHtml}</div>`,
    `<style>${VIEWER_CSS}</style>`,
    `<script type="text/javascript">${VIEWER_JS}`,
    `(function () { var root = document.getElementById(${JSON.stringify(id)}); if (!root || root.getAttribute("data-ready")) return;`,
    `  root.setAttribute("data-ready", "1"); root.innerHTML = ""; window.LensViews.${kind}(root, ${scriptJson(spec)}); })();</script>`,
  ].join("\n");
  return { kind: "lens-html-view", html, text };
}

function checkTokens(tokens: readonly string[], n: number, what: string): void {
  if (tokens.length !== n) throw new Error(`${what}: ${tokens.length} tokens for ${n} positions; pass one token string per position (model.toStrTokens(text))`);
}

/** Options for {@link attentionHeads}. */
export interface AttentionHeadsOptions extends RangeOptions {
  /** One name per head (default "Head 0", "Head 1", …). */
  headNames?: readonly string[];
  title?: string;
}

/**
 * A grid of small heatmaps, one per head, of attention patterns [head, query, key]; click a head to enlarge it, hover
 * for destination/source tokens and the weight; hover a token under the enlarged head to colour what it attends to.
 * @example
 * const pattern = cache.get("blocks.0.attn.hook_pattern"); // [head, q, k] with removeBatchDim
 * show(await attentionHeads(model.toStrTokens(text), pattern, { headNames: [...Array(12).keys()].map((h) => `L0H${h}`) }));
 */
export async function attentionHeads(tokens: readonly string[], pattern: Values, opts: AttentionHeadsOptions = {}): Promise<HtmlView> {
  const p = (await readRank(pattern, [3], "attentionHeads(pattern)")) as number[][][];
  for (const h of p) {
    checkTokens(tokens, h.length, "attentionHeads");
    if (h[0] && h[0].length !== tokens.length) throw new Error(`attentionHeads: pattern has ${h[0].length} keys for ${tokens.length} tokens; pass [head, query, key] with query = key = tokens`);
  }
  if (opts.headNames && opts.headNames.length !== p.length) throw new Error(`attentionHeads: ${opts.headNames.length} head names for ${p.length} heads; pass one per head`);
  const names = p.map((_, i) => opts.headNames?.[i] ?? `Head ${i}`);
  const scale = rangeOf(flatten(p as Nested), opts);
  const heads = p.map((m, i) => ({ name: names[i], matrix: roundNested(m, opts.digits ?? 4) }));
  const spec = { title: opts.title ?? "", tokens, heads, scale };
  return view("attentionHeads", spec, `<attentionHeads: ${p.length} heads × ${tokens.length} tokens>`, staticHeads(spec, 160));
}

/** Options for {@link attentionPattern}. */
export interface AttentionPatternOptions extends RangeOptions {
  title?: string;
  /** Name shown above the heatmap and in hover labels (default "Attention"). */
  headName?: string;
}

/**
 * One attention pattern [query, key] as a labelled heatmap with hover and a token strip.
 * @example
 * show(await attentionPattern(tokens, pattern.slice([4, 0, 0], [1, -1, -1]).squeeze([0]), { headName: "L1H4" }));
 */
export async function attentionPattern(tokens: readonly string[], pattern: Values, opts: AttentionPatternOptions = {}): Promise<HtmlView> {
  const m = (await readRank(pattern, [2], "attentionPattern(pattern)")) as number[][];
  checkTokens(tokens, m.length, "attentionPattern");
  if (m[0] && m[0].length !== tokens.length) throw new Error(`attentionPattern: pattern has ${m[0].length} keys for ${tokens.length} tokens; pass [query, key]`);
  const name = opts.headName ?? "Attention";
  const spec = { title: opts.title ?? "", tokens, heads: [{ name, matrix: roundNested(m, opts.digits ?? 4) }], scale: rangeOf(flatten(m as Nested), opts) };
  return view("attentionPattern", spec, `<attentionPattern "${name}": ${tokens.length} tokens>`, staticHeads(spec, 320));
}

/** Options for {@link coloredTokens}. */
export interface ColoredTokensOptions extends RangeOptions {
  title?: string;
  /** Name of the value in the hover label (default "value"). */
  name?: string;
}

/**
 * Tokens with backgrounds coloured by one value each (e.g. loss per token, a neuron's activation); hover shows the value.
 * @example
 * show(await coloredTokens(tokens, neuronActs, { name: "L0 N42" }));
 */
export async function coloredTokens(tokens: readonly string[], values: Values, opts: ColoredTokensOptions = {}): Promise<HtmlView> {
  const v = flatten(await readRank(values, [1], "coloredTokens(values)"));
  checkTokens(tokens, v.length, "coloredTokens");
  const spec = { title: opts.title ?? "", tokens, names: [opts.name ?? "value"], values: v.map((x) => [roundNested(x, opts.digits ?? 4)]), scales: [rangeOf(v, opts)] };
  const [lo, hi] = finiteRange(v);
  return view("coloredTokens", spec, `<coloredTokens: ${tokens.length} tokens, values in [${lo.toPrecision(3)}, ${hi.toPrecision(3)}]>`, staticTokens(spec));
}

/** Options for {@link coloredTokensMulti}. */
export interface ColoredTokensMultiOptions extends RangeOptions {
  title?: string;
  /** One name per series (default "0", "1", …); shown as buttons that switch the colouring. */
  names?: readonly string[];
}

/**
 * Tokens coloured by one of several value series, values [position, series]: click a series button to switch, hover a
 * token for all its values. Each series has its own colour range.
 * @example
 * show(await coloredTokensMulti(tokens, acts.slice([0, 0], [-1, 5]), { names: ["N0", "N1", "N2", "N3", "N4"] }));
 */
export async function coloredTokensMulti(tokens: readonly string[], values: Values, opts: ColoredTokensMultiOptions = {}): Promise<HtmlView> {
  const v = (await readRank(values, [2], "coloredTokensMulti(values)")) as number[][];
  checkTokens(tokens, v.length, "coloredTokensMulti");
  const n = v[0]?.length ?? 0;
  if (opts.names && opts.names.length !== n) throw new Error(`coloredTokensMulti: ${opts.names.length} names for ${n} series; values are [position, series], pass one name per series`);
  const names = Array.from({ length: n }, (_, k) => opts.names?.[k] ?? String(k));
  const scales = names.map((_, k) => rangeOf(v.map((row) => row[k]), opts));
  const spec = { title: opts.title ?? "", tokens, names, values: roundNested(v, opts.digits ?? 4), scales };
  return view("coloredTokens", spec, `<coloredTokensMulti: ${tokens.length} tokens × ${n} series>`, staticTokens(spec));
}

/** Options for {@link topkTokens}. */
export interface TopkOptions extends RangeOptions {
  /** How many entries per row (default 5). */
  k?: number;
  /** Turns a column index into a label: an array (e.g. vocabulary strings) or a function (e.g. (id) => model.tokenizer.decode([id])). */
  labels?: readonly string[] | ((index: number) => string);
  /** One label per row (e.g. the input token at each position). */
  rowLabels?: readonly string[];
  title?: string;
  /** Take the smallest values instead of the largest. */
  smallest?: boolean;
}

/** Indices of the k largest (or smallest) finite entries of a row, best first. */
export function topkIndices(row: readonly number[], k: number, smallest = false): number[] {
  const sign = smallest ? -1 : 1;
  const best: number[] = [];
  for (let i = 0; i < row.length; i++) {
    const v = sign * row[i];
    if (!Number.isFinite(v)) continue;
    if (best.length === k && v <= sign * row[best[k - 1]]) continue;
    let at = best.length < k ? best.length : k - 1;
    while (at > 0 && v > sign * row[best[at - 1]]) at--;
    best.splice(at, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}

/**
 * A table of the top-k entries of each row of values [row, n] (e.g. logits [position, vocab]): each cell shows the
 * label and value, coloured by value; rows are labelled by rowLabels.
 * @example
 * show(await topkTokens(logits.squeeze([0]), { k: 5, labels: (id) => model.tokenizer.decode([id]), rowLabels: tokens }));
 */
export async function topkTokens(values: Values, opts: TopkOptions = {}): Promise<HtmlView> {
  const nested = await readRank(values, [1, 2], "topkTokens(values)");
  const rows = (Array.isArray((nested as Nested[])[0]) ? nested : [nested]) as number[][];
  const k = opts.k ?? 5;
  if (opts.rowLabels && opts.rowLabels.length !== rows.length) throw new Error(`topkTokens: ${opts.rowLabels.length} row labels for ${rows.length} rows; pass one per row`);
  const label = (i: number): string => (typeof opts.labels === "function" ? opts.labels(i) : (opts.labels?.[i] ?? String(i)));
  const picks = rows.map((r) => topkIndices(r, k, opts.smallest));
  const scale = rangeOf(picks.flatMap((p, r) => p.map((i) => rows[r][i])), opts);
  const digits = opts.digits ?? 4;
  const head = `<tr><th></th>${Array.from({ length: k }, (_, j) => `<th>#${j + 1}</th>`).join("")}</tr>`;
  const body = rows.map((r, ri) => {
    const cells = picks[ri].map((i) => {
      const v = r[i];
      const shown = escapeHtml(label(i).replace(/\n/g, "↵"));
      return `<td style="background:${valueColor(v, scale)}${inkStyle(v, scale)}" title="index ${i}: ${escapeHtml(String(v))}">${shown}<span class="lens-val">${Number(v.toPrecision(digits))}</span></td>`;
    });
    return `<tr><th>${escapeHtml((opts.rowLabels?.[ri] ?? String(ri)).replace(/\n/g, "↵"))}</th>${cells.join("")}</tr>`;
  });
  const title = opts.title ? `<div class="lens-title">${escapeHtml(opts.title)}</div>` : "";
  const html = `<div class="lens-view lens-topk">${title}<table class="lens-topk">${head}${body.join("")}</table></div>\n<style>${VIEWER_CSS}</style>`;
  return { kind: "lens-html-view", html, text: `<topkTokens: ${rows.length} rows × top ${k}>` };
}
