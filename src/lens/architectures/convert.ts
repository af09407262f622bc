/**
 * Shared pieces of the per-family converters: a checkpoint reader that checks shapes and tracks which keys were used,
 * the TL state-dict shapes a config requires, and small layout helpers.
 */
import * as tf from "@tensorflow/tfjs";
import type { TransformerConfig } from "../config";
import type { StateDict } from "../components/weights";

/**
 * Reads checkpoint tensors by HF key (with or without an optional prefix), checks their shapes, records use.
 * It holds one tfjs tensor per checkpoint key (built shard by shard, see `readCheckpointTensors`); `read` hands the
 * tensor over (a clone sharing its memory, so it belongs to the caller's `tf.tidy`), and the reader lets go of its own
 * reference, so the checkpoint copy is freed as soon as the converter has transformed it. Each key is read once.
 */
export class CheckpointReader {
  private readonly used = new Set<string>();
  private readonly held: Map<string, tf.Tensor>;
  private readonly shapes = new Map<string, number[]>();

  constructor(
    tensors: ReadonlyMap<string, tf.Tensor>,
    private readonly source: string,
    private readonly optionalPrefixes: readonly string[] = [],
  ) {
    this.held = new Map(tensors);
    for (const [k, t] of tensors) this.shapes.set(k, t.shape);
  }

  private resolve(key: string): string {
    if (this.shapes.has(key)) return key;
    for (const p of this.optionalPrefixes) if (this.shapes.has(p + key)) return p + key;
    const near = [...this.shapes.keys()].filter((k) => k.endsWith(key.split(".").slice(-2).join("."))).slice(0, 3);
    throw new Error(
      `${this.source}: checkpoint has no tensor "${key}"` + (near.length ? ` (similar keys: ${near.join(", ")})` : "") +
        `; the file does not match the architecture in config.json, or it is incomplete`,
    );
  }

  /** True when the checkpoint has `key` (with or without an optional prefix). */
  has(key: string): boolean {
    return this.shapes.has(key) || this.optionalPrefixes.some((p) => this.shapes.has(p + key));
  }

  /** The tensor `key` as float32, checked against `shape`; the caller owns it. */
  read(key: string, shape: readonly number[]): tf.Tensor {
    const full = this.resolve(key);
    const t = this.held.get(full);
    if (t === undefined) throw new Error(`${this.source}: "${full}" was read twice by the converter (a bug in the architecture file: read each key once)`);
    if (!tf.util.arraysEqual(t.shape, [...shape])) {
      throw new Error(`${this.source}: "${full}" has shape [${t.shape}] but config.json implies [${shape}]; config and weights disagree`);
    }
    this.used.add(full);
    const out = t.dtype === "float32" ? tf.clone(t) : tf.cast(t, "float32");
    t.dispose();
    this.held.delete(full);
    return out;
  }

  /** Keys never read and not matched by `ignored`. */
  unused(ignored: RegExp): string[] {
    return [...this.shapes.keys()].filter((k) => !this.used.has(k) && !ignored.test(k));
  }

  /** Frees every tensor not handed out by `read` (call it when conversion is over, or failed). */
  dispose(): void {
    for (const t of this.held.values()) t.dispose();
    this.held.clear();
  }
}

/** Every parameter a config requires, with its TL shape (`blocks.0.attn.W_Q` → [nHeads, dModel, dHead], …). */
export function expectedParamShapes(cfg: TransformerConfig): Map<string, number[]> {
  const { dModel: D, nHeads: H, dHead: d, dMlp: M, dVocab: V, dVocabOut: VO, nCtx } = cfg;
  const m = new Map<string, number[]>([["embed.W_E", [V, D]]]);
  if (cfg.positionalEmbeddingType === "standard") m.set("pos_embed.W_pos", [nCtx, D]);
  const ln = (p: string) => {
    if (cfg.normalizationType === "LN") m.set(`${p}.w`, [D]).set(`${p}.b`, [D]);
  };
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `blocks.${l}`;
    ln(`${p}.ln1`);
    for (const x of ["Q", "K", "V"]) m.set(`${p}.attn.W_${x}`, [H, D, d]).set(`${p}.attn.b_${x}`, [H, d]);
    m.set(`${p}.attn.W_O`, [H, d, D]).set(`${p}.attn.b_O`, [D]);
    if (cfg.attnOnly) continue;
    ln(`${p}.ln2`);
    m.set(`${p}.mlp.W_in`, [D, M]).set(`${p}.mlp.b_in`, [M]).set(`${p}.mlp.W_out`, [M, D]).set(`${p}.mlp.b_out`, [D]);
  }
  ln("ln_final");
  m.set("unembed.W_U", [D, VO]).set("unembed.b_U", [VO]);
  return m;
}

/** Throws listing every missing or misshapen parameter (the converter forgot one, or a layout is wrong). */
export function checkStateDict(sd: StateDict, cfg: TransformerConfig, source: string): void {
  const expected = expectedParamShapes(cfg);
  const problems: string[] = [];
  for (const [k, shape] of expected) {
    const t = sd.get(k);
    if (t === undefined) problems.push(`missing ${k} [${shape}]`);
    else if (!tf.util.arraysEqual(t.shape, shape)) problems.push(`${k} is [${t.shape}], expected [${shape}]`);
  }
  for (const k of sd.keys()) if (!expected.has(k)) problems.push(`unexpected parameter ${k}`);
  if (problems.length) throw new Error(`${source}: converted weights do not match the config: ${problems.join("; ")}`);
}

/** Builds the per-layer part of a state dict, then adds the global entries. */
export function perLayer(cfg: TransformerConfig, layer: (l: number) => Record<string, tf.Tensor>, global: Record<string, tf.Tensor>): StateDict {
  const sd: StateDict = new Map();
  for (let l = 0; l < cfg.nLayers; l++) for (const [k, v] of Object.entries(layer(l))) sd.set(`blocks.${l}.${k}`, v);
  for (const [k, v] of Object.entries(global)) sd.set(k, v);
  return sd;
}

/** Splits a fused QKV tensor that has already been arranged as `[3, ...]` into its three parts. */
export function splitQkv(fused: tf.Tensor): { q: tf.Tensor; k: tf.Tensor; v: tf.Tensor } {
  const [q, k, v] = tf.unstack(fused, 0);
  fused.dispose();
  return { q, k, v };
}

/** Transposes a 2-D tensor and frees the input. */
export function T(x: tf.Tensor): tf.Tensor {
  const out = x.transpose();
  x.dispose();
  return out;
}

/** Reads a tensor then applies `f`, freeing the intermediate. */
export function mapRead(x: tf.Tensor, f: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  const out = tf.tidy(() => f(x));
  x.dispose();
  return out;
}

/** LN weight/bias entries for the TL names `name.w` / `name.b` from HF `{hf}.weight` / `{hf}.bias`. */
export function lnParams(read: CheckpointReader, hf: string, name: string, dModel: number): Record<string, tf.Tensor> {
  return { [`${name}.w`]: read.read(`${hf}.weight`, [dModel]), [`${name}.b`]: read.read(`${hf}.bias`, [dModel]) };
}
