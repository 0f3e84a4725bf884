"""Static figures: names as typed, natural order, one-point markers, x-axes, smoothing, log ticks, sizes."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from jupyter_tracker.downsample import min_max_indices
from jupyter_tracker.notebook.live_feed import LiveFeed
from jupyter_tracker.notebook.live_static import (
    MAX_CHARTS,
    PLOTLY_MIMETYPE,
    figure_dict,
    format_duration,
    group_of,
    live_bundle,
    ordered_metrics,
    static_bundle,
    svg_html,
)
from jupyter_tracker.smoothing import tensorboard_ema


def feed_of(rows: list[dict[str, float]], defines: tuple[dict[str, Any], ...] = ()) -> LiveFeed:
    feed = LiveFeed()
    if defines:
        feed.observe(1, [("define", define) for define in defines])
    feed.observe(2, [("h", step, 1e9 + step, float(step), row) for step, row in enumerate(rows)])
    return feed


def traces_by_name(figure: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {trace["name"]: trace for trace in figure["data"]}


def test_names_are_shown_as_typed_never_as_plotly_markup() -> None:
    names = ["<i>m</i>", '<a href="https://example.com">link</a>', "a&b"]
    feed = feed_of([{name: float(step) for name in names} for step in range(3)])
    figure = figure_dict(feed.snapshot(), title="<b>run</b>")
    texts = [trace["name"] for trace in figure["data"]] + [note["text"] for note in figure["layout"]["annotations"]]
    texts.append(figure["layout"]["title"]["text"])
    for text in texts:
        assert "<" not in text and ">" not in text, text  # plotly turns &lt;i&gt; back into the typed <i>
    annotations = {note["text"] for note in figure["layout"]["annotations"]}
    assert "&lt;i&gt;m&lt;/i&gt;" in annotations and "a&amp;b" in annotations
    page = svg_html(feed.snapshot())
    assert "<i>" not in page and "<a " not in page and "&lt;a href=" in page


def test_a_slash_inside_markup_does_not_split_the_group() -> None:
    assert group_of("<i>m</i>") == "charts"
    assert group_of("train/<i>m</i>") == "train"
    assert group_of("/leading") == "charts"
    assert group_of("x<y/z>/w") == "x<y/z>"


def test_natural_order_within_and_across_groups() -> None:
    names = ["metric_10", "metric_2", "metric_1", "val/acc", "train/loss_10", "train/loss_9", "system/cpu", "b2/x",
             "b10/x"]
    feed = feed_of([{name: 1.0 for name in names}])
    order = [series.name for series in ordered_metrics(feed.snapshot())]
    assert order == ["b2/x", "b10/x", "train/loss_9", "train/loss_10", "val/acc", "metric_1", "metric_2", "metric_10",
                     "system/cpu"]


def test_a_one_point_series_is_a_marker_in_plotly_and_svg() -> None:
    feed = feed_of([{"train/loss": 1.0, "val/acc": 0.5}, {"train/loss": 0.8}, {"train/loss": 0.7}])
    traces = traces_by_name(figure_dict(feed.snapshot()))
    assert "markers" in traces["val/acc"]["mode"] and traces["val/acc"]["y"] == [0.5]
    assert traces["train/loss"]["mode"] == "lines"
    chart = svg_html(feed.snapshot()).split('aria-label="val/acc"')[1].split("</svg>")[0]
    assert "<circle" in chart and "<polyline" not in chart


def test_define_metric_step_metric_is_the_x_axis() -> None:
    rows: list[dict[str, float]] = []
    for epoch in range(4):
        rows += [{"train/loss": 1.0 / (1 + len(rows))} for _ in range(10)]
        rows.append({"val/acc": 0.5 + epoch / 10, "epoch": float(epoch)})
    feed = feed_of(rows, defines=({"name": "val/*", "step_metric": "epoch"},))
    figure = figure_dict(feed.snapshot())
    traces = traces_by_name(figure)
    assert traces["val/acc"]["x"] == [0, 1, 2, 3]
    assert traces["train/loss"]["x"][:3] == [0, 1, 2], "metrics without a step metric keep the step"
    val_axis = "xaxis" + traces["val/acc"]["xaxis"][1:]
    assert figure["layout"][val_axis]["title"]["text"] == "epoch"
    page = svg_html(feed.snapshot())
    val_chart = page.split('aria-label="val/acc"')[1].split("</svg>")[0]
    assert ">epoch</text>" in val_chart and ">3</text>" in val_chart


def test_svg_time_labels_have_units() -> None:
    feed = LiveFeed()
    feed.observe(1, [("system", 1e9 + 15.0896, 15.0896, {"system/cpu_percent": 30.0}),
                     ("system", 1e9 + 125.4, 125.4, {"system/cpu_percent": 50.0})])
    page = svg_html(feed.snapshot())
    assert "15.0896" not in page
    assert ">15.1 s</text>" in page and ">2 min 05 s</text>" in page and "time since start" in page
    assert format_duration(3725) == "1 h 02 min" and format_duration(0.25) == "0.25 s"
    figure = figure_dict(feed.snapshot())
    assert figure["layout"]["xaxis"]["ticksuffix"] == " s"


def test_smoothing_is_of_the_full_series_at_the_drawn_points() -> None:
    rng = np.random.default_rng(0)
    points = 100_000
    values = np.linspace(3.0, 1.0, points) + rng.exponential(0.3, points)  # skewed, loss-spike-like noise
    feed = LiveFeed()
    feed.observe(1, [("h", step, 1e9, 0.0, {"loss": float(value)}) for step, value in enumerate(values)])
    (raw, smoothed) = figure_dict(feed.snapshot(), smoothing=0.99)["data"]
    drawn = np.array(raw["x"])
    assert drawn.size <= 1_500
    expected = tensorboard_ema(values, 0.99)[drawn]
    span = float(values.max() - values.min())
    assert np.max(np.abs(np.array(smoothed["y"]) - expected)) < 1e-5 * span
    biased = tensorboard_ema(values[min_max_indices(values, 1_500)], 0.99)
    assert np.max(np.abs(biased - expected)) > 0.01 * span, "smoothing the downsampled points would be biased"


def test_log_axes_label_decades_or_one_two_five() -> None:
    feed = feed_of([{"wide": 10.0 ** -step, "narrow": 1.0 + step / 10} for step in range(6)])
    figure = figure_dict(feed.snapshot(), log_scale=True)
    axes = {note["text"]: figure["layout"]["yaxis" + ("" if i == 0 else str(i + 1))]
            for i, note in enumerate(figure["layout"]["annotations"])}
    assert axes["wide"]["type"] == "log" and axes["wide"]["dtick"] == 1 and axes["wide"]["exponentformat"] == "power"
    assert axes["narrow"]["type"] == "log" and axes["narrow"]["dtick"] == "D2"
    assert "type" not in figure_dict(feed.snapshot())["layout"]["yaxis"]


def test_a_chart_stays_under_200_kb() -> None:
    rng = np.random.default_rng(1)
    points = 100_000
    feed = LiveFeed()
    walk = np.cumsum(rng.normal(size=points))
    feed.observe(1, [("h", step, 1e9 + step, step * 0.01, {"loss": float(walk[step])}) for step in range(points)])
    bundle = static_bundle(feed.snapshot(), {"name": "r"})
    assert len(json.dumps(bundle)) <= 200_000


def test_ten_thousand_metrics_give_charts_for_the_first_and_a_table_for_all() -> None:
    names = [f"layer_{k // 100}/weight_{k % 100}" for k in range(10_000)]
    feed = LiveFeed()
    feed.observe(1, [("h", step, 1e9 + step, float(step), {name: float(step + k) for k, name in enumerate(names)})
                     for step in range(20)])
    bundle = static_bundle(feed.snapshot(), {"name": "big"})
    size = len(json.dumps(bundle))
    assert size <= 2_000_000, size
    page = bundle["text/html"]
    assert page.count("<svg") == MAX_CHARTS
    assert page.count("<tr>") == 10_000 + 1 and "layer_99/weight_99" in page
    assert 'aria-label="layer_0/weight_2"' in page and 'aria-label="layer_0/weight_10"' in page
    assert page.index('aria-label="layer_0/weight_2"') < page.index('aria-label="layer_0/weight_10"')
    assert PLOTLY_MIMETYPE not in bundle, "frontends would show the plotly figure and hide the table"


def test_live_refreshes_are_html_only_and_have_no_script() -> None:
    feed = feed_of([{"loss": 1.0}, {"loss": 0.5}])
    bundle = live_bundle(feed.snapshot(), {"name": "r", "state": "running"})
    assert set(bundle) == {"text/html", "text/plain"}
    assert "<script" not in bundle["text/html"] and re.search(r"<polyline points=", bundle["text/html"])


def test_colours_follow_the_metric_name_as_in_the_live_panel() -> None:
    import shutil
    import subprocess

    from jupyter_tracker.notebook.live_panel import STATIC_DIR
    from jupyter_tracker.notebook.live_static import color_for

    names = ["train/loss", "val/acc", "système/cpu", "<i>m</i>", "😀/x", ""]
    feed = feed_of([{"val/acc": 1.0, "train/loss": 2.0}, {"val/acc": 1.5, "train/loss": 1.0}])
    traces = traces_by_name(figure_dict(feed.snapshot()))
    assert traces["val/acc"]["line"]["color"] == color_for("val/acc")
    assert traces["train/loss"]["line"]["color"] == color_for("train/loss")
    node = shutil.which("node")
    if node is None:
        return
    source = (STATIC_DIR / "live_panel.js").read_text(encoding="utf-8")
    start = source.index("const PALETTE")
    palette = source[start:source.index(";", start) + 1]
    function_start = source.index("export function colorFor")
    function = source[function_start:source.index("\n}\n", function_start) + 3].replace("export ", "")
    script = f"{palette}\n{function}\nconsole.log(JSON.stringify({json.dumps(names)}.map(colorFor)));"
    result = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(result.stdout) == [color_for(name) for name in names]


def test_the_x_axis_chosen_in_the_panel_is_kept_in_the_final_figure() -> None:
    feed = LiveFeed()
    feed.observe(1, [("define", {"name": "val/*", "step_metric": "epoch"})])
    feed.observe(2, [("h", step, 1.7e9 + 10 * step, 10.0 * step, {"val/acc": 0.5 + step / 10, "epoch": 2.0 * step})
                     for step in range(1, 4)])
    snapshot = feed.snapshot()

    def val_trace_and_axis(x_axis: str) -> tuple[dict[str, Any], dict[str, Any]]:
        figure = figure_dict(snapshot, x_axis=x_axis)
        trace = traces_by_name(figure)["val/acc"]
        return trace, figure["layout"]["xaxis" + trace["xaxis"][1:]]

    assert val_trace_and_axis("auto")[0]["x"] == [2, 4, 6] and val_trace_and_axis("epoch")[0]["x"] == [2, 4, 6]
    assert val_trace_and_axis("step")[0]["x"] == [1, 2, 3] and "title" not in val_trace_and_axis("step")[1]
    trace, axis = val_trace_and_axis("relative")
    assert trace["x"] == [10, 20, 30] and axis["ticksuffix"] == " s"
    trace, axis = val_trace_and_axis("wall")
    assert axis["type"] == "date" and trace["x"][0] == int((1.7e9 + 10) * 1000)
    assert val_trace_and_axis("no-such-axis")[0]["x"] == [1, 2, 3]
    page = svg_html(snapshot, x_axis="wall")
    assert ">wall time</text>" in page and re.search(r">\d\d:\d\d:\d\d</text>", page)


def test_refreshes_smooth_each_point_once_with_the_same_numbers() -> None:
    from jupyter_tracker.notebook.live_static import IncrementalEma

    rng = np.random.default_rng(3)
    values = rng.normal(size=5_000)
    values[[10, 11, 400]] = [np.nan, np.inf, np.nan]
    constant_then_not = np.concatenate((np.full(50, 2.5), rng.normal(size=50)))
    ema = IncrementalEma(0.9)
    for end in (1, 2, 37, 37, 1_000, 5_000):
        assert np.array_equal(ema("loss", values[:end]), tensorboard_ema(values[:end], 0.9), equal_nan=True)
    for end in (10, 50, 51, 100):
        assert np.array_equal(ema("c", constant_then_not[:end]), tensorboard_ema(constant_then_not[:end], 0.9))
    thinned = values[::2]  # the feed thinned the series: smoothed again in full
    assert np.array_equal(ema("loss", thinned), tensorboard_ema(thinned, 0.9), equal_nan=True)


def test_a_refresh_of_many_metrics_leaves_the_table_for_the_final_bundle() -> None:
    feed = feed_of([{f"m_{k}": float(k) for k in range(MAX_CHARTS + 6)}])
    refresh = live_bundle(feed.snapshot())["text/html"]
    assert "<table" not in refresh and "6 more metrics" in refresh
    assert "<table" in static_bundle(feed.snapshot())["text/html"]


def test_svg_charts_follow_the_log_scale_with_labels_in_the_data_units() -> None:
    feed = feed_of([{"wide": 10.0 ** -step} for step in range(5)] + [{"wide": 0.0}])
    page = static_bundle(feed.snapshot(), log_scale=True)["text/html"]
    assert ">log scale</text>" in page and ">1</text>" in page and ">0.0001</text>" in page
    points = [tuple(map(float, pair.split(","))) for pair in page.split('<polyline points="')[1].split('"')[0].split()]
    heights = [y for _, y in points]
    assert len(points) == 5, "zero has no place on a log axis: a gap"
    assert np.allclose(np.diff(heights), np.diff(heights)[0]), "decades are evenly spaced"
