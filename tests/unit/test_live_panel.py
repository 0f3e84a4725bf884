"""The live panel's kernel side: mode choice, the binary update, the widget's life, the static fallback."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import jupyter_tracker as jt
from jupyter_tracker.downsample import min_max_indices
from jupyter_tracker.notebook import live_panel
from jupyter_tracker.notebook.live_feed import LiveFeed
from jupyter_tracker.notebook.live_panel import LivePanel, build_update, choose_mode, show_live_panel
from jupyter_tracker.notebook.live_static import PLOTLY_MIMETYPE, static_bundle
from jupyter_tracker.smoothing import tensorboard_ema


def wait_until(condition, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("timed out")


def decode(index: dict[str, Any], data: bytes) -> dict[str, dict[str, np.ndarray]]:
    """What live_panel.js does with `_index` and `_data`."""
    out = {}
    for metric in index["metrics"]:
        columns = {}
        start = metric["offset"]
        for column, dtype in zip(metric["columns"], metric["dtypes"], strict=True):
            end = start + metric["count"] * (4 if dtype == "f4" else 8)
            values = np.frombuffer(data[start:end], dtype=np.float32 if dtype == "f4" else np.float64).astype(np.float64)
            columns[column] = values + index["wall_base"] if column == "wall" else values
            start = end
        out[metric["name"]] = columns
    return out


def big_feed(metrics: int = 3, points: int = 100_000) -> LiveFeed:
    feed = LiveFeed()
    rng = np.random.default_rng(0)
    values = {f"train/m{k}": np.cumsum(rng.normal(size=points)) for k in range(metrics)}
    feed.observe(1, [("define", {"name": "train/*", "step_metric": "epoch"})])
    records = [("h", step, 1e9 + step, step / 100, {**{name: float(v[step]) for name, v in values.items()},
                                                    "epoch": step // 1000}) for step in range(points)]
    feed.observe(2, records)
    return feed


def test_choose_mode() -> None:
    assert choose_mode(None, in_kernel=True, widgets=True) == "widget"
    assert choose_mode("auto", in_kernel=True, widgets=False) == "static"
    assert choose_mode("widget", in_kernel=True, widgets=False) == "static"
    assert choose_mode("static", in_kernel=True, widgets=True) == "static"
    assert choose_mode("off", in_kernel=True, widgets=True) == "off"
    assert choose_mode("auto", in_kernel=False, widgets=True) == "off"
    with pytest.raises(ValueError, match="auto, widget, static, off"):
        choose_mode("fancy", in_kernel=True, widgets=True)


def test_update_is_binary_downsampled_and_keeps_extremes() -> None:
    feed = big_feed()
    snapshot = feed.snapshot()
    index, data = build_update(snapshot)
    assert isinstance(data, bytes)
    json.dumps(index)  # the index is small JSON: names, offsets, counts; no number lists
    assert all(not isinstance(value, list) or len(value) < 10 for metric in index["metrics"] for value in metric.values())
    decoded = decode(index, data)
    assert set(decoded) == {"train/m0", "train/m1", "train/m2", "epoch"}
    for name, columns in decoded.items():
        full = snapshot.series[name]
        assert columns["value"].size <= 1_500
        assert columns["value"].max() == full.value.max() and columns["value"].min() == full.value.min()
        assert np.all(np.diff(columns["step"]) > 0)
        assert columns["step"][0] == 0 and columns["step"][-1] == 99_999
        kept = columns["step"].astype(int)
        assert np.array_equal(columns["value"], full.value[kept])
        assert np.allclose(columns["wall"], full.wall_time[kept], rtol=0, atol=0.01)
        assert np.allclose(columns["runtime"], full.runtime[kept], rtol=1e-6)
    assert np.array_equal(decoded["train/m0"]["axis:epoch"], decoded["train/m0"]["step"] // 1000)
    assert index["axes"] == ["epoch"] and index["total_points"] == 4 * 100_000
    summaries = sum(metric["summary"]["length"] for metric in index["metrics"])
    assert len(data) - summaries <= 4 * 1_500 * (3 * 4 + 2 * 8)
    assert summaries <= 4 * 1_500 * 48, "the smoothing summaries stay near the envelope's size"


def test_update_carries_the_summary_that_smooths_the_full_series() -> None:
    from jupyter_tracker.downsample import SmoothingSummary
    from jupyter_tracker.smoothing import smooth_summary

    rng = np.random.default_rng(1)
    points = 100_000
    values = np.linspace(2.0, 1.0, points) + rng.exponential(0.3, points)  # skewed, loss-spike-like noise
    feed = LiveFeed()
    feed.observe(1, [("h", step, 1e9 + step, float(step), {"loss": float(values[step])}) for step in range(points)])
    index, data = build_update(feed.snapshot())
    (metric,) = index["metrics"]
    summary = SmoothingSummary.from_bytes(data[metric["summary"]["offset"]:][: metric["summary"]["length"]])
    kept = decode(index, data)["loss"]["step"].astype(int)
    assert summary.size == kept.size <= 1_500
    spread = float(values.max() - values.min())
    for weight in (0.3, 0.6, 0.9, 0.99):
        full = tensorboard_ema(values, weight)[kept]
        assert np.max(np.abs(smooth_summary(summary, weight) - full)) <= 0.01 * spread, weight
        biased = tensorboard_ema(values[kept], weight)
        assert np.max(np.abs(biased - full)) > 0.01 * spread, "smoothing the kept points alone is biased"


def test_static_bundle_is_small_and_smoothed_like_the_browser() -> None:
    feed = big_feed(metrics=4)
    bundle = static_bundle(feed.snapshot(), {"name": "<b>run</b>", "project": "p", "state": "running"}, smoothing=0.8)
    charts = 5
    size = len(json.dumps(bundle))
    assert size <= 200_000 * charts, size
    figure = bundle[PLOTLY_MIMETYPE]
    assert len(figure["data"]) == 2 * charts
    raw, smoothed = figure["data"][0], figure["data"][1]
    assert len(raw["y"]) <= 1_500 and raw["opacity"] < smoothed.get("opacity", 1)
    full = feed.snapshot().series["train/m0"].value
    expected = tensorboard_ema(full, 0.8)[min_max_indices(full, 1_500)]  # smoothed in full, then downsampled
    assert np.allclose(smoothed["y"], expected, rtol=1e-4)  # six significant digits in the JSON
    assert "<b>run</b>" not in bundle["text/html"] and "&lt;b&gt;run&lt;/b&gt;" in bundle["text/html"]
    assert "<script" not in bundle["text/html"]


def test_show_live_panel_outside_a_kernel_shows_nothing_and_never_raises(store_root: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    run = jt.init(project="panel", mode="offline")
    assert show_live_panel(run) is None
    assert show_live_panel(run, mode="widget") is None
    assert show_live_panel(object(), mode="bogus") is None  # a failure is one console warning, not an exception
    assert capsys.readouterr().out.count("could not show the live panel") <= 1


def test_widget_panel_follows_the_run_and_sends_plotly_only_when_asked(store_root: Path) -> None:
    pytest.importorskip("anywidget")
    run = jt.init(project="panel", mode="offline", settings={"live": "off"})
    panel = LivePanel(run, "widget", show=False)
    widget = panel.widget
    assert "tensorboardEma" in widget._esm and 'from "./smoothing.js"' not in widget._esm
    assert "var uPlot=" in widget._esm, "uPlot is inlined: nothing is fetched at run time"
    run.define_metric("val/*", step_metric="epoch")
    for step in range(3_000):
        run.log({"train/loss": 1.0 / (step + 1)})
    run.log({"val/acc": 0.5, "epoch": 0})
    wait_until(lambda: widget._index.get("total_points", 0) == 3_002)
    assert widget.header["state"] == "running"
    assert widget._catalog["step_metric"] == {"val/acc": "epoch"}, "define_metric's step metric reaches the browser"
    assert widget._plotly_gz == b"", "plotly.js (histograms only) waits for a view to ask"
    run.finish()
    assert panel._stopped.is_set()
    assert widget.header["state"] == "finished"
    decoded = decode(widget._index, widget._data)
    assert decoded["train/loss"]["value"].size <= 1_500 and decoded["val/acc"]["axis:epoch"].tolist() == [0.0]
    assert panel.refreshes >= 2 and panel.bytes_sent > 0
    panel._on_browser_message(widget, {"type": "need-plotly"}, [])
    assert len(widget._plotly_gz) > 1_000_000, "a view with a histogram gets plotly.js on request"
    panel._on_browser_message(widget, {"type": "have-plotly"}, [])
    assert widget._plotly_gz == b"", "and it leaves the widget's state once the view has it"


def test_refresh_rate_is_bounded(store_root: Path) -> None:
    pytest.importorskip("anywidget")
    run = jt.init(project="panel", mode="offline", settings={"live": "off"})
    panel = LivePanel(run, "widget", show=False)
    began = time.monotonic()
    while time.monotonic() - began < 2.0:
        run.log({"x": 1.0})
        time.sleep(0.001)
    elapsed = time.monotonic() - began
    assert panel.refreshes <= 4 * elapsed + 2
    run.finish()


def test_plotly_comes_from_the_installed_package() -> None:
    path = live_panel.plotly_js_path()
    assert path.name == "plotly.min.js" and path.exists()
    assert "plotly" in path.parts[-3]


def test_large_steps_stay_exact() -> None:
    feed = LiveFeed()
    feed.observe(1, [("h", 2**24 + step, 1e9, 0.0, {"x": float(step)}) for step in range(3)])
    index, data = build_update(feed.snapshot())
    assert index["metrics"][0]["dtypes"][0] == "f8"
    assert decode(index, data)["x"]["step"].tolist() == [2**24, 2**24 + 1, 2**24 + 2]


def test_system_metrics_are_sent_against_time_and_drawn_folded() -> None:
    feed = LiveFeed()
    feed.observe(1, [("define", {"name": "*", "step_metric": "epoch"}), ("h", 5, 1e9, 1.0, {"loss": 0.5, "epoch": 1})])
    feed.observe(3, [("system", 1e9 + 15, 15.0, {"system/cpu_percent": 30.0}),
                     ("system", 1e9 + 30, 30.0, {"system/cpu_percent": 50.0})])
    index, data = build_update(feed.snapshot())
    metrics = {metric["name"]: metric for metric in index["metrics"]}
    system = metrics["system/cpu_percent"]
    assert system["time_axis"] and system["columns"] == ["runtime", "wall", "value"]
    assert not metrics["loss"]["time_axis"] and "step" in metrics["loss"]["columns"]
    decoded = decode(index, data)["system/cpu_percent"]
    assert decoded["runtime"].tolist() == [15.0, 30.0] and decoded["value"].tolist() == [30.0, 50.0]
    assert np.allclose(decoded["wall"], [1e9 + 15, 1e9 + 30])
    script = live_panel.bundled_esm()
    assert 'const COLLAPSED_BY_DEFAULT = ["system"];' in script and "if (metric.time_axis)" in script
    figure = static_bundle(feed.snapshot(), {"name": "r"})[PLOTLY_MIMETYPE]
    system_trace = next(trace for trace in figure["data"] if trace["name"] == "system/cpu_percent")
    assert system_trace["x"] == [15, 30], "the static figure draws system metrics against runtime"
    assert figure["data"][-1]["name"] == "system/cpu_percent", "the system group comes last"


def test_widget_media_row_gets_images_and_histograms_of_a_real_run(store_root: Path) -> None:
    from jupyter_tracker.notebook import live_media

    run = jt.init(project="panel", mode="offline", settings={"live": "off"})
    rng = np.random.default_rng(0)
    run.log({"early": jt.Image(np.full((8, 8, 3), 7, np.uint8), caption="before the panel")})
    run.flush()
    panel = LivePanel(run, "widget", show=False)
    widget = panel.widget
    for step in range(1, 26):
        run.log({"samples": [jt.Image(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8), caption=f"<b>{step}</b>"),
                             jt.Image(rng.random((16, 16)))],
                 "weights": jt.Histogram(rng.normal(step, 1.0, 500)), "loss": 1.0 / step})
    run.flush()
    wait_until(lambda: [len(entry["steps"]) for entry in widget._media_index.get("histograms", [])] == [25])
    images = {entry["key"]: entry for entry in widget._media_index["images"]}
    assert [step["step"] for step in images["samples"]["steps"]] == list(range(6, 26))
    latest = images["samples"]["steps"][-1]["items"]
    assert len(latest) == 2 and latest[0]["caption"] == "<b>25</b>" and latest[0]["width"] == 16
    png = widget._media_data[latest[0]["offset"] : latest[0]["offset"] + latest[0]["length"]]
    on_disk = [path.read_bytes() for path in (Path(run.dir) / "media" / "images").glob("*.png")]
    assert png.startswith(b"\x89PNG") and png in on_disk, "the browser gets the PNG file the run wrote"
    early = images["early"]["steps"][0]["items"][0]
    assert early["caption"] == "before the panel", "images logged before the panel are read back from disk"
    (heat,) = widget._media_index["histograms"]
    assert heat["key"] == "weights" and len(heat["edges"]) == heat["rows"] + 1
    json.dumps(widget._media_index)
    run.finish()
    assert len(widget._media_data) <= live_media.FINAL_MEDIA_BYTES
    assert decode(widget._index, widget._data)["loss"]["value"].size == 25


def test_natural_key_orders_numbers_by_value() -> None:
    names = ["metric_10", "metric_2", "Metric_1", "metric_2/b", "a"]
    assert sorted(names, key=live_panel.natural_key) == ["a", "Metric_1", "metric_2", "metric_2/b", "metric_10"]


def _panel_with_metrics(count: int, steps: int = 3) -> tuple[Any, LivePanel]:
    run = jt.init(project="panel", mode="offline", settings={"live": "off"})
    panel = LivePanel(run, "widget", show=False)
    names = [f"m/metric_{i}" for i in range(count)]
    for step in range(steps):
        run.log({name: float(step + position) for position, name in enumerate(names)})
    run.flush()
    return run, panel


def test_widget_sends_only_the_charts_on_screen_and_every_name_once(store_root: Path) -> None:
    pytest.importorskip("anywidget")
    run, panel = _panel_with_metrics(2_000)
    widget = panel.widget
    wait_until(lambda: len(widget._catalog.get("names", [])) == 2_000)
    names = widget._catalog["names"]
    assert names[:3] == ["m/metric_0", "m/metric_1", "m/metric_2"] and names[10] == "m/metric_10", "natural order"
    # before the browser speaks: the first charts of the catalog only
    wait_until(lambda: widget._index.get("total_points") == 6_000)
    assert {metric["name"] for metric in widget._index["metrics"]} <= set(names[: live_panel.DEFAULT_VISIBLE])
    refreshes = panel.refreshes
    panel._on_browser_message(widget, {"type": "view", "view": "v1", "visible": ["m/metric_1500", "m/metric_7"],
                                       "missing": ["m/metric_1500", "m/metric_7"]}, [])
    wait_until(lambda: {metric["name"] for metric in widget._index.get("metrics", [])} == {"m/metric_7", "m/metric_1500"})
    decoded = decode(widget._index, widget._data)
    assert decoded["m/metric_1500"]["value"].tolist() == [1500.0, 1501.0, 1502.0]
    # nothing changed on screen: nothing is sent again, whatever is logged off screen
    sent = panel.bytes_sent
    run.log({"m/metric_1999": 5.0})
    run.flush()
    wait_until(lambda: widget._index.get("total_points") == 6_001)
    assert panel.bytes_sent == sent and panel.refreshes > refreshes
    run.finish()
    assert set(decode(widget._index, widget._data)) == {"m/metric_7", "m/metric_1500"}
    # a view opened after the finish asks for its charts and gets them at once
    panel._on_browser_message(widget, {"type": "view", "view": "v2", "visible": ["m/metric_3"], "missing": ["m/metric_3"]}, [])
    assert "m/metric_3" in decode(widget._index, widget._data)


def test_widget_refreshes_stay_within_the_byte_budget(store_root: Path) -> None:
    pytest.importorskip("anywidget")
    run, panel = _panel_with_metrics(120, steps=1_600)
    widget = panel.widget
    wait_until(lambda: len(widget._catalog.get("names", [])) == 120)
    sizes: list[int] = []
    seen: set[str] = set()
    widget.observe(lambda change: sizes.append(len(change["new"])), names="_data")
    widget.observe(lambda change: seen.update(metric["name"] for metric in change["new"].get("metrics", [])), names="_index")
    visible = widget._catalog["names"]
    panel._on_browser_message(widget, {"type": "view", "view": "v", "visible": visible, "missing": visible}, [])
    wait_until(lambda: seen >= set(visible), timeout=20)
    assert sizes and max(sizes) <= live_panel.BYTES_PER_TICK, max(sizes)
    assert len(sizes) >= 2, "120 charts of 1,500 points do not fit one refresh: they go round-robin"
    run.finish()


def test_view_messages_reach_the_panel_through_the_subshell_router(store_root: Path) -> None:
    pytest.importorskip("anywidget")
    run = jt.init(project="panel", mode="offline", settings={"live": "off"})
    panel = LivePanel(run, "widget", show=False)
    assert panel.hears_browser_while_busy is False, "no kernel here: messages wait for an idle kernel"
    assert panel.wanted_metrics() == []
    panel._on_browser_message(panel.widget, {"type": "view", "view": "a", "visible": ["x", 3, "y"]}, [])
    panel._on_browser_message(panel.widget, {"type": "view", "view": "b", "visible": ["z", "x"]}, [])
    assert panel.wanted_metrics() == ["x", "y", "z"]
    panel._on_browser_message(panel.widget, {"type": "view-closed", "view": "a"}, [])
    assert panel.wanted_metrics() == ["z", "x"]
    for view in "cdef":  # pages reloaded without a goodbye: the oldest views are forgotten
        panel._on_browser_message(panel.widget, {"type": "view", "view": view, "visible": [view]}, [])
    assert panel.wanted_metrics() == ["c", "d", "e", "f"]
    run.finish()


def test_metric_colours_match_the_browser_and_stay_per_name() -> None:
    script = live_panel.bundled_esm()
    palette = script[script.index("const PALETTE = [") :].split("]", 1)[0]
    assert [colour.strip(' "\n') for colour in palette.split("[", 1)[1].split(",")] == list(live_panel.PALETTE)
    # the values colorFor gives in the browser (node: FNV-1a over UTF-16 code units)
    expected = {"train/loss": "#d62728", "val/acc": "#9467bd", "metric_9876": "#e377c2", "<i>m</i>/x": "#bcbd22",
                "é/ü": "#7f7f7f"}
    assert {name: live_panel.metric_color(name) for name in expected} == expected


def test_a_big_catalog_is_resent_at_most_once_a_second(store_root: Path) -> None:
    pytest.importorskip("anywidget")
    run, panel = _panel_with_metrics(1_500, steps=1)
    widget = panel.widget
    wait_until(lambda: len(widget._catalog.get("names", [])) == 1_500)
    catalogs: list[int] = []
    widget.observe(lambda change: catalogs.append(len(change["new"]["names"])), names="_catalog")
    began = time.monotonic()
    for step in range(40):  # a new name every 50 ms
        run.log({f"late/metric_{step}": 1.0})
        time.sleep(0.05)
    run.flush()
    wait_until(lambda: len(widget._catalog["names"]) == 1_540, timeout=5)
    elapsed = time.monotonic() - began
    assert len(catalogs) <= elapsed / live_panel.CATALOG_INTERVAL + 2, (catalogs, elapsed)
    run.finish()
