/**
 * Test helpers that inspect a page open in headless Chromium: did every plotly figure render (plotly's SVG roots,
 * traces drawn, Plotly.validate clean), and the sample figures/views used by the browser and export tests.
 */
import * as tf from "@tensorflow/tfjs";
import type { Page } from "../../../src/lens/viz/chromium";
import { attentionHeads, attentionPattern, bar, coloredTokens, coloredTokensMulti, histogram, imshow, line, scatter, topkTokens } from "../../../src/lens/viz/index";
import type { HtmlView, PlotlyFigure } from "../../../src/lens/viz/types";

/** What a page says about its plotly figures. */
export interface PlotReport {
  id: string;
  /** Number of svg.main-svg roots plotly drew in the figure's div. */
  svgs: number;
  /** Traces in the input and traces plotly computed (_fullData). */
  traces: number;
  fullTraces: number;
  /**
   * Messages from Plotly.validate(data, layout) (empty when the figure fits plotly's schema), less one known false
   * positive: validate (plotly.js 3.1) flags every trace-level `coloraxis: "coloraxis"` although plotly accepts it
   * (it is the documented way to share a colour axis); `coloraxes` shows what plotly actually used instead.
   */
  invalid: string[];
  /** The colour axis plotly assigned to each drawn trace (_fullData[i].coloraxis), undefined when none. */
  coloraxes: (string | null)[];
}

/** Waits (up to 30 s) for every .lens-plotly div to have plotly's SVG, then reports on each. */
export async function plotReports(page: Page): Promise<PlotReport[]> {
  return page.evaluate<PlotReport[]>(`(async () => {
    const plots = () => Array.from(document.querySelectorAll(".lens-plotly"));
    const deadline = Date.now() + 30000;
    while (!plots().every((p) => p.querySelector("svg.main-svg")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    return plots().map((p) => ({
      id: p.id,
      svgs: p.querySelectorAll("svg.main-svg").length,
      traces: (p.data || []).length,
      fullTraces: (p._fullData || []).length,
      invalid: window.Plotly ? (window.Plotly.validate(p.data, p.layout) || []).map((e) => e.msg)
        .filter((m) => !/^In data trace \\d+, key coloraxis is set to an invalid value \\(coloraxis\\)$/.test(m)) : ["window.Plotly is missing"],
      coloraxes: (p._fullData || []).map((t) => t.coloraxis || null),
    }));
  })()`);
}

/** Center of the n-th element matching a selector, in page coordinates (scrolled into view first). */
export async function centerOf(page: Page, selector: string, n = 0): Promise<{ x: number; y: number }> {
  const c = await page.evaluate<{ x: number; y: number } | null>(`(() => {
    const e = document.querySelectorAll(${JSON.stringify(selector)})[${n}];
    if (!e) return null;
    e.scrollIntoView({ block: "center" });
    const r = e.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  })()`);
  if (!c) throw new Error(`no element ${selector} #${n} in the page`);
  return c;
}

export const TOKENS = ["<|endoftext|>", "When", " Mary", " and", " John", " went", " to", " the", " store", ",", " John", " gave"];
export const HEADS = 4;

/** A deterministic causal attention pattern [head, q, k] (rows sum to 1): head h prefers key (q − h) mod (q + 1). */
export function samplePattern(): number[][][] {
  const n = TOKENS.length;
  return Array.from({ length: HEADS }, (_, h) =>
    Array.from({ length: n }, (_, q) => {
      const w = Array.from({ length: n }, (_, k) => (k > q ? 0 : k === (q - h + n) % (q + 1) ? 4 : 1 / (1 + k)));
      const s = w.reduce((a, b) => a + b, 0);
      return w.map((v) => v / s);
    }),
  );
}

/** Several figures (every builder) and views (every viewer) for the browser and export tests. */
export async function sampleItems(): Promise<{ figures: PlotlyFigure[]; views: HtmlView[]; pattern: number[][][] }> {
  const pattern = samplePattern();
  const n = TOKENS.length;
  const signed = tf.tidy(() => tf.sin(tf.range(0, n * n).reshape([n, n])));
  const figures = [
    await imshow(pattern, { x: TOKENS, y: TOKENS, facetTitles: [...Array(HEADS).keys()].map((h) => `L0H${h}`), xTitle: "key", yTitle: "query", title: "attention (facets)" }),
    await imshow(signed, { x: TOKENS, y: TOKENS, title: "signed values" }),
    await line([[1, 3, 2, 4], [2, 2, 3, 1]], { x: TOKENS.slice(0, 4), names: ["a", "b"], hoverText: TOKENS.slice(0, 4), title: "lines" }),
    await scatter([1, 2, 3], [3, 1, 2], { labels: ["p", "q", "r"], color: [0, 1, 2], title: "scatter" }),
    await bar([[1, -2, 3], [2, 1, -1]], { x: ["L0", "L1", "L2"], names: ["attn", "mlp"], title: "bars" }),
    await histogram(signed, { nbins: 20, title: "histogram" }),
  ];
  signed.dispose();
  const multi = TOKENS.map((_, i) => [Math.sin(i), i / n, (i % 3) - 1]);
  const logits = Array.from({ length: 3 }, (_, r) => Array.from({ length: 30 }, (_, v) => Math.cos(v * (r + 1))));
  const views = [
    await attentionHeads(TOKENS, pattern, { headNames: [...Array(HEADS).keys()].map((h) => `L0H${h}`), title: "Layer 0 attention heads" }),
    await attentionPattern(TOKENS, pattern[1], { headName: "L0H1", title: "one head" }),
    await coloredTokens(TOKENS, TOKENS.map((_, i) => Math.cos(i)), { title: "coloured tokens", name: "cos" }),
    await coloredTokensMulti(TOKENS, multi, { names: ["sin", "ramp", "mod3"], title: "coloured tokens (several series)" }),
    await topkTokens(logits, { k: 4, labels: (i) => `tok${i}`, rowLabels: TOKENS.slice(0, 3), title: "top-k" }),
  ];
  return { figures, views, pattern };
}
