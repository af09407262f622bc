/**
 * HookedTransformer: TransformerLens's model class in TypeScript — a thin facade over the forward pass
 * (`forward.ts`), the hook registry (`hookPoint.ts`), the cache (`activationCache.ts`), loading and the tokenizer.
 */
import * as tf from "@tensorflow/tfjs";
import { ActivationCache } from "./activationCache";
import { activationBindings, checkBindings } from "./accel/bindingLimits";
import { generate, type GenerateOptions } from "./generate";
import { ModelWeights, type StateDict } from "./components/weights";
import type { TransformerConfig } from "./config";
import { lmCrossEntropy, runModel } from "./forward";
import { canonicalHookOrder } from "./hookNames";
import { HookRegistry, type FwdHooks, type HookFn, type HookTarget } from "./hookPoint";
import { leftPaddingMask, maskTensor, prepareTokens, type ModelInput } from "./inputs";
import { loadPretrained, type FromPretrainedOptions } from "./loading/fromPretrained";
import * as tok from "./tokenizer";
import { WeightAccess } from "./weightAccess";

export type ReturnKind = "logits" | "loss" | "both";
/** What `forward` returns for each `returnType` (the residual `[batch, pos, dModel]` when `stopAtLayer` is set). */
export type ForwardResult<R extends ReturnKind> = R extends "both" ? { logits: tf.Tensor; loss: tf.Tensor } : tf.Tensor;

export interface ForwardOptions<R extends ReturnKind = "logits"> {
  /** "logits" `[batch, pos, dVocab]` (default), "loss" (scalar, or `[batch, pos-1]` with lossPerToken) or "both". */
  readonly returnType?: R;
  readonly lossPerToken?: boolean;
  /** Prepend BOS to text input (default `cfg.defaultPrependBos`: GPT-2 true, GPT-NeoX false). */
  readonly prependBos?: boolean;
  /** Padding side for a list of texts (default "right"). */
  readonly paddingSide?: "left" | "right";
  /** Cut text longer than nCtx instead of throwing. */
  readonly truncate?: boolean;
  /** Start at this block; the input is then the residual stream `[batch, pos, dModel]`. */
  readonly startAtLayer?: number;
  /** Stop before this block and return the residual stream (no ln_final, no unembed). */
  readonly stopAtLayer?: number;
  /** Tokens for the loss when the input is a residual (`startAtLayer`). */
  readonly tokens?: ModelInput;
  /**
   * `[batch, pos]`, 1 for real tokens and 0 for padding: pads get no attention and positions start at each row's first
   * real token. Built automatically for a list of texts with `paddingSide: "left"`. With `startAtLayer`, pass the mask
   * the residual was computed with (its shape is checked against the residual's `[batch, pos]`).
   */
  readonly attentionMask?: tf.Tensor | readonly (readonly number[])[];
}

/** `namesFilter` of `runWithCache`: a hook name, a list of names, or a predicate. */
export type NamesFilter = string | readonly string[] | ((name: string) => boolean);

export class HookedTransformer extends WeightAccess {
  readonly hooks: HookRegistry;
  protected weights: ModelWeights;
  private contextLevel = 0;

  /** Builds a model from a TL-layout state dict (ownership passes to the model). Prefer `fromPretrained`. */
  constructor(public cfg: TransformerConfig, stateDict: StateDict, readonly tokenizer?: tok.LensTokenizer) {
    super();
    this.weights = new ModelWeights(stateDict);
    this.hooks = new HookRegistry(() => this.hookNames());
  }

  /**
   * Loads a model with TransformerLens's weight processing on by default, from: a bundled model's name (`toy-attn-2l`,
   * `toy-ioi`, `toy-ioi-circuit`, shipped in data/models); a TransformerLens name (`gpt2-small`, `pythia-70m`) or a Hub
   * repo id, taken from the Hugging Face cache or else downloaded into it (with progress); or a checkpoint folder
   * (config.json, model.safetensors / a sharded index / pytorch_model.bin, tokenizer.json). See `loadPretrained`.
   */
  static async fromPretrained(nameOrPath: string, opts: FromPretrainedOptions = {}): Promise<HookedTransformer> {
    const { cfg, stateDict, tokenizer } = await loadPretrained(nameOrPath, opts);
    return new HookedTransformer(cfg, stateDict, tokenizer);
  }

