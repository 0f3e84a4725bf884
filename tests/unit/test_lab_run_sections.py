"""The run page's further sections and the compare view as the JupyterLab extension's endpoints
answer them (``jupyter_tracker.lab.run_views``), read from a real local store: system metrics
against wall time, images and histograms per key and step, the run's files, selected runs side by
side, and a file read only by its listed name."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import jupyter_tracker as jt
from jupyter_tracker.api.backend import RunNotFoundError
from jupyter_tracker.api.local import LocalBackend
from jupyter_tracker.lab import run_views
from jupyter_tracker.lab.handlers import run_file_path

CAPTION = '<img src=x onerror="alert(1)">'


def _media_run() -> Any:
    run = jt.init(project="p", name="media", mode="offline",
                  settings={"system_sample_interval": 0.02, "system_window": 0.1})
    for step in range(6):
        pixels = np.full((8, 8, 3), step * 40, dtype=np.uint8)
        run.log({"examples": [jt.Image(pixels, caption=CAPTION), jt.Image(pixels.T.copy())],
                 "weights": jt.Histogram(np.arange(step + 10)), "loss": 1.0 / (step + 1)})
    time.sleep(0.5)
    run.finish()
    return run


def test_media_files_and_system_metrics_of_a_run(store_root: Path) -> None:
    run = _media_run()
    backend = LocalBackend(store_root)

    media = run_views.run_media(backend, "p", run.id)["media"]
    json.dumps(media, allow_nan=False)
    assert set(media) == {"examples", "weights"}, "scalars stay on the charts"
    examples = media["examples"]
    assert examples["kind"] == "images" and examples["logged"] == 6
    assert [entry["step"] for entry in examples["steps"]] == list(range(6))
    first = examples["steps"][0]["images"]
    assert len(first) == 2 and first[0]["caption"] == CAPTION and first[1]["caption"] is None
    assert first[0]["file"].startswith("media/images/") and first[0]["width"] == 8
    weights = media["weights"]
    assert weights["kind"] == "histogram" and len(weights["steps"]) == 6
    assert len(weights["steps"][2]["bins"]) == len(weights["steps"][2]["values"]) + 1
    assert sum(weights["steps"][2]["values"]) == 12

    files = run_views.run_files(backend, "p", run.id)["files"]
    names = [item["name"] for item in files]
    assert names == sorted(names) and all(item["size"] > 0 for item in files if item["name"].endswith(".png"))
    assert first[0]["file"] in names, "every image the media browser shows is one of the run's files"

    system = run_views.run_page(backend, "p", run.id)["system"]
    assert "system/cpu_percent" in system and "system/memory_percent" in system
    cpu = system["system/cpu_percent"]
    assert cpu["points"] >= 2 and len(cpu["x"]["_timestamp"]) == len(cpu["y"])
    assert cpu["x"]["_timestamp"][0] > 1e9, "system metrics are charted against wall time"
    page = run_views.run_page(backend, "p", run.id)
    assert "loss" in page["metrics"] and "system/cpu_percent" not in page["metrics"]
    assert page["sync"] == {"state": "offline"}, "the run page says where the local run's upload stands"


def test_media_keys_offer_at_most_their_budget_of_steps(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_views, "HISTOGRAMS_PER_KEY", 4)
    run = jt.init(project="p", mode="offline")
    for step in range(25):
        run.log({"h": jt.Histogram([step, step + 1])})
    run.finish()
    histograms = run_views.run_media(LocalBackend(store_root), "p", run.id)["media"]["h"]
    assert histograms["logged"] == 25
    assert [entry["step"] for entry in histograms["steps"]] == [0, 8, 16, 24], "evenly spread, first and last kept"


def test_a_file_is_read_only_by_its_listed_name(store_root: Path) -> None:
    run = _media_run()
    backend = LocalBackend(store_root)
    image = run_views.run_media(backend, "p", run.id)["media"]["examples"]["steps"][0]["images"][0]["file"]
    assert run_file_path(backend, "p", run.id, image, store_root).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (store_root.parent / "secret.txt").write_text("secret", encoding="utf-8")
    for name in ("../secret.txt", "media/../../secret.txt", "/etc/passwd", "media/images/../../../secret.txt",
                 "files/../run.log", ""):
        with pytest.raises(RunNotFoundError, match="has no file"):
            run_file_path(backend, "p", run.id, name, store_root)
    assert run_views.inline_type(image) == "image/png"
    assert run_views.inline_type("files/page.html") is None and run_views.inline_type("x.svg") is None, \
        "only raster images are ever shown inline"


def test_compare_puts_each_metric_of_the_selected_runs_side_by_side(store_root: Path) -> None:
    ids = []
    for index, lr in enumerate((0.1, 0.01, 0.001)):
        run = jt.init(project="p", name=f"r{index}", mode="offline", config={"lr": lr, "opt": {"name": "adam"}})
        for step in range(50 * (index + 1)):
            run.log({"loss": lr * (100 - step)})
        if index == 2:
            run.log({"only_last": 1.0})
        run.summary["acc"] = 1 - lr
        run.finish()
        ids.append(run.id)
    backend = LocalBackend(store_root)
    compared = run_views.compare_runs(backend, "p", [ids[2], ids[0], ids[2]])
    json.dumps(compared, allow_nan=False)
    assert [run["id"] for run in compared["runs"]] == [ids[2], ids[0]], "selection order, repeats dropped"
    assert set(compared["metrics"]["loss"]) == {ids[2], ids[0]}
    assert compared["metrics"]["loss"][ids[2]]["points"] == 150
    assert set(compared["metrics"]["only_last"]) == {ids[2]}
    assert compared["config"][ids[0]]["lr"] == 0.1 and compared["summary"][ids[2]]["acc"] == pytest.approx(0.999)
    with pytest.raises(ValueError, match="at least one run"):
        run_views.compare_runs(backend, "p", [])
    with pytest.raises(ValueError, match="at most 10 runs"):
        run_views.compare_runs(backend, "p", [f"x{i}" for i in range(11)])
    with pytest.raises(RunNotFoundError):
        run_views.compare_runs(backend, "p", [ids[0], "nope"])
