/**
 * Static views: the PNG encoder (checked by inflating its image data back), heatmap pictures coloured by the viewers'
 * colour rule, the static markup inside viewers (replaced by their script), figure bundles with a static image, and
 * staticImage() rendering a real figure through plotly.js in headless Chromium (skipped without Chromium). That the
 * pictures are visible in JupyterLab, trusted and untrusted, is checked by test/notebooks/jupyterlab.test.ts.
 */
import assert from "node:assert/strict";
import { crc32, deflateSync, inflateSync } from "node:zlib";
import { test } from "node:test";
import { displayBundle } from "../../../src/lens/viz/display";
import { attentionHeads, coloredTokens, findChromium, imshow, rangeOf, valueColor } from "../../../src/lens/viz/index";
import { closeStaticImages, staticImage } from "../../../src/lens/viz/staticImage";
import { compactPng, decodeOpaquePng, encodePng, heatmapPng, valueRgb } from "../../../src/lens/viz/staticViews";

/** Width, height and RGB rows of an 8-bit RGB, filter-0 PNG (what encodePng writes), read back independently of it. */
function readPng(png: Buffer): { width: number; height: number; rows: Buffer[] } {
  assert.deepStrictEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "PNG signature");
  const width = png.readUInt32BE(16), height = png.readUInt32BE(20);
  assert.deepStrictEqual([...png.subarray(24, 29)], [8, 2, 0, 0, 0], "8-bit RGB, no interlace");
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const len = png.readUInt32BE(at);
    if (png.toString("latin1", at + 4, at + 8) === "IDAT") idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  assert.equal(raw.length, (3 * width + 1) * height);
  const rows = Array.from({ length: height }, (_, y) => {
    assert.equal(raw[y * (3 * width + 1)], 0, "filter type 0");
    return raw.subarray(y * (3 * width + 1) + 1, (y + 1) * (3 * width + 1));
  });
  return { width, height, rows };
}

test("encodePng: the image data inflates back to the given pixels; a wrong byte count is refused", () => {
  const rgb = Uint8Array.from({ length: 3 * 5 * 3 }, (_, i) => (i * 37) % 256);
  const { width, height, rows } = readPng(encodePng(5, 3, rgb));
  assert.deepStrictEqual([width, height], [5, 3]);
  assert.deepStrictEqual(Buffer.concat(rows), Buffer.from(rgb));
  assert.throws(() => encodePng(5, 3, rgb.subarray(1)), /44 bytes for 5×3 RGB pixels; expected 45/);
});

/**
 * An RGBA PNG whose row y uses PNG filter type y % 5 (none, sub, up, average, Paeth), filtered here by the PNG
 * specification's formulas, so the decoder is checked against every filter Chromium may write.
 */
function filteredRgbaPng(width: number, height: number, rgba: Uint8Array): Buffer {
  const stride = 4 * width;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const f = y % 5;
    raw[y * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const x = rgba[y * stride + i];
      const a = i >= 4 ? rgba[y * stride + i - 4] : 0, b = y > 0 ? rgba[(y - 1) * stride + i] : 0, c = i >= 4 && y > 0 ? rgba[(y - 1) * stride + i - 4] : 0;
      const paeth = () => { const p = a + b - c; const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)]; return pa <= pb && pa <= pc ? a : pb <= pc ? b : c; };
      const pred = [0, a, b, Math.floor((a + b) / 2), f === 4 ? paeth() : 0][f];
      raw[y * (stride + 1) + 1 + i] = (x - pred + 256) % 256;
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const out = Buffer.alloc(8 + body.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body) >>> 0, 4 + body.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const z = deflateSync(raw, { level: 1 });
  // two IDAT chunks, as encoders may split the data
  const half = z.length >> 1;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", z.subarray(0, half)), chunk("IDAT", z.subarray(half)), chunk("IEND", Buffer.alloc(0))]);
}

test("decodeOpaquePng undoes all five PNG filters; compactPng keeps the pixels and shrinks a flat-coloured picture", () => {
  const [w, h] = [23, 10];
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) % 256;
  const rgba = Uint8Array.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 ? 255 : rnd()));
  const png = filteredRgbaPng(w, h, rgba);
  const img = decodeOpaquePng(png);
  assert.ok(img, "an 8-bit RGBA PNG decodes");
  assert.deepStrictEqual([img.width, img.height], [w, h]);
  assert.deepStrictEqual(Buffer.from(img.rgb), Buffer.from(rgba.filter((_, i) => i % 4 !== 3)), "every filter type inverted exactly");
  // a figure-like picture (large flat areas): compacted it is smaller, RGB, and holds the same pixels
  const flat = Uint8Array.from({ length: 200 * 100 * 4 }, (_, i) => (i % 4 === 3 ? 255 : Math.floor(i / 4 / 200 / 25) * 60 + (i % 4) * 10));
  const big = filteredRgbaPng(200, 100, flat);
  const small = compactPng(big);
  assert.ok(small.length < big.length, `compacted ${small.length} bytes < ${big.length}`);
  assert.deepStrictEqual(Buffer.concat(readPng(small).rows), Buffer.from(flat.filter((_, i) => i % 4 !== 3)));
  // not fully opaque: alpha would be lost, so the PNG is left as it is
  const seeThrough = Uint8Array.from(rgba);
  seeThrough[4 * 5 + 3] = 128;
  const translucent = filteredRgbaPng(w, h, seeThrough);
  assert.equal(decodeOpaquePng(translucent), undefined);
  assert.equal(compactPng(translucent), translucent);
  assert.equal(compactPng(Buffer.from("not a png")).toString(), "not a png");
});

