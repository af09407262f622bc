/** The registry of supported model families. Adding a family: one file and one line here. */
import { gpt2 } from "./gpt2";
import { gptNeox } from "./gptNeox";
import type { Architecture, HfConfig } from "./types";

export const ARCHITECTURES: readonly Architecture[] = [gpt2, gptNeox];

/** The architecture for a parsed config.json; throws listing the supported `model_type`s. */
export function architectureFor(hf: HfConfig, source: string): Architecture {
  const modelType = hf.model_type;
  const arch = ARCHITECTURES.find((a) => a.modelType === modelType);
  if (arch === undefined) {
    const supported = ARCHITECTURES.map((a) => `"${a.modelType}" (${a.hfArchitectures.join(", ")})`).join(", ");
    throw new Error(`${source}: unsupported model_type ${JSON.stringify(modelType)}; supported model types: ${supported}`);
  }
  return arch;
}
