/**
 * A word-level tokenizer for the small language, written in Hugging Face `tokenizer.json` format so it loads through
 * the same `@huggingface/tokenizers` path (`LensTokenizer`) as GPT-2's. The JS library has no `WordLevel` model, so it
 * is a `WordPiece` model whose vocabulary holds whole words only: every known word (with or without a leading space)
 * is one token, any other word is `[UNK]`. Text is split on whitespace and punctuation (`Whitespace` pre-tokenizer).
 */
import { SPECIAL_TOKENS, vocabulary } from "./vocab";

/**
 * `tokenizer.json` for `words` (default `vocabulary()`; a model may use its first N words only, specials first);
 * `<|endoftext|>` and `[UNK]` are listed in `added_tokens` as special.
 */
export function tinyTokenizerJson(words: readonly string[] = vocabulary()): Record<string, unknown> {
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: "Whitespace" },
    post_processor: null,
    decoder: { type: "WordPiece", prefix: "##", cleanup: false },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(words.map((w, i) => [w, i])),
    },
  };
}

/** `tokenizer_config.json`: BOS = EOS = PAD = `<|endoftext|>` (GPT-2's convention), `[UNK]` for unknown words. */
export function tinyTokenizerConfig(): Record<string, unknown> {
  return {
    tokenizer_class: "PreTrainedTokenizerFast",
    bos_token: "<|endoftext|>",
    eos_token: "<|endoftext|>",
    pad_token: "<|endoftext|>",
    unk_token: "[UNK]",
    model_max_length: 1024,
    clean_up_tokenization_spaces: false,
  };
}
