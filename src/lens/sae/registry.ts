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

/** Registers (or replaces) an architecture. */
export function registerSaeArchitecture(arch: SaeArchitecture): void {
  REGISTRY.set(arch.name, arch);
}
