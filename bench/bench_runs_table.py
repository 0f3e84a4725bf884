"""Runs table at 10,000 runs: build the frame once, then filter + sort + render one page (target ≤ 200 ms).

Run: ``.venv/bin/python bench/bench_runs_table.py [--runs 10000] [--repeat 20]``. Prints one line per
operation (median and worst of the repeats) and writes the figures to ``bench/out/runs_table.json``.
The rows have the shape the local run index returns (10 config keys, 10 summary metrics each).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_tracker.notebook.runs_table import RunsView, build_frame

TARGET_SECONDS = 0.2


def make_rows(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    started = time.time() - count * 60
    rows = []
    for index in range(count):
        state = rng.choice(("finished", "finished", "finished", "failed", "running", "crashed"))
        config: dict[str, Any] = {"lr": rng.choice((0.1, 0.03, 0.01, 0.003, 0.001)),
                                  "batch_size": rng.choice((16, 32, 64, 128)),
                                  "optimizer": rng.choice(("adam", "sgd", "adamw")),
                                  "model": {"depth": rng.randint(2, 12), "width": rng.choice((64, 128, 256))}}
        config.update({f"param_{k}": rng.random() for k in range(5)})
        summary = {f"train/metric_{k}": rng.random() for k in range(8)}
        summary.update({"val/acc": rng.random(), "epoch": rng.randint(1, 50)})
        rows.append({
            "id": f"{index:08x}", "project": "bench", "name": f"{rng.choice(('brisk', 'quiet', 'amber'))}-run-{index}",
            "state": state, "group": f"sweep-{index % 40}", "job_type": "train",
            "tags": rng.sample(("baseline", "long", "ablation", "augment"), 2), "notes": None,
            "created": started + index * 60, "runtime": rng.random() * 3600 if state != "running" else None,
            "exit_code": 0, "dir": f"/nonexistent/run-{index}", "config": config, "summary": summary,
        })
    return rows


def timed(operation: Callable[[], Any], repeat: int) -> tuple[float, float]:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        operation()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), max(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    options = parser.parse_args()
    rows = make_rows(options.runs)
    started = time.perf_counter()
    frame, extras = build_frame(rows)
    build_seconds = time.perf_counter() - started
    view = RunsView(frame, page_size=25, extras=extras)
    expression = 'config.lr < 0.01 and state == "finished"'

    def filter_sort_render() -> None:
        view.set(filter_text=expression, sort_by="summary.val/acc", ascending=False)
        view.page_html()

    def next_page() -> None:
        view.go_to(view.page + 1)
        view.page_html()

    def search_render() -> None:
        view.set(search="amber", filter_text="", sort_by="created", ascending=False)
        view.page_html()

    def group_render() -> None:
        view.set(search="", filter_text="")
        view.grouped_html("config.optimizer")

    search_render()  # builds the search index once, as the first keystroke in the widget does
    figures = {"runs": options.runs, "columns": len(frame.columns), "build_frame_s": build_seconds}
    print(f"runs table, {options.runs:,} runs x {len(frame.columns)} columns; frame built once in {build_seconds * 1000:.0f} ms")
    for label, operation in (("filter + sort + render a page", filter_sort_render), ("next page", next_page),
                             ("search + sort + render a page", search_render), ("group by a config key + render", group_render)):
        median, worst = timed(operation, options.repeat)
        verdict = "PASS" if median <= TARGET_SECONDS else "FAIL"
        figures[label] = {"median_s": median, "max_s": worst}
        print(f"  {label:<34} median {median * 1000:7.1f} ms   max {worst * 1000:7.1f} ms   "
              f"(target ≤ {TARGET_SECONDS * 1000:.0f} ms: {verdict})")
    view.set(filter_text=expression, search="", sort_by="summary.val/acc", ascending=False)
    print(f"  page of {len(view.page_frame())} rows: {len(view.page_html()):,} bytes of HTML; {view.summary_line()}")
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "runs_table.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
