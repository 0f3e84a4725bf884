"""Size of a saved notebook after a run: the .ipynb after a 10,000-metric run, and bytes per chart.

    .venv/bin/python bench/bench_notebook_size.py [--metrics 10000] [--steps 50] [--repeats 3]

Executes small notebooks on a real IPython kernel (nbclient), as a user's cell would run:
``init``, ``--steps`` ``log`` calls of ``--metrics`` names each, ``finish``. The executed
notebook is written three ways and each file's size is printed:

* ``nbclient``: as nbclient writes it (the widget view, its saved widget state and the final
  static charts);
* ``jupyter save``: as a Jupyter server with this package's save hook writes it (JupyterLab and
  Notebook 7 save no widget state by default; the hook keeps the static charts only);
* ``static mode``: the same run with ``settings={"live": "static"}``.

Per chart: the bytes the panel output adds to the file, divided by the charts it draws, for the quickstart-sized
run (5 metrics of 2,000 points) and for the 10,000-metric run (24 charts plus a table of every
metric's last value). The issue's bounds: <= 200 KB per chart, <= 2 MB for 10,000 metrics.
Medians over ``--repeats`` interleaved repetitions, with the 1-minute load average.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jupyter_tracker.notebook.live_static import MAX_CHARTS, PLOTLY_MIMETYPE  # noqa: E402
from jupyter_tracker.notebook.saved_notebook import static_outputs  # noqa: E402

WIDGET = "application/vnd.jupyter.widget-view+json"
BYTES_PER_CHART = 200_000
BYTES_PER_10K_RUN = 2_000_000

SETUP = """\
import numpy as np
import jupyter_tracker as jt
run = jt.init(project="notebook-size", settings={{"live": {live!r}}})"""

LOG = """\
rng = np.random.default_rng(0)
names = [f"layer_{{k // 100}}/metric_{{k % 100}}" for k in range({metrics})]
for step in range({steps}):
    values = rng.normal(size=len(names)).cumsum()
    jt.log(dict(zip(names, values.tolist())))"""

FINISH = "jt.finish()"


def execute(metrics: int, steps: int, live: str, directory: Path) -> Any:
    import nbclient
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(SETUP.format(live=live)),
                      nbformat.v4.new_code_cell(LOG.format(metrics=metrics, steps=steps)),
                      nbformat.v4.new_code_cell(FINISH)]
    directory.mkdir(parents=True, exist_ok=True)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("WANDB_", "JUPYTER_TRACKER_")):
            del os.environ[name]
    os.environ.update({"WANDB_DIR": str(directory / "store"), "WANDB_MODE": "offline",
                       "JUPYTER_TRACKER_HOME": str(directory / "home")})
    try:
        nbclient.NotebookClient(notebook, kernel_name="python3", timeout=900,
                                resources={"metadata": {"path": str(directory)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    errors = [output for cell in notebook.cells for output in cell.outputs if output.output_type == "error"]
    if errors:
        raise RuntimeError(f"the benchmark notebook failed: {errors[0].get('ename')}: {errors[0].get('evalue')}")
    return notebook


def file_size(notebook: Any, path: Path) -> int:
    import nbformat

    nbformat.write(notebook, path)
    return path.stat().st_size


def jupyter_saved(notebook: Any) -> Any:
    """What a Jupyter server with the save hook writes: no widget state, static panel outputs."""
    import nbformat

    content = json.loads(nbformat.writes(notebook))
    content["metadata"].pop("widgets", None)
    static_outputs(content)
    return nbformat.from_dict(content)


def panel_output(notebook: Any) -> dict[str, Any]:
    outputs = [output for output in notebook.cells[0].outputs if output.output_type == "display_data"]
    if not outputs:
        raise RuntimeError("the run showed no live panel")
    return outputs[-1]


def charts_in(output: dict[str, Any], metrics: int) -> int:
    data = output.get("data", {})
    if PLOTLY_MIMETYPE in data:
        return len({trace.get("xaxis", "x") for trace in data[PLOTLY_MIMETYPE]["data"]})
    return min(metrics, MAX_CHARTS)


def one_repetition(metrics: int, steps: int, directory: Path) -> dict[str, float]:
    figures: dict[str, float] = {}
    widget = execute(metrics, steps, "auto", directory / "widget")
    figures["nbclient"] = file_size(widget, directory / "nbclient.ipynb")
    saved = jupyter_saved(widget)
    figures["jupyter save"] = file_size(saved, directory / "jupyter.ipynb")
    if WIDGET in json.dumps(panel_output(saved)):
        raise RuntimeError("the save hook left a widget view in the panel output")
    static = execute(metrics, steps, "static", directory / "static")
    figures["static mode"] = file_size(static, directory / "static.ipynb")
    output = panel_output(static)
    charts = charts_in(output, metrics)
    without = copy.deepcopy(static)
    without.cells[0].outputs = [kept for kept in without.cells[0].outputs if kept is not panel_output(without)]
    # in the file, as nbformat indents it: one number a line
    figures["panel output"] = figures["static mode"] - file_size(without, directory / "without-panel.ipynb")
    figures["per chart"] = figures["panel output"] / charts
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    runs = {"quickstart-sized (5 metrics x 2,000 steps)": (5, 2_000),
            f"{arguments.metrics:,} metrics x {arguments.steps} steps": (arguments.metrics, arguments.steps)}
    results: dict[str, list[dict[str, float]]] = {label: [] for label in runs}
    loads: list[float] = []
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jt-bench-size-") as scratch:
        for repetition in range(arguments.repeats):
            for label, (metrics, steps) in runs.items():  # interleaved: each repetition runs both
                directory = Path(scratch) / f"{repetition}-{metrics}"
                directory.mkdir()
                results[label].append(one_repetition(metrics, steps, directory))
                loads.append(os.getloadavg()[0])
    print(f"saved notebook size, median of {arguments.repeats} (load average {statistics.median(loads):.2f} "
          f"on {os.cpu_count()} CPUs, {time.monotonic() - began:.0f} s)")
    keys = ("nbclient", "jupyter save", "static mode", "panel output", "per chart")
    print(f"{'run':<40}" + "".join(f"{key:>15}" for key in keys))
    for label, figures in results.items():
        medians = {key: statistics.median(figure[key] for figure in figures) for key in keys}
        print(f"{label:<40}" + "".join(f"{medians[key] / 1000:>12,.1f} KB" for key in keys))
    big = results[f"{arguments.metrics:,} metrics x {arguments.steps} steps"]
    worst_saved = max(max(figure["jupyter save"], figure["static mode"]) for figure in big)
    worst_chart = max(figure["per chart"] for figures in results.values() for figure in figures)
    print(f"target: <= {BYTES_PER_CHART / 1000:.0f} KB per chart: {worst_chart / 1000:.1f} KB "
          f"{'PASS' if worst_chart <= BYTES_PER_CHART else 'FAIL'}")
    if arguments.metrics >= 10_000:
        print(f"target: <= {BYTES_PER_10K_RUN / 1e6:.0f} MB saved after a {arguments.metrics:,}-metric run "
              f"(Jupyter save, static mode): {worst_saved / 1e6:.2f} MB {'PASS' if worst_saved <= BYTES_PER_10K_RUN else 'FAIL'}")


if __name__ == "__main__":
    main()
