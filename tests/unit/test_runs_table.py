"""The runs table: frame columns, filter expressions (and their safety), sort, group, pages, escaping."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest

import jupyter_tracker as jt
from jupyter_tracker.notebook.runs_table import (
    MISSING_GROUP,
    FilterError,
    RunsView,
    build_frame,
    figure_bundle,
    render_html,
)
from jupyter_tracker.notebook.runs_table_widget import NO_GROUPING, RunsWidget


def row(run_id: str, **values: Any) -> dict[str, Any]:
    base = {"id": run_id, "project": "p", "name": f"run-{run_id}", "state": "finished", "group": None,
            "job_type": None, "tags": [], "notes": None, "created": 1_700_000_000.0, "runtime": 10.0,
            "dir": None, "config": {}, "summary": {}}
    base.update(values)
    return base


ROWS = [
    row("a", config={"lr": 0.1, "opt": "adam", "net": {"depth": 2}}, summary={"acc": 0.7, "train/loss": 0.5},
        group="g1", tags=["baseline"], created=1_700_000_000.0),
    row("b", config={"lr": 0.001, "opt": "sgd", "net": {"depth": 4}}, summary={"acc": 0.9, "train/loss": 0.1},
        group="g1", tags=["baseline", "long"], created=1_700_000_100.0, state="failed"),
    row("c", config={"lr": 0.005, "opt": "adam", "net": {"depth": 4}}, summary={"acc": 0.8, "train/loss": 0.2},
        group="g2", tags=["long"], created=1_700_000_200.0),
    row("d", config={"lr": "auto", "opt": "adam"}, summary={"acc": None, "image": {"_type": "image-file"}},
        group=None, created=1_700_000_300.0, state="running", runtime=None),
]


@pytest.fixture
def view() -> RunsView:
    frame, extras = build_frame(ROWS, now=1_700_000_310.0)
    return RunsView(frame, page_size=2, extras=extras)


def ids(view: RunsView) -> list[str]:
    return list(view.result().index)


def test_frame_has_the_documented_columns(view: RunsView) -> None:
    frame = view.frame
    assert list(frame.columns[:6]) == ["name", "state", "created", "duration", "group", "tags"]
    assert {"config.lr", "config.opt", "config.net.depth", "summary.acc", "summary.train/loss", "summary.image"} <= set(frame.columns)
    assert frame.index.name == "id"
    assert frame.at["d", "duration"] == pytest.approx(10.0)  # a running run: now - created
    assert frame.at["d", "summary.image"] == "<image-file>"
    assert frame.at["b", "tags"] == ("baseline", "long")


@pytest.mark.parametrize(("expression", "expected"), [
    ('config.lr < 0.01 and state == "finished"', ["c"]),
    ("lr < 0.01", ["b", "c"]),                                  # a bare name resolves to config.lr
    ("config.lr == 'auto'", ["d"]),
    ("`summary.train/loss` <= 0.2", ["b", "c"]),
    ("0.001 < lr <= 0.1", ["a", "c"]),
    ("0.01 > lr", ["b", "c"]),                                  # a literal on the left
    ('state in ["failed", "running"]', ["b", "d"]),
    ('state not in ["failed", "running"]', ["a", "c"]),
    ('"long" in tags', ["b", "c"]),
    ('not ("long" in tags)', ["a", "d"]),
    ("group == None", ["d"]),
    ("summary.acc != None and summary.acc > 0.75", ["b", "c"]),
    ('id == "c" or name == "run-a"', ["a", "c"]),
    ("net.depth >= 4", ["b", "c"]),
    ('created > "2023-11-14 22:14"', ["b", "c", "d"]),
    ("duration > 5", ["a", "b", "c", "d"]),
])
def test_filter_expressions(view: RunsView, expression: str, expected: list[str]) -> None:
    view.set(filter_text=expression)
    assert sorted(ids(view)) == expected


@pytest.mark.parametrize(("expression", "message"), [
    ("__import__('os').system('true')", "not allowed"),
    ("lr.__class__ == 1", "unknown column"),
    ("(lambda: 1)() == 1", "not allowed"),
    ("lr + 1 > 0.5", "not allowed"),
    ("nope > 1", "unknown column 'nope'"),
    ("lr <", "cannot parse"),
    ("[x for x in tags] == 1", "not allowed"),
    ("lr in [lr]", "literals only"),
    ("acc_missing", "unknown column"),
    ("1 < 2", None),
])
def test_filters_never_evaluate_python(view: RunsView, expression: str, message: str | None) -> None:
    if message is None:  # a constant comparison is allowed: it selects everything or nothing
        view.set(filter_text=expression)
        assert len(ids(view)) == 4
        return
    before = ids(view)
    with pytest.raises(FilterError, match=message):
        view.set(filter_text=expression)
    assert ids(view) == before  # a bad filter changes nothing


def test_ambiguous_bare_names_are_an_error() -> None:
    frame, _ = build_frame([row("a", config={"x": 1}, summary={"x": 2})])
    with pytest.raises(FilterError, match="ambiguous"):
        RunsView(frame).set(filter_text="x > 0")


def test_search_matches_name_id_group_tags_and_notes(view: RunsView) -> None:
    assert ids(view.set(search="RUN-B")) == ["b"]
    assert sorted(ids(view.set(search="g2"))) == ["c"]
    assert sorted(ids(view.set(search="long"))) == ["b", "c"]
    frame, extras = build_frame([row("n", notes="tried warmup"), row("m")])
    assert ids(RunsView(frame, extras=extras).set(search="warmup")) == ["n"]


def test_sort_numbers_text_dates_and_missing_values(view: RunsView) -> None:
    assert ids(view.set(sort_by="summary.acc", ascending=False)) == ["b", "c", "a", "d"]  # missing last
    assert ids(view.set(sort_by="summary.acc", ascending=True)) == ["a", "c", "b", "d"]
    assert ids(view.set(sort_by="created", ascending=False)) == ["d", "c", "b", "a"]
    assert ids(view.set(sort_by="config.lr", ascending=True)) == ["b", "c", "a", "d"]  # mixed: numbers before text
    assert ids(view.set(sort_by="config.lr", ascending=False)) == ["a", "c", "b", "d"]
    assert ids(view.set(sort_by="id", ascending=False)) == ["d", "c", "b", "a"]
    with pytest.raises(FilterError):
        view.set(sort_by="no.such.column")


def test_pages(view: RunsView) -> None:
    view.set(sort_by="id", ascending=True)
    assert view.page_count == 2
    assert list(view.page_frame().index) == ["a", "b"]
    view.go_to(1)
    assert list(view.page_frame().index) == ["c", "d"]
    assert view.go_to(7) == 1 and view.go_to(-3) == 0
    assert view.summary_line() == "4 runs · page 1 of 2 · 11 of 12 columns"  # summary.image is not shown
    view.set(filter_text='opt == "adam"')
    assert view.summary_line() == "3 of 4 runs · page 1 of 2 · 11 of 12 columns"


def test_group_by_group_tags_and_config(view: RunsView) -> None:
    by_group = view.grouped("group")
    assert by_group.loc["g1", "runs"] == 2
    assert by_group.loc["g1", "summary.acc mean"] == pytest.approx(0.8)
    assert by_group.loc["g1", "summary.acc min"] == pytest.approx(0.7)
    assert by_group.loc["g1", "summary.acc max"] == pytest.approx(0.9)
    by_tag = view.grouped("tags")
    assert by_tag.loc["long", "runs"] == 2 and by_tag.loc["baseline", "runs"] == 2
    by_opt = view.grouped("opt")  # a bare config key
    assert by_opt.loc["adam", "runs"] == 3
    assert by_opt.loc["adam", "summary.train/loss max"] == pytest.approx(0.5)
    view.set(filter_text="lr < 0.01")  # grouping works on the filtered runs
    assert view.grouped("opt")["runs"].to_dict() == {"adam": 1, "sgd": 1}


def test_everything_user_typed_is_escaped_in_the_table() -> None:
    hostile = "<img src=x onerror=alert(1)>"
    frame, extras = build_frame([row(hostile, name=hostile, group=hostile, tags=[hostile],
                                     config={hostile: hostile}, summary={hostile: 1.0})])
    view = RunsView(frame, extras=extras)
    for page in (view.page_html(), view.grouped_html("group"), view.grouped_html(f"config.{hostile}")):
        assert hostile not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_render_formats_cells() -> None:
    frame, _ = build_frame([row("a", summary={"acc": 0.123456789, "n": math.inf}, runtime=65.0, tags=["x", "y"])])
    page = render_html(frame)
    assert "0.123457" in page and "inf" in page and "1m 05s" in page and "x, y" in page and "2023-11-1" in page


def test_runs_table_reads_the_local_index_and_compares_histories(store_root: Path) -> None:
    for lr in (0.1, 0.01):
        run = jt.init(project="cmp", mode="offline", name=f"lr-{lr}", config={"lr": lr})
        for step in range(50):
            run.log({"loss": lr * (50 - step)})
        run.finish(quiet=True)
    jt.init(project="other", mode="offline").finish(quiet=True)
    table = jt.runs_table("cmp")
    frame = table.to_dataframe()
    assert sorted(frame["name"]) == ["lr-0.01", "lr-0.1"]
    assert set(frame["state"]) == {"finished"} and "summary.loss" in frame.columns
    assert list(table.query("lr < 0.05")["name"]) == ["lr-0.01"]
    figure = table.compare(list(frame.index), "loss")
    assert len(figure.data) == 2 and all(len(trace.y) == 50 for trace in figure.data)
    assert figure.data[0].y[0] == pytest.approx(5.0 if figure.data[0].name.startswith("lr-0.1 ") else 0.5)
    bundle = figure_bundle(figure)
    assert "application/vnd.plotly.v1+json" in bundle


def test_the_widget_filters_sorts_pages_groups_and_compares(store_root: Path) -> None:
    for index in range(30):
        run = jt.init(project="w", mode="offline", name=f"run-{index:02d}", config={"lr": index / 100},
                      group="even" if index % 2 == 0 else "odd")
        run.log({"acc": index / 30})
        run.finish(quiet=True)
    table = jt.runs_table("w", page_size=10)
    assert "application/vnd.jupyter.widget-view+json" in table._repr_mimebundle_()
    ui = RunsWidget(table)
    grid = ui.grid
    assert "30 runs · page 1 of 3" in grid.note
    assert grid.rows[0]["cells"][0] == "run-29" and grid.sort_by == "created" and not grid.ascending  # newest first
    assert [column["key"] for column in grid.columns][:2] == ["name", "state"] and grid.sticky_name
    ui.filter.value = "lr <"
    assert "cannot parse" in ui.message.value and "30 runs · page 1 of 3" in grid.note
    ui.filter.value = "lr >= 0.1"
    assert ui.message.value == "" and "20 of 30 runs · page 1 of 2" in grid.note
    ui._grid_message(grid, {"type": "sort", "column": "summary.acc"}, [])  # a click on the header
    assert grid.sort_by == "summary.acc" and grid.ascending and grid.rows[0]["cells"][0] == "run-10"
    ui._grid_message(grid, {"type": "sort", "column": "summary.acc"}, [])  # a second click flips the order
    assert not grid.ascending and grid.rows[0]["cells"][0] == "run-29"
    ui.next.click()
    assert "page 2 of 2" in grid.note
    ui.group_by.value = "group"
    assert "2 groups by group" in grid.note and grid.index_label == "group" and not grid.sortable and not grid.selectable
    ui.group_by.value = NO_GROUPING
    assert ui.group_by.label == "(no grouping)"  # never blank
    ui.metric.value = "acc"
    ui.compare.click()
    assert "tick runs in the table" in ui.message.value and ui.chart.outputs == ()
    ui.previous.click()
    grid.selected = [grid.rows[0]["id"]]  # what ticking a row's checkbox does
    ui.next.click()  # ticks are kept across pages
    assert "page 2 of 2" in grid.note and grid.selected[0] not in [row["id"] for row in grid.rows]
    grid.selected = [*grid.selected, grid.rows[0]["id"]]
    assert "2 selected: run-" in ui.selected_note.value
    ui.compare.click()
    (output,) = ui.chart.outputs
    assert len(output["data"]["application/vnd.plotly.v1+json"]["data"]) == 2
    layout = output["data"]["application/vnd.plotly.v1+json"]["layout"]
    assert layout["xaxis"]["title"]["text"] == "step"
    ui.metric.value = "no-such"
    ui.compare.click()
    assert "no run of this table has a metric named" in ui.message.value


def test_ten_thousand_runs_stay_responsive() -> None:
    rows = [row(f"r{index:05d}", state=("finished", "failed", "running")[index % 3],
                config={"lr": (0.1, 0.01, 0.001)[index % 5 % 3], "batch_size": 16 << (index % 3), "opt": ("adam", "sgd")[index % 2]},
                summary={"acc": (index * 7919 % 10_000) / 10_000, "loss": index / 10_000},
                group=f"g{index % 7}", tags=["t"], created=1_700_000_000.0 + index)
            for index in range(10_000)]
    frame, extras = build_frame(rows)
    view = RunsView(frame, page_size=25, extras=extras)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        view.set(filter_text='config.lr < 0.05 and state == "finished"', sort_by="summary.acc", ascending=False)
        page = view.page_html()
        timings.append(time.perf_counter() - started)
    expected = sum(1 for item in rows if item["config"]["lr"] < 0.05 and item["state"] == "finished")
    assert 0 < expected < 10_000 and f"{expected:,} of 10,000 runs" in page
    assert min(timings) <= 0.2, timings


def test_an_empty_project_shows_an_empty_table(store_root: Path) -> None:
    table = jt.runs_table("nothing-here")
    assert table.to_dataframe().empty
    ui = RunsWidget(table)
    assert ui.grid.rows == [] and ui.grid.empty_text == "no runs match" and ui.grid.selected == []
    assert "no runs match" in table.view.page_html()
    ui.group_by.value = "group"
    assert "0 groups by group" in ui.grid.note


# columns shown, at scale -------------------------------------------------------------------------------
def test_default_columns_show_what_tells_runs_apart() -> None:
    from jupyter_tracker.notebook.runs_table_columns import default_columns

    rows = [row(f"r{index}", config={"lr": 0.1 * (index + 1), "seed": 7, "opt": "adam" if index else "sgd"},
                summary={f"metric_{k}": float(k) for k in range(12)} | {"rare": 1.0} if index == 0 else
                {f"metric_{k}": float(k) for k in range(12)})
            for index in range(3)]
    frame, _ = build_frame(rows)
    columns = default_columns(frame)
    assert columns[:6] == ["name", "state", "created", "duration", "group", "tags"]
    assert "config.lr" in columns and "config.opt" in columns and "config.seed" not in columns  # seed never varies
    summary = [column for column in columns if column.startswith("summary.")]
    assert summary == ["summary.metric_0", "summary.metric_1", "summary.metric_2", "summary.metric_3", "summary.metric_4"]
    one_run, _ = build_frame(rows[:1])
    assert {"config.lr", "config.seed", "config.opt"} <= set(default_columns(one_run))  # one run: every config key


def test_a_twelve_thousand_metric_run_shows_a_small_table() -> None:
    frame, extras = build_frame([row("big", config={"lr": 0.1}, summary={f"m/{k}": float(k) for k in range(12_000)}),
                                 row("small", config={"lr": 0.2}, summary={"m/0": 1.0})])
    view = RunsView(frame, extras=extras)
    assert len(frame.columns) == 12_007
    assert len(view.page_frame().columns) == 6 + 1 + 5  # base, the varying lr, five summary keys
    assert "12 of 12,007 columns" in view.summary_line()
    assert view.page_html().count("<th class=") == 1 + 12
    view.set_column_shown("summary.m/11999", True)
    assert list(view.page_frame().columns)[-1] == "summary.m/11999"
    view.set_column_shown("summary.m/11999", False)
    assert "summary.m/11999" not in view.shown
    with pytest.raises(FilterError, match="unknown column 'summary.nope'"):
        view.show_columns(["summary.nope"])


def test_the_column_picker_searches_config_and_summary_keys_in_natural_order() -> None:
    from jupyter_tracker.notebook.runs_table_columns import natural_sorted, search_columns

    columns = ["name", "state", "config.lr", *[f"summary.train/metric_{k}" for k in range(12_000)], "summary.val/loss"]
    matches, total = search_columns(columns, "METRIC_1", limit=5)
    assert total == 1 + 10 + 100 + 1000 + 2000  # metric_1, _1x, _1xx, _1xxx, _10000 to _11999
    assert matches == ["summary.train/metric_1", "summary.train/metric_10", "summary.train/metric_11",
                       "summary.train/metric_12", "summary.train/metric_13"]
    assert search_columns(columns, "val loss") == (["summary.val/loss"], 1)
    assert search_columns(columns, "state") == ([], 0)  # base columns are always shown, not picked
    assert natural_sorted(["m_10", "m_2", "M_1"]) == ["M_1", "m_2", "m_10"]


def test_the_widget_column_picker_adds_and_removes_columns() -> None:
    from jupyter_tracker.notebook.runs_table import RunsTable

    table = RunsTable.from_rows([row("a", summary={f"loss_{k}": float(k) for k in range(300)}),
                                 row("b", summary={"loss_0": 2.0})])
    ui = RunsWidget(table)
    assert ui.picker.layout.display == "none"
    ui.picker_toggle.value = True
    assert ui.picker.layout.display == "flex"
    assert len(ui.picker_list.children) == 40 and "300 keys match" in ui.picker_note.value
    ui.picker_search.value = "loss_29"
    labels = [box.description for box in ui.picker_list.children]
    assert labels[:2] == ["summary.loss_29", "summary.loss_290"] and len(labels) == 11
    labels_shown = [box.value for box in ui.picker_list.children]
    assert not any(labels_shown)
    ui.picker_list.children[1].value = True  # tick summary.loss_290
    assert [column["key"] for column in ui.grid.columns][-1] == "summary.loss_290"
    assert ui.grid.rows[-1]["cells"][-1] == "" and ui.grid.rows[0]["id"] in ("a", "b")
    ui.picker_list.children[1].value = False
    assert "summary.loss_290" not in [column["key"] for column in ui.grid.columns]
    ui.picker_default.click()
    assert table.columns == table.view.shown


# groups, sort ------------------------------------------------------------------------------------------
def test_runs_without_a_group_are_labelled_none_and_listed_last(view: RunsView) -> None:
    by_group = view.grouped("group")
    assert list(by_group.index) == ["g1", "g2", MISSING_GROUP]
    assert by_group.loc[MISSING_GROUP, "runs"] == 1
    assert "nan" not in view.grouped_html("group")
    by_depth = view.grouped("net.depth")  # numbers first, in order, then the run without the key
    assert list(by_depth.index) == [2.0, 4.0, MISSING_GROUP]
    by_tag = view.grouped("tags")  # a run without tags
    assert by_tag.loc[MISSING_GROUP, "runs"] == 1
    assert list(view.grouped("group", metrics=["summary.acc"]).columns) == ["runs", "summary.acc mean",
                                                                            "summary.acc min", "summary.acc max"]


def test_newest_first_and_header_clicks_sort(view: RunsView) -> None:
    assert ids(view) == ["d", "c", "b", "a"]  # newest first by default
    view.toggle_sort("summary.acc")
    assert ids(view) == ["a", "c", "b", "d"] and view.ascending
    view.toggle_sort("summary.acc")
    assert ids(view) == ["b", "c", "a", "d"] and not view.ascending  # missing values stay last
    view.toggle_sort("name")
    assert ids(view) == ["a", "b", "c", "d"]


# comparison ----------------------------------------------------------------------------------------------
def test_compare_names_the_runs_without_the_metric(store_root: Path) -> None:
    with_loss = []
    for index in range(2):
        run = jt.init(project="cmp2", mode="offline", name=f"has-{index}")
        for step in range(5):
            run.log({"loss": float(step)})
        run.finish(quiet=True)
        with_loss.append(run.id)
    run = jt.init(project="cmp2", mode="offline", name="<b>no-loss</b>")
    run.log({"acc": 1.0})
    run.finish(quiet=True)
    table = jt.runs_table("cmp2")
    comparison = table.comparison([*with_loss, run.id], "loss")
    assert [label for _, label, _ in comparison.drawn] == [f"has-0 ({with_loss[0]})", f"has-1 ({with_loss[1]})"]
    assert comparison.missing == [f"<b>no-loss</b> ({run.id})"]
    assert comparison.message == f"no points of loss in <b>no-loss</b> ({run.id})"
    figure = table.compare([*with_loss, run.id], "loss")
    assert "no points of loss in &lt;b&gt;no-loss&lt;/b&gt;" in figure.layout.title.text  # shown as typed
    assert "(no points of loss in <b>no-loss</b>" in figure_bundle(figure, comparison)["text/plain"]
    ui = RunsWidget(table)
    ui.grid.selected = [row["id"] for row in ui.grid.rows]
    ui.metric.value = "acc"
    ui.compare.click()
    assert "no points of acc in has-" in ui.message.value


def test_compare_uses_the_define_metric_step_metric_as_x_axis(store_root: Path) -> None:
    run_ids = []
    for offset in (0, 10):
        run = jt.init(project="axis", mode="offline")
        run.define_metric("val/*", step_metric="epoch")
        for step in range(20):
            row_values: dict[str, Any] = {"train/loss": float(step)}
            if step % 5 == 4:
                row_values |= {"val/acc": offset + step / 20, "epoch": step // 5}
            run.log(row_values)
        run.finish(quiet=True)
        run_ids.append(run.id)
    plain = jt.init(project="axis", mode="offline")
    plain.log({"val/acc": 0.5})
    plain.finish(quiet=True)
    table = jt.runs_table("axis")
    comparison = table.comparison([*run_ids, plain.id], "val/acc")
    assert comparison.x_axis == "epoch" and comparison.x_label == "epoch"
    assert [points.x for _, _, points in comparison.drawn] == [[0.0, 1.0, 2.0, 3.0]] * 2
    assert comparison.missing == [f"{plain.name} ({plain.id})"]  # it never logged an epoch
    assert "against epoch" in comparison.message
    by_step = table.comparison(run_ids, "val/acc", x_axis="_step")
    assert by_step.drawn[0][2].x == [4.0, 9.0, 14.0, 19.0] and by_step.missing == []
    assert table.comparison(run_ids, "train/loss").x_axis == "_step"  # not covered by the definition
    figure = table.compare(run_ids, "val/acc")
    assert figure.layout.xaxis.title.text == "epoch"


def test_the_chart_follows_the_page_theme() -> None:
    from jupyter_tracker.notebook.runs_compare import ChartTheme, Comparison, MetricPoints, comparison_figure

    comparison = Comparison("loss", "_step", [("a", "a (a)", MetricPoints([0.0], [1.0], "_step"))], [], [])
    dark = ChartTheme.from_browser({"dark": True, "text": "rgba(255, 255, 255, 0.87)", "grid": "#424242",
                                    "background": "#111111"})
    figure = comparison_figure(comparison, dark)
    layout = figure.layout
    assert layout.paper_bgcolor == "#111111" and layout.plot_bgcolor == "#111111"
    assert layout.font.color == "rgba(255, 255, 255, 0.87)" and layout.xaxis.gridcolor == "#424242"
    assert layout.template.layout.paper_bgcolor == "rgb(17,17,17)"  # plotly_dark underneath
    assert figure.data[0].mode == "lines+markers"  # one point is visible
    hostile = ChartTheme.from_browser({"dark": True, "text": "red;}</style><script>", "background": "url(x)"})
    assert hostile.text == "#e5e7eb" and hostile.background == "rgba(0,0,0,0)"
    light = comparison_figure(comparison, ChartTheme.from_browser({}))
    assert light.layout.template.layout.paper_bgcolor == "white"


def test_the_widget_redraws_the_chart_when_the_theme_changes(store_root: Path) -> None:
    run = jt.init(project="theme", mode="offline")
    run.log({"loss": 1.0})
    run.finish(quiet=True)
    ui = RunsWidget(jt.runs_table("theme"))
    ui.grid.selected = [run.id]
    ui.metric.value = "loss"
    ui.compare.click()
    before = ui.chart.outputs[0]["data"]["application/vnd.plotly.v1+json"]["layout"]
    assert before["template"]["layout"]["paper_bgcolor"] == "white"
    ui.grid.theme = {"dark": True, "text": "#eeeeee", "grid": "#333333", "background": "#111111"}
    after = ui.chart.outputs[0]["data"]["application/vnd.plotly.v1+json"]["layout"]
    assert after["paper_bgcolor"] == "#111111" and after["font"]["color"] == "#eeeeee"


def test_the_metric_box_narrows_to_what_is_typed() -> None:
    from jupyter_tracker.notebook.runs_table import RunsTable

    ui = RunsWidget(RunsTable.from_rows([row("a", summary={f"layer_{k}/grad": 1.0 for k in range(12_000)})]))
    assert len(ui.metric.options) == 50
    ui.metric.value = "layer_1199"
    assert ui.metric.options[:2] == ("layer_1199/grad", "layer_11990/grad") and len(ui.metric.options) == 11


def test_columns_can_be_chosen_from_python(store_root: Path) -> None:
    for lr in (0.1, 0.2):
        run = jt.init(project="cols", mode="offline", config={"lr": lr, "seed": 3})
        run.log({"loss": lr, "acc": 1 - lr})
        run.finish(quiet=True)
    table = jt.runs_table("cols", columns=["name", "config.seed", "summary.loss"])
    assert table.columns == ["name", "config.seed", "summary.loss"]
    table.widget()
    ui = table._ui
    assert ui is not None
    table.columns = ["summary.acc", "name", "state"]  # shown in the table's order, and the widget follows
    assert table.columns == ["name", "state", "summary.acc"]
    assert [column["key"] for column in ui.grid.columns] == ["name", "state", "summary.acc"]
    with pytest.raises(FilterError, match="unknown column 'config.nope'"):
        table.columns = ["config.nope"]
    assert table.columns == ["name", "state", "summary.acc"]  # a bad choice changes nothing
