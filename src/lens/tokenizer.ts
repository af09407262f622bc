/**
 * Tokenisation: a thin adapter over `@huggingface/tokenizers` (`LensTokenizer`) and pure functions with
 * TransformerLens's semantics (`toTokens`, `toStrTokens`, `toSingleToken`, `tokensToString`, `getTokenPosition`).
 *
 * Differences from TransformerLens, on purpose: `toTokens` does not truncate to `nCtx` unless asked
 * (`truncate: true`); a too-long prompt is an Error instead.
 */
import * as tf from "@tensorflow/tfjs";
import { Tokenizer } from "@huggingface/tokenizers";
import { readFile } from "node:fs/promises";
import * as path from "node:path";

/** The token GPT-2 and GPT-NeoX use as BOS, EOS and (in TransformerLens) PAD. */
const END_OF_TEXT = "<|endoftext|>";

type JsonObject = Record<string, unknown>;

/** A special-token entry of tokenizer_config.json: a string, or an AddedToken object `{content, ...}`. */
function specialTokenContent(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && typeof (value as JsonObject).content === "string") {
    return (value as JsonObject).content as string;
  }
  return undefined;
}

async function readJson(file: string, dir: string, required: boolean): Promise<JsonObject | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!required && code === "ENOENT") return undefined;
    throw new Error(
      `LensTokenizer.fromFolder: cannot read ${path.basename(file)} in ${dir} (${code ?? (e as Error).message}); ` +
        `the folder must contain the Hugging Face tokenizer files (tokenizer.json, optionally tokenizer_config.json)`,
    );
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not a JSON object");
    return parsed as JsonObject;
  } catch (e) {
    throw new Error(
      `LensTokenizer.fromFolder: ${file} is not valid JSON (${(e as Error).message}); ` +
        `re-download it from the model repository`,
    );
  }
}

/** Thin adapter over a Hugging Face tokenizer: plain id arrays in and out, special tokens resolved once. */
export class LensTokenizer {
  /** The wrapped `@huggingface/tokenizers` instance, for anything this adapter does not cover. */
  readonly hf: Tokenizer;
  /** BOS id: tokenizer_config.json's `bos_token`, else `<|endoftext|>`, else EOS (as TransformerLens). */
  readonly bosTokenId: number;
  /** EOS id: tokenizer_config.json's `eos_token`, else `<|endoftext|>`. */
  readonly eosTokenId: number;
  /** PAD id: tokenizer_config.json's `pad_token`, else EOS (TransformerLens's `set_tokenizer`). */
  readonly padTokenId: number;
  /** The BOS token's text, e.g. `"<|endoftext|>"`. */
  readonly bosToken: string;
  /** Number of ids, added tokens included (50257 for GPT-2). */
  readonly vocabSize: number;
  /** Whether the tokenizer's own post-processor adds BOS (GPT-2, Pythia: false). `encode` never adds it. */
  readonly tokenizerPrependsBos: boolean;

  private constructor(hf: Tokenizer, config: JsonObject) {
    this.hf = hf;
    const vocab = hf.get_vocab(true);
    this.vocabSize = vocab.size;
    const lookup = (field: string): number | undefined => {
      const content = specialTokenContent(config[field]);
      if (content === undefined) return undefined;
      const id = hf.token_to_id(content);
      if (id === undefined) {
        throw new Error(
          `LensTokenizer: tokenizer_config.json sets ${field} = ${JSON.stringify(content)}, which is not in the ` +
            `tokenizer's vocabulary; fix ${field} in tokenizer_config.json or remove it`,
        );
      }
      return id;
    };
    const endOfText = hf.token_to_id(END_OF_TEXT);
    const eos = lookup("eos_token") ?? endOfText;
    if (eos === undefined) {
      throw new Error(
        `LensTokenizer: cannot find an EOS token (no eos_token in tokenizer_config.json and no ${END_OF_TEXT} ` +
          `token); pass a tokenizer_config.json that sets eos_token`,
      );
    }
    this.eosTokenId = eos;
    this.bosTokenId = lookup("bos_token") ?? endOfText ?? eos;
    this.padTokenId = lookup("pad_token") ?? eos;
    this.bosToken = hf.id_to_token(this.bosTokenId) ?? END_OF_TEXT;
    const plain = hf.encode("a", { add_special_tokens: false }).ids;
    const withSpecials = hf.encode("a", { add_special_tokens: true }).ids;
    this.tokenizerPrependsBos = withSpecials[0] === this.bosTokenId && plain[0] !== this.bosTokenId;
  }

