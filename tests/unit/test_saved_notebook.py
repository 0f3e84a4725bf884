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
            "cells": [{"cell_type": "code", "source": "", "metadata": {}, "execution_count": 1, "outputs": list(outputs)},
                      {"cell_type": "markdown", "source": "text", "metadata": {}}]}


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
