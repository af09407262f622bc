/**
 * SAELens on-disk format: cfg.json, sae_weights.safetensors (W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc, b_dec,
 * threshold, gate parameters), optional sparsity.safetensors (key "sparsity" = log10 feature density). Writes are
 * atomic (writeSafetensors; cfg.json via a temp file and rename).
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { readSafetensors, writeSafetensors, type TensorsToWrite } from "../loading/safetensors";
import { parseSaeConfig, saeConfigToJson, type SaeConfig } from "./config";
import { getSaeArchitecture } from "./registry";
import type { SparseAutoencoder } from "./sae";

/** Writes `sae` into `folder` in SAELens format. */
export async function saveSae(sae: SparseAutoencoder, folder: string, sparsity?: tf.Tensor | Float32Array): Promise<void> {
  await mkdir(folder, { recursive: true });
  const saved = sae.savedTensors();
  try {
    const out: TensorsToWrite = {};
    for (const [k, t] of Object.entries(saved)) out[k] = { shape: t.shape, data: Float32Array.from(await t.data()) };
    await writeSafetensors(path.join(folder, "sae_weights.safetensors"), out);
  } finally {
    tf.dispose(Object.values(saved));
  }
  if (sparsity !== undefined) {
    const data = sparsity instanceof Float32Array ? sparsity : Float32Array.from(await sparsity.data());
    if (data.length !== sae.cfg.dSae) throw new Error(`SparseAutoencoder.save: sparsity has ${data.length} entries, expected d_sae = ${sae.cfg.dSae}`);
    await writeSafetensors(path.join(folder, "sparsity.safetensors"), { sparsity: { shape: [data.length], data } });
  }
  const cfgFile = path.join(folder, "cfg.json");
  const tmp = `${cfgFile}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(saeConfigToJson(sae.cfg), null, 2));
  await rename(tmp, cfgFile);
}

/** Reads a SAELens folder: config and the architecture's training tensors (ownership passes to the caller). */
export async function loadSae(folder: string): Promise<{ cfg: SaeConfig; tensors: Record<string, tf.Tensor> }> {
  const cfgFile = path.join(folder, "cfg.json");
  const weightsFile = path.join(folder, "sae_weights.safetensors");
  if (!existsSync(cfgFile) || !existsSync(weightsFile)) throw new Error(`SparseAutoencoder.load: ${folder} needs cfg.json and sae_weights.safetensors (SAELens format)`);
  const cfg = parseSaeConfig(JSON.parse(await readFile(cfgFile, "utf8")) as Record<string, unknown>);
  const raw = await readSafetensors(weightsFile);
  const saved: Record<string, tf.Tensor> = {};
  for (const [k, v] of raw) saved[k] = tf.tensor(v.data, v.shape, "float32");
  try {
    const arch = getSaeArchitecture(cfg.architecture);
    const expect = arch.savedShapes(cfg);
    // As the model loader does: every tensor in the file is used, or the load fails (no weight is dropped silently).
    const unknown = Object.keys(saved).filter((k) => !(k in expect) && k !== "scaling_factor");
    if (unknown.length > 0) {
      throw new Error(`SparseAutoencoder.load: ${weightsFile} holds ${unknown.join(", ")}, which a "${cfg.architecture}" SAE does not use (it has ${Object.keys(expect).join(", ")}); check cfg.json's architecture — lens refuses the file rather than drop weights`);
    }
    for (const [k, shape] of Object.entries(expect)) {
      const t = saved[k];
      if (!t) throw new Error(`SparseAutoencoder.load: ${weightsFile} has no "${k}" (a "${cfg.architecture}" SAE needs ${Object.keys(expect).join(", ")}); check cfg.json's architecture`);
      if (t.shape.join() !== shape.join()) throw new Error(`SparseAutoencoder.load: ${k} has shape [${t.shape}] but cfg.json (d_in ${cfg.dIn}, d_sae ${cfg.dSae}) says [${shape}]; the files do not match`);
    }
    const sf = saved.scaling_factor;
    if (sf && (await sf.data()).some((v) => v !== 1)) throw new Error(`SparseAutoencoder.load: a non-trivial scaling_factor (finetuning) is not supported`);
    return { cfg, tensors: arch.fromSaved(saved, cfg) };
  } finally {
    tf.dispose(Object.values(saved));
  }
}

/** The "sparsity" tensor (log10 feature density) of a folder's sparsity.safetensors, if present. */
export async function loadSaeSparsity(folder: string): Promise<Float32Array | undefined> {
  const file = path.join(folder, "sparsity.safetensors");
  if (!existsSync(file)) return undefined;
  return (await readSafetensors(file)).get("sparsity")?.data;
}
