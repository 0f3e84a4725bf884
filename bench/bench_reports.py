"""Renders a report of 20 runs × 4 panels out of a 10,000-run project: first paint and exported size.

    .venv/bin/python bench/bench_reports.py [--runs 10000] [--steps 5000] [--repeats 5] [--no-browser]

The project holds ``--runs`` minimal finished runs (made fast, as bench_api_local does) plus 20
real tracked runs of ``--steps`` steps tagged ``report``; the report's run set picks those 20 with
the filter ``"report" in tags``. Panels: a smoothed line plot, a line plot grouped by optimizer
with its min/max band, a scatter of summaries and parallel coordinates.

Printed (medians of ``--repeats`` interleaved repetitions, with the load average):
- kernel render: wall and CPU time (``time.process_time``, which load on a shared machine
  barely moves) of building the widget's body from the store (what the kernel does before the
  first paint; targets: first paint <= 1 s), and again after an edit (a panel moved: finished
  runs' histories and lines, and the run set's listing, kept as the widget keeps them);
- browser draw: Chromium drawing every chart of the exported page (uPlot, smoothing included);
- exported HTML size (target <= 5 MB) and the largest line's drawn points (<= 1,500).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CHROMIUM = Path("/usr/bin/chromium")
REPORT_RUNS = 20


def make_report_runs(root: Path, project: str, steps: int) -> None:
    import math
    import random

    import jupyter_tracker as jt

    rng = random.Random(1)
    for number in range(REPORT_RUNS):
        lr = [0.1, 0.03, 0.01, 0.003, 0.001][number % 5]
        optimizer = ["adam", "sgd"][number % 2]
        run = jt.init(project=project, dir=str(root.parent), mode="offline", name=f"report-run-{number}",
                      tags=["report"], config={"lr": lr, "opt": optimizer, "batch_size": 64},
                      settings={"console": "off", "live": "off"})
        for step in range(steps):
            run.log({"loss": math.exp(-step * lr / 50) + rng.random() * 0.1, "acc": 1 - math.exp(-step * lr / 80)})
        run.summary["val_acc"] = 1 - lr + rng.random() * 0.01
        run.finish(quiet=True)


def report_of(project: str):  # noqa: ANN201 - the report model is imported lazily
    import jupyter_tracker.reports as wr

    return wr.Report(project, title="Bench report", blocks=[
        wr.H1("20 runs of 10,000"),
        wr.PanelGrid(runsets=[wr.Runset(project, filters="'report' in tags")], panels=[
            wr.LinePlot(y=["loss"], smoothing_factor=0.8),
            wr.LinePlot(y=["acc"], groupby="config.opt", smoothing_factor=0.6),
            wr.ScatterPlot(x="config.lr", y="summary.val_acc"),
            wr.ParallelCoordinatesPlot(columns=["config.lr", "config.opt", "summary.val_acc"]),
        ]),
    ])


def browser_draw_ms(path: Path) -> float:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_context(offline=True).new_page()
            page.goto(path.as_uri())
            page.wait_for_function("document.querySelectorAll('.jt-line-plot canvas').length === 2")
            return float(page.evaluate("""() => {
                document.querySelectorAll('.jt-line-plot').forEach((element) => {
                    element._jtChart = null; element.querySelector('.jt-chart').innerHTML = '';
                });
                const started = performance.now();
                jtReportCharts.renderAll(document);
                return performance.now() - started;
            }"""))
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    options = parser.parse_args()

    from bench_api_local import make_many_runs

    with tempfile.TemporaryDirectory() as folder:
        os.environ["WANDB_DIR"] = folder
        os.environ["WANDB_SILENT"] = "true"
        root = Path(folder) / "jupyter_tracker"
        project = "bench-reports"
        made = make_many_runs(root, project, options.runs)
        started = time.perf_counter()
        make_report_runs(root, project, options.steps)
        print(f"made {options.runs} runs in {made / 1000:.1f} s and {REPORT_RUNS} tracked runs of "
              f"{options.steps} steps in {time.perf_counter() - started:.1f} s")

        from jupyter_tracker.api import Api
        from jupyter_tracker.reports.html import render_body

        api = Api()
        report = report_of(project)
        path = Path(folder) / "report.html"
        kernel, kernel_cpu, again, again_cpu, draws, sizes = [], [], [], [], [], []
        for _ in range(options.repeats):  # interleaved: render, export, draw, in turn
            api.flush()
            cache: dict = {}
            listings: dict = {}  # what a fresh widget holds: nothing, then what its first render kept
            start, start_cpu = time.perf_counter(), time.process_time()
            body = render_body(report, api, editable=True, series_cache=cache, listing_cache=listings)
            kernel.append((time.perf_counter() - start) * 1000)
            kernel_cpu.append((time.process_time() - start_cpu) * 1000)
            report.blocks[1].panels.append(report.blocks[1].panels.pop(0))  # an edit: a panel moved
            start, start_cpu = time.perf_counter(), time.process_time()
            render_body(report, api, editable=True, series_cache=cache, listing_cache=listings)
            again.append((time.perf_counter() - start) * 1000)
            again_cpu.append((time.process_time() - start_cpu) * 1000)
            report.to_html(path, api=api)
            sizes.append(path.stat().st_size)
            if not options.no_browser and CHROMIUM.exists():
                draws.append(browser_draw_ms(path))
        points = max(len(line["x"]) for chunk in body.split('class="jt-data">')[1:]
                     for line in json.loads(chunk.split("</script>")[0])["lines"])
        load = os.getloadavg()
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 CPUs shared)")
        print(f"kernel render (widget body, 20 runs x 4 panels of {options.runs + REPORT_RUNS} runs): "
              f"median {statistics.median(kernel):.0f} ms (min {min(kernel):.0f}, max {max(kernel):.0f}); "
              f"CPU time median {statistics.median(kernel_cpu):.0f} ms")
        print(f"render again after an edit (histories, lines and listing kept by the widget): "
              f"median {statistics.median(again):.0f} ms; CPU time median {statistics.median(again_cpu):.0f} ms")
        if draws:
            print(f"browser draw (Chromium, every chart): median {statistics.median(draws):.0f} ms "
                  f"(min {min(draws):.0f}, max {max(draws):.0f})")
            print(f"first paint (kernel render + browser draw): ~{statistics.median(kernel) + statistics.median(draws):.0f} ms")
        print(f"exported HTML: {statistics.median(sizes) / 1e6:.2f} MB; most points drawn in one line: {points}")


if __name__ == "__main__":
    main()
