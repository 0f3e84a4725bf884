"""The live feed: per-metric columns built from the writer's records, in order, each record once."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import jupyter_tracker as jt
from jupyter_tracker.notebook.live_feed import LiveFeed


def wait_until(condition, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("timed out")


def h(step: int, row: dict, wall: float | None = None) -> tuple:  # type: ignore[type-arg]
    return ("h", step, 1_000.0 + step if wall is None else wall, float(step) / 10, row)


def test_numeric_scalars_only_with_step_time_and_runtime() -> None:
    feed = LiveFeed()
    feed.observe(1, [
        h(0, {"loss": 1.0, "acc": 1, "name": "text", "flag": True, "none": None, "vec": [1, 2], "arr": np.ones(3)}),
        h(1, {"loss": math.nan, "acc": np.float32(0.5)}),
        h(2, {"loss": math.inf}),
    ])
    snapshot = feed.snapshot()
    assert sorted(snapshot.series) == ["acc", "loss"]
    loss = snapshot.series["loss"]
    assert loss.step.tolist() == [0, 1, 2]
    assert loss.wall_time.tolist() == [1_000.0, 1_001.0, 1_002.0]
    assert loss.runtime.tolist() == [0.0, 0.1, 0.2]
    assert loss.value[0] == 1.0 and math.isnan(loss.value[1]) and loss.value[2] == math.inf
    assert snapshot.series["acc"].value.tolist() == [1.0, 0.5]
    assert feed.last_seq == 3


def test_records_are_taken_once_by_sequence_number() -> None:
    feed = LiveFeed()
    feed.observe(1, [h(0, {"x": 0.0}), h(1, {"x": 1.0})])
    feed.observe(1, [h(0, {"x": 0.0}), h(1, {"x": 1.0})])  # the same batch again
    feed.observe(2, [h(1, {"x": 1.0}), h(2, {"x": 2.0})])  # overlapping
    assert feed.snapshot().series["x"].value.tolist() == [0.0, 1.0, 2.0]


def test_step_metric_axes_take_the_last_logged_value() -> None:
    feed = LiveFeed()
    feed.observe(1, [
        h(0, {"train/loss": 3.0}),
        ("define", {"name": "val/*", "step_metric": "epoch", "summary": [], "goal": None, "hidden": False}),
        h(1, {"train/loss": 2.0}),
        h(2, {"val/acc": 0.5, "epoch": 0}),
        h(3, {"train/loss": 1.0}),
        h(4, {"val/acc": 0.7, "epoch": 1}),
    ])
    snapshot = feed.snapshot()
    assert snapshot.axis_names == ("epoch",)
    loss = snapshot.series["train/loss"]
    assert np.array_equal(loss.axes["epoch"], [np.nan, np.nan, 0.0], equal_nan=True)
    val = snapshot.series["val/acc"]
    assert val.axes["epoch"].tolist() == [0.0, 1.0]
    assert val.step_metric == "epoch" and loss.step_metric is None


def test_hidden_metrics_are_left_out() -> None:
    feed = LiveFeed()
    feed.observe(1, [("define", {"name": "debug/*", "hidden": True}), h(0, {"debug/grad": 1.0, "loss": 2.0})])
    assert list(feed.snapshot().series) == ["loss"]


def test_columns_grow_and_old_views_stay_valid() -> None:
    feed = LiveFeed()
    feed.observe(1, [h(step, {"x": float(step)}) for step in range(100)])
    early = feed.snapshot().series["x"]
    for first in range(101, 20_000, 1_000):
        feed.observe(first, [h(first - 1 + i, {"x": float(first - 1 + i)}) for i in range(1_000)])
    late = feed.snapshot().series["x"]
    assert early.value.tolist() == [float(step) for step in range(100)]
    assert len(late) == 100 + 1_000 * 20 and np.array_equal(late.value, np.arange(len(late), dtype=np.float64))


def test_finish_record_and_versions() -> None:
    feed = LiveFeed()
    before = feed.snapshot().version
    feed.observe(1, [h(0, {"x": 1.0})])
    assert feed.snapshot().version > before and not feed.finished
    feed.observe(2, [("finish", {"state": "finished"})])
    assert feed.finished and feed.snapshot().finished


def test_reading_while_the_writer_thread_feeds() -> None:
    feed = LiveFeed()
    done = threading.Event()

    def write() -> None:
        for first in range(1, 50_001, 500):
            feed.observe(first, [h(first - 1 + i, {"a": float(first - 1 + i), "b": 1.0}) for i in range(500)])
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    while not done.is_set():
        snapshot = feed.snapshot()
        for series in snapshot.series.values():
            assert series.step.size == series.value.size
        a = snapshot.series.get("a")
        if a is not None and len(a):
            assert np.array_equal(a.value, np.arange(len(a), dtype=np.float64))
    thread.join()
    assert len(feed.snapshot().series["a"]) == 50_000


def test_attached_to_a_real_run_sees_earlier_and_later_history(store_root: Path) -> None:
    run = jt.init(project="feed", mode="offline", settings={"live": "off"})
    run.define_metric("val/*", step_metric="epoch")
    for step in range(50):
        run.log({"loss": 1.0 / (step + 1), "note": "text"})
    run.flush()
    feed = LiveFeed()
    load_earlier = feed.attach(run)
    for step in range(50, 80):
        run.log({"loss": 1.0 / (step + 1)})
        if step == 60:
            load_earlier()  # the earlier history arrives while new records are written
    run.log({"val/acc": 0.9, "epoch": 1})
    run.flush()
    series = wait_until(lambda: feed.snapshot().series.get("val/acc"))
    loss = feed.snapshot().series["loss"]
    assert loss.step.tolist() == list(range(80)), "every step once, in order"
    assert loss.value.tolist() == pytest.approx([1.0 / (step + 1) for step in range(80)])
    assert series.axes["epoch"].tolist() == [1.0] and series.step_metric == "epoch"
    run.finish()
    wait_until(lambda: feed.finished)


def test_memory_stays_bounded_and_extremes_survive_thinning() -> None:
    from jupyter_tracker.downsample import min_max_indices
    from jupyter_tracker.notebook.live_feed import MetricSeries

    rng = np.random.default_rng(9)
    values = np.cumsum(rng.normal(size=100_000))
    series = MetricSeries("x", ["epoch"], max_points=8_192)
    for start in range(0, values.size, 1_000):
        chunk = values[start : start + 1_000]
        series.extend([(start + i, 0.0, 0.0, float(v)) for i, v in enumerate(chunk)],
                      {"epoch": [float((start + i) // 1_000) for i in range(chunk.size)]})
        assert series.size <= 8_192 + 1_000
    view = series.view()
    assert view.logged == 100_000 and len(view) <= 8_192 + 1_000
    assert np.all(np.diff(view.step) > 0)
    assert view.value.max() == values.max() and view.value.min() == values.min()
    assert np.array_equal(view.value, values[view.step.astype(int)])
    assert np.array_equal(view.axes["epoch"], view.step // 1_000)
    # the newest points are all there
    assert np.array_equal(view.value[-4_096:], values[-4_096:])
    # the plot of the thinned series keeps the same extremes as the plot of the full one
    plotted = view.value[min_max_indices(view.value, 1_500)]
    assert plotted.max() == values.max() and plotted.min() == values.min()


def test_system_records_become_time_axis_series_without_steps() -> None:
    feed = LiveFeed()
    feed.observe(1, [("define", {"name": "val/*", "step_metric": "epoch"})])
    feed.observe(2, [
        h(0, {"loss": 1.0, "epoch": 0}),
        ("system", 1_015.0, 15.0, {"system/cpu_percent": 12.5, "system/gpu.0.util": 40, "system/note": "x"}),
        h(1, {"loss": 0.5}),
        ("system", 1_030.0, 30.0, {"system/cpu_percent": 20.0}),
    ])
    snapshot = feed.snapshot()
    assert sorted(snapshot.series) == ["epoch", "loss", "system/cpu_percent", "system/gpu.0.util"]
    cpu = snapshot.series["system/cpu_percent"]
    assert cpu.time_axis and not snapshot.series["loss"].time_axis
    assert cpu.value.tolist() == [12.5, 20.0]
    assert cpu.runtime.tolist() == [15.0, 30.0] and cpu.wall_time.tolist() == [1_015.0, 1_030.0]
    assert np.isnan(cpu.step).all() and np.isnan(cpu.axes["epoch"]).all()
    assert snapshot.series["loss"].step.tolist() == [0, 1], "the user's steps are untouched"
    assert feed.last_seq == 5


def test_a_real_runs_system_metrics_reach_the_feed(store_root: Path) -> None:
    run = jt.init(project="feed", mode="offline",
                  settings={"live": "off", "system_sample_interval": 0.05, "system_window": 0.2})
    feed = LiveFeed()
    feed.attach(run, preload=False)
    run.log({"loss": 1.0})
    cpu = wait_until(lambda: feed.snapshot().series.get("system/cpu_percent"))
    assert cpu.time_axis and cpu.runtime[0] > 0
    run.finish()
    assert feed.snapshot().series["loss"].step.tolist() == [0]
