"""The runs table: frame columns, filter expressions (and their safety), sort, group, pages, escaping."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest

import jupyter_tracker as jt
from jupyter_tracker.notebook.runs_table import (
    FilterError,
    RunsView,
    _RunsWidget,
    build_frame,
    figure_bundle,
    render_html,
)


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
    view.set(sort_by="id")
    assert view.page_count == 2
    assert list(view.page_frame().index) == ["a", "b"]
    view.go_to(1)
    assert list(view.page_frame().index) == ["c", "d"]
    assert view.go_to(7) == 1 and view.go_to(-3) == 0
    assert view.summary_line() == "4 runs · page 1 of 2"
    view.set(filter_text='opt == "adam"')
    assert view.summary_line() == "3 of 4 runs · page 1 of 2"


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
    ui = _RunsWidget(table)
    assert "30 runs · page 1 of 3" in ui.table_html.value
    ui.filter.value = "lr <"
    assert "cannot parse" in ui.message.value and "30 runs · page 1 of 3" in ui.table_html.value
    ui.filter.value = "lr >= 0.1"
    assert ui.message.value == "" and "20 of 30 runs · page 1 of 2" in ui.table_html.value
    ui.sort_by.value = "summary.acc"
    ui.descending.value = True
    assert ui.selection.options[0][0].startswith("run-29")
    ui.next.click()
    assert "page 2 of 2" in ui.table_html.value
    ui.group_by.value = "group"
    assert "2 groups by group" in ui.table_html.value
    ui.group_by.value = None
    ui.selection.value = [value for _, value in ui.selection.options[:2]]
    ui.metric.value = "acc"
    ui.compare.click()
    (output,) = ui.chart.outputs
    assert len(output["data"]["application/vnd.plotly.v1+json"]["data"]) == 2


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
    ui = _RunsWidget(table)
    assert "no runs match" in ui.table_html.value and ui.selection.options == ()
    ui.group_by.value = "group"
    assert "0 groups by group" in ui.table_html.value
