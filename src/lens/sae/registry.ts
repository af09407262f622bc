/** Registry of SAE architectures by SAELens name. */
import type { SaeArchitectureName } from "./config";
import { gatedSae } from "./gated";
import { jumpreluSae } from "./jumprelu";
import { standardSae } from "./standard";
import { topkSae } from "./topk";
import type { SaeArchitecture } from "./types";

const REGISTRY = new Map<string, SaeArchitecture>([standardSae, topkSae, jumpreluSae, gatedSae].map((a) => [a.name, a]));

/** The architecture registered as `name`; throws naming the known ones otherwise. */
export function getSaeArchitecture(name: SaeArchitectureName | string): SaeArchitecture {
  const a = REGISTRY.get(name);
  if (!a) throw new Error(`Unknown SAE architecture "${name}"; registered: ${[...REGISTRY.keys()].join(", ")}`);
  return a;
}

/** Every registered architecture, built-in ones first. */
export function saeArchitectures(): SaeArchitecture[] {
  return [...REGISTRY.values()];
}

/**
 * Registers (or replaces) an architecture: after this, `new SparseAutoencoder({ architecture: arch.name, … })`,
 * `trainSae`, `save` and `SparseAutoencoder.load` of its cfg.json all use it, through the methods it defines.
 */
export function registerSaeArchitecture(arch: SaeArchitecture): void {
  const required = ["init", "preActivations", "activate", "encode", "decode", "trainForward", "fold", "savedShapes", "toSaved", "fromSaved"] as const;
  const missing = required.filter((m) => typeof (arch as unknown as Record<string, unknown>)[m] !== "function");
  if (typeof arch.name !== "string" || arch.name === "" || missing.length > 0) {
    throw new Error(`registerSaeArchitecture: an architecture needs a name and the methods ${required.join(", ")}${missing.length ? `; missing: ${missing.join(", ")}` : ""}`);
  }
  REGISTRY.set(arch.name, arch);
}
