/**
 * lens visualisation: plotly figure builders, notebook display, HTML viewers, and saving to HTML / PNG.
 * @example
 * import { imshow, attentionHeads, show } from "./src/lens/index";
 * show(await imshow(pattern, { x: tokens, y: tokens, facetTitles }));
 * show(await attentionHeads(tokens, pattern));
 */
export { imshow, facetDomains, type ImshowOptions } from "./imshow";
export { line, scatter, bar, histogram, type ChartOptions, type LineOptions, type ScatterOptions, type BarOptions, type HistogramOptions } from "./charts";
export {
  attentionHeads, attentionPattern, coloredTokens, coloredTokensMulti, topkTokens, topkIndices, valueColor, rangeOf,
  type AttentionHeadsOptions, type AttentionPatternOptions, type ColoredTokensOptions, type ColoredTokensMultiOptions,
  type TopkOptions, type RangeOptions, type ColorScaleRange,
} from "./viewers";
export { show, displayBundle, loaderBundle, inNotebook, resendPlotly, LOADER_METADATA, type DisplayBundle, type ShowOptions } from "./display";
export { saveHtml, savePng, type SavePngOptions } from "./save";
export { figureHtml, pageHtml, plotlyJs, figureSummary } from "./html";
export { Browser, Page, findChromium } from "./chromium";
export { tokenLabels, isFigure, isView, type PlotlyFigure, type PlotlyTrace, type HtmlView, type Values } from "./types";
