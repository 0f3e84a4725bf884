"""Runs table at 10,000 runs: build the frame once, then each view change recomputes one page (target ≤ 200 ms).

Run: ``.venv/bin/python bench/bench_runs_table.py [--runs 10000] [--repeat 20] [--wide-metrics 12000]``.
Prints one line per operation (median and worst of the repeats, taken interleaved: each repetition
runs every operation once, so a burst of load hits them all alike) with the load average, and
writes the figures to ``bench/out/runs_table.json``. The rows have the shape the local run index
returns (10 config keys, 10 summary metrics each). The widget's path is measured as the widget
runs it: the view change, then the page cut to its shown columns and formatted into the grid's
cells (``page_cells``); the HTML page is what renderers without widgets get. A second, wide
frame (200 runs, one of which logged ``--wide-metrics`` metrics) measures the default columns,
the column-picker search and a page render when the frame has 12,000 columns.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_tracker.notebook.runs_table import RunsView, build_frame
from jupyter_tracker.notebook.runs_table_columns import default_columns, search_columns
from jupyter_tracker.notebook.runs_view import page_cells

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


def make_wide_rows(count: int, metrics: int) -> list[dict[str, Any]]:
    """``count`` runs of :func:`make_rows`; the newest also logged ``metrics`` metrics named ``layer_k/grad``."""
    rows = make_rows(count, seed=11)
    rows[-1]["summary"].update({f"layer_{k}/grad": float(k) for k in range(metrics)})
    return rows


def interleaved(operations: list[tuple[str, Callable[[], Any]]], repeat: int) -> dict[str, list[float]]:
    """Seconds of each operation, ``repeat`` times, one of each per round."""
    timings: dict[str, list[float]] = {label: [] for label, _ in operations}
    for _ in range(repeat):
        for label, operation in operations:
            started = time.perf_counter()
            operation()
            timings[label].append(time.perf_counter() - started)
    return timings


def report(timings: dict[str, list[float]], figures: dict[str, Any]) -> None:
    for label, values in timings.items():
        median, worst = statistics.median(values), max(values)
        verdict = "PASS" if median <= TARGET_SECONDS else "FAIL"
        figures[label] = {"median_s": median, "max_s": worst}
        print(f"  {label:<44} median {median * 1000:7.1f} ms   max {worst * 1000:7.1f} ms   "
              f"(target ≤ {TARGET_SECONDS * 1000:.0f} ms: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--wide-metrics", type=int, default=12_000)
    options = parser.parse_args()
    rows = make_rows(options.runs)
    started = time.perf_counter()
    frame, extras = build_frame(rows)
    build_seconds = time.perf_counter() - started
    started = time.perf_counter()
    view = RunsView(frame, page_size=25, extras=extras)
    view_seconds = time.perf_counter() - started
    expression = 'config.lr < 0.01 and state == "finished"'

    def grid_page() -> None:  # what the widget sends after every change
        page_cells(view.page_frame())

    def filter_sort_grid() -> None:
        view.set(filter_text=expression, sort_by="summary.val/acc", ascending=False)
        grid_page()

    def header_click_grid() -> None:
        view.toggle_sort("config.param_0")
        grid_page()

    def next_page_grid() -> None:
        view.go_to(view.page + 1)
        grid_page()

    def search_sort_html() -> None:
        view.set(search="amber", filter_text="", sort_by="created", ascending=False)
        view.page_html()

    def group_render() -> None:
        view.set(search="", filter_text="")
        view.grouped_html("config.optimizer", metrics=[c for c in view.shown if c.startswith("summary.")])

    search_sort_html()  # builds the search index once, as the first keystroke in the widget does
    load = os.getloadavg()
    figures: dict[str, Any] = {"runs": options.runs, "columns": len(frame.columns), "build_frame_s": build_seconds,
                               "default_view_s": view_seconds, "load_average": load}
    print(f"runs table, {options.runs:,} runs x {len(frame.columns)} columns ({len(view.shown)} shown); frame built "
          f"once in {build_seconds * 1000:.0f} ms, default columns in {view_seconds * 1000:.0f} ms; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    report(interleaved([("filter + sort + grid page", filter_sort_grid),
                        ("header click (sort) + grid page", header_click_grid),
                        ("next page + grid page", next_page_grid),
                        ("search + sort + HTML page (no widgets)", search_sort_html),
                        ("group by a config key + render", group_render)], options.repeat), figures)
    view.set(filter_text=expression, search="", sort_by="summary.val/acc", ascending=False)
    print(f"  page of {len(view.page_frame())} rows: {len(view.page_html()):,} bytes of HTML, "
          f"{len(json.dumps(page_cells(view.page_frame()))):,} bytes of grid cells; {view.summary_line()}")

    wide_rows = make_wide_rows(200, options.wide_metrics)
    started = time.perf_counter()
    wide_frame, wide_extras = build_frame(wide_rows)
    wide_build = time.perf_counter() - started
    wide = RunsView(wide_frame, page_size=25, extras=wide_extras)
    figures["wide"] = {"runs": len(wide_rows), "columns": len(wide_frame.columns), "build_frame_s": wide_build,
                       "shown": len(wide.shown)}
    print(f"wide frame, {len(wide_rows)} runs x {len(wide_frame.columns):,} columns ({len(wide.shown)} shown by "
          f"default); built in {wide_build * 1000:.0f} ms")
    wide_figures: dict[str, Any] = figures["wide"]
    report(interleaved([("default columns of 12,000+ columns", lambda: default_columns(wide_frame)),
                        ("column picker search among 12,000 keys", lambda: search_columns(wide_frame.columns, "layer_119")),
                        ("header click (sort) + grid page", lambda: page_cells(wide.toggle_sort("summary.val/acc").page_frame())),
                        ("HTML page (no widgets)", wide.page_html)], options.repeat), wide_figures)
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "runs_table.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
