/**
 * show() inside a real tslab kernel: nbconvert executes a small notebook (kernel started in the project root through
 * a temporary kernelspec) that imports lens's viz module and shows a figure, a view, and the figure again. The
 * executed notebook must hold: the plotly.js loader (once, marked for the export template), then one bundle per
 * show() with the plotly mime type (same JSON as the builder gives in Node), text/html and text/plain, and — when
 * Chromium is installed — a static image: image/png of the figure's size and the same picture inside the text/html.
 * Skipped with a message when nbconvert or tslab is missing.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { test } from "node:test";
import { hasNbconvert, jupyterCommand } from "../../../scripts/export";
import { displayBundle, findChromium, imshow } from "../../../src/lens/viz/index";

const ROOT = resolve(__dirname, "../../..");
const TSLAB = join(ROOT, "node_modules", ".bin", "tslab");
const skip = !existsSync(TSLAB) ? "tslab is not installed (npm install)" : !hasNbconvert() ? "jupyter nbconvert not found (apt-get install -y jupyter-nbconvert python3-nbformat)" : false;

const CELLS = [
  `import { imshow, coloredTokens, show } from "./src/lens/viz/index";`,
  `const fig = await imshow([[1, -1], [0.5, 0]], { x: ["a", "b"], y: ["c", "d"], title: "from tslab" });\nshow(fig);`,
  `const view = await coloredTokens(["a", "b"], [1, 2]);\nshow(view);`,
  `show(fig);`,
];

/** nbformat stores multi-line strings as lists of lines. */
const text = (v: unknown): string => (Array.isArray(v) ? v.join("") : String(v));

type Output = { output_type: string; data?: Record<string, unknown>; metadata?: Record<string, unknown>; text?: string | string[] };

test("tslab kernel: show() sends the loader once and one bundle per figure (plotly JSON, HTML, static PNG, text)", { skip, timeout: 240000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "lens-tslab-"));
  try {
    const kdir = join(dir, "jupyter", "kernels", "lens-viz-test");
    mkdirSync(kdir, { recursive: true });
    const argv = ["/bin/sh", "-c", 'cd "$0" && exec ./node_modules/.bin/tslab kernel --config-path "$1"', ROOT, "{connection_file}"];
    writeFileSync(join(kdir, "kernel.json"), JSON.stringify({ argv, display_name: "TypeScript (lens viz test)", language: "typescript" }));
    const nb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: "lens-viz-test", display_name: "TypeScript (lens viz test)", language: "typescript" } },
      cells: CELLS.map((source, i) => ({ id: `c${i}`, cell_type: "code", execution_count: null, metadata: {}, source, outputs: [] })),
    };
    const input = join(dir, "in.ipynb");
    writeFileSync(input, JSON.stringify(nb));
    const env = { ...process.env, JUPYTER_PATH: [join(dir, "jupyter"), process.env.JUPYTER_PATH].filter(Boolean).join(delimiter) };
    const r = spawnSync(jupyterCommand(), ["nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=180", "--output-dir", dir, "--output", "executed", input], { env, encoding: "utf8", maxBuffer: 256 << 20 });
    assert.equal(r.status, 0, `nbconvert --execute failed:\n${r.stderr}`);
    const executed = JSON.parse(readFileSync(join(dir, "executed.ipynb"), "utf8")) as { cells: { outputs: Output[] }[] };
    const displays = executed.cells.map((c) => c.outputs.filter((o) => o.output_type === "display_data"));
    const streams = executed.cells.flatMap((c) => c.outputs.filter((o) => o.output_type === "stream" && (o as { name?: string }).name === "stderr"));
    assert.deepStrictEqual(streams, [], "nothing on stderr");
    const kinds = JSON.stringify(executed.cells.map((c) => c.outputs.map((o) => o.output_type + (o.text ? `: ${text(o.text).slice(0, 200)}` : ""))));
    assert.deepStrictEqual(displays.map((d) => d.length), [0, 2, 1, 1], `loader + figure, view, figure (no second loader); outputs: ${kinds}`);

    const [loader, figOut] = displays[1];
    assert.deepStrictEqual(loader.metadata, { lens: { plotlyLoader: true } });
    assert.ok(text(loader.data?.["text/html"]).length > 1e6, "the loader carries plotly.js");
    const expected = displayBundle(await imshow([[1, -1], [0.5, 0]], { x: ["a", "b"], y: ["c", "d"], title: "from tslab" }));
    assert.deepStrictEqual(figOut.data?.["application/vnd.plotly.v1+json"], expected.data["application/vnd.plotly.v1+json"]);
    assert.equal(text(figOut.data?.["text/plain"]), '<plotly figure: heatmap "from tslab">');
    assert.match(text(figOut.data?.["text/html"]), /Plotly\.newPlot/);
    if (findChromium()) {
      const png = Buffer.from(text(figOut.data?.["image/png"]), "base64");
      assert.deepStrictEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "image/png holds a PNG");
      assert.deepStrictEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [700, 450], "the default figure size (700 × 450)");
      assert.deepStrictEqual(figOut.metadata, { "image/png": { width: 700, height: 450 } });
      assert.match(text(figOut.data?.["text/html"]), /<img class="lens-static"[^>]* src="data:image\/webp;base64,/);
    } else {
      console.log("no Chromium: the static-image part of this test was skipped (apt-get install -y chromium)");
      assert.ok(!("image/png" in (figOut.data ?? {})), "without Chromium the bundle has no image");
    }
    assert.deepStrictEqual(Object.keys(displays[2][0].data ?? {}).sort(), ["text/html", "text/plain"]);
    assert.ok("application/vnd.plotly.v1+json" in (displays[3][0].data ?? {}));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
