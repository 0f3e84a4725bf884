"""What the save hook costs a Jupyter server when a notebook is saved while its run goes.

    .venv/bin/python bench/bench_midrun_save.py [--repeats 3]

For each workload a real run is logged (offline, in a temporary store) and kept going; a notebook
holding its live panel's widget output is then saved through the hook (``static_outputs``, as the
server's pre-save hook calls it) and the time of each kind of save is printed:

* ``cold``: the first save of the run in this server process (the whole log read, within the 1 s
  budget; a log too long for it gives the note and is read on over the next saves);
* ``saves to charts``: saves until the charts are in the file (1 when the first save drew them);
* ``unchanged``: the same log saved again (the charts drawn before are reused);
* ``grown``: a save after the run logged 1 % more steps (only the new bytes are read).

Also printed: the log's size and the panel output's bytes in the saved file. Medians over
``--repeats`` interleaved repetitions, with the 1-minute load average.
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

#: (label, metric names, steps)
WORKLOADS = (
    ("5 metrics x 2,000 steps", 5, 2_000),
    ("10 metrics x 50,000 steps", 10, 50_000),
    ("10,000 metrics x 20 steps", 10_000, 20),
)


def log_rows(run: Any, names: list[str], first: int, last: int) -> None:
    for step in range(first, last):
        run.log({name: 1.0 / (step + 1) + index * 0.01 for index, name in enumerate(names)})
    run.flush(timeout=60.0)


def saved_notebook(run: Any) -> dict[str, Any]:
    from jupyter_tracker.notebook.live_panel import LivePanel

    panel = LivePanel(run, "widget", show=False)
    try:
        output = {"output_type": "display_data", "data": panel._widget_bundle(),
                  "metadata": panel._output_metadata("widget")}
    finally:
        panel.stop()
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [{"id": "a", "cell_type": "code", "source": "", "metadata": {}, "execution_count": 1,
                       "outputs": [output]}]}


def timed_save(notebook: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    from jupyter_tracker.notebook.saved_notebook import static_outputs

    copied = copy.deepcopy(notebook)
    began = time.perf_counter()
    static_outputs(copied)
    return time.perf_counter() - began, copied["cells"][0]["outputs"][0]


def one_repetition(label: str, metrics: int, steps: int) -> dict[str, float]:
    import jupyter_tracker as jt
    from jupyter_tracker.notebook import midrun_charts

    midrun_charts.CACHE.clear()
    names = [f"layer_{k // 100}/metric_{k % 100}" for k in range(metrics)]
    run = jt.init(project="midrun-bench", mode="offline", settings={"live": "off", "console": "off"})
    try:
        log_rows(run, names, 0, steps)
        notebook = saved_notebook(run)
        figures: dict[str, float] = {"log MB": (Path(run.dir) / "run.jtlog").stat().st_size / 1e6}
        cold, output = timed_save(notebook)
        figures["cold save s"] = cold
        saves = 1
        while "as_of_step" not in output["metadata"]["jupyter_tracker"] and saves < 50:
            _, output = timed_save(notebook)
            saves += 1
        figures["saves to charts"] = saves
        figures["output KB"] = len(json.dumps(output)) / 1e3
        figures["unchanged save s"] = timed_save(notebook)[0]
        log_rows(run, names, steps, steps + max(1, steps // 100))
        figures["grown save s"] = timed_save(notebook)[0]
        return figures
    finally:
        run.finish(quiet=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for name in list(os.environ):
            if name.startswith(("WANDB_", "JUPYTER_TRACKER_")):
                del os.environ[name]
        os.environ.update({"WANDB_DIR": directory, "JUPYTER_TRACKER_HOME": str(Path(directory) / "home")})
        results: dict[str, list[dict[str, float]]] = {label: [] for label, _, _ in WORKLOADS}
        loads = []
        for _ in range(arguments.repeats):
            for label, metrics, steps in WORKLOADS:
                loads.append(os.getloadavg()[0])
                results[label].append(one_repetition(label, metrics, steps))
        print(f"median of {arguments.repeats} interleaved repetitions; 1-min load average "
              f"{statistics.median(loads):.2f} (min {min(loads):.2f}, max {max(loads):.2f})")
        for label, figures in results.items():
            keys = figures[0].keys()
            print(f"{label}: " + ", ".join(f"{key} {statistics.median(f[key] for f in figures):.3g}" for key in keys))


if __name__ == "__main__":
    main()
