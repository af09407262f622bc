/**
 * The worker-thread half of staticImage.ts: one headless Chromium (chromium.ts) with plotly.js loaded once, turning
 * figure JSON into PNG images with Plotly.toImage. It runs in a worker so that the notebook's main thread can wait for
 * an image synchronously (show() stays synchronous); each answer is posted on `reply` and signalled through `flag`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { MessagePort } from "node:worker_threads";
import { Browser, type Page } from "./chromium";

/** What the main thread passes to the worker. */
export interface StaticWorkerData {
  executable: string;
  plotlyFile: string;
  reply: MessagePort;
  flag: Int32Array;
}

/** One request: a figure, the image size in CSS pixels and the formats wanted ("png", "webp", "svg", "jpeg"). */
export interface StaticRequest {
  figure: { data: unknown[]; layout: Record<string, unknown> };
  width: number;
  height: number;
  scale: number;
  formats: string[];
}

/** One answer: one data URL per requested format, or the reason there is none. */
export interface StaticReply {
  urls?: string[];
  error?: string;
  ms: number;
}

async function openPage(data: StaticWorkerData): Promise<{ page: Page; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "lens-static-"));
  const file = join(dir, "plotly.html");
  writeFileSync(file, `<!DOCTYPE html><html><head><meta charset="utf-8"><script src="${pathToFileURL(data.plotlyFile).href}"></script></head><body></body></html>`);
  const browser = await Browser.launch(data.executable);
  const page = await browser.newPage(1000, 800);
  await page.goto(pathToFileURL(file).href);
  if (!(await page.evaluate<boolean>("!!window.Plotly"))) throw new Error("plotly.js did not load in the static-image page");
  return { page, close: async () => { await browser.close(); rmSync(dir, { recursive: true, force: true }); } };
}

/** Serves render requests from `port` until the thread ends. */
export function serveStaticImages(port: MessagePort, data: StaticWorkerData): void {
  let opened: ReturnType<typeof openPage> | undefined;
  const answer = (r: StaticReply): void => {
    data.reply.postMessage(r);
    Atomics.store(data.flag, 0, 1);
    Atomics.notify(data.flag, 0);
  };
  port.on("message", async (req: StaticRequest | "close" | "warm") => {
    if (req === "warm") {
      opened ??= openPage(data);
      opened.catch(() => undefined); // a failure is reported to the first real request
      return;
    }
    if (req === "close") {
      if (opened) await (await opened.catch(() => undefined))?.close();
      answer({ error: "closed", ms: 0 });
      return;
    }
    const t0 = Date.now();
    try {
      opened ??= openPage(data);
      const { page } = await opened;
      const opts = { width: req.width, height: req.height, scale: req.scale };
      const urls = await page.evaluate<string[]>(`(async () => {
        const fig = ${JSON.stringify(req.figure)}, opts = ${JSON.stringify(opts)}, out = [];
        for (const format of ${JSON.stringify(req.formats)}) out.push(await window.Plotly.toImage(fig, { ...opts, format }));
        return out;
      })()`);
      answer({ urls, ms: Date.now() - t0 });
    } catch (e) {
      answer({ error: (e as Error).message, ms: Date.now() - t0 });
    }
  });
}
