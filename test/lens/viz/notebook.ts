/**
 * Test helper: builds a small nbformat-4 notebook whose outputs are exactly the display bundles that show() sends in a
 * tslab kernel (the plotly.js loader first, then one bundle per figure/view), so export can be tested without a kernel.
 */
import { writeFileSync } from "node:fs";
import { displayBundle, loaderBundle, type DisplayBundle } from "../../../src/lens/viz/display";
import type { HtmlView, PlotlyFigure } from "../../../src/lens/viz/types";

function output(b: DisplayBundle): Record<string, unknown> {
  return { output_type: "display_data", data: b.data, metadata: b.metadata };
}

/** Writes a notebook: a markdown cell, then one code cell per item (the first also carries the plotly.js loader). */
export function writeNotebook(path: string, items: { code: string; item: PlotlyFigure | HtmlView }[]): void {
  let loaderSent = false;
  const cells: Record<string, unknown>[] = [{ cell_type: "markdown", metadata: {}, source: ["# lens export test\n", "Figures and viewers made by the test."] }];
  items.forEach(({ code, item }, i) => {
    const outputs = [];
    if (!loaderSent && "data" in item) {
      outputs.push(output(loaderBundle()));
      loaderSent = true;
    }
    outputs.push(output(displayBundle(item)));
    cells.push({ cell_type: "code", execution_count: i + 1, metadata: {}, source: [code], outputs });
  });
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "tslab-lens", display_name: "TypeScript (lens)", language: "typescript" }, language_info: { name: "typescript" } },
    cells: cells.map((c, i) => ({ id: `cell-${i}`, ...c })),
  };
  writeFileSync(path, JSON.stringify(nb, null, 1));
}
