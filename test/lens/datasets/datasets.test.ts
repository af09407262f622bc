/**
 * IOI dataset (with the real 50257-token GPT-2 tokenizer on a tiny random GPT-2) and repeated random tokens:
 * structure checked token by token (names at the reported positions, equal lengths, ABC names distinct), seeding,
 * BOS policy and errors.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import * as tf from "@tensorflow/tfjs";
import { HookedTransformer, setBackend } from "../../../src/lens/index";
import { ioiDataset, repeatedRandomTokens } from "../../../src/lens/datasets/index";
import { logitDiff } from "../../../src/lens/patching/index";
import { loadReference } from "../../fixtures";
import { tempDir, writeTinyGpt2WithTokenizer } from "../loading/checkpoints";

describe("datasets with the GPT-2 tokenizer", () => {
  let dir: string;
  let model: HookedTransformer;
  before(async () => {
    await setBackend("cpu");
    dir = await tempDir("datasets");
    model = await HookedTransformer.fromPretrained(await writeTinyGpt2WithTokenizer(dir));
  });
  after(async () => {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test("ioiDataset: equal lengths, names where reported, ABBA/BABA order, ABC names fresh, seeded", async () => {
    const ds = ioiDataset(model, { n: 12, seed: 3 });
    const tok = model.tokenizer!;
    const len = ds.tokens[0]!.length;
    assert.equal(len, 15, "14 template tokens + BOS");
    for (let i = 0; i < 12; i++) {
      const t = ds.tokens[i]!;
      assert.equal(t.length, len);
      assert.equal(t[0], tok.bosTokenId);
      assert.equal(tok.decode(t.slice(1)), ds.prompts[i]);
      assert.equal(t[ds.ioPos[i]!], ds.ioTokens[i]);
      assert.equal(t[ds.s1Pos[i]!], ds.sTokens[i]);
      assert.equal(t[ds.s2Pos[i]!], ds.sTokens[i]);
      assert.ok(ds.s2Pos[i]! > Math.max(ds.ioPos[i]!, ds.s1Pos[i]!), "S2 after both names");
      assert.equal(ds.endPos[i], len - 1);
      assert.equal(tok.idToString(t[len - 1]!), " to");
      assert.deepEqual(ds.answerTokens[i], [ds.ioTokens[i], ds.sTokens[i]]);
      assert.equal(ds.order[i], i % 2 === 0 ? "ABBA" : "BABA");
      assert.ok(ds.order[i] === "ABBA" ? ds.ioPos[i]! < ds.s1Pos[i]! : ds.s1Pos[i]! < ds.ioPos[i]!);
      assert.ok(ds.prompts[i]!.endsWith(" to") && ds.prompts[i]!.includes(tok.idToString(ds.ioTokens[i]!).trim()));
      const abc = ds.abc.tokens[i]!;
      assert.equal(abc.length, len);
      const names = [ds.ioPos[i]!, ds.s1Pos[i]!, ds.s2Pos[i]!].map((p) => abc[p]!);
      assert.equal(new Set(names).size, 3, "three distinct ABC names");
      for (const nm of names) assert.ok(nm !== ds.ioTokens[i] && nm !== ds.sTokens[i]);
      // everything but the names is unchanged
      t.forEach((id, p) => { if (![ds.ioPos[i], ds.s1Pos[i], ds.s2Pos[i]].includes(p)) assert.equal(abc[p], id); });
    }
    assert.deepEqual(ioiDataset(model, { n: 12, seed: 3 }).prompts, ds.prompts, "seeded");
    assert.notDeepEqual(ioiDataset(model, { n: 12, seed: 4 }).prompts, ds.prompts);
    assert.ok(ioiDataset(model, { n: 6, templates: "BABA" }).order.every((o) => o === "BABA"));
    assert.equal(ioiDataset(model, { n: 2, prependBos: false }).tokens[0]!.length, 14);
    const logits = await model.forward(ds.tokens);
    const d = logitDiff(logits, ds.answerTokens, { pos: ds.endPos });
    assert.equal(d.size, 1);
    tf.dispose([logits, d]);
    assert.throws(() => ioiDataset(model, { names: ["John", "Mary", "Xzqwvkjh", "Tom", "Amy", "Dan"] }), /Xzqwvkjh/);
  });

  test("repeatedRandomTokens: BOS first with a GPT-2 tokenizer, [r, r], ids in range, seeded", () => {
    const t = repeatedRandomTokens(model, { seqLen: 7, batch: 4, seed: 9, low: 100, high: 200 });
    assert.equal(t.length, 4);
    for (const row of t) {
      assert.equal(row.length, 15);
      assert.equal(row[0], 50256);
      assert.deepEqual(row.slice(1, 8), row.slice(8));
      assert.ok(row.slice(1).every((x) => x >= 100 && x < 200));
    }
    assert.deepEqual(repeatedRandomTokens(model, { seqLen: 7, batch: 4, seed: 9, low: 100, high: 200 }), t);
    assert.throws(() => repeatedRandomTokens(model, { seqLen: 20 }), /nCtx/);
  });
});

test("repeatedRandomTokens without a tokenizer: no BOS unless an id is given", async () => {
  await setBackend("cpu");
  const model = await HookedTransformer.fromPretrained((await loadReference("tiny-gpt2")).folder);
  const t = repeatedRandomTokens(model, { seqLen: 5, batch: 2 });
  assert.ok(t.every((r) => r.length === 10 && r.every((x) => x >= 0 && x < 512)));
  assert.equal(repeatedRandomTokens(model, { seqLen: 5, prependBos: true, bosTokenId: 511 })[0]![0], 511);
  assert.throws(() => repeatedRandomTokens(model, { prependBos: true }), /bosTokenId/);
  model.dispose();
});
