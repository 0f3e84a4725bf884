"""What the JupyterLab extension's endpoints answer (``jupyter_tracker.lab.run_views``), read from a real local store."""

from __future__ import annotations

import base64
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

import jupyter_tracker as jt
from jupyter_tracker.api.local import LocalBackend
from jupyter_tracker.downsample import SmoothingSummary
from jupyter_tracker.lab import run_views
from jupyter_tracker.lab.charts_mime import CHARTS_MIMETYPE, charts_bundle, charts_payload
from jupyter_tracker.smoothing import smooth_summary, tensorboard_ema


def test_projects_runs_and_the_run_page_come_from_the_store(store_root: Path) -> None:
    run = jt.init(project="vision", name="<b>x</b>", mode="offline", config={"lr": 0.1, "opt": {"name": "adam"}})
    losses = [1.0 / (step + 1) for step in range(4000)]
    for loss in losses:
        run.log({"train/loss": loss, "flag": True})
    run.log({"train/loss": math.nan})
    run.finish()
    backend = LocalBackend(store_root)

    assert [(p["name"], p["runs"], p["running"]) for p in run_views.list_projects(backend)] == [("vision", 1, 0)]
    [row] = run_views.list_runs(backend, "vision")
    assert row["name"] == "<b>x</b>" and row["state"] == "finished"
    assert row["summary"] == {"train/loss": "NaN"}, "booleans stay out of the key values; NaN travels as text"

    page = run_views.run_page(backend, "vision", row["id"])
    json.dumps(page, allow_nan=False)  # the answer is strict JSON
    series = page["metrics"]["train/loss"]
    assert series["points"] == 4001 and len(series["y"]) <= run_views.POINTS_PER_LINE
    assert series["y"][-1] == "NaN" and series["x"]["_step"][-1] == 4000
    assert page["config"]["lr"] == 0.1
    smoothed = smooth_summary(SmoothingSummary.from_bytes(base64.b64decode(series["summary"])), 0.9)
    assert math.isnan(smoothed[-1]), "a NaN point passes through the smoothing"
    expected = tensorboard_ema(np.array(losses), 0.9)[-1]
    assert abs(smoothed[-2] - expected) < 1e-6 * expected, "the summary smooths the full series, not the drawn points"


def test_charts_bundle_carries_the_page_and_checks_its_options(store_root: Path) -> None:
    run = jt.init(project="p", mode="offline")
    run.log({"acc": 0.5})
    run.finish()
    backend = LocalBackend(store_root)
    bundle = charts_bundle(backend, "p", run.id, smoothing=0.8, x_axis="_runtime")
    payload = bundle[CHARTS_MIMETYPE]
    assert payload["version"] == 1 and payload["smoothing"] == 0.8 and payload["x_axis"] == "_runtime"
    assert "acc" in payload["metrics"] and "acc" in bundle["text/plain"]
    with pytest.raises(ValueError, match="smoothing must be in"):
        charts_payload(payload, smoothing=1.0)
    with pytest.raises(ValueError, match="x_axis must be one of"):
        charts_payload(payload, x_axis="epoch")


def test_active_runs_name_the_live_run_its_step_and_sync_state(store_root: Path) -> None:
    run = jt.init(project="p", name="live", mode="offline")
    steps = run_views.LastSteps()
    for value in range(10):
        run.log({"x": value})
    deadline = time.monotonic() + 10
    active: list = []
    while time.monotonic() < deadline:
        active = run_views.active_runs(LocalBackend(store_root), steps)
        if active and active[0]["step"] == 9:
            break
    assert [(a["name"], a["step"], a["sync"]["state"]) for a in active] == [("live", 9, "offline")]
    run.finish()
    assert run_views.active_runs(LocalBackend(store_root), steps) == []
