/**
 * Static views: the PNG encoder (checked by inflating its image data back), heatmap pictures coloured by the viewers'
 * colour rule, the static markup inside viewers (replaced by their script), figure bundles with a static image, and
 * staticImage() rendering a real figure through plotly.js in headless Chromium (skipped without Chromium). That the
 * pictures are visible in JupyterLab, trusted and untrusted, is checked by test/notebooks/jupyterlab.test.ts.
 */
import assert from "node:assert/strict";
import { inflateSync } from "node:zlib";
import { test } from "node:test";
import { displayBundle } from "../../../src/lens/viz/display";
import { attentionHeads, coloredTokens, findChromium, imshow, rangeOf, valueColor } from "../../../src/lens/viz/index";
import { closeStaticImages, staticImage } from "../../../src/lens/viz/staticImage";
import { encodePng, heatmapPng, valueRgb } from "../../../src/lens/viz/staticViews";

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
    const webp = Buffer.from(img.webp, "base64");
    assert.equal(webp.toString("latin1", 0, 4) + webp.toString("latin1", 8, 12), "RIFFWEBP");
    const again = staticImage(await imshow([[2, 3]], { title: "second" }));
    assert.ok(again && again.width === 700 && again.height === 450, "the default size; the same Chromium serves the next figure");
  } finally {
    await closeStaticImages();
  }
});
