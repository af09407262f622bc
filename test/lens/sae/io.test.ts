/**
 * Loading SAE folders written by another writer than ours: cfg.json and sae_weights.safetensors built here byte by
 * byte as SAELens writes them (safetensors' sorted JSON header with `__metadata__: {format: "pt"}`, SAELens tensor
 * names; cfg.json in the v6 layout of `SAE.save_model`). A known architecture loads and encodes as the equations
 * computed here in plain JS; a transcoder, an unknown tensor, a missing tensor or a wrong shape is refused by name.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { SparseAutoencoder } from "../../../src/lens/sae/sae";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";

/** A safetensors file as the Rust/Python `safetensors` library writes it: sorted keys, F32 little-endian, 8-byte-aligned header. */
function safetensorsBytes(tensors: Record<string, { shape: number[]; data: number[] }>): Buffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const n of names) {
    const bytes = tensors[n]!.data.length * 4;
    header[n] = { dtype: "F32", shape: tensors[n]!.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8); // the library pads the header with spaces
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  out.write(json, 8, "latin1");
  let p = 8 + json.length;
  for (const n of names) for (const v of tensors[n]!.data) (out.writeFloatLE(v, p), (p += 4));
  return out;
}

/** cfg.json of SAELens v6 (`SAE.save_model` → `cfg.to_dict()`): flat core fields plus nested metadata. */
function v6Cfg(architecture: string, dIn: number, dSae: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    d_in: dIn, d_sae: dSae, dtype: "float32", device: "cpu", apply_b_dec_to_input: true, normalize_activations: "none",
    reshape_activations: "none", architecture,
    metadata: { model_name: "gpt2", hook_name: "blocks.4.hook_resid_pre", hook_head_index: null, prepend_bos: true, context_size: 128, sae_lens_version: "6.5.1" },
    ...extra,
  };
}

const D_IN = 3, D_SAE = 4;
const W_ENC = [0.5, -1, 0.2, 0.3, 1, 0.4, -0.6, 0.8, -0.2, 0.9, 0.1, -0.5]; // [3, 4] row-major
const W_DEC = [1, 0, 0.5, 0, 1, -0.5, 0.3, 0.3, 0.3, -1, 0.2, 0]; // [4, 3]
const B_ENC = [0.1, -0.2, 0.05, 0];
const B_DEC = [0.2, -0.1, 0.3];
const THRESHOLD = [0.3, 0.1, 0.5, 0.2];

async function folder(root: string, name: string, cfg: Record<string, unknown>, tensors: Record<string, { shape: number[]; data: number[] }>): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "cfg.json"), JSON.stringify(cfg));
  await writeFile(path.join(dir, "sae_weights.safetensors"), safetensorsBytes(tensors));
  return dir;
}

const jumpTensors = () => ({
  W_enc: { shape: [D_IN, D_SAE], data: W_ENC }, W_dec: { shape: [D_SAE, D_IN], data: W_DEC },
  b_enc: { shape: [D_SAE], data: B_ENC }, b_dec: { shape: [D_IN], data: B_DEC }, threshold: { shape: [D_SAE], data: THRESHOLD },
});

test("a hand-built SAELens jumprelu folder loads; encode and decode follow the JumpReLU equations computed in JS", async () => {
  const root = await mkdtemp(path.join(tmpdir(), "lens-saelens-"));
  try {
    const dir = await folder(root, "jumprelu", v6Cfg("jumprelu", D_IN, D_SAE), jumpTensors());
    const sae = await SparseAutoencoder.load(dir);
    assert.equal(sae.cfg.architecture, "jumprelu");
    assert.equal(sae.cfg.hookName, "blocks.4.hook_resid_pre");
    const xs = [[1, 0.5, -0.3], [0.2, 2, 1], [-1, 0.4, 0.6]];
    // f = z·1[z > θ], z = (x − b_dec)·W_enc + b_enc; x̂ = f·W_dec + b_dec.
    const f = xs.map((x) => Array.from({ length: D_SAE }, (_, j) => {
      const z = x.reduce((a, xi, i) => a + (xi - B_DEC[i]!) * W_ENC[i * D_SAE + j]!, B_ENC[j]!);
      return z > THRESHOLD[j]! ? z : 0;
    }));
    const xHat = f.map((fi) => Array.from({ length: D_IN }, (_, i) => fi.reduce((a, v, j) => a + v * W_DEC[j * D_IN + i]!, B_DEC[i]!)));
    assert.ok(f.flat().some((v) => v === 0) && f.flat().some((v) => v !== 0), "the inputs exercise both sides of the threshold");
    const x = tf.tensor2d(xs);
    const [enc, rec] = [await sae.encode(x), await sae.forward(x)];
    await expectAllClose(enc, f.flat(), TOLERANCES.float32Invariant, "latents");
    await expectAllClose(rec, xHat.flat(), TOLERANCES.float32Invariant, "reconstruction");
    tf.dispose([x, enc, rec]);
    sae.dispose();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("refused by name: a jumprelu_skip_transcoder, an extra W_skip, a missing threshold, a wrong shape, an old BatchTopK checkpoint", async () => {
  const root = await mkdtemp(path.join(tmpdir(), "lens-saelens-"));
  const before = tf.memory().numTensors;
  try {
    const transcoder = await folder(root, "skip-transcoder", v6Cfg("jumprelu_skip_transcoder", D_IN, D_SAE, { d_out: D_IN, hook_name_out: "blocks.4.hook_mlp_out" }), {
      ...jumpTensors(), W_skip: { shape: [D_IN, D_IN], data: new Array(D_IN * D_IN).fill(0.1) },
    });
    await assert.rejects(SparseAutoencoder.load(transcoder), /architecture "jumprelu_skip_transcoder" is a transcoder .*W_skip.*refuses this file/);
    const extra = await folder(root, "extra", v6Cfg("jumprelu", D_IN, D_SAE), { ...jumpTensors(), W_skip: { shape: [D_IN, D_IN], data: new Array(D_IN * D_IN).fill(0.1) } });
    await assert.rejects(SparseAutoencoder.load(extra), /holds W_skip, which a "jumprelu" SAE does not use/);
    const { threshold: _t, ...noThreshold } = jumpTensors();
    const missing = await folder(root, "missing", v6Cfg("jumprelu", D_IN, D_SAE), noThreshold);
    await assert.rejects(SparseAutoencoder.load(missing), /has no "threshold"/);
    const wrong = await folder(root, "wrong", v6Cfg("jumprelu", D_IN, D_SAE), { ...jumpTensors(), b_enc: { shape: [3], data: [0, 0, 0] } });
    await assert.rejects(SparseAutoencoder.load(wrong), /b_enc has shape \[3\] but cfg.json \(d_in 3, d_sae 4\) says \[4\]/);
    const batchTopk = await folder(root, "batchtopk", v6Cfg("batchtopk", D_IN, D_SAE, { k: 2 }), jumpTensors());
    await assert.rejects(SparseAutoencoder.load(batchTopk), /"batchtopk" is a SAELens training checkpoint/);
    assert.equal(tf.memory().numTensors, before, "refused loads free what they read");
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
