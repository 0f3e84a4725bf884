"""The report widget: Python changes render again in place; browser edits change the Report object."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

import jupyter_tracker as jt
import jupyter_tracker.reports as wr
from jupyter_tracker.api import Api
from jupyter_tracker.reports.widget import OUTPUT_MARKER, ReportWidget, apply_edit


@pytest.fixture()
def report(store_root: Path) -> wr.Report:
    for lr in (0.1, 0.01, 0.001):
        run = jt.init(project="widget", mode="offline", name=f"lr-{lr}", config={"lr": lr})
        for step in range(30):
            run.log({"loss": lr * (30 - step)})
        run.finish(quiet=True)
    return wr.Report("widget", title="Widget", blocks=[
        wr.MarkdownBlock("first *text*"),
        wr.PanelGrid(runsets=[wr.Runset(name="all")],
                     panels=[wr.LinePlot(y=["loss"], smoothing_factor=0.2), wr.ScatterPlot(x="lr", y="summary.loss"),
                             wr.RunComparer()]),
    ])


def send(widget: ReportWidget, **content: object) -> None:
    widget._on_browser_message(widget, content, [])


def test_browser_edits_change_the_report_that_save_stores(report: wr.Report) -> None:
    widget = ReportWidget(report, api=Api())
    assert "3 of 3 runs" in widget.body and 'class="jt-filter-input"' in widget.body
    send(widget, kind="smoothing", block=1, runset=0, panel=0, weight=0.85)
    assert report.blocks[1].panels[0].smoothing_factor == 0.85
    send(widget, kind="filter", block=1, runset=0, text="config.lr < 0.05")
    assert report.blocks[1].runsets[0].filters == "config.lr < 0.05" and "2 of 3 runs" in widget.body
    send(widget, kind="move_panel", block=1, panel=2, step=-1)
    assert [panel.kind for panel in report.blocks[1].panels] == ["LinePlot", "RunComparer", "ScatterPlot"]
    send(widget, kind="remove_panel", block=1, panel=1)
    assert [panel.kind for panel in report.blocks[1].panels] == ["LinePlot", "ScatterPlot"]
    send(widget, kind="markdown", block=0, text="**edited**")
    assert report.blocks[0].text == "**edited**" and "<strong>edited</strong>" in widget.body
    send(widget, kind="filter", block=1, runset=0, text="colour == 'red'")
    assert "unknown column" in widget.body  # the grid says what is wrong; nothing else is lost
    send(widget, kind="smoothing", block=0, panel=0, weight=0.5)
    assert "not a panel grid" in widget.error
    report.save()
    assert Api().report(report.id).blocks[1].panels[0].smoothing_factor == 0.85


def test_python_changes_render_again_in_place(report: wr.Report) -> None:
    widget = ReportWidget(report, api=Api())
    assert widget.refresh_if_changed() is False
    report.blocks.append(wr.H2("Added from Python"))
    report.blocks[1].panels[0].y = ["loss", "missing"]
    assert widget.refresh_if_changed() is True
    assert "Added from Python" in widget.body and "loss, missing" in widget.body


def test_the_display_has_a_static_fallback_and_the_saved_notebook_marker(report: wr.Report) -> None:
    data, metadata = ReportWidget(report, api=Api())._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "3 of 3 runs" in data["text/html"] and data["text/plain"].startswith("<Report 'Widget'")
    assert metadata[OUTPUT_MARKER]["kind"] == "report"


def test_unknown_edits_change_nothing(report: wr.Report) -> None:
    before = report.to_json()
    assert apply_edit(report, {"kind": "dance"}) is False
    with pytest.raises(ValueError, match=r"not in \[0, 1\)"):
        apply_edit(report, {"kind": "smoothing", "block": 1, "panel": 0, "weight": 1.5})
    assert report.to_json() == before


def wait_until(condition: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_panels_follow_runs_that_are_still_running(store_root: Path) -> None:
    run = jt.init(project="running", mode="offline", name="ongoing", settings={"live": "off"})
    for step in range(5):
        run.log({"loss": float(step)})
    report = wr.Report("running", blocks=[wr.PanelGrid(panels=[wr.LinePlot(y=["loss"])])])
    api = Api()
    try:
        widget = ReportWidget(report, api=api, live_interval=0.2)
        assert widget.running_runs() == 1
        for step in range(5, 40):
            run.log({"loss": float(step)})
        wait_until(lambda: '"points":40' in widget.body, 20)
    finally:
        run.finish(quiet=True)
    wait_until(lambda: widget._follower is not None and not widget._follower.is_alive(), 20)
    assert widget.running_runs() == 0
    widget.close()


def test_finished_runs_are_read_once_across_renders(report: wr.Report) -> None:
    widget = ReportWidget(report, api=Api())
    cached = {key: value for key, value in widget._series_cache.items() if key[0] != "line"}
    assert len(cached) == 3  # three finished runs, one line each
    assert sum(key[0] == "line" for key in widget._series_cache) == 3  # and their drawn lines
    send(widget, kind="filter", block=1, runset=0, text="config.lr < 0.05")
    assert all(widget._series_cache[key] is value for key, value in cached.items())
    assert "2 of 3 runs" in widget.body


def test_run_set_listing_is_kept_between_redraws_until_the_run_index_changes(report: wr.Report) -> None:
    widget = ReportWidget(report, api=Api())
    (listed,) = widget._listing_cache.values()
    send(widget, kind="move_panel", block=1, panel=0, step=1)
    (again,) = widget._listing_cache.values()
    assert again is listed  # the redraw after the edit listed no runs
    run = jt.init(project="widget", mode="offline", name="late", config={"lr": 0.5})
    run.log({"loss": 1.0})
    run.finish(quiet=True)
    widget.refresh()
    assert "4 of 4 runs" in widget.body and "late" in widget.body
