/**
 * TransformerLens's `utils.test_prompt`: how the model ranks each token of an answer after a prompt, printed in
 * TransformerLens's format and returned as data.
 */
import * as tf from "@tensorflow/tfjs";
import type { HookedTransformer } from "../hookedTransformer";

export interface TestPromptOptions {
  /** Put a space before the answer when it has none (default true, as TransformerLens). */
  readonly prependSpaceToAnswer?: boolean;
  /** Print the details (default true). The ranks line is always printed. */
  readonly printDetails?: boolean;
  /** Prepend BOS to the prompt (default the model's). The answer never gets one. */
  readonly prependBos?: boolean;
  /** How many top tokens to list per answer token (default 10). */
  readonly topK?: number;
  /** Where lines go (default console.log). */
  readonly print?: (line: string) => void;
}

export interface TokenScore {
  readonly token: number;
  readonly str: string;
  readonly logit: number;
  readonly prob: number;
}

export interface AnswerTokenResult extends TokenScore {
  /** 0 = the most likely token. */
  readonly rank: number;
  readonly top: TokenScore[];
}

export interface TestPromptResult {
  readonly promptStrTokens: string[];
  readonly answerStrTokens: string[];
  readonly answers: AnswerTokenResult[];
}

const pct = (p: number) => `${(p * 100).toFixed(2)}%`.padStart(6);
const fix = (x: number) => x.toFixed(2).padStart(5);

/**
 * Runs prompt + answer once and reports, for each answer token, its rank, logit and probability at the position
 * before it, plus the top-k tokens there. Prints like TransformerLens:
 * `Rank: 0        Logit: 18.09 Prob: 70.07% Token: | Mary|`.
 * @example
 * const r = await testPrompt(model, "After John and Mary went to the store, John gave a bottle of milk to", "Mary");
 * r.answers[0].rank; // 0 for GPT-2 small
 */
export async function testPrompt(model: HookedTransformer, prompt: string, answer: string, opts: TestPromptOptions = {}): Promise<TestPromptResult> {
  const tok = model.tokenizer;
  if (tok === undefined) throw new Error("testPrompt needs a model with a tokenizer");
  const print = opts.print ?? ((line: string) => console.log(line));
  const details = opts.printDetails ?? true;
  const ans = (opts.prependSpaceToAnswer ?? true) && !answer.startsWith(" ") ? ` ${answer}` : answer;
  const promptIds = [...((opts.prependBos ?? model.cfg.defaultPrependBos) ? [tok.bosTokenId] : []), ...tok.encode(prompt)];
  const answerIds = tok.encode(ans);
  if (answerIds.length === 0) throw new Error("testPrompt: the answer is empty");
  const promptStrTokens = promptIds.map((t) => tok.idToString(t));
  const answerStrTokens = answerIds.map((t) => tok.idToString(t));
  if (details) {
    print(`Tokenized prompt: [${promptStrTokens.map((s) => `'${s}'`).join(", ")}]`);
    print(`Tokenized answer: [${answerStrTokens.map((s) => `'${s}'`).join(", ")}]`);
  }
  const ids = [...promptIds, ...answerIds];
  const logitsT = await model.forward([ids]);
  const [rowsLogits, rowsProbs] = tf.tidy(() => {
    const rows = logitsT.slice([0, promptIds.length - 1, 0], [1, answerIds.length, -1]).squeeze([0]);
    return [rows, tf.softmax(rows, -1)];
  });
  logitsT.dispose();
  const [L, Pr] = [await rowsLogits.data(), await rowsProbs.data()];
  tf.dispose([rowsLogits, rowsProbs]);
  const vocab = L.length / answerIds.length;
  const k = opts.topK ?? 10;
  const answers: AnswerTokenResult[] = answerIds.map((id, i) => {
    const lg = L.subarray(i * vocab, (i + 1) * vocab);
    const pr = Pr.subarray(i * vocab, (i + 1) * vocab);
    const order = Array.from({ length: vocab }, (_, j) => j).sort((a, b) => pr[b]! - pr[a]!);
    const score = (t: number): TokenScore => ({ token: t, str: tok.idToString(t), logit: lg[t]!, prob: pr[t]! });
    const result = { ...score(id), rank: order.indexOf(id), top: order.slice(0, k).map(score) };
    if (details) {
      print("Performance on answer token:");
      print(`Rank: ${String(result.rank).padEnd(8)} Logit: ${fix(result.logit)} Prob: ${pct(result.prob)} Token: |${result.str}|`);
      result.top.forEach((t, j) => print(`Top ${j}th token. Logit: ${fix(t.logit)} Prob: ${pct(t.prob)} Token: |${t.str}|`));
    }
    return result;
  });
  print(`Ranks of the answer tokens: [${answers.map((a) => `('${a.str}', ${a.rank})`).join(", ")}]`);
  return { promptStrTokens, answerStrTokens, answers };
}
