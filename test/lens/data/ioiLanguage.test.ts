// Corpus (d) of toy-ioi-circuit (src/lens/data/ioiLanguage.ts): the IOI sentences' invariants, the vocabulary extension,
// and that the held-out name pairs never meet.
import assert from "node:assert/strict";
import { test } from "node:test";
import { circuitLanguage, corpusBatch } from "../../../src/lens/data/corpora";
import { CIRCUIT_EXTRA_WORDS, circuitIoiSentence, circuitLanguageTokens, circuitVocabulary, circuitWordsToIds } from "../../../src/lens/data/ioiLanguage";
import { tinyTokenizerConfig, tinyTokenizerJson } from "../../../src/lens/data/tinyTokenizer";
import { HELD_OUT_PAIR_NAMES, NAMES, vocabulary } from "../../../src/lens/data/vocab";
import { makeRng } from "../../../src/lens/datasets/prng";
import { LensTokenizer } from "../../../src/lens/tokenizer";

test("circuitVocabulary extends vocabulary() without moving an id", () => {
  const base = vocabulary(), ext = circuitVocabulary();
  assert.deepEqual(ext.slice(0, base.length), base);
  assert.deepEqual(ext.slice(base.length), [...CIRCUIT_EXTRA_WORDS]);
  assert.equal(new Set(ext).size, ext.length, "no word twice");
});

test("circuit IOI sentences: S twice, IO once before the answer, ABBA/BABA order, ending '… to IO .'", () => {
  const rng = makeRng(7);
  const names = new Set(NAMES);
  const stats = { ABBA: 0, BABA: 0, gaps: new Set<number>(), ends: new Set<number>() };
  for (let i = 0; i < 400; i++) {
    const s = circuitIoiSentence(rng);
    const w = s.words;
    assert.equal(w[w.length - 1], ".");
    assert.equal(w[w.length - 2], s.io);
    assert.equal(w[w.length - 3], "to");
    const prompt = w.slice(0, -2);
    const namePos = prompt.map((x, p) => (names.has(x) ? p : -1)).filter((p) => p >= 0);
    assert.deepEqual(namePos.map((p) => prompt[p]), s.order === "ABBA" ? [s.io, s.s, s.s] : [s.s, s.io, s.s], w.join(" "));
    assert.ok(!(HELD_OUT_PAIR_NAMES as readonly string[]).includes(s.io) || !(HELD_OUT_PAIR_NAMES as readonly string[]).includes(s.s), `held-out pair met: ${w.join(" ")}`);
    stats[s.order]++;
    stats.gaps.add(namePos[2]! - namePos[1]!);
    stats.ends.add(prompt.length - 1 - namePos[2]!);
    circuitWordsToIds(w); // every word is in the vocabulary
  }
  assert.ok(stats.ABBA > 150 && stats.BABA > 150, `both orders: ${stats.ABBA} / ${stats.BABA}`);
  assert.ok(stats.gaps.size >= 6, `the B–S2 distance varies: ${[...stats.gaps]}`);
  assert.ok(stats.ends.size >= 5, `the S2–END distance varies: ${[...stats.ends]}`);
});

test("circuitLanguage rows: BOS then text, a pure function of (seed, index), ids the tokenizer produces", () => {
  const tok = LensTokenizer.fromJson(tinyTokenizerJson(circuitVocabulary()), tinyTokenizerConfig());
  const a = corpusBatch(circuitLanguage({ ioiFraction: 0.8 }), 3, 5, 4, 48);
  assert.deepEqual(a, corpusBatch(circuitLanguage({ ioiFraction: 0.8 }), 3, 5, 4, 48));
  assert.notDeepEqual(a, corpusBatch(circuitLanguage({ ioiFraction: 0.8 }), 3, 6, 4, 48));
  for (const row of a) {
    assert.equal(row.length, 48);
    assert.equal(row[0], 0);
    assert.ok(row.slice(1).every((t) => t >= 2 && t < circuitVocabulary().length));
  }
  const row = circuitLanguageTokens(makeRng(1), 200);
  const text = row.slice(1).map((t) => circuitVocabulary()[t]).join(" ");
  assert.deepEqual(tok.encode(text), row.slice(1));
});

test("repeated-distractor IOI sentences: three names in the opening, the distractor repeated before S2, IO the only one not repeated", () => {
  const rng = makeRng(11);
  const names = new Set(NAMES);
  let three = 0;
  for (let i = 0; i < 400; i++) {
    const s = circuitIoiSentence(rng, 0.5);
    const w = s.words;
    assert.deepEqual(w.slice(-3), ["to", s.io, "."]);
    const prompt = w.slice(0, -2);
    const found = prompt.filter((x) => names.has(x));
    const count = (n: string) => found.filter((x) => x === n).length;
    assert.equal(count(s.io), 1, w.join(" "));
    assert.equal(count(s.s), 2, w.join(" "));
    assert.equal(found[found.length - 1], s.s, `S2 is the last name before END: ${w.join(" ")}`);
    if (found.length === 5) {
      three++;
      const d = found[3]!;
      assert.ok(d !== s.io && d !== s.s && count(d) === 2, `the distractor is named in the opening and repeated before S2: ${w.join(" ")}`);
      assert.ok(!(HELD_OUT_PAIR_NAMES as readonly string[]).includes(d), "the distractor is never a held-out name");
    } else assert.equal(found.length, 3, w.join(" "));
    circuitWordsToIds(w);
  }
  assert.ok(three > 150 && three < 250, `about half the sentences: ${three}`);
  // the default corpus is unchanged by the option's existence: the same rng stream as distractorFraction 0
  assert.deepEqual(circuitIoiSentence(makeRng(5)).words, circuitIoiSentence(makeRng(5), 0).words);
});
