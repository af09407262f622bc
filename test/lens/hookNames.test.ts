/**
 * getActName against the TransformerLens cases of TransformerLens utilities/components_utils.py (docs/sources.md §3),
 * plus our documented fixes of three TL quirks; canonicalHookOrder against the firing order written independently by
 * the reference generator (test/fixtures/tiny-*.reference.json, `hookOrder`).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { canonicalHookOrder, getActName, HookedTransformer } from "../../src/lens/index";
import { FAMILIES, loadReference, UNEMBED_HOOKS } from "../fixtures";

type Case = readonly [args: readonly [string, number?, string?], expected: string];

/** TransformerLens's get_act_name outputs, from docs/sources.md §3. */
const TL_CASES: readonly Case[] = [
  [["embed"], "hook_embed"],
  [["pos_embed"], "hook_pos_embed"],
  [["resid_pre", 0], "blocks.0.hook_resid_pre"],
  [["resid_mid", 1], "blocks.1.hook_resid_mid"],
  [["resid_post", 2], "blocks.2.hook_resid_post"],
  [["attn_out", 0], "blocks.0.hook_attn_out"],
  [["mlp_out", 0], "blocks.0.hook_mlp_out"],
  [["mlp_in", 0], "blocks.0.hook_mlp_in"],
  [["pattern", 0], "blocks.0.attn.hook_pattern"],
  [["attn", 0], "blocks.0.attn.hook_pattern"],
  [["attn_scores", 1], "blocks.1.attn.hook_attn_scores"],
  [["attn_logits", 1], "blocks.1.attn.hook_attn_scores"],
  [["q", 0], "blocks.0.attn.hook_q"],
  [["query", 0], "blocks.0.attn.hook_q"],
  [["key", 2], "blocks.2.attn.hook_k"],
  [["value", 2], "blocks.2.attn.hook_v"],
  [["z", 1], "blocks.1.attn.hook_z"],
  [["result", 1], "blocks.1.attn.hook_result"],
  [["rot_q", 0], "blocks.0.attn.hook_rot_q"],
  [["rot_k", 0], "blocks.0.attn.hook_rot_k"],
  [["pre", 0], "blocks.0.mlp.hook_pre"],
  [["mlp_pre", 0], "blocks.0.mlp.hook_pre"],
  [["post", 0], "blocks.0.mlp.hook_post"],
  [["mlp_post", 0], "blocks.0.mlp.hook_post"],
  [["scale"], "ln_final.hook_scale"],
  [["normalized"], "ln_final.hook_normalized"],
  [["scale", 0, "ln1"], "blocks.0.ln1.hook_scale"],
  [["normalized", 2, "ln2"], "blocks.2.ln2.hook_normalized"],
  [["k6"], "blocks.6.attn.hook_k"],
  [["pre5"], "blocks.5.mlp.hook_pre"],
  [["scale4ln1"], "blocks.4.ln1.hook_scale"],
  // full names come back unchanged (a layer given with them is ignored)
  [["blocks.3.attn.hook_pattern"], "blocks.3.attn.hook_pattern"],
  [["hook_embed"], "hook_embed"],
  [["ln_final.hook_scale"], "ln_final.hook_scale"],
  [["blocks.0.hook_resid_pre", 2], "blocks.0.hook_resid_pre"],
  // layer-type aliases a / m / b / block / blocks / attention
  [["pattern", 0, "a"], "blocks.0.attn.hook_pattern"],
  [["pattern", 0, "attention"], "blocks.0.attn.hook_pattern"],
  [["q", 1, "attn"], "blocks.1.attn.hook_q"],
  [["pre", 0, "m"], "blocks.0.mlp.hook_pre"],
  [["post", 1, "mlp"], "blocks.1.mlp.hook_post"],
  [["resid_pre", 0, "b"], "blocks.0.hook_resid_pre"],
  [["resid_pre", 0, "block"], "blocks.0.hook_resid_pre"],
  [["resid_post", 1, "blocks"], "blocks.1.hook_resid_post"],
];

