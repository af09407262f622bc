/**
 * Feature dashboards (in the spirit of sae_vis / Neuronpedia): one self-contained HTML view per SAE latent with its
 * density, the histogram of its non-zero activations, its top and bottom logit weights W_dec[i] · W_U, and its
 * top-activating contexts with every token coloured by the latent's activation and the max token outlined. Static
 * HTML and CSS (no script, no plotly), so it shows in any notebook output and in a saved page.
 */
import type { HookedTransformer } from "../hookedTransformer";
import type { HtmlView } from "../viz/types";
import { escapeHtml } from "../viz/types";
import { VIEWER_CSS } from "../viz/viewerRuntime";
import { valueColor, type ColorScaleRange } from "../viz/viewers";
import { featureStats, type FeatureStats, type FeatureStatsOptions, type LogitWeight } from "./featureStats";
import type { SparseAutoencoder } from "./sae";

/** Options of `featureDashboard`: those of `featureStats` plus a title. */
export interface FeatureDashboardOptions extends FeatureStatsOptions {
  /** Heading of the view (default "Feature <i> · <hook>"). */
  readonly title?: string;
}

const DASH_CSS = `
.lens-sae-dash .lens-sae-summary{margin:2px 0 10px;color:#444;}
.lens-sae-dash .lens-sae-row{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start;margin-bottom:12px;}
.lens-sae-dash .lens-sae-h{font-weight:600;margin:0 0 4px;font-size:12px;}
.lens-sae-dash table.lens-sae-logits{border-collapse:collapse;font-size:12px;}
.lens-sae-dash table.lens-sae-logits td{border:1px solid #e3e3e3;padding:1px 6px;white-space:pre;}
.lens-sae-dash table.lens-sae-logits td.lens-num{text-align:right;font-variant-numeric:tabular-nums;}
.lens-sae-dash .lens-sae-ctx{line-height:1.9;margin:2px 0;white-space:nowrap;overflow-x:auto;}
.lens-sae-dash .lens-sae-act{display:inline-block;min-width:64px;font-variant-numeric:tabular-nums;color:#555;font-size:12px;}
.lens-sae-dash .lens-tok.lens-sae-max{outline:2px solid #d62728;font-weight:600;}
.lens-sae-dash svg text{font-size:10px;fill:#555;}
`;

/** The printable text of a token id (the model's tokenizer, else "#id"); newlines and tabs made visible. */
function tokenText(model: HookedTransformer, id: number): string {
  let s: string;
  try {
    s = model.tokenizer ? model.tokenizer.idToString(id) : `#${id}`;
  } catch {
    s = `#${id}`;
  }
  return s.replace(/\n/g, "↵").replace(/\t/g, "⇥");
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v);
}

