"""The save hook: the live panel's widget outputs go to disk as their static charts, other outputs untouched."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_tracker.notebook.saved_notebook import WIDGET_MIMETYPE, pre_save_hook, static_outputs

ROOT = Path(__file__).resolve().parents[2]
PLOTLY = "application/vnd.plotly.v1+json"


def output(data: dict[str, Any], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"output_type": "display_data", "data": data, "metadata": metadata or {}}


def notebook_with(*outputs: dict[str, Any]) -> dict[str, Any]:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [{"id": "train", "cell_type": "code", "source": "", "metadata": {}, "execution_count": 1,
                       "outputs": list(outputs)},
                      {"id": "notes", "cell_type": "markdown", "source": "text", "metadata": {}}]}


def test_a_finished_panel_keeps_only_its_static_charts() -> None:
    finished = output({WIDGET_MIMETYPE: {"model_id": "abc", "version_major": 2}, PLOTLY: {"data": [], "layout": {}},
                       "text/html": "<div class='jt-live-static'><svg/></div>", "text/plain": "<live panel of run r>"},
                      {"jupyter_tracker": {"view": "widget-with-final-static"}})
    other_widget = output({WIDGET_MIMETYPE: {"model_id": "slider"}, "text/plain": "IntSlider(value=3)"})
    notebook = notebook_with(finished, other_widget)
    assert static_outputs(notebook) == 1
    saved = notebook["cells"][0]["outputs"]
    assert set(saved[0]["data"]) == {PLOTLY, "text/html", "text/plain"}
    assert saved[1] == other_widget, "widgets of other libraries are left alone"
    assert static_outputs(notebook) == 0, "a second save changes nothing"


def test_a_panel_saved_while_its_run_goes_says_so_instead_of_a_widget_error() -> None:
    running = output({WIDGET_MIMETYPE: {"model_id": "abc"}, "text/plain": "<live panel of run bright-owl-3>"})
    notebook = notebook_with(running)
    assert static_outputs(notebook) == 1
    data = notebook["cells"][0]["outputs"][0]["data"]
    assert WIDGET_MIMETYPE not in data
    assert "live panel of run bright-owl-3" in data["text/plain"] and "finishes" in data["text/html"]


def test_the_hook_changes_notebooks_only() -> None:
    finished = output({WIDGET_MIMETYPE: {"model_id": "abc"}, "text/html": "<svg/>", "text/plain": "<live panel of run r>"})
    model = {"type": "notebook", "content": notebook_with(finished)}
    pre_save_hook(model=model, path="a.ipynb", contents_manager=None)
    assert WIDGET_MIMETYPE not in model["content"]["cells"][0]["outputs"][0]["data"]
    text = {"type": "file", "format": "text", "content": "<live panel of run r>"}
    before = copy.deepcopy(text)
    pre_save_hook(model=text, path="a.txt", contents_manager=None)
    assert text == before


def test_the_wheel_turns_the_server_extension_on() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shared = project["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    source = "jupyter-config/jupyter_server_config.d/jupyter_tracker.json"
    assert shared[source] == "etc/jupyter/jupyter_server_config.d/jupyter_tracker.json"
    config = json.loads((ROOT / source).read_text(encoding="utf-8"))
    assert config["ServerApp"]["jpserver_extensions"] == {"jupyter_tracker.notebook.saved_notebook": True}
    from jupyter_tracker.notebook import saved_notebook

    assert saved_notebook._jupyter_server_extension_points() == [{"module": "jupyter_tracker.notebook.saved_notebook"}]


def test_the_runs_table_keeps_its_html_table() -> None:
    table = output({WIDGET_MIMETYPE: {"model_id": "t"}, "text/html": "<table><tr><td>run-1</td></tr></table>",
                    "text/plain": "<RunsTable 'mnist': 6 runs>"})
    notebook = notebook_with(table)
    assert static_outputs(notebook) == 1
    assert set(notebook["cells"][0]["outputs"][0]["data"]) == {"text/html", "text/plain"}


# a panel saved while its run goes: charts from the run's log ----------------------------------------
@pytest.fixture
def charts_cache() -> Any:
    """The server's cache of runs' charts, emptied around the test (it lives as long as the server process)."""
    from jupyter_tracker.notebook import midrun_charts

    midrun_charts.CACHE.clear()
    yield midrun_charts.CACHE
    midrun_charts.CACHE.clear()


def start_run(steps: int, metrics: tuple[str, ...] = ("train/loss", "val/acc")) -> Any:
    import jupyter_tracker as jt

    run = jt.init(project="mnist", mode="offline", settings={"live": "off"})
    log_steps(run, 0, steps, metrics)
    return run


def log_steps(run: Any, first: int, last: int, metrics: tuple[str, ...] = ("train/loss", "val/acc")) -> None:
    for step in range(first, last):  # no step argument: each row is written at once
        run.log({name: 1.0 / (step + 1) + index for index, name in enumerate(metrics)})
    run.flush()


def panel_output(run: Any) -> dict[str, Any]:
    """The live panel's output as the notebook holds it while the run goes: the widget view, marked with its run."""
    from jupyter_tracker.notebook.live_panel import LivePanel

    panel = LivePanel(run, "widget", show=False)
    try:
        return output(panel._widget_bundle(), panel._output_metadata("widget"))
    finally:
        panel.stop()


