/**
 * Generation: greedy output equals an argmax-by-hand loop over model.forward; seeded sampling is reproducible;
 * sampleLogits' top-k / top-p / frequency penalty / temperature semantics and its empirical distribution; text in →
 * text out with the GPT-2 tokenizer, left-padded batches equal one-by-one generation, and EOS stops a row.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import * as tf from "@tensorflow/tfjs";
import { HookedTransformer, setBackend } from "../../src/lens/index";
import { generate, sampleLogits } from "../../src/lens/generate";
import { makeRng } from "../../src/lens/datasets/index";
import { loadReference } from "../fixtures";
import { tempDir, writeTinyGpt2WithTokenizer } from "./loading/checkpoints";

async function greedyByHand(model: HookedTransformer, ids: number[], n: number): Promise<number[]> {
  const out = [...ids];
  for (let i = 0; i < n; i++) {
    const logits = await model.forward([out]);
    const row = ((await logits.array()) as number[][][])[0]![out.length - 1]!;
    logits.dispose();
    out.push(row.indexOf(Math.max(...row)));
  }
  return out;
}

test("sampleLogits: greedy, top-k, top-p, frequency penalty and the sampled distribution", () => {
  const rng = makeRng(0);
  const l = [0.1, 2, 0.3, 1.9];
  assert.equal(sampleLogits(l, { temperature: 0 }, rng), 1);
  assert.equal(sampleLogits(l, { topK: 1 }, rng), 1);
  assert.equal(sampleLogits(l, { topP: 0.01 }, rng), 1, "the first token crossing p is kept");
  assert.equal(sampleLogits(l, { temperature: 0, freqPenalty: 0.5 }, rng, [1]), 3, "penalised token 1 falls below token 3");
  for (let i = 0; i < 200; i++) assert.ok([1, 3].includes(sampleLogits(l, { topK: 2, temperature: 5 }, rng)));
  // p = [0.25, 0.75] → frequency of token 1 ≈ 0.75 (4000 draws: ±0.03 is > 4 standard deviations)
  let ones = 0;
  for (let i = 0; i < 4000; i++) ones += sampleLogits([0, Math.log(3)], {}, rng);
  assert.ok(Math.abs(ones / 4000 - 0.75) < 0.03, `frequency ${ones / 4000}`);
  assert.throws(() => sampleLogits(l, { topP: 0 }, rng), /topP/);
});

describe("generate (tiny-gpt2, token ids)", () => {
  let model: HookedTransformer;
  before(async () => {
    await setBackend("cpu");
    model = await HookedTransformer.fromPretrained((await loadReference("tiny-gpt2")).folder);
    (await model.forward([[1, 2]])).dispose(); // builds the model's derived weights (flattened W_Q/W_K/W_V/W_O, mask) once, before counting tensors
  });
  after(() => model.dispose());

  test("greedy generation equals the argmax-by-hand loop; doSample false is greedy; no tensor leaks", async () => {
    const before = tf.memory().numTensors;
    const out = (await generate(model, [[5, 17, 99]], { maxNewTokens: 6, temperature: 0 })) as number[][];
    assert.deepEqual(out, [await greedyByHand(model, [5, 17, 99], 6)]);
    assert.deepEqual(await generate(model, [5, 17, 99], { maxNewTokens: 6, doSample: false, temperature: 3 }), out);
    const two = (await generate(model, [[5, 17, 99], [1, 2, 3]], { maxNewTokens: 3, temperature: 0 })) as number[][];
    assert.deepEqual(two[1], await greedyByHand(model, [1, 2, 3], 3));
    assert.equal(tf.memory().numTensors, before);
  });

  test("seeded sampling is reproducible and depends on the seed", async () => {
    const a = await generate(model, [[5, 17, 99]], { maxNewTokens: 8, seed: 1, temperature: 2 });
    assert.deepEqual(await generate(model, [[5, 17, 99]], { maxNewTokens: 8, seed: 1, temperature: 2 }), a);
    assert.notDeepEqual(await generate(model, [[5, 17, 99]], { maxNewTokens: 8, seed: 2, temperature: 2 }), a);
    await assert.rejects(generate(model, [[1, 2]], { maxNewTokens: 100 }), /nCtx/);
  });

  test("EOS stops a row and pads it with EOS", async () => {
    const greedy = await greedyByHand(model, [5, 17, 99], 1);
    const eos = greedy[3]!;
    const out = (await generate(model, [[5, 17, 99], [1, 2, 3]], { maxNewTokens: 4, temperature: 0, eosTokenId: eos })) as number[][];
    assert.deepEqual(out[0], [5, 17, 99, eos, eos, eos, eos]);
    const single = (await generate(model, [[5, 17, 99]], { maxNewTokens: 4, temperature: 0, eosTokenId: eos })) as number[][];
    assert.deepEqual(single[0], [5, 17, 99, eos], "a lone row stops at EOS");
  });
});

test("text generation with the GPT-2 tokenizer: string out, left-padded batch equals one-by-one", async () => {
  await setBackend("cpu");
  const dir = await tempDir("generate");
  try {
    const model = await HookedTransformer.fromPretrained(await writeTinyGpt2WithTokenizer(dir));
    const tok = model.tokenizer!;
    const text = (await generate(model, "Hello world", { maxNewTokens: 3, temperature: 0, stopAtEos: false })) as string;
    const ids = await greedyByHand(model, [tok.bosTokenId, ...tok.encode("Hello world")], 3);
    assert.equal(text, tok.decode(ids.slice(1)));
    assert.ok(text.startsWith("Hello world"));
    const prompts = ["Hello world", "The cat sat on the"];
    const batch = (await generate(model, prompts, { maxNewTokens: 3, temperature: 0, stopAtEos: false })) as string[];
    for (let i = 0; i < 2; i++) assert.equal(batch[i], await generate(model, prompts[i]!, { maxNewTokens: 3, temperature: 0, stopAtEos: false }));
    const asTokens = (await generate(model, "Hello world", { maxNewTokens: 3, temperature: 0, stopAtEos: false, returnType: "tokens" })) as number[][];
    assert.deepEqual(asTokens[0], ids);
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
