/**
 * Pretrained SAEs by release id against the stand-in hub (test/lens/loading/fakeHub.ts): gpt2-small-res-jb maps to
 * jbloom/GPT2-Small-SAEs-Reformatted with path = SAE id; the old flat cfg.json (hook_point) loads; the sparsity file
 * comes along; a second load is served from the cache (offline); unknown ids fail with the list.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { loadPretrainedSae } from "../../../src/lens/sae/pretrained";
import { SparseAutoencoder } from "../../../src/lens/sae/sae";
import { FakeHub } from "../loading/fakeHub";
import { expectAllClose } from "../../helpers";
import { TOLERANCES } from "../../tolerances";

const hub = new FakeHub();
const ID = "blocks.8.hook_resid_pre";
let tmp: string;
let original: SparseAutoencoder;

before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "lens-sae-hub-"));
  original = new SparseAutoencoder({ dIn: 8, dSae: 16, architecture: "standard", seed: 5 });
  const dir = path.join(tmp, "src");
  await original.save(dir, { sparsity: Float32Array.from({ length: 16 }, (_, i) => -i / 4) });
  // The real repo's files use the pre-6.0 flat layout.
  await writeFile(path.join(dir, "cfg.json"), JSON.stringify({ d_in: 8, d_sae: 16, hook_point: ID, hook_point_layer: 8, model_name: "gpt2-small", context_size: 128 }));
  const files = Object.fromEntries(["cfg.json", "sae_weights.safetensors", "sparsity.safetensors"].map((f) => [`${ID}/${f}`, readFileSync(path.join(dir, f))]));
  hub.addRevision("jbloom/GPT2-Small-SAEs-Reformatted", "main", files);
  process.env.HF_ENDPOINT = await hub.start();
  process.env.HF_HUB_CACHE = path.join(tmp, "cache");
  process.env.HF_HOME = path.join(tmp, "no-home");
  delete process.env.HF_TOKEN;
  delete process.env.HF_HUB_OFFLINE;
});
after(async () => {
  await hub.stop();
  original.dispose();
  await rm(tmp, { recursive: true, force: true });
});

test("loadPretrainedSae(gpt2-small-res-jb, id): weights, old cfg, overrides, sparsity; cached second load offline", async () => {
  const { sae, sparsity } = await loadPretrainedSae("gpt2-small-res-jb", ID);
  assert.equal(sae.cfg.hookName, ID);
  assert.deepEqual(sae.cfg.metadata?.model_from_pretrained_kwargs, { center_writing_weights: true });
  for (const k of ["W_enc", "W_dec", "b_enc", "b_dec"]) await expectAllClose(sae.params[k]!, original.params[k]!, TOLERANCES.exact, k);
  assert.equal(sparsity?.[4], -1);
  assert.ok(hub.log.some((r) => r.url.includes(encodeURIComponent(ID)) || r.url.includes(ID)), "fetched from the hub");
  sae.dispose();
  process.env.HF_HUB_OFFLINE = "1";
  const n = hub.log.length;
  const again = await loadPretrainedSae("gpt2-small-res-jb", ID);
  assert.equal(hub.log.length, n, "no request offline");
  await expectAllClose(again.sae.params.W_enc!, original.params.W_enc!, TOLERANCES.exact, "cached W_enc");
  again.sae.dispose();
  delete process.env.HF_HUB_OFFLINE;
  await assert.rejects(loadPretrainedSae("gpt2-small-res-jb", "blocks.99.hook_resid_pre"), /has no SAE "blocks.99.hook_resid_pre"/);
  await assert.rejects(loadPretrainedSae("no-such-release", ID), /Unknown SAE release/);
  assert.equal(tf.memory().numTensors, Object.keys(original.params).length);
});
