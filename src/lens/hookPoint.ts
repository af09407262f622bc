/**
 * The hook registry: the only place forward hooks are stored. A hook point with nothing attached costs one Map lookup.
 */
import * as tf from "@tensorflow/tfjs";
import { closestNames } from "./util/closest";

/** What a hook function is told about the point it runs at (TransformerLens's `hook` argument). */
export interface HookContext {
  readonly name: string;
  /** The block index for `blocks.{l}.*` hooks, undefined for the others. */
  readonly layer: number | undefined;
  /** A per-hook-point scratch object that persists across calls until `resetHooks({ clearContexts: true })`. */
  readonly ctx: Record<string, unknown>;
}

/** A forward hook: return a tensor to replace the activation (same shape), or nothing to only observe it. */
export type HookFn = (act: tf.Tensor, hook: HookContext) => tf.Tensor | void;

/** A hook target: an exact hook name or a predicate over hook names (TransformerLens's filter functions). */
export type HookTarget = string | ((name: string) => boolean);

/** `[target, fn]` pairs, as in TransformerLens's `fwd_hooks`. */
export type FwdHooks = ReadonlyArray<readonly [HookTarget, HookFn]>;

interface Entry {
  readonly fn: HookFn;
  readonly permanent: boolean;
  readonly level: number;
}

/** The block index of a hook name (`blocks.L.…` → L); undefined for hooks outside the blocks (`hook_embed`, `ln_final.…`). */
export function layerOf(name: string): number | undefined {
  const m = /^blocks\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Stores hook functions per hook point and runs them on activations. */
export class HookRegistry {
  private readonly hooks = new Map<string, Entry[]>();
  private readonly contexts = new Map<string, Record<string, unknown>>();

  /** @param validNames every hook point of the model (flag-gated ones included). */
  constructor(private readonly validNames: () => readonly string[]) {}

  /** Resolves a target to the hook names it selects; an unknown exact name throws with the closest names. */
  resolve(target: HookTarget): string[] {
    const names = this.validNames();
    if (typeof target === "function") return names.filter((n) => target(n));
    if (names.includes(target)) return [target];
    const close = closestNames(target, names);
    throw new Error(
      `unknown hook name "${target}"` +
        (close.length ? `; did you mean ${close.map((c) => `"${c}"`).join(" or ")}?` : ".") +
        ` Use model.hookNames() to list the ${names.length} hook points, or getActName("pattern", 0) to build a name.`,
    );
  }

  /** Attaches `fn` to every hook point `target` selects. Returns how many points it was attached to. */
  add(target: HookTarget, fn: HookFn, opts: { permanent?: boolean; level?: number; prepend?: boolean } = {}): number {
    const names = this.resolve(target);
    const entry: Entry = { fn, permanent: opts.permanent ?? false, level: opts.level ?? 0 };
    for (const n of names) {
      const list = this.hooks.get(n) ?? [];
      if (opts.prepend) list.unshift(entry);
      else list.push(entry);
      this.hooks.set(n, list);
    }
    return names.length;
  }

  /** Removes hooks: non-permanent ones (or all), optionally only those added at `level` or deeper. */
  reset(opts: { includingPermanent?: boolean; level?: number; clearContexts?: boolean } = {}): void {
    for (const [name, list] of this.hooks) {
      const kept = list.filter(
        (e) => (e.permanent && !opts.includingPermanent) || (opts.level !== undefined && e.level < opts.level),
      );
      if (kept.length) this.hooks.set(name, kept);
      else this.hooks.delete(name);
    }
    if (opts.clearContexts) this.contexts.clear();
  }

  /** Number of hook functions attached, over all points. */
  count(): number {
    let n = 0;
    for (const list of this.hooks.values()) n += list.length;
    return n;
  }

  /** True when a hook is attached at `name` (lets callers skip building optional activations). */
  has(name: string): boolean {
    return this.hooks.has(name);
  }

  /**
   * Runs the hooks attached at `name` on `act`, in order; each sees the previous one's result.
   * A returned tensor of a different shape throws an Error naming the hook and both shapes.
   */
  run(name: string, act: tf.Tensor): tf.Tensor {
    const list = this.hooks.get(name);
    if (list === undefined) return act;
    let ctx = this.contexts.get(name);
    if (ctx === undefined) this.contexts.set(name, (ctx = {}));
    const info: HookContext = { name, layer: layerOf(name), ctx };
    let x = act;
    for (const { fn } of [...list]) {
      const out = fn(x, info);
      if (out === undefined || out === null) continue;
      if (!(out instanceof tf.Tensor)) {
        throw new Error(`hook at "${name}" returned ${typeof out}; return a tf.Tensor to replace the activation, or nothing`);
      }
      if (!tf.util.arraysEqual(out.shape, x.shape)) {
        throw new Error(
          `hook at "${name}" returned shape [${out.shape}] but the activation has shape [${x.shape}]; ` +
            `a hook must return a tensor of the same shape (or nothing)`,
        );
      }
      x = out;
    }
    return x;
  }
}
