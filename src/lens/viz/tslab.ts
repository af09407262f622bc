/**
 * The one place that finds tslab (the TypeScript Jupyter kernel): its display writer, for figures (display.ts) and
 * for text updated in place (download progress). Found through require.cache, so plain Node never loads tslab, and the
 * kernel's own copy of tslab is used (not another one resolved from here).
 */
import { randomBytes } from "node:crypto";

/** tslab's `display_data` / `update_display_data` writer (`update` picks the second). */
export type WriteDisplayData = (msg: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void;

/** tslab's display writer when this process is a tslab kernel executing a cell, else undefined. */
export function tslabWriter(): WriteDisplayData | undefined {
  if (typeof require === "undefined" || !require.cache) return undefined;
  for (const key of Object.keys(require.cache)) {
    if (!/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(key)) continue;
    const w = (require.cache[key]?.exports as { lastWriteDisplayData?: WriteDisplayData | null } | undefined)?.lastWriteDisplayData;
    if (typeof w === "function") return w;
  }
  return undefined;
}

/**
 * In a tslab kernel, a function showing text in one output element that each call replaces (a `display_id`, as
 * tslab's `newDisplay()` uses); undefined elsewhere.
 */
export function updatableText(): ((text: string) => void) | undefined {
  const write = tslabWriter();
  if (write === undefined) return undefined;
  const displayId = randomBytes(8).toString("hex");
  let shown = false;
  return (text) => {
    write({ data: { "text/plain": text }, metadata: {}, transient: { display_id: displayId } }, shown);
    shown = true;
  };
}