/** Where TransformerLens builds an invalid name, we build the valid one (documented in hookNames.ts). */
const FIXED_QUIRKS: readonly Case[] = [
  [["resid_pre5"], "blocks.5.hook_resid_pre"], // TL: "hook_resid_pre5" (its regex does not allow "_")
  [["resid_mid10"], "blocks.10.hook_resid_mid"],
  [["attn_out", 0, "a"], "blocks.0.hook_attn_out"], // TL: "blocks.0.attn.hook_attn_out"
  [["mlp_out", 2, "m"], "blocks.2.hook_mlp_out"], // TL: "blocks.2.mlp.hook_mlp_out"
];

const show = (args: readonly unknown[]) => `getActName(${args.map((a) => JSON.stringify(a)).join(", ")})`;

describe("getActName", () => {
  for (const [args, expected] of TL_CASES) {
    test(`${show(args)} → ${expected}`, () => {
      assert.equal(getActName(...args), expected);
    });
  }

  for (const [args, expected] of FIXED_QUIRKS) {
    test(`fixed TL quirk: ${show(args)} → ${expected}`, () => {
      assert.equal(getActName(...args), expected);
    });
  }

  test('("scale", 0) and ("normalized", 1) without a LayerNorm type throw, naming ln1 / ln2', () => {
    // TL returns "blocks.0.hook_scale", which is no hook at all.
    assert.throws(() => getActName("scale", 0), (e: unknown) => e instanceof Error && /ln1/.test(e.message) && /ln2/.test(e.message));
    assert.throws(() => getActName("normalized", 1), /ln1/);
  });

  test("every short name, at every layer, names a real hook point of each fixture model", async () => {
    const shortNames: [string, string?][] = [
      ["resid_pre"], ["resid_post"], ["attn_out"], ["mlp_out"], ["q"], ["k"], ["v"], ["z"], ["result"],
      ["attn_scores"], ["pattern"], ["pre"], ["post"], ["scale", "ln1"], ["normalized", "ln1"], ["scale", "ln2"],
      ["normalized", "ln2"],
    ];
    for (const family of FAMILIES) {
      const model = await HookedTransformer.fromPretrained((await loadReference(family)).folder);
      const valid = new Set(model.hookNames());
      const extra = model.cfg.positionalEmbeddingType === "rotary" ? [["rot_q"], ["rot_k"]] : [["resid_mid"]];
      for (let l = 0; l < model.cfg.nLayers; l++) {
        for (const [name, type] of [...shortNames, ...(extra as [string][])]) {
          const full = getActName(name, l, type);
          assert.ok(valid.has(full), `${family}: ${show([name, l, type])} = "${full}" is not a hook point`);
        }
      }
      for (const n of ["embed", "scale", "normalized"]) assert.ok(valid.has(getActName(n)), `${family}: ${n}`);
      model.dispose();
    }
  });
});

describe("canonicalHookOrder", () => {
  for (const family of FAMILIES) {
    test(`${family}: equals the reference generator's hookOrder; hook_result goes after hook_z when enabled`, async () => {
      const ref = await loadReference(family);
      const model = await HookedTransformer.fromPretrained(ref.folder);
      try {
        assert.equal(model.cfg.useAttnResult, false);
        assert.deepEqual(canonicalHookOrder(model.cfg), [...ref.hookOrder, ...UNEMBED_HOOKS]);
        assert.deepEqual(canonicalHookOrder(model.cfg).slice(-4), ["ln_final.hook_scale", "ln_final.hook_normalized", ...UNEMBED_HOOKS], "TL 3.x order");
        const withResult = [...ref.hookOrder, ...UNEMBED_HOOKS];
        for (const extra of ref.extraHooks) withResult.splice(withResult.indexOf(extra.replace("hook_result", "hook_z")) + 1, 0, extra);
        assert.deepEqual(canonicalHookOrder({ ...model.cfg, useAttnResult: true }), withResult);
        assert.deepEqual(canonicalHookOrder(model.cfg, true), withResult);
        assert.deepEqual(model.hookNames(), withResult);
      } finally {
        model.dispose();
      }
    });
  }
});
