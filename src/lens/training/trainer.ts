/**
 * A language-model trainer on tfjs: next-token cross-entropy through `runModel` (the library's own forward, so the
 * trained model is exactly the one `HookedTransformer` runs), AdamW with warmup + cosine schedule and gradient
 * clipping, seeded data by batch index, progress and periodic evaluation callbacks, and checkpoint save/resume.
 * Works on cpu and wasm (the wasm gather gradient is registered by `kernels.ts`). Other objectives on the logits
 * go through `lossFn` (e.g. the weighted answer-token loss of training/answerLoss.ts); sparse autoencoders have their
 * own trainer (sae/trainer.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdirSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import * as path from "node:path";
import type { TransformerConfig } from "../config";
import { lmCrossEntropy, runModel } from "../forward";
import { HookRegistry } from "../hookPoint";
import { readSafetensors, writeSafetensors, type TensorsToWrite } from "../loading/safetensors";
import { AdamW, warmupCosine, type AdamWOptions } from "./adamw";
import { registerTrainingKernels } from "./kernels";
import { trainableVariables, trainableWeights, type ParamSet } from "./params";

/** Mean next-token cross-entropy (nats) of logits `[batch, pos, vocab]` on int32 tokens `[batch, pos]` (`lmCrossEntropy`). */
export function nextTokenLoss(logits: tf.Tensor, tokens: tf.Tensor2D): tf.Scalar {
  return lmCrossEntropy(logits, tokens, false) as tf.Scalar;
}

/** One progress report. */
export interface TrainProgress {
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly lr: number;
  readonly gradNorm: number;
  readonly seconds: number;
  /** Set on evaluation steps. */
  readonly eval?: Record<string, number>;
}

/** Options of `trainLanguageModel`. */
export interface TrainOptions extends AdamWOptions {
  readonly cfg: TransformerConfig;
  readonly params: ParamSet;
  /** Batch `index` as token rows (same length); must be a pure function of `index` for exact resumption. */
  readonly batch: (index: number) => number[][];
  readonly steps: number;
  readonly lr: number;
  readonly warmupSteps?: number;
  /** Cosine floor as a fraction of `lr` (default 0.1). */
  readonly minLrRatio?: number;
  /** Global-norm clip (default 1; Infinity: none). */
  readonly gradClip?: number;
  /** Called every `logEvery` steps (default 50) and on evaluation steps. */
  readonly onProgress?: (p: TrainProgress) => void;
  readonly logEvery?: number;
  /** Evaluation every `evalEvery` steps (and at the end); its numbers go into the progress report. */
  readonly evaluate?: (step: number) => Promise<Record<string, number>>;
  readonly evalEvery?: number;
  /** Folder for `checkpoint.safetensors` + `trainer_state.json`; saved every `checkpointEvery` steps and at the end. */
  readonly checkpointDir?: string;
  readonly checkpointEvery?: number;
  /** Continue from the checkpoint in `checkpointDir` when there is one (default true). */
  readonly resume?: boolean;
  /** Stop early (after a step) when this returns true, e.g. when evaluation criteria are met. */
  readonly stopWhen?: (p: TrainProgress) => boolean;
  /** Replaces the loss: gets the forward's logits and the batch tokens. */
  readonly lossFn?: (logits: tf.Tensor, tokens: tf.Tensor2D) => tf.Scalar;
}

/** What a run did. */
export interface TrainResult {
  /** Steps done in total (including steps before a resume). */
  readonly steps: number;
  /** Mean loss over the last `logEvery` steps. */
  readonly finalLoss: number;
  /** [step, mean loss of the window ending there]. */
  readonly history: Array<[number, number]>;
  readonly seconds: number;
  readonly resumedFrom: number;
  readonly lastEval?: Record<string, number>;
}

const STATE_FILE = "trainer_state.json";
const CKPT_FILE = "checkpoint.safetensors";

async function saveCheckpoint(dir: string, params: ParamSet, opt: AdamW, names: string[], state: Record<string, unknown>): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const tensors: TensorsToWrite = {};
  for (const [k, v] of params) tensors[`param.${k}`] = { shape: v.shape, data: (await v.data()) as Float32Array };
  for (let i = 0; i < names.length; i++) {
    tensors[`adam.m.${names[i]}`] = { shape: opt.m[i]!.shape, data: (await opt.m[i]!.data()) as Float32Array };
    tensors[`adam.v.${names[i]}`] = { shape: opt.v[i]!.shape, data: (await opt.v[i]!.data()) as Float32Array };
  }
  await writeSafetensors(path.join(dir, CKPT_FILE), tensors);
  const tmp = path.join(dir, `${STATE_FILE}.tmp`);
  await writeFile(tmp, JSON.stringify({ ...state, step: opt.step }, null, 1));
  await rename(tmp, path.join(dir, STATE_FILE));
}

