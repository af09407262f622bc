import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  LensTokenizer,
  getTokenPosition,
  toSingleToken,
  toStrTokens,
  toTokens,
  tokensToString,
} from "../../src/lens/tokenizer";
import { GPT2_TOKENIZER_DIR } from "../fixtures";

// The real GPT-2 tokenizer files, bundled in data/tokenizers/gpt2 (MIT, from openai-community/gpt2).
const GPT2_DIR = GPT2_TOKENIZER_DIR;
const EOT = 50256; // <|endoftext|>: GPT-2's BOS = EOS = PAD (docs/sources.md §5)

interface Row {
  text: string;
  ids: number[];
  tokens: string[];
}
// Golden table written by scripts/reference/gpt2_bpe.py, a from-scratch Python byte-level BPE (see the file's
// "generator" field); it shares no code with @huggingface/tokenizers.
const TABLE_PATH = path.resolve(__dirname, "../fixtures/gpt2-tokenizer-table.json");

let tok: LensTokenizer;
let tokenizerJson: object;
let configJson: Record<string, unknown>;
let rows: Row[];

before(async () => {
  tok = await LensTokenizer.fromFolder(GPT2_DIR);
  tokenizerJson = JSON.parse(await readFile(path.join(GPT2_DIR, "tokenizer.json"), "utf8"));
  configJson = JSON.parse(await readFile(path.join(GPT2_DIR, "tokenizer_config.json"), "utf8"));
  rows = JSON.parse(await readFile(TABLE_PATH, "utf8")).rows;
});

/** Runs fn and asserts it leaves tf.memory().numTensors unchanged (returned tensors are disposed by fn). */
async function expectNoLeak(label: string, fn: () => Promise<void> | void): Promise<void> {
  const before = tf.memory().numTensors;
  await fn();
  assert.equal(tf.memory().numTensors, before, `${label}: tensor count changed`);
}

async function tokensOf(input: string | string[], opts: Parameters<typeof toTokens>[2]) {
  const t = toTokens(tok, input, opts);
  try {
    assert.equal(t.dtype, "int32");
    return { shape: t.shape, values: (await t.array()) as number[][] };
  } finally {
    t.dispose();
  }
}

