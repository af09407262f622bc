/**
 * A minimal headless-Chromium driver over the Chrome DevTools protocol on a pipe (--remote-debugging-pipe), with no
 * dependencies and no browser download: it runs the system's Chromium (Debian's `chromium`). Used by savePng and by
 * the browser tests (open a page, evaluate, click, screenshot, collect console errors).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

/** The Chromium executable: $LENS_CHROMIUM, $CHROME_PATH, or a usual system path; undefined when none exists. */
export function findChromium(): string | undefined {
  const candidates = [process.env.LENS_CHROMIUM, process.env.CHROME_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

/** Flags for a quiet, offline, headless Chromium (as root it needs --no-sandbox). */
const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
  "--remote-debugging-pipe",
];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A running headless Chromium. Always close() it (in a finally). */
export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: Json) => void; reject: (e: Error) => void; method: string }>();
  private readonly listeners = new Set<(msg: Json) => void>();
  private stderrTail = "";
  private exited = false;

  private constructor(private readonly proc: ChildProcess, private readonly profile: string) {
    const out = proc.stdio[4] as Readable;
    let buf = "";
    out.setEncoding("utf8");
    out.on("data", (chunk: string) => {
      buf += chunk;
      let end: number;
      while ((end = buf.indexOf("\0")) >= 0) {
        const msg = JSON.parse(buf.slice(0, end)) as Json;
        buf = buf.slice(end + 1);
        this.dispatch(msg);
      }
    });
    proc.stderr?.on("data", (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString()).slice(-2000)));
    proc.on("exit", () => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`chromium exited during ${p.method}; its stderr ended with: ${this.stderrTail}`));
      this.pending.clear();
    });
  }

  /** Starts Chromium (headless, offline flags, a fresh profile). Throws when no Chromium is installed. */
  static async launch(executable = findChromium()): Promise<Browser> {
    if (!executable) throw new Error("no Chromium found: install Debian's `chromium` (apt-get install -y chromium) or set LENS_CHROMIUM to its path");
    const profile = mkdtempSync(join(tmpdir(), "lens-chromium-"));
    const proc = spawn(executable, [...FLAGS, `--user-data-dir=${profile}`, "about:blank"], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
    const b = new Browser(proc, profile);
    await b.send("Target.setDiscoverTargets", { discover: true });
    return b;
  }

  private dispatch(msg: Json): void {
    if (typeof msg.id === "number") {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
      else p.resolve(msg.result ?? {});
      return;
    }
    for (const l of this.listeners) l(msg);
  }

  /** Sends one protocol command (to a page when sessionId is given) and resolves with its result. */
  send(method: string, params: Json = {}, sessionId?: string, timeoutMs = 30000): Promise<Json> {
    if (this.exited) return Promise.reject(new Error(`chromium has exited; cannot send ${method}`));
    const id = this.nextId++;
    const msg: Json = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise<Json>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`chromium did not answer ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = <T>(f: (v: T) => void) => (v: T) => {
        clearTimeout(timer);
        f(v);
      };
      this.pending.set(id, { resolve: done(resolve), reject: done(reject), method });
      (this.proc.stdio[3] as Writable).write(JSON.stringify(msg) + "\0");
    });
  }

  /** Subscribes to protocol events; returns the unsubscribe function. */
  on(listener: (msg: Json) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Opens a new page (tab) of the given viewport size. */
  async newPage(width = 1200, height = 900): Promise<Page> {
    const { targetId } = await this.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.send("Target.attachToTarget", { targetId, flatten: true });
    const page = new Page(this, sessionId as string);
    await Promise.all(["Page.enable", "Runtime.enable", "Log.enable"].map((m) => this.send(m, {}, sessionId)));
    await this.send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile: false }, sessionId);
    return page;
  }

  /** Stops Chromium and deletes its temporary profile. */
  async close(): Promise<void> {
    if (!this.exited) {
      const gone = new Promise<void>((r) => this.proc.once("exit", () => r()));
      this.proc.kill("SIGTERM");
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
      if (!this.exited) this.proc.kill("SIGKILL");
    }
    // Chromium's helper processes can still be writing to the profile just after the main process exits: retry, and
    // leave a temporary folder behind rather than fail the caller.
    try {
      rmSync(this.profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch {
      /* a leftover folder under the OS temp dir is harmless */
    }
  }
}

/** One page of a Browser. `errors` collects console errors, uncaught exceptions and failed loads. */
export class Page {
  readonly errors: string[] = [];

  constructor(private readonly browser: Browser, private readonly sessionId: string) {
    browser.on((m) => {
      if (m.sessionId !== sessionId) return;
      if (m.method === "Runtime.exceptionThrown") {
        const d = m.params.exceptionDetails;
        this.errors.push(`exception: ${d.exception?.description ?? d.text}`);
      } else if (m.method === "Runtime.consoleAPICalled" && (m.params.type === "error" || m.params.type === "assert")) {
        this.errors.push(`console.${m.params.type}: ${m.params.args.map((a: Json) => a.value ?? a.description).join(" ")}`);
      } else if (m.method === "Log.entryAdded" && m.params.entry.level === "error") {
        this.errors.push(`log: ${m.params.entry.text} ${m.params.entry.url ?? ""}`.trim());
      }
    });
  }

  /** Navigates and waits for the load event. */
  async goto(url: string, timeoutMs = 60000): Promise<void> {
    let off = (): void => {};
    const loaded = new Promise<void>((resolve) => {
      off = this.browser.on((m) => {
        if (m.sessionId === this.sessionId && m.method === "Page.loadEventFired") resolve();
      });
    });
    await this.browser.send("Page.navigate", { url }, this.sessionId);
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`page ${url} did not load within ${timeoutMs} ms`)), timeoutMs).unref());
    try {
      await Promise.race([loaded, timeout]);
    } finally {
      off();
    }
  }

  /** Evaluates a JavaScript expression in the page (promises awaited, up to timeoutMs) and returns its JSON value. */
  async evaluate<T>(expression: string, timeoutMs = 30000): Promise<T> {
    const r = await this.browser.send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }, this.sessionId, timeoutMs);
    if (r.exceptionDetails) throw new Error(`page evaluation failed: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  /** A real mouse click (move, press, release) at page coordinates. */
  async click(x: number, y: number): Promise<void> {
    for (const type of ["mouseMoved", "mousePressed", "mouseReleased"]) {
      await this.browser.send("Input.dispatchMouseEvent", { type, x, y, button: type === "mouseMoved" ? "none" : "left", clickCount: 1 }, this.sessionId);
    }
  }

  /** Moves the mouse to page coordinates (fires mousemove / hover). */
  async hover(x: number, y: number): Promise<void> {
    await this.browser.send("Input.dispatchMouseEvent", { type: "mouseMoved", x, y }, this.sessionId);
  }

  /** A PNG of the whole page (all of its content), or of a clip rectangle in page coordinates. */
  async screenshot(clip?: { x: number; y: number; width: number; height: number }): Promise<Buffer> {
    if (!clip) {
      const m = await this.browser.send("Page.getLayoutMetrics", {}, this.sessionId);
      const size = (m.cssContentSize ?? m.contentSize) as { width: number; height: number };
      clip = { x: 0, y: 0, width: Math.ceil(size.width), height: Math.ceil(size.height) };
    }
    const params: Json = { format: "png", captureBeyondViewport: true, clip: { ...clip, scale: 1 } };
    const r = await this.browser.send("Page.captureScreenshot", params, this.sessionId);
    return Buffer.from(r.data as string, "base64");
  }
}