def saved_panel(notebook: dict[str, Any]) -> tuple[dict[str, Any], str, dict[str, Any]]:
    saved = notebook["cells"][0]["outputs"][0]
    return saved["data"], "".join(saved["data"].get("text/html", "")), saved["metadata"]["jupyter_tracker"]


def test_a_panel_saved_mid_run_gets_its_charts_from_the_run_log(store_root: Path, charts_cache: Any) -> None:
    run = start_run(30)
    running = panel_output(run)
    marker = running["metadata"]["jupyter_tracker"]
    assert marker["run_id"] == run.id and Path(marker["run_dir"]).is_absolute()
    assert Path(marker["run_dir"]) == Path(run.dir).resolve()
    notebook = notebook_with(copy.deepcopy(running))
    assert static_outputs(notebook) == 1
    data, page, saved_marker = saved_panel(notebook)
    assert WIDGET_MIMETYPE not in data and PLOTLY in data
    assert 'aria-label="train/loss"' in page and 'aria-label="val/acc"' in page and "<polyline" in page
    assert "as of step 29, run still going" in page
    assert saved_marker["view"] == "saved-mid-run" and saved_marker["as_of_step"] == 29
    assert len(json.dumps(data)) <= 2 * 200_000, "at most 200 KB per chart"

    # the run goes on; the next save reads only what it wrote since
    log_steps(run, 30, 60)
    read_before = charts_cache.bytes_read
    notebook = notebook_with(copy.deepcopy(running))
    static_outputs(notebook)
    _, page, saved_marker = saved_panel(notebook)
    assert saved_marker["as_of_step"] == 59 and "as of step 59, run still going" in page
    log_size = (Path(run.dir) / "run.jtlog").stat().st_size
    assert 0 < charts_cache.bytes_read - read_before < log_size / 2


def test_a_second_save_of_an_unchanged_run_reuses_the_charts(store_root: Path, charts_cache: Any) -> None:
    run = start_run(20)
    running = panel_output(run)
    first = notebook_with(copy.deepcopy(running))
    static_outputs(first)
    hits, draws, read = charts_cache.hits, charts_cache.draws, charts_cache.bytes_read
    second = notebook_with(copy.deepcopy(running))
    static_outputs(second)
    assert (charts_cache.hits, charts_cache.draws, charts_cache.bytes_read) == (hits + 1, draws, read)
    assert second == first


def test_a_torn_tail_of_the_log_is_skipped(store_root: Path, tmp_path: Path, charts_cache: Any) -> None:
    run = start_run(10)
    log_steps(run, 10, 20)
    log = (Path(run.dir) / "run.jtlog").read_bytes()
    torn = tmp_path / "torn-run"
    torn.mkdir()
    (torn / "run.jtlog").write_bytes(log[:-7])  # the writer's last frame cut short
    running = panel_output(run)
    running["metadata"]["jupyter_tracker"]["run_dir"] = str(torn)
    notebook = notebook_with(running)
    static_outputs(notebook)
    data, page, marker = saved_panel(notebook)
    assert 'aria-label="train/loss"' in page and WIDGET_MIMETYPE not in data
    assert 9 <= marker["as_of_step"] < 19, "the steps before the torn frame are drawn"


def test_a_log_too_long_for_one_save_is_read_over_the_next_saves(store_root: Path, charts_cache: Any) -> None:
    run = start_run(0)
    for first in range(0, 3000, 100):  # flushed every 100 rows: the log holds at least 30 frames
        log_steps(run, first, first + 100)
    running = panel_output(run)
    notes = 0
    for _ in range(40):
        notebook = notebook_with(copy.deepcopy(running))
        static_outputs(notebook, time_budget=0.0)  # each save reads one slice of the log
        data, page, marker = saved_panel(notebook)
        if "as_of_step" in marker:
            break
        assert "its log is still being read" in data["text/plain"] and WIDGET_MIMETYPE not in data
        notes += 1
    assert notes >= 2, "a zero time budget reads the log in several slices"
    assert marker["as_of_step"] == 2999 and "as of step 2999, run still going" in page


