import assert from "node:assert/strict";
import { test } from "node:test";
import { corpusBatch, mixture, randomTokens, repeatedSpans, tinyLanguage, type Corpus } from "../../../src/lens/data/corpora";
import { fillerSentence, ioiSentence, tinyLanguageTokens, trainingPair } from "../../../src/lens/data/tinyLanguage";
import { tinyTokenizerConfig, tinyTokenizerJson } from "../../../src/lens/data/tinyTokenizer";
import { HELD_OUT_PAIR_NAMES, NAMES, OBJECTS, PLACES, SPECIAL_TOKENS, vocabulary } from "../../../src/lens/data/vocab";
import { makeRng } from "../../../src/lens/datasets/prng";
import { LensTokenizer } from "../../../src/lens/tokenizer";

const tok = LensTokenizer.fromJson(tinyTokenizerJson(), tinyTokenizerConfig());
const V = vocabulary().length;

test("tokenizer: every word is one token with its vocabulary id, with or without a leading space", () => {
  const words = vocabulary();
  assert.equal(tok.vocabSize, words.length);
  for (const [i, w] of words.entries()) {
    if (i < SPECIAL_TOKENS.length) continue;
    assert.deepEqual(tok.encode(w), [i], w);
    assert.deepEqual(tok.encode(` ${w}`), [i], ` ${w}`);
  }
  assert.equal(tok.bosTokenId, 0);
  assert.equal(tok.eosTokenId, 0);
  assert.deepEqual(tok.encode("Mary zzyzx"), [words.indexOf("Mary"), 1], "unknown words are [UNK] (id 1)");
  assert.deepEqual(tok.encode("store, John."), [words.indexOf("store"), words.indexOf(","), words.indexOf("John"), words.indexOf(".")]);
  const added = (tinyTokenizerJson().added_tokens as Array<{ content: string; special: boolean }>).map((t) => [t.content, t.special]);
  assert.deepEqual(added, [["<|endoftext|>", true], ["[UNK]", true]]);
});

test("tinyLanguage ids are what the tokenizer produces for the same text", () => {
  const rng = makeRng(3);
  for (let i = 0; i < 50; i++) {
    const words = i % 2 ? ioiSentence(rng).words : fillerSentence(rng);
    assert.deepEqual(tok.encode(words.join(" ")), words.map((w) => vocabulary().indexOf(w)), words.join(" "));
  }
  const row = tinyLanguageTokens(makeRng(4), 64);
  assert.equal(row.length, 64);
  assert.equal(row[0], 0, "rows start with BOS");
  assert.ok(row.slice(1).every((t) => t >= SPECIAL_TOKENS.length && t < V), "no special tokens inside text");
});

test("IOI sentences: IO once before 'to', S twice, both orders, and no pair of two held-out names", () => {
  const rng = makeRng(5);
  const held = new Set<string>(HELD_OUT_PAIR_NAMES);
  const orders = { ABBA: 0, BABA: 0 };
  for (let i = 0; i < 2000; i++) {
    const s = ioiSentence(rng);
    orders[s.order]++;
    const to = s.words.lastIndexOf("to");
    const prompt = s.words.slice(0, to + 1);
    assert.equal(s.words[to + 1], s.io);
    assert.equal(prompt.filter((w) => w === s.io).length, 1);
    assert.equal(prompt.filter((w) => w === s.s).length, 2);
    assert.equal(prompt.indexOf(s.io) < prompt.indexOf(s.s), s.order === "ABBA");
    assert.ok(!(held.has(s.io) && held.has(s.s)), `${s.io}/${s.s} are both held-out names`);
  }
  assert.ok(orders.ABBA > 900 && orders.BABA > 900, JSON.stringify(orders));
  // every name, place and object occurs (so their embeddings are trained)
  const seen = new Set<string>();
  for (let i = 0; i < 4000; i++) for (const w of [...ioiSentence(rng).words, ...fillerSentence(rng)]) seen.add(w);
  for (const w of [...NAMES, ...PLACES, ...OBJECTS]) assert.ok(seen.has(w), `${w} never occurs`);
  const [a, b] = trainingPair(makeRng(9));
  assert.notEqual(a, b);
});

test("repeatedSpans: one random span of length in [minLen, maxLen] and its copy at a later, non-overlapping position", () => {
  const zeros: Corpus = { name: "zeros", row: (_rng, n) => new Array<number>(n).fill(0) };
  const corpus = repeatedSpans({ background: zeros, minLen: 3, maxLen: 12, low: 5, high: 9 });
  const lengths = new Set<number>();
  const starts = new Set<number>();
  for (const row of corpusBatch(corpus, 1, 0, 300, 40)) {
    const idx = row.flatMap((t, i) => (t !== 0 ? [i] : []));
    assert.ok(row.every((t) => t === 0 || (t >= 5 && t < 9)));
    const len = idx.length / 2;
    assert.ok(Number.isInteger(len) && len >= 3 && len <= 12, `span length ${len}`);
    const first = idx.slice(0, len), second = idx.slice(len);
    assert.deepEqual(first.map((_, i) => first[0]! + i), first, "first copy is contiguous");
    assert.deepEqual(second.map((_, i) => second[0]! + i), second, "second copy is contiguous");
    assert.deepEqual(first.map((i) => row[i]), second.map((i) => row[i]), "the copy repeats the span");
    assert.ok(first[0]! >= 1, "BOS is never overwritten");
    lengths.add(len);
    starts.add(first[0]!);
  }
  assert.ok(lengths.size >= 8 && starts.size >= 10, "lengths and positions vary");
  const rnd = corpusBatch(randomTokens(2, 6), 0, 0, 200, 10).flat();
  const counts = [0, 1, 2, 3, 4, 5].map((v) => rnd.filter((t) => t === v).length);
  assert.equal(counts[0], 200, "randomTokens: BOS once per row, nowhere else");
  assert.equal(counts[1], 0);
  for (const c of counts.slice(2)) assert.ok(Math.abs(c - 450) < 80, `randomTokens is uniform over [2, 6): ${counts}`);
});

test("corpusBatch is a pure function of (seed, index); mixture follows its weights", () => {
  const c = tinyLanguage();
  assert.deepEqual(corpusBatch(c, 7, 3, 4, 32), corpusBatch(c, 7, 3, 4, 32));
  assert.notDeepEqual(corpusBatch(c, 7, 3, 4, 32), corpusBatch(c, 7, 4, 4, 32));
  assert.notDeepEqual(corpusBatch(c, 7, 3, 4, 32), corpusBatch(c, 8, 3, 4, 32));
  const ones: Corpus = { name: "ones", row: (_r, n) => new Array<number>(n).fill(1) };
  const twos: Corpus = { name: "twos", row: (_r, n) => new Array<number>(n).fill(2) };
  const rows = corpusBatch(mixture([{ corpus: ones, weight: 3 }, { corpus: twos, weight: 1 }, { corpus: c, weight: 0 }]), 0, 0, 4000, 4);
  const share = rows.filter((r) => r[0] === 1).length / rows.length;
  assert.ok(Math.abs(share - 0.75) < 0.03, `share of the weight-3 corpus ${share}`);
  assert.ok(rows.every((r) => r[0] === 1 || r[0] === 2), "a weight-0 corpus is never drawn");
});
