"""Executes one notebook cell by cell with nbclient (the engine of `jupyter nbconvert --execute`) and the project's
tslab kernel, and prints a JSON report on the last line of stdout:
  {"ok": bool, "seconds": float, "cells": [{"index", "source", "status", "seconds", "stderr"}], "error": str|null}
The executed notebook (execution counts filled in: tslab sends none) is written to OUTPUT only when every cell ran.
With --strip-plotly-loader, the plotly.js copy that lens's show() sends once per kernel (an 11 MB output marked
{"lens": {"plotlyLoader": true}}) is replaced by a one-line note, so committed notebooks stay small; `npm run export`
injects plotly.js itself, and re-running the notebook sends it again.
Usage: /usr/bin/python3 scripts/notebooks/execute.py NOTEBOOK OUTPUT [CELL_TIMEOUT_S] [--strip-plotly-loader]
Run by scripts/notebooks.ts, which sets JUPYTER_PATH to the project's jupyter/ folder and judges the stderr lines.
"""
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def stderr_of(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr")


STRIPPED = ("<p><i>plotly.js (loaded here when the notebook runs) was left out of the saved notebook to keep it small: "
            "run the notebook to see the figures, or export it with npm run export.</i></p>")


def strip_loader(nb):
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "display_data" and o.get("metadata", {}).get("lens", {}).get("plotlyLoader"):
                o["data"]["text/html"] = STRIPPED


def main():
    src, out = sys.argv[1], sys.argv[2]
    timeout = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    strip = "--strip-plotly-loader" in sys.argv[4:]
    nb = nbformat.read(src, as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "lens")
    root = os.path.dirname(os.path.abspath(src))
    # iopub_timeout: after a cell's reply, nbclient waits this long for its remaining outputs; the default (4 s) can
    # drop a figure sent right after the 11 MB plotly.js loader on a busy 2-core machine, silently. Wait longer, and
    # fail rather than lose an output.
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, record_timing=False, resources={"metadata": {"path": root}},
                            iopub_timeout=120, raise_on_iopub_timeout=True)
    report = {"ok": True, "seconds": 0.0, "cells": [], "error": None, "kernel": kernel}
    t_all = time.time()
    count = 0
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            count += 1
            t0 = time.time()
            status = "ok"
            try:
                client.execute_cell(cell, index, store_history=True)
            except CellTimeoutError:
                status = f"timeout (> {timeout} s)"
            except DeadKernelError as e:
                status = f"kernel died: {e}"
            except CellExecutionError:
                status = "error"
            cell.execution_count = count
            report["cells"].append({"index": index, "source": cell.source, "status": status, "seconds": round(time.time() - t0, 2), "stderr": stderr_of(cell)})
            if status != "ok":
                report["ok"] = False
                break
    report["seconds"] = round(time.time() - t_all, 2)
    if report["ok"]:
        if strip:
            strip_loader(nb)
        nbformat.write(nb, out)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
