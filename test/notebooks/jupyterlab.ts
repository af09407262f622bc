/**
 * Test helper: JupyterLab's own output rendering (@jupyterlab/rendermime's standard renderers and sanitiser, and
 * @jupyterlab/outputarea's OutputArea, the code JupyterLab runs for a cell's outputs), bundled for the browser with
 * esbuild, and a page that renders a notebook's outputs with it, trusted or untrusted, for headless Chromium. JupyterLab
 * picks each output's mime type itself (untrusted: only "safe" renderers, HTML sanitised, scripts not run), so what
 * the page shows is what a JupyterLab without a plotly extension shows.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "../..");

/** The npm packages the page needs, or the one that is missing. */
export function missingLabPackage(): string | undefined {
  for (const p of ["@jupyterlab/rendermime", "@jupyterlab/outputarea", "@lumino/widgets", "esbuild"]) {
    try {
      require.resolve(p, { paths: [ROOT] });
    } catch {
      return p;
    }
  }
  return undefined;
}

/** The browser entry: window.lensRender(outputs, trusted) renders each output in its own OutputArea, in order. */
const ENTRY = `
import { RenderMimeRegistry, standardRendererFactories } from "@jupyterlab/rendermime";
import { OutputArea, OutputAreaModel } from "@jupyterlab/outputarea";
import { Widget } from "@lumino/widgets";
window.lensRender = function (outputs, trusted) {
  var rendermime = new RenderMimeRegistry({ initialFactories: standardRendererFactories });
  outputs.forEach(function (o, i) {
    var model = new OutputAreaModel({ trusted: trusted });
    model.add(o.output);
    var area = new OutputArea({ model: model, rendermime: rendermime });
    area.node.setAttribute("data-output", String(i));
    area.node.setAttribute("data-kind", o.kind);
    Widget.attach(area, document.body);
  });
};
`;

/** Bundles the entry (and JupyterLab's packages) into one browser script; SVG icons as text, CSS left out. */
export async function bundleLabRenderer(): Promise<string> {
  const { build } = await import("esbuild");
  const r = await build({
    stdin: { contents: ENTRY, resolveDir: ROOT, loader: "js" },
    bundle: true, format: "iife", platform: "browser", write: false, minify: true, logLevel: "error",
    loader: { ".svg": "text", ".css": "empty" }, define: { "process.env.NODE_ENV": '"production"' },
  });
  return r.outputFiles[0].text;
}

/** What a notebook output is, for the checks: a plotly figure, a scripted viewer, a static view, or anything else. */
export type OutputKind = "figure" | "viewer" | "static-view" | "other";

type Output = { output_type: string; data?: Record<string, unknown>; metadata?: Record<string, unknown> };
const text = (v: unknown): string => (Array.isArray(v) ? v.join("") : typeof v === "string" ? v : "");

/** Classifies one output. */
export function outputKind(o: Output): OutputKind {
  if (o.output_type !== "display_data" && o.output_type !== "execute_result") return "other";
  if (o.data?.["application/vnd.plotly.v1+json"]) return "figure";
  const html = text(o.data?.["text/html"]);
  if (/window\.LensViews\.[A-Za-z]+\(root, /.test(html)) return "viewer";
  if (/class="lens-view/.test(html)) return "static-view";
  return "other";
}

/** Writes the page for `outputs` (each with its kind) and the bundled renderer into `dir`; returns the page path. */
export function writeLabPage(dir: string, name: string, bundle: string, outputs: { kind: OutputKind; output: unknown }[], trusted: boolean): string {
  writeFileSync(join(dir, "lab-renderer.js"), bundle);
  const data = join(dir, `${name}.outputs.js`);
  writeFileSync(data, `window.lensOutputs = ${JSON.stringify(outputs).replace(/</g, "\\u003c")};`);
  const page = join(dir, `${name}.html`);
  writeFileSync(page, [
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>JupyterLab output rendering</title></head>",
    "<body style=\"width:1100px;font-family:sans-serif\">",
    '<script src="lab-renderer.js"></script>',
    `<script src="${name}.outputs.js"></script>`,
    `<script>window.lensRender(window.lensOutputs, ${trusted});</script>`,
    "</body></html>",
  ].join("\n"));
  return page;
}

/** What the page reports about one rendered output. */
export interface RenderedOutput {
  index: number;
  kind: OutputKind;
  /** Size of the rendered output in CSS pixels. */
  width: number;
  height: number;
  /** Non-white pixels in the output's images and canvases. */
  inkPixels: number;
  /** Elements with a non-white inline background (token strips, tables). */
  coloured: number;
  /** plotly drew the figure (its SVG root and all traces). */
  plotted: boolean;
  /** The viewer's script ran (data-ready on its root). */
  ready: boolean;
  /** Static <img> pictures still in the output. */
  staticImages: number;
}

/**
 * Waits until the page settled (images decoded; in trusted mode every figure drawn and every viewer started, up to
 * 120 s), then measures every output.
 */
export const MEASURE = `(async () => {
  const areas = () => Array.from(document.querySelectorAll("[data-output]"));
  const trusted = ${"${TRUSTED}"};
  const deadline = Date.now() + 120000;
  const settled = () => areas().every((a) => {
    const imgs = Array.from(a.querySelectorAll("img"));
    if (!imgs.every((i) => i.complete)) return false;
    if (!trusted) return true;
    const k = a.getAttribute("data-kind");
    if (k === "figure") return !!a.querySelector(".main-svg");
    if (k === "viewer") return !!a.querySelector(".lens-view[data-ready]");
    return true;
  });
  while (!settled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  await new Promise((r) => setTimeout(r, 300));
  const white = (r, g, b, a) => a < 16 || (r > 240 && g > 240 && b > 240);
  function ink(el) {
    let n = 0;
    for (const img of el.querySelectorAll("img")) {
      if (!img.naturalWidth) continue;
      const c = document.createElement("canvas");
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const g = c.getContext("2d"); g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < d.length; i += 4) if (!white(d[i], d[i + 1], d[i + 2], d[i + 3])) n++;
    }
    for (const c of el.querySelectorAll("canvas")) {
      if (!c.width || !c.height) continue;
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < d.length; i += 4) if (!white(d[i], d[i + 1], d[i + 2], d[i + 3])) n++;
    }
    return n;
  }
  return areas().map((a) => {
    const out = a.querySelector(".jp-OutputArea-output") || a;
    const r = out.getBoundingClientRect();
    const coloured = Array.from(out.querySelectorAll("span, td")).filter((e) => {
      const m = /rgba?\\((\\d+), (\\d+), (\\d+)/.exec(getComputedStyle(e).backgroundColor);
      return m && !white(+m[1], +m[2], +m[3], 255);
    }).length;
    const gd = out.querySelector(".lens-plotly");
    return {
      index: +a.getAttribute("data-output"), kind: a.getAttribute("data-kind"),
      width: Math.round(r.width), height: Math.round(r.height), inkPixels: ink(out), coloured,
      plotted: !!(gd && gd.querySelector(".main-svg") && gd._fullData && gd.data && gd._fullData.length === gd.data.length),
      ready: !!out.querySelector(".lens-view[data-ready]"),
      staticImages: out.querySelectorAll("img.lens-static, .lens-static-head img").length,
    };
  });
})()`;
