"""Each panel's data computed from a store of known runs: lines and bands, scatter, parallel coordinates, importance."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

import jupyter_tracker as jt
import jupyter_tracker.reports as wr
from jupyter_tracker.api import Api
from jupyter_tracker.downsample import SmoothingSummary, min_max_indices
from jupyter_tracker.notebook.runs_filter import FilterError
from jupyter_tracker.reports.panel_data import POINTS_PER_LINE, panel_data, select_runs
from jupyter_tracker.smoothing import smooth_summary, tensorboard_ema

LEARNING_RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)


@pytest.fixture()
def store(store_root: Path) -> Api:
    """Six runs: loss = lr * (10 - step) for 10 steps, opt alternating adam/sgd, acc = 1 - lr."""
    for index, lr in enumerate(LEARNING_RATES):
        run = jt.init(project="search", mode="offline", name=f"lr-{lr}",
                      config={"lr": lr, "opt": "adam" if index % 2 == 0 else "sgd", "seed": 7})
        for step in range(10):
            run.log({"loss": lr * (10 - step)})
        run.summary["acc"] = 1 - lr
        run.finish(quiet=True)
    return Api()


def test_run_sets_filter_in_both_languages_and_order(store: Api) -> None:
    table = select_runs(store, wr.Runset(filters="config.lr < 0.05 and opt == 'adam'", order=["+config.lr"]), "search")
    assert [table.name(run_id) for run_id in table.frame.index] == ["lr-0.001", "lr-0.01"]
    wandb_form = select_runs(store, wr.Runset("search", filters="Config('lr') >= 0.03 and Metric('State') == 'finished'",
                                              order=["-summary.acc"]), "")
    assert [wandb_form.name(run_id) for run_id in wandb_form.frame.index] == ["lr-0.03", "lr-0.1", "lr-0.3"]
    assert wandb_form.total == 6
    with pytest.raises(FilterError, match="unknown column"):
        select_runs(store, wr.Runset(filters="colour == 'red'"), "search")


def test_line_plot_has_a_line_per_run_with_its_values(store: Api) -> None:
    selection = select_runs(store, wr.Runset(order=["+config.lr"]), "search")
    data = panel_data(store, selection, wr.LinePlot(y=["loss"], smoothing_factor=0.5))
    assert [line["label"] for line in data["lines"]] == [f"lr-{lr}" for lr in LEARNING_RATES]
    first = data["lines"][0]
    assert first["x"] == list(range(10))
    assert first["y"] == pytest.approx([0.001 * (10 - step) for step in range(10)])
    assert first["smooth"] == pytest.approx(tensorboard_ema(np.array(first["y"]), 0.5).tolist())


def test_grouped_lines_have_the_mean_and_a_min_max_band(store: Api) -> None:
    selection = select_runs(store, wr.Runset(), "search")
    data = panel_data(store, selection, wr.LinePlot(y=["loss"], groupby="config.opt", smoothing_type="none"))
    bands = {line["group"]: line for line in data["lines"]}
    assert set(bands) == {"adam", "sgd"} and bands["adam"]["runs"] == 3
    adam = [0.001, 0.01, 0.1]
    step = 4
    assert bands["adam"]["y"][step] == pytest.approx(np.mean(adam) * (10 - step))
    assert bands["adam"]["low"][step] == pytest.approx(min(adam) * (10 - step))
    assert bands["adam"]["high"][step] == pytest.approx(max(adam) * (10 - step))
    deviation = panel_data(store, selection, wr.LinePlot(y=["loss"], groupby="opt", groupby_rangefunc="stddev",
                                                         smoothing_type="none"))
    sgd = {line["group"]: line for line in deviation["lines"]}["sgd"]
    spread = np.std([0.003 * 6, 0.03 * 6, 0.3 * 6], ddof=1)
    assert sgd["high"][step] - sgd["y"][step] == pytest.approx(spread)


def test_long_lines_are_cut_to_the_budget_and_smoothing_stays_unbiased(store_root: Path) -> None:
    rng = np.random.default_rng(3)
    values = rng.exponential(0.3, 6000)
    run = jt.init(project="long", mode="offline", name="long")
    for value in values:
        run.log({"loss": float(value)})
    run.finish(quiet=True)
    api = Api()
    selection = select_runs(api, wr.Runset(), "long")
    line = panel_data(api, selection, wr.LinePlot(y=["loss"], smoothing_factor=0.95))["lines"][0]
    assert len(line["x"]) <= POINTS_PER_LINE and line["points"] == 6000
    indices = min_max_indices(values, POINTS_PER_LINE)
    full = tensorboard_ema(values, 0.95)
    assert line["smooth"] == pytest.approx(full[indices].tolist())
    summary = SmoothingSummary.from_bytes(base64.b64decode(line["summary"]))
    other_weight = smooth_summary(summary, 0.8)
    worst = np.max(np.abs(other_weight - tensorboard_ema(values, 0.8)[indices]))
    assert worst <= 0.01 * (values.max() - values.min())


def test_scatter_and_parallel_coordinates_use_summaries_and_config(store: Api) -> None:
    selection = select_runs(store, wr.Runset(order=["+config.lr"]), "search")
    scatter = panel_data(store, selection, wr.ScatterPlot(x="config.lr", y="summary.acc", z="opt"))
    assert [(point["x"], point["y"], point["z"]) for point in scatter["points"]] == [
        (lr, pytest.approx(1 - lr), "adam" if index % 2 == 0 else "sgd") for index, lr in enumerate(LEARNING_RATES)
    ]
    coordinates = panel_data(store, selection, wr.ParallelCoordinatesPlot(columns=["lr", "opt", "summary.acc"]))
    assert coordinates["axes"][0] == {"name": "lr", "kind": "number", "min": 0.001, "max": 0.3}
    assert coordinates["axes"][1] == {"name": "opt", "kind": "category", "categories": ["adam", "sgd"]}
    assert coordinates["lines"][1]["values"][:2] == [0.003, 1]


def test_bars_scalars_and_the_run_comparer(store: Api) -> None:
    selection = select_runs(store, wr.Runset(), "search")
    bars = panel_data(store, selection, wr.BarPlot(metrics=["summary.acc"], groupby="opt", groupby_aggfunc="max"))
    values = {bar["label"]: bar["value"] for bar in bars["charts"][0]["bars"]}
    assert values == {"adam": pytest.approx(0.999), "sgd": pytest.approx(0.997)}
    scalar = panel_data(store, selection, wr.ScalarChart(metric="acc", aggregation="min"))
    assert scalar["value"] == pytest.approx(0.7) and scalar["runs"] == 6
    compared = panel_data(store, selection, wr.RunComparer(diff_only=True))
    keys = [row["key"] for row in compared["rows"]]
    assert "config.lr" in keys and "config.seed" not in keys and "state" not in keys
    everything = panel_data(store, selection, wr.RunComparer())
    assert "config.seed" in [row["key"] for row in everything["rows"]]


def test_parameter_importance_finds_the_parameter_that_matters(store: Api) -> None:
    selection = select_runs(store, wr.Runset(), "search")
    data = panel_data(store, selection, wr.ParameterImportancePlot(with_respect_to="summary.acc"))
    rows = {row["parameter"]: row for row in data["parameters"]}
    assert data["parameters"][0]["parameter"] == "config.lr"
    assert rows["config.lr"]["correlation"] == pytest.approx(-1.0)
    assert sum(row["importance"] for row in data["parameters"]) == pytest.approx(1.0)
    assert "config.seed" not in rows  # never varies


def test_bad_panel_settings_are_named(store: Api) -> None:
    selection = select_runs(store, wr.Runset(), "search")
    with pytest.raises(ValueError, match="smoothing_type"):
        panel_data(store, selection, wr.LinePlot(y=["loss"], smoothing_type="wiggly", smoothing_factor=0.5))
    with pytest.raises(ValueError, match="aggregation"):
        panel_data(store, selection, wr.ScalarChart(metric="acc", aggregation="mode"))


def test_a_run_set_groupby_groups_panels_that_set_none(store: Api) -> None:
    selection = select_runs(store, wr.Runset(groupby=["config.opt"]), "search")
    bars = panel_data(store, selection, wr.BarPlot(metrics=["summary.acc"]))
    assert {bar["label"] for bar in bars["charts"][0]["bars"]} == {"adam", "sgd"}
    lines = panel_data(store, selection, wr.LinePlot(y=["loss"]))
    assert {line["group"] for line in lines["lines"]} == {"adam", "sgd"}


def test_media_browser_embeds_each_runs_last_image(store_root: Path) -> None:
    pixels = np.zeros((4, 4, 3), dtype=np.uint8)
    run = jt.init(project="media", mode="offline", name="pictures")
    for value in (10, 200):
        pixels[:] = value
        run.log({"examples": jt.Image(pixels)})
    run.finish(quiet=True)
    api = Api()
    selection = select_runs(api, wr.Runset(), "media")
    data = panel_data(api, selection, wr.MediaBrowser(media_keys=["examples", "absent"]))
    (item,) = data["items"]
    assert item["key"] == "examples" and item["image"].startswith("data:image/png;base64,")
    from io import BytesIO

    from PIL import Image as PILImage

    shown = PILImage.open(BytesIO(base64.b64decode(item["image"].split(",", 1)[1])))
    assert shown.getpixel((0, 0))[0] == 200


def test_simple_filters_order_and_limit_go_to_the_store_with_the_same_answer(store: Api) -> None:
    from jupyter_tracker.reports.runset_filter import store_query, to_expression

    assert store_query(to_expression("Metric('State') == 'finished'")) == ({"state": "finished"}, True)
    assert store_query("'a' in tags and group == 'g' and config.lr < 1") == ({"tags": "a", "group": "g"}, False)
    pushed = select_runs(store, wr.Runset(filters="state == 'finished'", order=["-summary.acc"]), "search", limit=2)
    assert [pushed.name(run_id) for run_id in pushed.frame.index] == ["lr-0.001", "lr-0.003"]
    assert pushed.total == 6
    in_python = select_runs(store, wr.Runset(filters="config.seed == 7", order=["-summary.acc"]), "search", limit=2)
    assert list(in_python.frame.index) == list(pushed.frame.index)
    assert select_runs(store, wr.Runset(filters="'nope' in tags"), "search").total == 6


@pytest.fixture()
def code_store(store_root: Path, tmp_path: Path) -> Api:
    """Two runs started by two versions of ``train.py`` run as scripts (``save_code=True``), the second later."""
    import subprocess
    import sys

    bodies = ("lr = 0.1\nprint('train')\n", "lr = 0.01\nprint('train')\nprint('</td><script>alert(1)</script>')\n")
    for number, body in enumerate(bodies, start=1):
        folder = tmp_path / f"v{number}"
        folder.mkdir()
        script = folder / "train.py"
        script.write_text(body + "import jupyter_tracker as jt\n"
                          f"run = jt.init(project='code', mode='offline', save_code=True, name='<b>v{number}</b>')\n"
                          "run.log({'loss': lr})\nrun.finish(quiet=True)\n")
        subprocess.run([sys.executable, str(script)], cwd=folder, check=True, capture_output=True, timeout=120)
    return Api()


def test_code_comparer_diffs_the_saved_code_of_two_runs(code_store: Api) -> None:
    from jupyter_tracker.reports.html import render_body

    selection = select_runs(code_store, wr.Runset(order=["+created_at"]), "code")
    data = panel_data(code_store, selection, wr.CodeComparer())
    assert [run["name"] for run in data["runs"]] == ["<b>v1</b>", "<b>v2</b>"]
    assert data["runs"][0]["code"] == "# code/train.py\n" + (Path("v1") / "train.py").read_text()
    assert "lr = 0.01" in data["runs"][1]["code"]
    page = render_body(wr.Report("code", blocks=[wr.PanelGrid(runsets=[wr.Runset(order=["+created_at"])],
                                                              panels=[wr.CodeComparer()])]), code_store)
    table = page[page.index('class="jt-scroll jt-diff"'):]
    assert table.count('<span class="diff_add">') == 2  # the "0" that makes 0.1 into 0.01, and the added line
    assert "<span class=\"diff_add\">print('&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;')" in table
    assert "<script>alert" not in page and "<b>v1</b>" not in page and "&lt;b&gt;v1&lt;/b&gt;" in page


def test_code_comparer_needs_two_runs_with_code(code_store: Api) -> None:
    from jupyter_tracker.reports.html import render_code_comparer

    selection = select_runs(code_store, wr.Runset(filters="name == '<b>v1</b>'"), "code")
    data = panel_data(code_store, selection, wr.CodeComparer())
    assert len(data["runs"]) == 1 and "needs two runs" in render_code_comparer(data)


def test_line_plot_axis_ranges_and_titles_reach_the_drawn_chart(store: Api) -> None:
    from jupyter_tracker.reports.html import render_line_plot, render_line_plot_svg

    selection = select_runs(store, wr.Runset(order=["+config.lr"]), "search")
    panel = wr.LinePlot(y=["loss"], range_x=(2, None), range_y=(0, 0.5), title_x="training step", title_y="<i>loss</i>")
    data = panel_data(store, selection, panel)
    assert data["range_x"] == [2.0, None] and data["range_y"] == [0.0, 0.5]
    assert data["title_x"] == "training step" and data["title_y"] == "<i>loss</i>"
    assert '"range_y":[0.0,0.5]' in render_line_plot(data) and "\\u003ci\\u003eloss" in render_line_plot(data)
    svg = render_line_plot_svg(data)  # what a saved notebook shows without its kernel
    assert ">training step</text>" in svg and "&lt;i&gt;loss&lt;/i&gt;" in svg and "<i>" not in svg
    assert '>0.5</text>' in svg and '>2</text>' in svg  # the y axis ends at 0.5, the x axis starts at 2


def test_line_series_skip_missing_values_whatever_was_logged(store_root: Path) -> None:
    run = jt.init(project="mixed", mode="offline", name="plain")
    for step in range(6):
        run.log({"loss": float("nan") if step == 2 else step * 1.5} if step != 4 else {"other": 1})
    run.finish(quiet=True)
    odd = jt.init(project="mixed", mode="offline", name="odd")
    for value in [1.0, "text", True, None, 4, 5.5]:
        odd.log({"loss": value} if value is not None else {"other": 1})
    odd.finish(quiet=True)
    api = Api()
    selection = select_runs(api, wr.Runset(order=["+created_at"]), "mixed")
    plain, mixed = panel_data(api, selection, wr.LinePlot(y=["loss"], smoothing_type="none"))["lines"]
    assert plain["x"] == [0, 1, 2, 3, 5] and plain["y"] == [0, 1.5, None, 4.5, 7.5]  # NaN kept (drawn as a gap)
    assert mixed["x"] == [0, 4, 5] and mixed["y"] == [1, 4, 5.5]  # strings, bools and missing values left out