  /** `fromPretrained` with every processing step off: weights as in the checkpoint (logits equal Hugging Face's). */
  static fromPretrainedNoProcessing(nameOrPath: string, opts: FromPretrainedOptions = {}): Promise<HookedTransformer> {
    const off = { foldLn: false, centerWritingWeights: false, centerUnembed: false, foldValueBiases: false };
    return HookedTransformer.fromPretrained(nameOrPath, { ...opts, ...off });
  }

  /** Bytes of the model's float32 parameters (`fromPretrained` prints them with the backend when it loads). */
  get weightBytes(): number {
    let n = 0;
    for (const t of this.weights.params.values()) n += t.size * 4;
    return n;
  }

  /** Every hook point in firing order, including flag-gated ones (`attn.hook_result`). */
  hookNames(): string[] {
    return canonicalHookOrder(this.cfg, true);
  }

  /** Turns `attn.hook_result` ([batch, pos, head, dModel]) on or off. */
  setUseAttnResult(on: boolean): void {
    this.cfg = { ...this.cfg, useAttnResult: on };
  }

  private tokenizerOrThrow(): tok.LensTokenizer {
    if (this.tokenizer === undefined) {
      throw new Error(`${this.cfg.modelName} has no tokenizer: add tokenizer.json to its folder, or pass token ids instead of text`);
    }
    return this.tokenizer;
  }

  /** Text → int32 `[batch, pos]` (BOS first for GPT-2 by default; a list is padded). Caller owns the tensor. */
  toTokens(input: string | readonly string[], opts: { prependBos?: boolean; paddingSide?: "left" | "right"; truncate?: boolean } = {}): tf.Tensor2D {
    return tok.toTokens(this.tokenizerOrThrow(), typeof input === "string" ? input : [...input], {
      prependBos: opts.prependBos ?? this.cfg.defaultPrependBos,
      paddingSide: opts.paddingSide,
      truncate: opts.truncate,
      nCtx: this.cfg.nCtx,
    });
  }

  /** Each token as its own string. */
  toStrTokens(input: string | readonly number[] | tf.Tensor, opts: { prependBos?: boolean } = {}): Promise<string[]> {
    return tok.toStrTokens(this.tokenizerOrThrow(), input, { prependBos: opts.prependBos ?? this.cfg.defaultPrependBos });
  }

  /** The id of a string that is exactly one token; throws otherwise. */
  toSingleToken(s: string): number {
    return tok.toSingleToken(this.tokenizerOrThrow(), s);
  }

  /** Decodes tokens (rank 2 → one string per row). TransformerLens's `to_string`. */
  tokensToString(tokens: readonly number[] | readonly (readonly number[])[] | tf.Tensor): Promise<string | string[]> {
    return tok.tokensToString(this.tokenizerOrThrow(), tokens);
  }

  /** Position of `singleToken` in `input` ("first" or "last" occurrence). */
  getTokenPosition(singleToken: string | number, input: string | tf.Tensor | readonly number[], opts: { mode?: "first" | "last"; prependBos?: boolean } = {}): Promise<number> {
    return tok.getTokenPosition(this.tokenizerOrThrow(), singleToken, input, { mode: opts.mode, prependBos: opts.prependBos ?? this.cfg.defaultPrependBos });
  }

  /**
   * Runs the model. Returns logits `[batch, pos, dVocab]`, the loss, both, or (with `stopAtLayer`) the residual.
   * The result belongs to the caller; nothing else is left allocated.
   */
  async forward<R extends ReturnKind = "logits">(input: ModelInput, opts: ForwardOptions<R> = {}): Promise<ForwardResult<R>> {
    return this.run(input, opts, [], undefined);
  }