async function loadCheckpoint(dir: string, params: ParamSet, opt: AdamW, names: string[]): Promise<Record<string, unknown>> {
  const state = JSON.parse(await readFile(path.join(dir, STATE_FILE), "utf8")) as Record<string, unknown>;
  const raw = await readSafetensors(path.join(dir, CKPT_FILE));
  const assign = (v: tf.Variable, key: string) => {
    const t = raw.get(key);
    if (t === undefined || !tf.util.arraysEqual(t.shape, v.shape)) {
      throw new Error(`${dir}/${CKPT_FILE}: ${key} is missing or has shape [${t?.shape}] instead of [${v.shape}]; the checkpoint is from another model — delete it or use another checkpointDir`);
    }
    tf.tidy(() => v.assign(tf.tensor(t.data, t.shape, "float32")));
  };
  for (const [k, v] of params) assign(v, `param.${k}`);
  names.forEach((n, i) => (assign(opt.m[i]!, `adam.m.${n}`), assign(opt.v[i]!, `adam.v.${n}`)));
  opt.step = state.step as number;
  return state;
}

/**
 * Trains `params` in place. Every step: batch(step) → forward → loss → gradients → clip → AdamW at the scheduled
 * learning rate. Leaves `tf.memory().numTensors` as it was (the parameters are the caller's).
 * @example
 * const params = initParams(cfg, 0);
 * await trainLanguageModel({ cfg, params, batch: (i) => corpusBatch(tinyLanguage(), 0, i, 16, 64), steps: 500, lr: 1e-3 });
 */
export async function trainLanguageModel(o: TrainOptions): Promise<TrainResult> {
  registerTrainingKernels();
  const weights = trainableWeights(o.params);
  const hooks = new HookRegistry(() => []);
  const names = [...o.params.keys()].filter((k) => o.params.get(k)!.trainable);
  const vars = trainableVariables(o.params);
  const opt = new AdamW(vars, o);
  const logEvery = o.logEvery ?? 50;
  const start = Date.now();
  let resumedFrom = 0;
  let history: Array<[number, number]> = [];
  try {
    if (o.checkpointDir && (o.resume ?? true) && existsSync(path.join(o.checkpointDir, STATE_FILE))) {
      const state = await loadCheckpoint(o.checkpointDir, o.params, opt, names);
      resumedFrom = opt.step;
      history = (state.history as Array<[number, number]>) ?? [];
    }
    let window: number[] = [];
    let lastEval: Record<string, number> | undefined;
    const lossFn = o.lossFn ?? nextTokenLoss;
    while (opt.step < o.steps) {
      const step = opt.step;
      const rows = o.batch(step);
      const lr = warmupCosine(step, o.steps, o.lr, o.warmupSteps ?? Math.min(100, Math.floor(o.steps / 10)), o.minLrRatio);
      const tokens = tf.tensor2d(rows, [rows.length, rows[0]!.length], "int32");
      const { value, grads } = tf.variableGrads(() => lossFn(runModel(weights, o.cfg, hooks, { tokens }), tokens), vars);
      const norm = opt.apply(vars.map((v) => grads[v.name]!), lr, o.gradClip ?? 1);
      tf.dispose([tokens, ...Object.values(grads)]);
      const [loss, gradNorm] = [(await value.data())[0]!, (await norm.data())[0]!];
      tf.dispose([value, norm]);
      if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${step} (loss ${loss}); lower lr or raise warmupSteps`);
      window.push(loss);
      const done = opt.step;
      const isEval = o.evaluate !== undefined && (done % (o.evalEvery ?? 500) === 0 || done === o.steps);
      if (isEval) lastEval = await o.evaluate!(done);
      if (done % logEvery === 0 || isEval || done === o.steps) {
        const mean = window.reduce((a, b) => a + b, 0) / window.length;
        if (done % logEvery === 0 || done === o.steps) (history.push([done, mean]), (window = []));
        const p: TrainProgress = { step: done, steps: o.steps, loss: mean, lr, gradNorm, seconds: (Date.now() - start) / 1000, eval: isEval ? lastEval : undefined };
        o.onProgress?.(p);
        if (o.checkpointDir && (done % (o.checkpointEvery ?? 500) === 0 || done === o.steps)) await saveCheckpoint(o.checkpointDir, o.params, opt, names, { history });
        if (o.stopWhen?.(p)) break;
      }
    }
    const last = history[history.length - 1];
    return { steps: opt.step, finalLoss: last ? last[1] : NaN, history, seconds: (Date.now() - start) / 1000, resumedFrom, lastEval };
  } finally {
    opt.dispose();
  }
}