def test_a_run_that_finished_without_its_final_figure_says_finished(store_root: Path, charts_cache: Any) -> None:
    run = start_run(12)
    running = panel_output(run)  # the kernel restarted before the panel's final figure reached the notebook
    run.finish(quiet=True)
    notebook = notebook_with(running)
    static_outputs(notebook)
    _, page, marker = saved_panel(notebook)
    assert "finished at step 11" in page and "still going" not in page
    assert marker["view"] == "saved-from-log" and marker["run_state"] == "finished"


def test_a_run_log_that_cannot_be_read_gives_the_note_and_a_server_log_line(
        store_root: Path, tmp_path: Path, charts_cache: Any, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    run = start_run(5)
    running = panel_output(run)
    gone = copy.deepcopy(running)
    gone["metadata"]["jupyter_tracker"]["run_dir"] = str(tmp_path / "deleted-run")
    relative = copy.deepcopy(running)
    relative["metadata"]["jupyter_tracker"]["run_dir"] = "relative/run"
    notebook = notebook_with(gone, relative)
    with caplog.at_level(logging.WARNING, logger="jupyter-server-test"):
        assert static_outputs(notebook, logging.getLogger("jupyter-server-test"), "a.ipynb") == 2
    for saved in notebook["cells"][0]["outputs"]:
        assert set(saved["data"]) == {"text/plain", "text/html"}
        assert "saved while the run was going" in saved["data"]["text/plain"]
        assert "could not be read" in saved["data"]["text/plain"]
    messages = [record.getMessage() for record in caplog.records]
    assert any("FileNotFoundError" in message and "a.ipynb" in message for message in messages), messages
    assert any("not an absolute path" in message for message in messages), messages


def test_the_jupyter_contents_manager_saves_a_mid_run_panel_with_its_charts(
        store_root: Path, tmp_path: Path, charts_cache: Any) -> None:
    manager_module = pytest.importorskip("jupyter_server.services.contents.filemanager")
    run = start_run(8)
    work = tmp_path / "notebooks"
    work.mkdir()
    manager = manager_module.FileContentsManager(root_dir=str(work))
    manager.register_pre_save_hook(pre_save_hook)
    manager.save({"type": "notebook", "format": "json", "content": notebook_with(panel_output(run))}, "train.ipynb")
    saved = json.loads((work / "train.ipynb").read_text(encoding="utf-8"))
    (panel,) = saved["cells"][0]["outputs"]
    assert WIDGET_MIMETYPE not in panel["data"] and "as of step 7, run still going" in "".join(panel["data"]["text/html"])


def test_a_ten_thousand_metric_run_saved_mid_run_stays_under_two_megabytes(store_root: Path, charts_cache: Any) -> None:
    names = tuple(f"layer_{k // 100}/weight_{k % 100}" for k in range(10_000))
    run = start_run(3, names)
    notebook = notebook_with(panel_output(run))
    static_outputs(notebook, time_budget=30.0)
    data, page, marker = saved_panel(notebook)
    assert marker["as_of_step"] == 2 and PLOTLY not in data
    assert page.count("<tr>") == 10_000 + 1 and page.count("<svg") >= 24
    assert len(json.dumps(notebook)) <= 2_000_000


def test_the_hook_never_fails_a_save(charts_cache: Any) -> None:
    odd = output({WIDGET_MIMETYPE: {"model_id": "m"}, "text/plain": "<live panel of run r>"},
                 {"jupyter_tracker": {"view": "widget", "run_dir": 42}})
    model = {"type": "notebook", "content": notebook_with(odd)}
    pre_save_hook(model=model, path="a.ipynb", contents_manager=None)
    assert "saved while the run was going" in model["content"]["cells"][0]["outputs"][0]["data"]["text/plain"]
    broken = {"type": "notebook", "content": {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "data": {WIDGET_MIMETYPE: {}, "text/plain": "<live panel of run r>"},
         "metadata": "not a mapping"}]}]}}
    pre_save_hook(model=broken, path="b.ipynb", contents_manager=None)
    data = broken["content"]["cells"][0]["outputs"][0]["data"]
    assert WIDGET_MIMETYPE not in data and "could not be read" in data["text/plain"]


def test_the_hook_module_leaves_the_chart_code_for_the_first_mid_run_save() -> None:
    import subprocess
    import sys

    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, jupyter_tracker.notebook.saved_notebook; "
         "print(sorted(m for m in ('numpy', 'jupyter_tracker.notebook.midrun_charts', "
         "'jupyter_tracker.notebook.live_static') if m in sys.modules))"],
        capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    assert loaded == "[]", f"the Jupyter server pays for these at start-up: {loaded}"