test("heatmapPng: each cell is a cell×cell block in the viewers' colour (valueColor)", () => {
  const m = [[0, 0.5], [1, -0.25]];
  const scale = rangeOf(m.flat(), {});
  const { width, height, rows } = readPng(heatmapPng(m, scale, 3));
  assert.deepStrictEqual([width, height], [6, 6]);
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) {
    const x = 3 * j + dx;
    const px = [...rows[3 * i + dy].subarray(3 * x, 3 * x + 3)];
    assert.equal(`rgb(${px.join(",")})`, valueColor(m[i][j], scale), `cell ${i},${j}`);
  }
  assert.deepStrictEqual(valueRgb(null, scale), [235, 235, 235], "missing values are light grey");
});

test("viewers carry static markup that their script clears before building the interactive view", async () => {
  const pattern = [[[1, 0], [0.3, 0.7]], [[1, 0], [0.9, 0.1]]];
  const heads = await attentionHeads(["a", "b"], pattern, { headNames: ["H0", "H1"] });
  const root = /<div id="[^"]+" class="lens-view lens-attentionHeads">([\s\S]*?)<\/div>\n<style>/.exec(heads.html);
  assert.ok(root, "the root div holds the static markup");
  assert.equal((root[1].match(/<figure class="lens-static-head"[^>]*><img alt="H\d"[^>]* src="data:image\/png;base64,/g) ?? []).length, 2, "one picture per head");
  assert.match(heads.html, /root\.innerHTML = ""; window\.LensViews\.attentionHeads\(root, /);
  const toks = await coloredTokens(["x", "y", "z"], [-1, 0, 2]);
  const scale = rangeOf([-1, 0, 2], {});
  const bgs = [...toks.html.matchAll(/<span title="value: [^"]*" style="background:(rgb\(\d+,\d+,\d+\))/g)].map((m) => m[1]);
  assert.deepStrictEqual(bgs, [-1, 0, 2].map((v) => valueColor(v, scale)), "tokens coloured inline as the viewer colours them");
});

test("figure bundle with a static image: image/png with its size, and the picture inside the text/html", async () => {
  const fig = await imshow([[1, 2], [3, 4]], { title: "t" });
  const image = { png: "UE5HREFUQQ==", webp: "V0VCUERBVEE=", width: 700, height: 450, ms: 1 };
  const b = displayBundle(fig, { image });
  assert.deepStrictEqual(Object.keys(b.data).sort(), ["application/vnd.plotly.v1+json", "image/png", "text/html", "text/plain"]);
  assert.equal(b.data["image/png"], image.png);
  assert.deepStrictEqual(b.metadata, { "image/png": { width: 700, height: 450 } });
  assert.match(String(b.data["text/html"]), /<div id="[^"]+" class="lens-plotly" style="width:100%;min-height:0px"><img class="lens-static" alt="&lt;plotly figure: heatmap &quot;t&quot;&gt;" width="700" height="450" style="max-width:100%;height:auto" src="data:image\/webp;base64,V0VCUERBVEE="><\/div>/);
  assert.match(String(b.data["text/html"]), /if \(still\) el\.removeChild\(still\)/, "the script replaces the picture with the plot");
  assert.ok(!("image/png" in displayBundle(fig).data), "no image unless asked");
});

test("staticImage renders a figure through plotly.js in headless Chromium (PNG and WebP of the figure's size)", { skip: findChromium() ? false : "no Chromium (apt-get install -y chromium)", timeout: 120000 }, async () => {
  try {
    const fig = await imshow([[0, 1], [1, 0]], { title: "static", width: 400, height: 300 });
    const img = staticImage(fig);
    assert.ok(img, "an image came back");
    const png = Buffer.from(img.png, "base64");
    assert.deepStrictEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    assert.deepStrictEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [400, 300]);
    const pixels = Buffer.concat(readPng(png).rows); // compacted: 8-bit RGB, unfiltered
    assert.ok(new Set(pixels).size > 2, "the picture is not blank");
    const webp = Buffer.from(img.webp, "base64");
    assert.equal(webp.toString("latin1", 0, 4) + webp.toString("latin1", 8, 12), "RIFFWEBP");
    const again = staticImage(await imshow([[2, 3]], { title: "second" }));
    assert.ok(again && again.width === 700 && again.height === 450, "the default size; the same Chromium serves the next figure");
  } finally {
    await closeStaticImages();
  }
});
