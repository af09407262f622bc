/** Typed reads of Hugging Face config.json fields, with errors that name the file and the key. */
import type { HfConfig } from "./types";

/** The first of `keys` present in `hf` as a number; throws naming them all when none is. */
export function num(hf: HfConfig, modelName: string, ...keys: string[]): number {
  for (const k of keys) {
    const v = hf[k];
    if (typeof v === "number") return v;
  }
  throw new Error(`${modelName}/config.json: missing numeric field ${keys.map((k) => `"${k}"`).join(" or ")}`);
}

/** Like `num`, but returns `fallback` when no key is present. */
export function numOr(hf: HfConfig, fallback: number, ...keys: string[]): number {
  for (const k of keys) {
    const v = hf[k];
    if (typeof v === "number") return v;
  }
  return fallback;
}

/** A string field, or `fallback`. */
export function str(hf: HfConfig, key: string, fallback: string): string {
  const v = hf[key];
  return typeof v === "string" ? v : fallback;
}