  /** Runs with temporary hooks (`[name | filter, fn]` pairs); they are removed afterwards, even on error. */
  async runWithHooks<R extends ReturnKind = "logits">(input: ModelInput, opts: ForwardOptions<R> & { fwdHooks: FwdHooks }): Promise<ForwardResult<R>> {
    return this.run(input, opts, opts.fwdHooks, undefined);
  }

  /**
   * Runs and records activations: returns `[output, cache]`. `namesFilter` limits what is cached (saves memory).
   * Dispose the cache when done.
   */
  async runWithCache<R extends ReturnKind = "logits">(
    input: ModelInput,
    opts: ForwardOptions<R> & { namesFilter?: NamesFilter; removeBatchDim?: boolean; fwdHooks?: FwdHooks } = {},
  ): Promise<[ForwardResult<R>, ActivationCache]> {
    const store = new Map<string, tf.Tensor>();
    const out = await this.run(input, opts, opts.fwdHooks ?? [], { store, filter: this.namesPredicate(opts.namesFilter) });
    const cache = new ActivationCache(store, this);
    if (opts.removeBatchDim) cache.removeBatchDim();
    return [out, cache];
  }

  /** Runs `fn` with hooks attached; they are removed when it settles (TransformerLens's `with model.hooks(...)`). */
  async withHooks<T>(fwdHooks: FwdHooks, fn: () => T | Promise<T>): Promise<T> {
    return this.inHookScope(fwdHooks, async () => await fn());
  }

  /** Attaches a hook until `resetHooks` (or for good with `isPermanent`). Returns how many hook points it matched. */
  addHook(target: HookTarget, fn: HookFn, opts: { isPermanent?: boolean; prepend?: boolean } = {}): number {
    return this.hooks.add(target, fn, { permanent: opts.isPermanent, prepend: opts.prepend, level: 0 });
  }

  /** Removes hooks (permanent ones too with `includingPermanent`). */
  resetHooks(opts: { includingPermanent?: boolean; clearContexts?: boolean } = {}): void {
    this.hooks.reset({ includingPermanent: opts.includingPermanent, clearContexts: opts.clearContexts ?? true });
  }

  /**
   * Generates a continuation (TransformerLens `generate`): sampling options, EOS stop, text or token output.
   * Recomputes the whole prefix at every step (there is no KV cache yet).
   */
  generate(input: Parameters<typeof generate>[1], opts: GenerateOptions = {}): ReturnType<typeof generate> {
    return generate(this, input, opts);
  }

  /** Frees the model's weights. */
  dispose(): void {
    this.weights.dispose();
  }

  private namesPredicate(filter: NamesFilter | undefined): (name: string) => boolean {
    if (filter === undefined) return () => true;
    if (typeof filter === "function") return filter;
    const names = typeof filter === "string" ? [filter] : filter;
    const set = new Set(names.flatMap((n) => this.hooks.resolve(n)));
    return (n) => set.has(n);
  }

  /**
   * The attention mask to use: the caller's (checked against the tokens, or against `[batch, pos]` of a residual
   * input), or TransformerLens's automatic one for left-padded text lists (the input's, or `opts.tokens`' when the input
   * is a residual).
   */
  private async attentionMaskFor(input: ModelInput, opts: ForwardOptions<ReturnKind>, tokens: tf.Tensor2D | undefined, shape: readonly number[]): Promise<tf.Tensor2D | undefined> {
    if (opts.attentionMask !== undefined) return maskTensor(opts.attentionMask, shape);
    const text = input instanceof tf.Tensor && opts.tokens !== undefined ? opts.tokens : input;
    const textList = Array.isArray(text) && typeof text[0] === "string";
    if (!textList || tokens === undefined || opts.paddingSide !== "left" || this.tokenizer === undefined) return undefined;
    const { padTokenId, bosTokenId } = this.tokenizer;
    return leftPaddingMask(tokens, padTokenId, (opts.prependBos ?? this.cfg.defaultPrependBos) && bosTokenId === padTokenId);
  }

