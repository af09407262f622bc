/**
 * WebGPU binds each tensor's buffer whole, and a binding may not exceed the adapter's maxStorageBufferBindingSize
 * (lavapipe: 128 MiB; NVIDIA's Vulkan driver: up to 4 GiB). lens does not split tensors: a model weight or an
 * activation larger than that is refused **before any work** with an Error giving the sizes (at load, and at the start
 * of each forward), instead of failing inside a kernel half-way through. On cpu and wasm these checks do nothing.
 */
import * as tf from "@tensorflow/tfjs";
import type { TransformerConfig } from "../config";
import { webgpuLimits } from "./dawnWebgpu";

export interface Binding {
  /** What it is, for the message: "W_E", "logits", … */
  readonly what: string;
  readonly shape: readonly number[];
}

const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * Throws when a float32 tensor of one of these shapes cannot be bound on the webgpu device in use (or under an
 * explicit `limit` in bytes, on any backend); else nothing.
 */
export function checkBindings(items: readonly Binding[], context: string, explicitLimit?: number): void {
  const limit = explicitLimit ?? (tf.getBackend() === "webgpu" ? webgpuLimits()?.maxStorageBufferBindingSize : undefined);
  if (limit === undefined) return;
  const over = items.map((b) => ({ ...b, bytes: 4 * b.shape.reduce((x, y) => x * y, 1) })).filter((b) => b.bytes > limit);
  if (over.length === 0) return;
  const list = over.map((b) => `${b.what} [${b.shape.join(", ")}] = ${MiB(b.bytes)}`).join("; ");
  throw new Error(
    `${context}: ${list} exceed${over.length === 1 ? "s" : ""} this WebGPU device's maxStorageBufferBindingSize of ${MiB(limit)} ` +
      `(one binding per tensor; lens does not split tensors). Use fewer tokens per call, or a backend without this limit (LENS_BACKEND=cpu or wasm).`,
  );
}

/** The model's largest weights (as stored or derived: W_E, W_U, W_pos, MLP and fused attention matrices). */
export function weightBindings(cfg: TransformerConfig): Binding[] {
  const { dModel, dVocab, dVocabOut, dMlp, nCtx, nHeads, dHead } = cfg;
  const out: Binding[] = [
    { what: "W_E", shape: [dVocab, dModel] },
    { what: "W_U", shape: [dModel, dVocabOut] },
    { what: "W_in", shape: [dModel, dMlp] },
    { what: "W_Q", shape: [dModel, nHeads * dHead] },
  ];
  if (cfg.positionalEmbeddingType === "standard") out.push({ what: "W_pos", shape: [nCtx, dModel] });
  return out;
}

/** The largest activations of one forward over `[batch, pos]` tokens. */
export function activationBindings(cfg: TransformerConfig, batch: number, pos: number): Binding[] {
  const out: Binding[] = [
    { what: "logits", shape: [batch, pos, cfg.dVocabOut] },
    { what: "attention scores", shape: [batch, cfg.nHeads, pos, pos] },
    { what: "MLP activations", shape: [batch, pos, cfg.dMlp] },
  ];
  if (cfg.useAttnResult) out.push({ what: "attn.hook_result", shape: [batch, pos, cfg.nHeads, cfg.dModel] });
  return out;
}
