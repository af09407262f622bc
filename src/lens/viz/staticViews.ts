/**
 * Static markup for the HTML viewers: what a view shows before (or without) its script. Untrusted notebooks (GitHub,
 * nbviewer, a fresh JupyterLab) strip scripts and <style> elements and keep plain elements with inline styles and
 * <img> with data URLs, so heatmaps become small PNGs (encoded here, no browser needed) and token strips become
 * spans with inline colours. The viewer's script replaces this markup with the interactive view.
 */
import { deflateSync, crc32, inflateSync } from "node:zlib";
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

/**
 * The pixels of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium's canvas writes) as RGB bytes, or undefined
 * for any other kind of PNG or when some pixel is not fully opaque (dropping alpha would change the image).
 */
export function decodeOpaquePng(png: Buffer): { width: number; height: number; rgb: Uint8Array } | undefined {
  if (png.length < 33 || png.readUInt32BE(0) !== 0x89504e47 || png.toString("latin1", 12, 16) !== "IHDR") return undefined;
  const width = png.readUInt32BE(16), height = png.readUInt32BE(20);
  const [depth, colour, , , interlace] = png.subarray(24, 29);
  const bpp = colour === 2 ? 3 : colour === 6 ? 4 : 0;
  if (depth !== 8 || bpp === 0 || interlace !== 0) return undefined;
  const idat: Buffer[] = [];
  for (let at = 8; at + 8 <= png.length;) {
    const len = png.readUInt32BE(at);
    if (png.toString("latin1", at + 4, at + 8) === "IDAT") idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  if (raw.length !== (stride + 1) * height) return undefined;
  const cur = new Uint8Array(stride), prev = new Uint8Array(stride);
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      let p = 0;
      if (filter === 1) p = a;
      else if (filter === 2) p = b;
      else if (filter === 3) p = (a + b) >> 1;
      else if (filter === 4) {
        const q = a + b - c, pa = Math.abs(q - a), pb = Math.abs(q - b), pc = Math.abs(q - c);
        p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) return undefined;
      cur[i] = (line[i] + p) & 255;
    }
    for (let x = 0; x < width; x++) {
      if (bpp === 4 && cur[4 * x + 3] !== 255) return undefined;
      rgb.set(cur.subarray(bpp * x, bpp * x + 3), 3 * (y * width + x));
    }
    prev.set(cur);
  }
  return { width, height, rgb };
}

/**
 * The same picture in fewer bytes: an opaque RGBA PNG from Chromium (filter "up" on every row, fast deflate) re-encoded
 * as RGB, unfiltered, deflate level 9 — about 35% smaller for plotly figures (flat colours compress best unfiltered).
 * Lossless; returns the input when it cannot be decoded here or the result would not be smaller.
 */
export function compactPng(png: Buffer): Buffer {
  const img = decodeOpaquePng(png);
  if (!img) return png;
  const out = encodePng(img.width, img.height, img.rgb);
  return out.length < png.length ? out : png;
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