/** An SVG bar chart of the histogram (counts over equal-width bins between edges[0] and edges[bins]). */
function histogramSvg(h: FeatureStats["histogram"]): string {
  if (h.counts.length === 0) return `<div class="lens-sae-summary">no non-zero activations</div>`;
  const W = 320, H = 120, pad = 18, n = h.counts.length, max = Math.max(...h.counts);
  const bw = W / n;
  const bars = h.counts.map((c, i) => {
    const bh = max > 0 ? (c / max) * (H - pad) : 0;
    const tip = `[${fmt(h.edges[i]!)}, ${fmt(h.edges[i + 1]!)}): ${c}`;
    return `<rect x="${(i * bw).toFixed(2)}" y="${(H - pad - bh).toFixed(2)}" width="${Math.max(0.5, bw - 0.5).toFixed(2)}" height="${bh.toFixed(2)}" fill="rgb(33,102,172)"><title>${escapeHtml(tip)}</title></rect>`;
  });
  const axis = `<line x1="0" y1="${H - pad}" x2="${W}" y2="${H - pad}" stroke="#999"/>` +
    `<text x="0" y="${H - 4}">${fmt(h.edges[0]!)}</text><text x="${W}" y="${H - 4}" text-anchor="end">${fmt(h.edges[n]!)}</text>` +
    `<text x="${W}" y="10" text-anchor="end">max count ${max}</text>`;
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="activation histogram">${bars.join("")}${axis}</svg>`;
}

function logitTable(model: HookedTransformer, rows: readonly LogitWeight[], scale: ColorScaleRange): string {
  if (rows.length === 0) return `<div class="lens-sae-summary">n/a (d_in ≠ d_model)</div>`;
  const body = rows.map((r) => `<tr><td>${escapeHtml(tokenText(model, r.token))}</td><td class="lens-num" style="background:${valueColor(r.value, scale)}">${fmt(r.value)}</td></tr>`);
  return `<table class="lens-sae-logits">${body.join("")}</table>`;
}

/** The HTML of one latent's dashboard from its statistics. */
export function dashboardHtml(model: HookedTransformer, s: FeatureStats, title?: string): HtmlView {
  const actScale: ColorScaleRange = { lo: 0, hi: s.maxActivation > 0 ? s.maxActivation : 1, signed: false };
  const lm = Math.max(1e-12, ...[...s.topLogits, ...s.bottomLogits].map((l) => Math.abs(l.value)));
  const logitScale: ColorScaleRange = { lo: -lm, hi: lm, signed: true };
  const contexts = s.topContexts.map((c) => {
    const toks = c.tokens.map((id, k) => {
      const v = c.activations[k]!, pos = c.start + k, isMax = pos === c.pos;
      const ink = v / actScale.hi > 0.55 ? ";color:#fff" : "";
      return `<span class="lens-tok${isMax ? " lens-sae-max" : ""}" style="background:${valueColor(v, actScale)}${ink}" title="${escapeHtml(`seq ${c.seq} pos ${pos} token ${id}: ${fmt(v)}`)}">${escapeHtml(tokenText(model, id))}</span>`;
    });
    return `<div class="lens-sae-ctx"><span class="lens-sae-act" title="sequence ${c.seq}, position ${c.pos}">${fmt(c.activation)}</span>${toks.join("")}</div>`;
  });
  const heading = title ?? `Feature ${s.feature} · ${s.hookName}`;
  const pct = (100 * s.density).toPrecision(3);
  const html = [
    `<div class="lens-view lens-sae-dash">`,
    `<div class="lens-title">${escapeHtml(heading)}</div>`,
    `<div class="lens-sae-summary">density ${pct}% (${s.nFiring} of ${s.nTokens} tokens; log10 ${s.log10Density.toFixed(2)}) · max activation ${fmt(s.maxActivation)}</div>`,
    `<div class="lens-sae-row">`,
    `<div><div class="lens-sae-h">Non-zero activations</div>${histogramSvg(s.histogram)}</div>`,
    `<div><div class="lens-sae-h">Positive logits (W_dec·W_U)</div>${logitTable(model, s.topLogits, logitScale)}</div>`,
    `<div><div class="lens-sae-h">Negative logits</div>${logitTable(model, s.bottomLogits, logitScale)}</div>`,
    `</div>`,
    `<div class="lens-sae-h">Top activations</div>`,
    contexts.length > 0 ? contexts.join("\n") : `<div class="lens-sae-summary">the feature never fires on these tokens</div>`,
    `</div>`,
    `<style>${VIEWER_CSS}${DASH_CSS}</style>`,
  ].join("\n");
  const text = `<featureDashboard: feature ${s.feature} at ${s.hookName}, density ${pct}%, max ${fmt(s.maxActivation)}, ${s.topContexts.length} contexts>`;
  return { kind: "lens-html-view", html, text };
}

/**
 * One latent's dashboard as an HtmlView (show it with `show()`, save it with `saveHtml()`): density, histogram of
 * non-zero activations, top/bottom logit weights W_dec[i] · W_U, and the top-activating contexts with per-token
 * activation colouring (max token outlined). Runs `featureStats` on `opts.tokens` or on a packed `opts.dataset` stream.
 * @example
 * show(await featureDashboard(model, sae, 123, { tokens, topK: 10, window: 8 }));
 */
export async function featureDashboard(model: HookedTransformer, sae: SparseAutoencoder, feature: number, opts: FeatureDashboardOptions): Promise<HtmlView> {
  const [s] = await featureStats(model, sae, [feature], opts);
  return dashboardHtml(model, s!, opts.title);
}

/**
 * Dashboards of several latents from one pass over the tokens (cheaper than one `featureDashboard` call each).
 * @example
 * for (const v of await featureDashboards(model, sae, [1, 2, 3], { tokens })) show(v);
 */
export async function featureDashboards(model: HookedTransformer, sae: SparseAutoencoder, features: readonly number[], opts: FeatureDashboardOptions): Promise<HtmlView[]> {
  return (await featureStats(model, sae, features, opts)).map((s) => dashboardHtml(model, s, opts.title !== undefined ? `${opts.title} · feature ${s.feature}` : undefined));
}