  /** Reads `tokenizer.json` (required) and `tokenizer_config.json` (optional) from a model folder. */
  static async fromFolder(dir: string): Promise<LensTokenizer> {
    const tokenizerJson = await readJson(path.join(dir, "tokenizer.json"), dir, true);
    const configJson = await readJson(path.join(dir, "tokenizer_config.json"), dir, false);
    return LensTokenizer.fromJson(tokenizerJson as JsonObject, configJson);
  }

  /** Builds the adapter from already-parsed `tokenizer.json` and (optional) `tokenizer_config.json` objects. */
  static fromJson(tokenizerJson: object, configJson: object = {}): LensTokenizer {
    let hf: Tokenizer;
    try {
      hf = new Tokenizer(tokenizerJson, configJson);
    } catch (e) {
      throw new Error(
        `LensTokenizer: cannot build a tokenizer from this tokenizer.json (${(e as Error).message}); ` +
          `pass the Hugging Face tokenizer.json of the model`,
      );
    }
    return new LensTokenizer(hf, configJson as JsonObject);
  }

  /** Text → ids, with no special tokens added (no BOS, no EOS). `<|endoftext|>` inside the text is one token. */
  encode(text: string): number[] {
    if (text.length === 0) return [];
    return this.hf.encode(text, { add_special_tokens: false }).ids;
  }

  /** Ids → text, special tokens kept and no clean-up of spaces, so `decode(encode(s)) === s` for GPT-2. */
  decode(ids: readonly number[]): string {
    for (const id of ids) this.checkId(id, "decode");
    if (ids.length === 0) return "";
    return this.hf.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** The text of one token (a partial UTF-8 character decodes to "\uFFFD", as in TransformerLens). */
  idToString(id: number): string {
    return this.decode([id]);
  }

  private checkId(id: number, fn: string): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new Error(`${fn}: token id ${id} is not an integer in [0, ${this.vocabSize}); pass ids from this tokenizer`);
    }
  }
}

/** Options of `toTokens`. */
export interface ToTokensOptions {
  /** Put BOS in front of each prompt (TransformerLens `prepend_bos`; GPT-2 default true, Pythia false). */
  prependBos: boolean;
  /** Where a list of prompts is padded with `padTokenId` (default "right"). */
  paddingSide?: "right" | "left";
  /** Cut prompts longer than `nCtx` to their first `nCtx` tokens (default false: an Error instead). */
  truncate?: boolean;
  /** The model's context length. */
  nCtx: number;
}

/** One prompt's ids with TransformerLens's BOS policy (BOS is added here because `encode` never adds it). */
function tokenizeWithBos(tok: LensTokenizer, text: string, prependBos: boolean): number[] {
  const ids = tok.encode(text);
  return prependBos ? [tok.bosTokenId, ...ids] : ids;
}

/**
 * TransformerLens `to_tokens`: prompt(s) → int32 tensor [batch, pos], owned by the caller.
 * A list is padded with `padTokenId` to the longest prompt; BOS (when asked) comes after left padding.
 */
export function toTokens(tok: LensTokenizer, input: string | string[], opts: ToTokensOptions): tf.Tensor2D {
  const { prependBos, paddingSide = "right", truncate = false, nCtx } = opts;
  if (!Number.isInteger(nCtx) || nCtx < 1) throw new Error(`toTokens: nCtx must be a positive integer, got ${nCtx}`);
  const texts = typeof input === "string" ? [input] : input;
  if (!Array.isArray(texts) || texts.length === 0 || texts.some((t) => typeof t !== "string")) {
    throw new Error("toTokens: input must be a string or a non-empty list of strings");
  }
  const rows = texts.map((text, i) => {
    const ids = tokenizeWithBos(tok, text, prependBos);
    if (ids.length <= nCtx) return ids;
    if (truncate) return ids.slice(0, nCtx);
    const which = texts.length > 1 ? `prompt ${i} is` : "the prompt is";
    throw new Error(
      `toTokens: ${which} ${ids.length} tokens long${prependBos ? " (BOS included)" : ""} but nCtx is ${nCtx}; ` +
        `pass truncate: true to keep the first ${nCtx} tokens, or shorten the prompt`,
    );
  });
  const width = Math.max(...rows.map((r) => r.length));
  const flat = new Int32Array(rows.length * width).fill(tok.padTokenId);
  rows.forEach((r, b) => flat.set(r, b * width + (paddingSide === "left" ? width - r.length : 0)));
  return tf.tensor2d(flat, [rows.length, width], "int32");
}

