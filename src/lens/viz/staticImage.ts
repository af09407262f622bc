/**
 * Static images of plotly figures, so that a notebook output can be seen where no JavaScript runs (GitHub, nbviewer,
 * an untrusted JupyterLab or VS Code preview). A figure is rendered to a PNG by plotly.js itself (Plotly.toImage) in
 * the system's headless Chromium (chromium.ts), one Chromium per process, started on first use and reused.
 *
 * show() is synchronous (cells call it without await), so the Chromium work runs in a worker thread
 * (staticWorker.ts) and the caller waits for the answer with Atomics.wait. When there is no Chromium, no TypeScript
 * loader for the worker, or rendering fails, staticImage() returns undefined and figures are shown without an image.
 * LENS_STATIC_FIGURES=0 turns it off.
 */
import { join } from "node:path";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { findChromium } from "./chromium";
import { compactPng } from "./staticViews";
import type { PlotlyFigure } from "./types";
import type { StaticReply, StaticRequest } from "./staticWorker";

/**
 * A rendered figure: a PNG (for the output bundle's image/png; Chromium's, re-encoded losslessly by compactPng, ~35%
 * smaller) and a WebP of the same image, about half the PNG's size (for the <img> inside the figure's text/html), both
 * base64, and their size in CSS pixels.
 */
export interface StaticImage {
  png: string;
  webp: string;
  width: number;
  height: number;
  /** Milliseconds the render took (Chromium start included on the first figure). */
  ms: number;
}

/** Default image width for figures without layout.width (plotly's own toImage default is 700). */
export const STATIC_WIDTH = 700;
/** Default image height for figures without layout.height (plotly's default layout height). */
export const STATIC_HEIGHT = 450;

interface Renderer {
  worker?: Worker;
  port?: MessagePort;
  flag?: Int32Array;
  /** Why images are off for this process (set once, then every call returns undefined quietly). */
  off?: string;
  started: boolean;
}

const KEY = Symbol.for("lens.viz.staticRenderer");
const slot = globalThis as unknown as Record<symbol, Renderer | undefined>;

/** The bootstrap of the worker thread: a TypeScript loader (tsx) when the process has none, then staticWorker.ts. */
const BOOT = `
const { parentPort, workerData } = require("node:worker_threads");
if (workerData.tsx) { try { require(workerData.tsx); } catch (e) { /* a loader inherited from the parent may do */ } }
require(workerData.module).serveStaticImages(parentPort, workerData);
`;

function renderer(): Renderer {
  const existing = slot[KEY];
  if (existing) return existing;
  const r: Renderer = { started: false };
  slot[KEY] = r;
  if (process.env.LENS_STATIC_FIGURES === "0") r.off = "LENS_STATIC_FIGURES=0";
  const executable = findChromium();
  if (!r.off && !executable) r.off = "no Chromium";
  if (r.off) return r;
  try {
    let tsx: string | undefined;
    try {
      tsx = require.resolve("tsx/cjs");
    } catch {
      tsx = undefined;
    }
    const { port1, port2 } = new MessageChannel();
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const workerData = { executable, plotlyFile: require.resolve("plotly.js-dist"), reply: port2, flag, tsx, module: join(__dirname, "staticWorker.ts") };
    const worker = new Worker(BOOT, { eval: true, workerData, transferList: [port2], stdout: true, stderr: true });
    worker.unref();
    worker.on("error", (e) => (r.off = `worker failed: ${e.message}`));
    worker.postMessage("warm"); // start Chromium now, in the background, so the first figure waits less
    Object.assign(r, { worker, port: port1, flag });
  } catch (e) {
    r.off = `cannot start the image worker: ${(e as Error).message}`;
  }
  return r;
}

/**
 * A PNG of the figure rendered by plotly.js in headless Chromium, or undefined when that is not possible here (no
 * Chromium, LENS_STATIC_FIGURES=0, a render error or a timeout: then images stay off for the rest of the process).
 * Blocks until the image is ready: about 2–5 s for the first figure (Chromium and plotly.js start), then ~0.1–0.5 s.
 */
export function staticImage(fig: PlotlyFigure): StaticImage | undefined {
  const r = renderer();
  if (r.off || !r.worker || !r.port || !r.flag) return undefined;
  const width = typeof fig.layout.width === "number" ? fig.layout.width : STATIC_WIDTH;
  const height = typeof fig.layout.height === "number" ? fig.layout.height : STATIC_HEIGHT;
  const req: StaticRequest = { figure: { data: fig.data, layout: fig.layout }, width, height, scale: 1, formats: ["png", "webp"] };
  Atomics.store(r.flag, 0, 0);
  r.worker.postMessage(req);
  const waited = Atomics.wait(r.flag, 0, 0, r.started ? 30000 : 90000);
  r.started = true;
  const reply = receiveMessageOnPort(r.port)?.message as StaticReply | undefined;
  if (waited === "timed-out" || !reply) {
    r.off = "timed out";
    void r.worker.terminate();
    return undefined;
  }
  if (!reply.urls) {
    r.off = reply.error ?? "no image";
    return undefined;
  }
  const [png, webp] = reply.urls.map((u) => u.slice(u.indexOf(",") + 1));
  return { png: compactPng(Buffer.from(png, "base64")).toString("base64"), webp, width, height, ms: reply.ms };
}

/** Starts the image worker and its Chromium in the background (show() calls it for every item), without waiting. */
export function warmStaticImages(): void {
  renderer();
}

/** Why static images are off in this process (undefined while they work or before the first figure). */
export function staticImageStatus(): string | undefined {
  return slot[KEY]?.off;
}

/** Stops the image worker and its Chromium (they also end with the process); the next figure starts them again. */
export async function closeStaticImages(): Promise<void> {
  const r = slot[KEY];
  slot[KEY] = undefined;
  if (!r?.worker || !r.flag) return;
  if (!r.off) {
    Atomics.store(r.flag, 0, 0);
    r.worker.postMessage("close");
    Atomics.wait(r.flag, 0, 0, 5000);
  }
  await r.worker.terminate();
}