describe("LensTokenizer on the GPT-2 tokenizer", () => {
  test("special tokens and sizes", () => {
    assert.equal(tok.vocabSize, 50257);
    assert.equal(tok.bosTokenId, EOT);
    assert.equal(tok.eosTokenId, EOT);
    assert.equal(tok.padTokenId, EOT);
    assert.equal(tok.bosToken, "<|endoftext|>");
    assert.equal(tok.tokenizerPrependsBos, false);
  });

  test("golden table: encode matches the independent Python BPE, decode round-trips", () => {
    assert.ok(rows.length >= 15, `table has only ${rows.length} rows`);
    for (const row of rows) {
      assert.deepEqual(tok.encode(row.text), row.ids, `encode(${JSON.stringify(row.text)})`);
      assert.deepEqual(
        tok.hf.encode(row.text, { add_special_tokens: false }).tokens,
        row.tokens,
        `tokens of ${JSON.stringify(row.text)}`,
      );
      assert.equal(tok.decode(row.ids), row.text, `decode(encode(${JSON.stringify(row.text)}))`);
    }
  });

  test("golden table holds TransformerLens's known ids", () => {
    // tests/integration/test_tokenization_methods.py and the bridge tests (docs/sources.md §5).
    const byText = new Map(rows.map((r) => [r.text, r.ids]));
    assert.deepEqual(byText.get(" SolidGoldMagikarp"), [43453]);
    assert.deepEqual(byText.get("Hello, I'm a"), [15496, 11, 314, 1101, 257]);
    for (const feature of ["日本語", "😀", "<|endoftext|>", "\n", "don't", "café", "    "]) {
      assert.ok(rows.some((r) => r.text.includes(feature)), `no table row covers ${JSON.stringify(feature)}`);
    }
  });

  test("idToString and special token resolution from the config", () => {
    assert.equal(tok.idToString(43453), " SolidGoldMagikarp");
    assert.equal(tok.idToString(EOT), "<|endoftext|>");
    assert.throws(() => tok.idToString(50257), /not an integer in \[0, 50257\)/);
    // No config: falls back to the <|endoftext|> added token.
    const bare = LensTokenizer.fromJson(tokenizerJson);
    assert.deepEqual([bare.bosTokenId, bare.eosTokenId, bare.padTokenId], [EOT, EOT, EOT]);
    // Object form {content} and an explicit pad token ("!" is id 0 in GPT-2's vocab).
    const custom = LensTokenizer.fromJson(tokenizerJson, {
      ...configJson,
      bos_token: { content: "<|endoftext|>", special: true },
      pad_token: "!",
    });
    assert.deepEqual([custom.bosTokenId, custom.padTokenId], [EOT, 0]);
    assert.throws(
      () => LensTokenizer.fromJson(tokenizerJson, { eos_token: "<|nope|>" }),
      /eos_token = "<\|nope\|>".*not in the tokenizer's vocabulary/,
    );
  });

  test("fromFolder errors name the file and the folder", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "lens-tok-"));
    try {
      await assert.rejects(LensTokenizer.fromFolder(dir), (e: Error) => {
        assert.match(e.message, /tokenizer\.json/);
        assert.ok(e.message.includes(dir), e.message);
        return true;
      });
      await writeFile(path.join(dir, "tokenizer.json"), "{ not json");
      await assert.rejects(LensTokenizer.fromFolder(dir), /tokenizer\.json is not valid JSON/);
      await writeFile(path.join(dir, "tokenizer.json"), "{}");
      await assert.rejects(LensTokenizer.fromFolder(dir), /cannot build a tokenizer.*"model"/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe("TransformerLens tokenisation semantics", () => {
  const hello = [15496, 11, 314, 1101, 257]; // "Hello, I'm a" (table row 0)
  const helloWorld = [15496, 995]; // "Hello world" (table)

  test("toTokens with and without BOS", async () => {
    assert.deepEqual(await tokensOf("Hello, I'm a", { prependBos: true, nCtx: 1024 }), {
      shape: [1, 6],
      values: [[EOT, ...hello]],
    });
    assert.deepEqual((await tokensOf("Hello, I'm a", { prependBos: false, nCtx: 1024 })).values, [hello]);
  });

  test("toTokens pads a list on the right (default) and on the left", async () => {
    const list = ["Hello world", "Hello, I'm a"];
    const right = await tokensOf(list, { prependBos: true, nCtx: 1024 });
    assert.deepEqual(right.values, [
      [EOT, ...helloWorld, EOT, EOT, EOT],
      [EOT, ...hello],
    ]);
    const left = await tokensOf(list, { prependBos: true, paddingSide: "left", nCtx: 1024 });
    assert.deepEqual(left.values, [
      [EOT, EOT, EOT, EOT, ...helloWorld],
      [EOT, ...hello],
    ]);
    // A distinct pad id shows where padding goes (pad "!" = 0) and that BOS follows left padding.
    const padded = LensTokenizer.fromJson(tokenizerJson, { ...configJson, pad_token: "!" });
    const t = toTokens(padded, list, { prependBos: true, paddingSide: "left", nCtx: 1024 });
    assert.deepEqual(await t.array(), [
      [0, 0, 0, EOT, ...helloWorld],
      [EOT, ...hello],
    ]);
    t.dispose();
  });

  test("toTokens: too long is an Error unless truncate: true", async () => {
    // docs/sources.md §5: "@ "*1025 is 1027 tokens with BOS; TL truncates it to n_ctx = 1024.
    const long = "@ ".repeat(1025);
    assert.throws(
      () => toTokens(tok, long, { prependBos: true, nCtx: 1024 }),
      /1027 tokens long \(BOS included\) but nCtx is 1024; pass truncate: true .*or shorten the prompt/,
    );
    const cut = await tokensOf(long, { prependBos: true, nCtx: 1024, truncate: true });
    assert.deepEqual(cut.shape, [1, 1024]);
    assert.deepEqual(cut.values[0].slice(0, 3), [EOT, 31, 2488]); // BOS, "@", " @"
    const full = await tokensOf(long, { prependBos: true, nCtx: 2048 });
    assert.deepEqual(full.shape, [1, 1027]);
    assert.equal(full.values[0][1026], 220); // the trailing " "
  });

  test("toSingleToken", () => {
    assert.equal(toSingleToken(tok, " SolidGoldMagikarp"), 43453);
    assert.equal(toSingleToken(tok, "<|endoftext|>"), EOT);
    assert.throws(
      () => toSingleToken(tok, "Hello world"),
      /"Hello world" is 2 tokens, not one: \["Hello", " world"\] \(ids \[15496, 995\]\)/,
    );
    assert.throws(() => toSingleToken(tok, ""), /is 0 tokens/);
  });

  test("getTokenPosition counts BOS and supports first/last", async () => {
    // TL test_tokenization_methods: " some" in "There were some biomolecules" is at 3 with BOS, 2 without.
    const prompt = "There were some biomolecules";
    assert.equal(await getTokenPosition(tok, " some", prompt, { prependBos: true }), 3);
    assert.equal(await getTokenPosition(tok, " some", prompt, { prependBos: false }), 2);
    assert.equal(await getTokenPosition(tok, 617, prompt, { prependBos: false }), 2); // " some" = 617 (table)
    assert.equal(await getTokenPosition(tok, " @", "@ @ @ ", { prependBos: false, mode: "first" }), 1);
    assert.equal(await getTokenPosition(tok, " @", "@ @ @ ", { prependBos: false, mode: "last" }), 2);
    const t = toTokens(tok, prompt, { prependBos: true, nCtx: 1024 });
    assert.equal(await getTokenPosition(tok, " some", t, { prependBos: true }), 3);
    assert.equal(await getTokenPosition(tok, " some", [EOT, 1858, 547, 617], { prependBos: false }), 3);
    t.dispose();
    await assert.rejects(
      getTokenPosition(tok, " cat", prompt, { prependBos: true }),
      /token 3797 \(" cat"\) does not occur in the input \["<\|endoftext\|>", "There", " were", " some"/,
    );
  });

  test("toStrTokens decodes each token separately", async () => {
    assert.deepEqual(await toStrTokens(tok, "Hello, I'm a", { prependBos: true }), [
      "<|endoftext|>",
      "Hello",
      ",",
      " I",
      "'m",
      " a",
    ]);
    assert.deepEqual(await toStrTokens(tok, " SolidGoldMagikarp", { prependBos: false }), [" SolidGoldMagikarp"]);
    // In the table, " Å" of " Ångström" is [6184 = " "+0xC3, 227 = 0x85]; a lone UTF-8 byte decodes to U+FFFD.
    assert.deepEqual(await toStrTokens(tok, [6184, 227], { prependBos: false }), [" \uFFFD", "\uFFFD"]);
    const t1 = tf.tensor1d([15496, 995], "int32");
    const t2 = tf.tensor2d([[15496, 995]], [1, 2], "int32");
    const t3 = tf.tensor2d([[15496], [995]], [2, 1], "int32");
    assert.deepEqual(await toStrTokens(tok, t1, { prependBos: true }), ["Hello", " world"]);
    assert.deepEqual(await toStrTokens(tok, t2, { prependBos: true }), ["Hello", " world"]);
    await assert.rejects(toStrTokens(tok, t3, { prependBos: true }), /shape \[pos\] or \[1, pos\], got \[2,1\]/);
    tf.dispose([t1, t2, t3]);
  });

  test("tokensToString: rank 1 gives a string, rank 2 a list; spaces are not cleaned up", async () => {
    assert.equal(await tokensToString(tok, [43453]), " SolidGoldMagikarp"); // TL test_tokenization_methods
    assert.equal(await tokensToString(tok, []), "");
    const t = toTokens(tok, ["Hello world", "Hello, I'm a"], { prependBos: false, nCtx: 1024 });
    assert.deepEqual(await tokensToString(tok, t), ["Hello world<|endoftext|><|endoftext|><|endoftext|>", "Hello, I'm a"]);
    t.dispose();
    assert.deepEqual(await tokensToString(tok, [helloWorld, hello]), ["Hello world", "Hello, I'm a"]);
    // " ," and " 's" would be rewritten by clean_up_tokenization_spaces (GPT-2's config enables it).
    assert.equal(await tokensToString(tok, tok.encode("a , b 's")), "a , b 's");
  });

  test("no function leaks tensors", async () => {
    await expectNoLeak("toTokens", () => toTokens(tok, ["a b", "c"], { prependBos: true, nCtx: 8 }).dispose());
    await expectNoLeak("toTokens error", () => {
      assert.throws(() => toTokens(tok, "a b c", { prependBos: true, nCtx: 2 }));
    });
    const t = tf.tensor2d([[EOT, 15496, 995]], [1, 3], "int32");
    await expectNoLeak("readers", async () => {
      await toStrTokens(tok, t, { prependBos: true });
      await tokensToString(tok, t);
      await getTokenPosition(tok, " world", t, { prependBos: true });
      await toStrTokens(tok, "Hello world", { prependBos: true });
      toSingleToken(tok, " world");
    });
    t.dispose();
  });
});
