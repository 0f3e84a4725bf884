"""The live panel's final charts carry the labextension's charts mimetype, within the saved-notebook budget,
and the save hook keeps it: a notebook reopened in JupyterLab with the extension smooths its charts with no kernel."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import numpy as np

from jupyter_tracker.downsample import SmoothingSummary
from jupyter_tracker.lab.charts_mime import CHARTS_MIMETYPE
from jupyter_tracker.notebook.live_charts_mime import CHART_POINTS
from jupyter_tracker.notebook.live_feed import LiveFeed
from jupyter_tracker.notebook.live_static import MAX_CHARTS, PLOTLY_MIMETYPE, static_bundle
from jupyter_tracker.notebook.saved_notebook import WIDGET_MIMETYPE, static_outputs
from jupyter_tracker.smoothing import smooth_summary, tensorboard_ema
from tests.unit.test_saved_notebook import charts_cache as charts_cache  # noqa: F401  (a fixture)
from tests.unit.test_saved_notebook import (
    notebook_with,
    output,
    panel_output,
    saved_panel,
    start_run,
)


def spiky_feed(points: int = 100_000) -> tuple[LiveFeed, np.ndarray]:
    rng = np.random.default_rng(3)
    values = np.linspace(5.0, 1.0, points) + rng.exponential(0.3, points)
    feed = LiveFeed()
    feed.observe(1, [("h", step, 1e9 + step, step * 0.01, {"train/loss": float(values[step])}) for step in range(points)])
    return feed, values


def test_the_final_bundle_holds_the_charts_mimetype_beside_plotly_and_html_within_200_kb() -> None:
    feed, values = spiky_feed()
    bundle = static_bundle(feed.snapshot(), {"name": "spiky", "id": "r1", "project": "p", "state": "finished"}, 0.9,
                           x_axis="relative")
    assert {CHARTS_MIMETYPE, PLOTLY_MIMETYPE, "text/html", "text/plain"} <= set(bundle)
    assert len(json.dumps(bundle)) <= 200_000, "one chart, all representations: at most 200 KB"
    payload = bundle[CHARTS_MIMETYPE]
    assert payload["version"] == 1 and payload["smoothing"] == 0.9 and payload["x_axis"] == "_runtime"
    assert payload["run"]["name"] == "spiky" and payload["run"]["state"] == "finished"
    chart = payload["metrics"]["train/loss"]
    assert chart["points"] == values.size and len(chart["y"]) <= CHART_POINTS
    assert set(chart["x"]) == {"_step", "_runtime", "_timestamp"} and len(chart["x"]["_step"]) == len(chart["y"])
    # the browser smooths the FULL series from the summary: TensorBoard's EMA of all 100,000 points (the 1 %)
    summary = SmoothingSummary.from_bytes(base64.b64decode(chart["summary"]))
    steps = np.asarray(chart["x"]["_step"], dtype=np.int64)
    full = tensorboard_ema(values, 0.95)[steps]
    assert np.abs(smooth_summary(summary, 0.95) - full).max() <= 0.01 * (values.max() - values.min()), "within 1 % of the range"


def test_ten_thousand_metrics_chart_the_first_and_list_every_last_value_under_two_megabytes() -> None:
    names = [f"layer_{k // 100}/weight_{k % 100}" for k in range(10_000)]
    feed = LiveFeed()
    feed.observe(1, [("h", step, 1e9 + step, float(step), {name: float(step + k) for k, name in enumerate(names)})
                     for step in range(20)])
    bundle = static_bundle(feed.snapshot(), {"name": "big"})
    assert len(json.dumps(bundle)) <= 2_000_000
    payload = bundle[CHARTS_MIMETYPE]
    assert list(payload["metrics"])[:3] == ["layer_0/weight_0", "layer_0/weight_1", "layer_0/weight_2"]
    assert len(payload["metrics"]) == MAX_CHARTS
    assert len(payload["summary"]) == 10_000 and payload["summary"]["layer_99/weight_99"] == 19 + 9_999


def test_the_save_hook_keeps_the_charts_mimetype_of_a_finished_panel() -> None:
    feed, _ = spiky_feed(500)
    final = static_bundle(feed.snapshot(), {"name": "r"})
    widget = {WIDGET_MIMETYPE: {"model_id": "m", "version_major": 2, "version_minor": 0},
              "text/plain": "<live panel of run r>"}
    notebook = notebook_with(output({**widget, **final}, {"jupyter_tracker": {"view": "widget-with-final-static"}}),
                             output({**widget, CHARTS_MIMETYPE: final[CHARTS_MIMETYPE]},
                                    {"jupyter_tracker": {"view": "widget-with-final-static"}}))
    assert static_outputs(notebook) == 2
    first, only_charts = (cell_output["data"] for cell_output in notebook["cells"][0]["outputs"])
    assert WIDGET_MIMETYPE not in first and first[CHARTS_MIMETYPE] == final[CHARTS_MIMETYPE]
    assert PLOTLY_MIMETYPE in first and "text/html" in first
    assert set(only_charts) == {CHARTS_MIMETYPE, "text/plain"}, "the charts mimetype alone counts as static charts"


def test_a_panel_saved_mid_run_gets_the_charts_mimetype_from_the_run_log(store_root: Any, charts_cache: Any) -> None:  # noqa: F811
    run = start_run(30)
    notebook = notebook_with(copy.deepcopy(panel_output(run)))
    assert static_outputs(notebook) == 1
    data, _, marker = saved_panel(notebook)
    payload = data[CHARTS_MIMETYPE]
    assert marker["view"] == "saved-mid-run"
    assert sorted(payload["metrics"]) == ["train/loss", "val/acc"]
    assert payload["run"]["state"] == "as of step 29, run still going" and payload["run"]["id"] == run.id
    assert len(payload["metrics"]["train/loss"]["y"]) == 30
    run.finish()
