/** notebooks/course.ts: the order in which a notebook picks its model (LENS_MODEL → harness → cached real model → bundled). */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { chooseModel } from "../../notebooks/course";

test("chooseModel: LENS_MODEL first, then the harness's bundled flag, then a cached real model, then the bundled one", () => {
  const cache = mkdtempSync(join(tmpdir(), "lens-course-"));
  try {
    const empty = { HF_HUB_CACHE: cache };
    assert.equal(chooseModel("toy-ioi", "gpt2", empty).name, "toy-ioi");
    assert.match(chooseModel("toy-ioi", "gpt2", empty).why, /npm run download -- gpt2/);
    // Make gpt2 look cached: refs/main → a snapshot holding config.json (the HF cache layout).
    const repo = join(cache, "models--gpt2");
    mkdirSync(join(repo, "refs"), { recursive: true });
    mkdirSync(join(repo, "snapshots", "abc123"), { recursive: true });
    writeFileSync(join(repo, "refs", "main"), "abc123");
    writeFileSync(join(repo, "snapshots", "abc123", "config.json"), "{}");
    assert.equal(chooseModel("toy-ioi", "gpt2", empty).name, "gpt2");
    assert.equal(chooseModel("toy-attn-2l", "gpt2", { ...empty, LENS_COURSE_MODELS: "bundled" }).name, "toy-attn-2l");
    assert.equal(chooseModel("toy-ioi", "gpt2", { ...empty, LENS_COURSE_MODELS: "bundled", LENS_MODEL: "pythia-70m" }).name, "pythia-70m");
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