/** Reads a 1-D token list from an array or a tensor ([pos] or [1, pos]) without creating tensors. */
async function readIds(input: readonly number[] | tf.Tensor, fn: string): Promise<number[]> {
  let ids: number[];
  if (input instanceof tf.Tensor) {
    if (!(input.rank === 1 || (input.rank === 2 && input.shape[0] === 1))) {
      throw new Error(`${fn}: expected tokens of shape [pos] or [1, pos], got [${input.shape}]; pass one sequence`);
    }
    ids = Array.from(await input.data());
  } else {
    ids = [...input];
  }
  if (!ids.every(Number.isInteger)) throw new Error(`${fn}: token ids must be integers`);
  return ids;
}

/**
 * TransformerLens `to_str_tokens`: each token decoded on its own. A string is tokenised first with the BOS policy;
 * arrays and tensors ([pos] or [1, pos]) are used as they are.
 */
export async function toStrTokens(
  tok: LensTokenizer,
  input: string | readonly number[] | tf.Tensor,
  opts: { prependBos: boolean },
): Promise<string[]> {
  const ids = typeof input === "string" ? tokenizeWithBos(tok, input, opts.prependBos) : await readIds(input, "toStrTokens");
  return ids.map((id) => tok.idToString(id));
}

/** TransformerLens `to_single_token`: the id of a string that is exactly one token (BOS is never added). */
export function toSingleToken(tok: LensTokenizer, s: string): number {
  const ids = tok.encode(s);
  if (ids.length !== 1) {
    const pieces = ids.map((id) => JSON.stringify(tok.idToString(id))).join(", ");
    throw new Error(
      `toSingleToken: ${JSON.stringify(s)} is ${ids.length} tokens, not one: [${pieces}] (ids [${ids.join(", ")}]); ` +
        `pass a string that is a single token (mind the leading space, e.g. " Paris")`,
    );
  }
  return ids[0];
}

/**
 * TransformerLens `to_string`: decodes tokens (no space clean-up). Rank 0/1 gives a string; rank 2 a list,
 * one string per row.
 */
export async function tokensToString(tok: LensTokenizer, tokens: readonly number[]): Promise<string>;
export async function tokensToString(tok: LensTokenizer, tokens: readonly (readonly number[])[]): Promise<string[]>;
export async function tokensToString(
  tok: LensTokenizer,
  tokens: readonly number[] | readonly (readonly number[])[] | tf.Tensor,
): Promise<string | string[]>;
export async function tokensToString(
  tok: LensTokenizer,
  tokens: readonly number[] | readonly (readonly number[])[] | tf.Tensor,
): Promise<string | string[]> {
  if (tokens instanceof tf.Tensor) {
    if (tokens.rank > 2) throw new Error(`tokensToString: expected rank ≤ 2 tokens, got shape [${tokens.shape}]`);
    const values = Array.from(await tokens.data());
    if (tokens.rank < 2) return tok.decode(values);
    const [batch, pos] = tokens.shape;
    return Array.from({ length: batch }, (_, b) => tok.decode(values.slice(b * pos, (b + 1) * pos)));
  }
  if (tokens.length > 0 && Array.isArray(tokens[0])) {
    return (tokens as readonly (readonly number[])[]).map((row) => tok.decode(row));
  }
  return tok.decode(tokens as readonly number[]);
}

/** Options of `getTokenPosition`. */
export interface TokenPositionOptions {
  /** The first (default) or the last occurrence. */
  mode?: "first" | "last";
  /** BOS policy when `input` is a string (ignored for token inputs). */
  prependBos: boolean;
}

/** TransformerLens `get_token_position`: index of `singleToken` in one prompt; an Error if it does not occur. */
export async function getTokenPosition(
  tok: LensTokenizer,
  singleToken: string | number,
  input: string | tf.Tensor | readonly number[],
  opts: TokenPositionOptions,
): Promise<number> {
  const id = typeof singleToken === "number" ? singleToken : toSingleToken(tok, singleToken);
  const ids =
    typeof input === "string" ? tokenizeWithBos(tok, input, opts.prependBos) : await readIds(input, "getTokenPosition");
  const pos = opts.mode === "last" ? ids.lastIndexOf(id) : ids.indexOf(id);
  if (pos < 0) {
    const shown = ids.slice(0, 40).map((t) => JSON.stringify(tok.idToString(t)));
    const more = ids.length > 40 ? `, … (${ids.length} tokens)` : "";
    throw new Error(
      `getTokenPosition: token ${id} (${JSON.stringify(tok.idToString(id))}) does not occur in the input ` +
        `[${shown.join(", ")}${more}]; check the token's leading space or pick a token that is in the prompt`,
    );
  }
  return pos;
}