  /** Validates inputs (async), then runs the forward synchronously with the extra hooks attached only during it. */
  private async run<R extends ReturnKind>(
    input: ModelInput,
    opts: ForwardOptions<R>,
    fwdHooks: FwdHooks,
    caching: { store: Map<string, tf.Tensor>; filter: (name: string) => boolean } | undefined,
  ): Promise<ForwardResult<R>> {
    const returnType = opts.returnType ?? "logits";
    const residualInput = opts.startAtLayer !== undefined && input instanceof tf.Tensor && input.dtype === "float32";
    const tokenize = (t: string | string[]) => this.toTokens(t, opts);
    const owned: tf.Tensor[] = []; // tensors made here for this call, freed however it ends
    const own = <T extends tf.Tensor | undefined>(p: { tokens: T; owned: boolean } | undefined) => {
      if (p?.owned && p.tokens) owned.push(p.tokens);
      return p?.tokens;
    };
    try {
      const tokens = residualInput ? undefined : own(await prepareTokens(input, this.cfg, tokenize));
      const lossTokens = opts.tokens === undefined ? tokens : own(await prepareTokens(opts.tokens, this.cfg, tokenize));
      const [batch, pos] = (tokens ?? (input as tf.Tensor)).shape as number[];
      const mask = own({ tokens: await this.attentionMaskFor(input, opts, lossTokens, [batch!, pos!]), owned: true });
      checkBindings(activationBindings(this.cfg, batch!, pos!), `forward over [${batch}, ${pos}] tokens`); // webgpu binding limit
      const tidyBlocks = fwdHooks.length === 0 && this.hooks.count() === 0; // only lens's own (keeping) cache hook
      return this.runHooked(fwdHooks, caching, () => {
        const out = runModel(this.weights, this.cfg, this.hooks, {
          tidyBlocks,
          tokens,
          residual: residualInput ? (input as tf.Tensor) : undefined,
          startAtLayer: opts.startAtLayer,
          stopAtLayer: opts.stopAtLayer,
          attentionMask: mask,
        });
        if (returnType === "logits" || opts.stopAtLayer !== undefined) {
          if (returnType !== "logits") throw new Error(`returnType "${returnType}" cannot be combined with stopAtLayer (it returns the residual stream)`);
          return out;
        }
        if (lossTokens === undefined) throw new Error("a loss from a residual input (startAtLayer) needs opts.tokens");
        const loss = lmCrossEntropy(out, lossTokens, opts.lossPerToken ?? false, mask);
        return returnType === "loss" ? loss : { logits: out, loss };
      }) as ForwardResult<R>;
    } finally {
      tf.dispose(owned);
    }
  }

  /**
   * Runs `compute` in one `tf.tidy` with `fwdHooks` (and the caching hook) attached only for its duration: the
   * compute is synchronous, so concurrent async calls never see each other's hooks.
   */
  private runHooked<T extends tf.TensorContainer>(
    fwdHooks: FwdHooks,
    caching: { store: Map<string, tf.Tensor>; filter: (name: string) => boolean } | undefined,
    compute: () => T,
  ): T {
    return this.inHookScope(fwdHooks, (level) => {
      if (caching) {
        const cacheHook: HookFn = (act, hook) => {
          caching.store.get(hook.name)?.dispose();
          caching.store.set(hook.name, tf.keep(act.clone()));
        };
        this.hooks.add(caching.filter, cacheHook, { level });
      }
      try {
        return tf.tidy(compute);
      } catch (e) {
        if (caching) for (const t of caching.store.values()) t.dispose();
        caching?.store.clear();
        throw e;
      }
    });
  }

  /**
   * The one hook scope: attaches `fwdHooks` at a new context level, runs `body(level)` and removes that level's hooks
   * when it settles (at once for a synchronous body, when its promise settles for an async one), also if it throws.
   */
  private inHookScope<T>(fwdHooks: FwdHooks, body: (level: number) => T): T {
    const level = ++this.contextLevel;
    const close = () => {
      this.hooks.reset({ level });
      this.contextLevel--;
    };
    let result: T;
    try {
      for (const [target, fn] of fwdHooks) this.hooks.add(target, fn, { level });
      result = body(level);
    } catch (e) {
      close();
      throw e;
    }
    if (result instanceof Promise) return result.finally(close) as T;
    close();
    return result;
  }
}
