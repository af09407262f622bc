/**
 * Static markup for the HTML viewers: what a view shows before (or without) its script. Untrusted notebooks (GitHub,
 * nbviewer, a fresh JupyterLab) strip scripts and <style> elements and keep plain elements with inline styles and
 * <img> with data URLs, so heatmaps become small PNGs (encoded here, no browser needed) and token strips become
 * spans with inline colours. The viewer's script replaces this markup with the interactive view.
 */
import { deflateSync, crc32 } from "node:zlib";
import { escapeHtml } from "./types";

/** The colour scale of a view (same as viewers.ts's ColorScaleRange). */
interface Scale {
  lo: number;
  hi: number;
  signed: boolean;
}

/** RGB of value `v` on a scale: white → blue, or red ← white → blue when signed; light grey for non-finite values. */
// viewers.ts (valueColor) and the browser runtime (viewerRuntime.ts, `color`) use the same rule: change all together.
export function valueRgb(v: number | null, s: Scale): [number, number, number] {
  if (v === null || !Number.isFinite(v)) return [235, 235, 235];
  let t: number;
  let c: number[];
  if (s.signed) {
    const m = Math.max(Math.abs(s.lo), Math.abs(s.hi)) || 1;
    t = Math.max(-1, Math.min(1, v / m));
    c = t >= 0 ? [33, 102, 172] : [178, 24, 43];
    t = Math.abs(t);
  } else {
    t = s.hi > s.lo ? Math.max(0, Math.min(1, (v - s.lo) / (s.hi - s.lo))) : 0;
    c = [8, 48, 107];
  }
  return [0, 1, 2].map((i) => Math.round(255 + (c[i] - 255) * t)) as [number, number, number];
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** An 8-bit RGB PNG of `width` × `height` pixels from row-major RGB bytes (3 per pixel). */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  if (rgb.length !== width * height * 3) throw new Error(`encodePng: ${rgb.length} bytes for ${width}×${height} RGB pixels; expected ${width * height * 3}`);
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0; // filter: none
    Buffer.from(rgb.buffer, rgb.byteOffset + y * width * 3, width * 3).copy(raw, y * (width * 3 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method variants, no interlace
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}

/** A matrix [row][col] as a PNG heatmap, each cell `cell` × `cell` pixels (nearest-neighbour, so no blur). */
export function heatmapPng(matrix: (number | null)[][], s: Scale, cell: number): Buffer {
  const rows = matrix.length;
  const cols = rows ? matrix[0].length : 0;
  const w = Math.max(1, cols * cell);
  const h = Math.max(1, rows * cell);
  const rgb = new Uint8Array(w * h * 3).fill(255);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const c = valueRgb(matrix[i][j], s);
      for (let y = i * cell; y < (i + 1) * cell; y++) for (let x = j * cell; x < (j + 1) * cell; x++) rgb.set(c, (y * w + x) * 3);
    }
  }
  return encodePng(w, h, rgb);
}

/** Pixels per cell so that an n-cell side is about `target` pixels (at least 1). */
function cellSize(n: number, target: number): number {
  return Math.max(1, Math.floor(target / Math.max(n, 1)));
}

/** A zero-width space between token spans: lets a long strip wrap without showing a gap. */
const WRAP = "\u200b";

const showTok = (t: string): string => t.replace(/\n/g, "↵").replace(/\t/g, "⇥");

/** One heatmap as an <img> with a caption (a <figure>), `target` pixels on its longer side. */
function heatmapFigure(name: string, matrix: (number | null)[][], s: Scale, target: number): string {
  const n = Math.max(matrix.length, matrix[0]?.length ?? 0);
  const png = heatmapPng(matrix, s, cellSize(n, target)).toString("base64");
  const style = "display:inline-block;margin:0 8px 8px 0;text-align:center;vertical-align:top";
  return `<figure class="lens-static-head" style="${style}"><img alt="${escapeHtml(name)}" style="border:1px solid #ddd" src="data:image/png;base64,${png}"><figcaption style="font-size:11px">${escapeHtml(name)}</figcaption></figure>`;
}

/** A one-line strip of tokens (shown as text). */
function tokenLine(tokens: readonly string[]): string {
  const shown = tokens.map((t) => `<span style="border:1px solid #e3e3e3;padding:0 2px;margin:0 1px;white-space:pre">${escapeHtml(showTok(t))}</span>`);
  return `<div style="font-size:11px;line-height:1.9;margin-top:4px">tokens: ${shown.join(WRAP)}</div>`;
}

const NOTE = `<div style="font-size:11px;color:#666;margin-top:4px">Static view: run the cell (or trust the notebook) for the interactive viewer with hover and click.</div>`;

/** Static markup of attentionHeads / attentionPattern: one PNG heatmap per head (rows = queries, columns = keys). */
export function staticHeads(spec: { title: string; tokens: readonly string[]; heads: { name: string; matrix: unknown }[]; scale: Scale }, target: number): string {
  const title = spec.title ? `<div style="font-weight:600;margin:4px 0 8px">${escapeHtml(spec.title)}</div>` : "";
  const heads = spec.heads.map((h) => heatmapFigure(h.name, h.matrix as (number | null)[][], spec.scale, target)).join("");
  return `${title}<div>${heads}</div>${tokenLine(spec.tokens)}${NOTE}`;
}

/** Static markup of coloredTokens(Multi): the tokens coloured by the first series, with inline styles. */
export function staticTokens(spec: { title: string; tokens: readonly string[]; names: string[]; values: unknown; scales: Scale[] }): string {
  const values = spec.values as (number | null)[][];
  const title = spec.title ? `<div style="font-weight:600;margin:4px 0 8px">${escapeHtml(spec.title)}</div>` : "";
  const series = spec.names.length > 1 ? `<div style="font-size:12px;margin-bottom:4px">colour: <b>${escapeHtml(spec.names[0])}</b> (of ${spec.names.map(escapeHtml).join(", ")})</div>` : "";
  const spans = spec.tokens.map((t, i) => {
    const v = values[i][0];
    const [r, g, b] = valueRgb(v, spec.scales[0]);
    const ink = r + g + b < 360 ? ";color:#fff" : "";
    return `<span title="${escapeHtml(`${spec.names[0]}: ${v}`)}" style="background:rgb(${r},${g},${b})${ink};border:1px solid #e3e3e3;border-radius:3px;padding:1px 2px;margin:0 1px;white-space:pre">${escapeHtml(showTok(t))}</span>`;
  });
  return `${title}${series}<div style="line-height:2">${spans.join(WRAP)}</div>${NOTE}`;
}
