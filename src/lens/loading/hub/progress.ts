/**
 * Download progress: bytes, rate and ETA. In a terminal, one line on stderr redrawn with `\r`; in a tslab notebook,
 * one display element updated in place; elsewhere (CI logs, piped stderr) a line every ~10 s at most. Silent when
 * `progress: false`.
 */
import { updatableText } from "../../viz/tslab";

/** Where progress goes: `true` (auto), `false` (silent), or a function receiving each rendered line. */
export type ProgressOption = boolean | ((line: string) => void);

/** Human-readable bytes in decimal units (1 kB = 1000 B), as huggingface_hub's progress bars show them. */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`;
}

function formatTime(s: number): string {
  if (!Number.isFinite(s)) return "--:--";
  s = Math.round(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** The text of a progress line: `label  43% |████▌     | 212 MB/497 MB  35.2 MB/s  ETA 0:08`. */
export function renderProgress(label: string, done: number, total: number, seconds: number): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const width = 20;
  const filled = Math.floor(frac * width);
  const bar = "█".repeat(filled) + (filled < width ? " ".repeat(width - filled) : "");
  const rate = seconds > 0 ? done / seconds : 0;
  const eta = rate > 0 ? (total - done) / rate : Infinity;
  return `${label} ${String(Math.floor(frac * 100)).padStart(3)}% |${bar}| ${formatBytes(done)}/${formatBytes(total)}  ${formatBytes(rate)}/s  ETA ${formatTime(eta)}`;
}

/** A progress display for one download of `total` bytes. */
export class Progress {
  private done = 0;
  private readonly start = Date.now();
  private last = 0;
  private readonly sink: ((line: string, final: boolean) => void) | undefined;
  private readonly interval: number;

  constructor(private readonly label: string, private readonly total: number, option: ProgressOption = true) {
    if (option === false) {
      this.interval = Infinity;
      return;
    }
    if (typeof option === "function") {
      this.sink = (line) => option(line);
      this.interval = 1000;
      return;
    }
    const display = updatableText();
    if (display) {
      this.sink = (line) => display(line);
      this.interval = 500;
    } else if (process.stderr.isTTY) {
      this.sink = (line, final) => process.stderr.write(`\r${line}\x1b[K${final ? "\n" : ""}`);
      this.interval = 100;
    } else {
      this.sink = (line) => process.stderr.write(`${line}\n`);
      this.interval = 10_000;
    }
  }

  /** Adds `n` bytes; redraws at most every few hundred milliseconds. */
  add(n: number): void {
    this.done += n;
    const now = Date.now();
    if (this.sink && now - this.last >= this.interval) {
      this.last = now;
      this.sink(renderProgress(this.label, this.done, this.total, (now - this.start) / 1000), false);
    }
  }

  /** Draws the final state. */
  finish(): void {
    this.sink?.(renderProgress(this.label, this.done, this.total, (Date.now() - this.start) / 1000), true);
  }
}
