/** Logits of the tiny GPT-2 fixture on a backend, for the BLAS tests (imported by a child process too). */
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../../../src/lens/backend";
import { HookedTransformer } from "../../../src/lens/hookedTransformer";
import { GPT2_FIXTURE } from "../loading/checkpoints";

/** Logits `[1, 5, 512]` (flat) of the tiny GPT-2 fixture for tokens 1..5 on `backend`, in this process. */
export async function fixtureLogits(backend: "wasm" | "cpu"): Promise<Float32Array> {
  await setBackend(backend);
  const model = await HookedTransformer.fromPretrainedNoProcessing(GPT2_FIXTURE);
  const out = (await model.forward([[1, 2, 3, 4, 5]])) as tf.Tensor;
  const v = (await out.data()) as Float32Array;
  out.dispose();
  model.dispose();
  return v;
}
