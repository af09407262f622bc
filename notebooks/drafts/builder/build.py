# Builds notebooks/02 from the committed one: keeps old cells by index, replaces/inserts new ones (cells in nb/*.txt).
import json, re, sys, os
here = os.path.dirname(__file__)
root = os.path.abspath(os.path.join(here, "..", ".."))
src = json.load(open(os.path.join(here, "orig.ipynb")))
old = src["cells"]
def cell_text(name):
    return open(os.path.join(here, name)).read()
def parse(name):
    # file with cells separated by lines '#%% md' / '#%% code' / '#%% solution' (collapsed) / '#%% old N'
    out = []
    text = cell_text(name)
    parts = re.split(r'^#%% (.*)$', text, flags=re.M)
    for i in range(1, len(parts), 2):
        kind = parts[i].strip(); body = parts[i+1].strip("\n")
        if kind.startswith("old"):
            idx = [int(x) for x in kind.split()[1:]]
            for j in idx: out.append(json.loads(json.dumps(old[j])))
            continue
        c = {"cell_type": "markdown" if kind == "md" else "code", "metadata": {}, "source": body}
        if kind == "solution": c["metadata"] = {"jupyter": {"source_hidden": True}}
        if c["cell_type"] == "code": c["outputs"] = []; c["execution_count"] = None
        out.append(c)
    return out
cells = parse("cells.txt")
def patch(marker, old_s, new_s):
    hits = [c for c in cells if marker in "".join(c["source"])]
    assert len(hits) == 1, (marker, len(hits))
    src_ = "".join(hits[0]["source"]); assert old_s in src_, old_s
    hits[0]["source"] = src_.replace(old_s, new_s)
patch("const block: number[][][] = [residLib];", "for (const patcher of [getActPatchAttnOut, getActPatchMlpOut]) {", "for (const patcher of cfg.attnOnly ? [getActPatchAttnOut] : [getActPatchAttnOut, getActPatchMlpOut]) { // an attention-only model has no MLPs")
patch("const block: number[][][] = [residLib];", 'facetTitles: ["resid_pre", "attn_out", "mlp_out"]', 'facetTitles: ["resid_pre", "attn_out", "mlp_out"].slice(0, block.length)')

for i, c in enumerate(cells):
    c["id"] = f"c{i:02d}"
    if isinstance(c["source"], list): c["source"] = "".join(c["source"])
    lines = c["source"].split("\n")
    c["source"] = [l + "\n" for l in lines[:-1]] + [lines[-1]]
    if c["cell_type"] == "code": c["outputs"] = []; c["execution_count"] = None
patch("### Residual stream, attention outputs and MLP outputs", "(`getActPatchBlockEvery` does all three in one call).", "(`getActPatchBlockEvery` does all three in one call). The bundled model is attention-only: it has no MLP outputs, so\nthere the cell patches `resid_pre` and `attn_out` only.")
patch("async function checkResidPrePatch", "  if (rowConst)", "  if (got.every((r) => r.every((v) => Math.abs(v - 1) < 1e-3))) console.log(\"✗ every cell is 1 (the clean run): run the corrupted tokens and patch the clean cache's values into them, not the clean tokens\");\n  else if (rowConst)")
src["cells"] = cells
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "notebooks", "02_ioi_activation_patching.ipynb")
json.dump(src, open(out, "w"), indent=1, ensure_ascii=False)
open(out, "a").write("\n")
print("wrote", out, len(cells), "cells")
